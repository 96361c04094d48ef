/*
 * Building a VM, in this order: memory, the engine, the board (devices),
 * the vCPUs, the firmware tables, then the guest loaded and the boot vCPU
 * set. The VM core (core/vm.c) runs it from there; hk_vm_destroy undoes
 * any prefix of these steps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>

#include "board/pc.h"
#include "boot/boot.h"
#include "core/vm.h"
#include "firmware/firmware.h"

static int fail(struct hk_config *cfg, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct hk_config *cfg, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
    va_end(ap);
    return err;
}

static int init_memory(struct vm *vm, struct hk_config *cfg)
{
    int r = gmem_init(&vm->mem, vm->cfg.memory_bytes);
    if (r)
        return fail(cfg, r, "cannot allocate %llu bytes of guest memory",
                    (unsigned long long)vm->cfg.memory_bytes);
    /* Guest RAM stays out of core dumps unless -C asks for it. */
    if (!vm->cfg.flags[HK_FLAG_CORE_GUESTMEM])
        madvise(vm->mem.mapping, vm->mem.mapping_size, MADV_DONTDUMP);
    return HK_OK;
}

static int init_engine(struct vm *vm, struct hk_config *cfg)
{
    int err = 0;
    vm->accel_ops = accel_select(vm->cfg.accel, &err);
    if (!vm->accel_ops)
        return fail(cfg, err, "accelerator '%s' is not usable on this host", vm->cfg.accel);
    int r = vm->accel_ops->vm_create(vm, &vm->accel);
    if (r)
        return fail(cfg, r, "%s: cannot create the VM: %s", vm->accel_ops->name, hk_strerror(r));
    for (int i = 0; i < vm->mem.nregions; i++) {
        struct gmem_region *g = &vm->mem.regions[i];
        r = vm->accel_ops->map_memory(vm->accel, g->gpa, g->hva, g->size);
        if (r)
            return fail(cfg, r, "%s: cannot map guest memory: %s", vm->accel_ops->name,
                        hk_strerror(r));
    }
    return HK_OK;
}

static int init_board(struct vm *vm, struct hk_config *cfg, struct pc **pc)
{
    char err[200] = "";
    int r = pc_create(vm, pc, err, sizeof(err));
    return r ? fail(cfg, r, "%s", err) : HK_OK;
}

static int init_vcpus(struct vm *vm, struct hk_config *cfg, struct pc *pc)
{
    vm->nvcpus = vm->cfg.vcpus;
    for (int i = 0; i < vm->nvcpus; i++) {
        vm->vcpus[i].vm = vm;
        vm->vcpus[i].id = i;
        int r = vm->accel_ops->vcpu_create(vm->accel, i, &vm->vcpus[i].accel);
        if (!r)
            r = pc_attach_vcpu(pc, i);
        if (r)
            return fail(cfg, r, "cannot create vCPU %d: %s", i, hk_strerror(r));
    }
    return HK_OK;
}

/* ACPI and MP tables before the guest: a loader may point it at them. */
static int init_firmware(struct vm *vm, struct hk_config *cfg)
{
    char err[200] = "";
    int r = firmware_tables_build(vm, err, sizeof(err));
    return r ? fail(cfg, r, "%s", err) : HK_OK;
}

static int init_boot(struct vm *vm, struct hk_config *cfg)
{
    char err[200] = "";
    int r = boot_load(vm, &vm->cfg.boot, err, sizeof(err));
    return r ? fail(cfg, r, "%s", err) : HK_OK;
}

int hk_vm_create(hk_config *cfg, hk_vm **out)
{
    if (!cfg || !out)
        return HK_EINVAL;
    cfg->error[0] = '\0';
    if (cfg->boot.kind == HK_BOOT_NONE)
        return fail(cfg, HK_EINVAL, "no guest to boot: use -f");
    char err[200] = "";
    struct vm *vm;
    int r = vm_new(cfg, &vm, err, sizeof(err));
    if (r)
        return fail(cfg, r, "%s", err);
    struct pc *pc = NULL;
    if (!(r = init_memory(vm, cfg)) && !(r = init_engine(vm, cfg)) &&
        !(r = init_board(vm, cfg, &pc)) && !(r = init_vcpus(vm, cfg, pc)) &&
        !(r = init_firmware(vm, cfg)) && !(r = init_boot(vm, cfg))) {
        *out = (hk_vm *)(void *)vm;
        return HK_OK;
    }
    hk_vm_destroy((hk_vm *)(void *)vm);
    return r;
}
