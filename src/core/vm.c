/* VM lifecycle: build from a config, start, wait, pause, stop, destroy. */
#include "core/vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "boot/boot.h"
#include "core/config_copy.h"
#include "core/evloop.h"
#include "core/log.h"
#include "core/platform.h"
#include "devices/irqchip/irqchip.h"
#include "core/vcpu.h"
#include "devices/debug_exit.h"
#include "devices/lpc/uart8250.h"

const char *hk_version(void)
{
    return HK_VERSION;
}

int vm_add_device(struct vm *vm, const char *name, void *opaque, void (*destroy)(void *))
{
    if (vm->ndevices == VM_MAX_DEVICES)
        return HK_ENOMEM;
    vm->devices[vm->ndevices++] = (struct vm_device){name, opaque, destroy};
    return HK_OK;
}

void vm_request_exit(struct vm *vm, enum hk_exit_reason reason, int status, const char *fmt, ...)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->exit.reason == HK_EXIT_NONE) {
        vm->exit.reason = reason;
        vm->exit.status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(vm->exit.message, sizeof(vm->exit.message), fmt, ap);
        va_end(ap);
        atomic_store(&vm->stopping, true);
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].accel)
            vm->accel_ops->vcpu_kick(vm->vcpus[i].accel);
}

void vm_set_irq(struct vm *vm, int gsi, bool level)
{
    if (vm->accel_ops && vm->accel_ops->set_irq)
        vm->accel_ops->set_irq(vm->accel, gsi, level);
    else if (vm->irqchip)
        irqchip_set_irq(vm->irqchip, gsi, level);
}

static int fail(struct hk_config *cfg, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
    va_end(ap);
    return err;
}

static int vm_init_memory(struct vm *vm, struct hk_config *cfg)
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

static int vm_init_accel(struct vm *vm, struct hk_config *cfg)
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

static int vm_init_devices(struct vm *vm, struct hk_config *cfg)
{
    char err[200] = "";
    int pr = platform_create(vm, err, sizeof(err));
    if (pr)
        return fail(cfg, pr, "%s", err);
    for (int i = 0; i < HK_MAX_COM; i++) {
        if (vm->cfg.com[i].backend == HK_COM_NONE)
            continue;
        int r = uart8250_create(vm, i, &vm->cfg.com[i], err, sizeof(err));
        if (r)
            return fail(cfg, r, "com%d: %s", i + 1, err);
    }
    if (vm->cfg.debug_exit_port) {
        int r = debug_exit_create(vm, vm->cfg.debug_exit_port);
        if (r)
            return fail(cfg, r, "debug-exit port %#x: %s", vm->cfg.debug_exit_port,
                        hk_strerror(r));
    }
    return HK_OK;
}

static int vm_init_vcpus(struct vm *vm, struct hk_config *cfg)
{
    vm->nvcpus = vm->cfg.vcpus;
    for (int i = 0; i < vm->nvcpus; i++) {
        vm->vcpus[i].vm = vm;
        vm->vcpus[i].id = i;
        int r = vm->accel_ops->vcpu_create(vm->accel, i, &vm->vcpus[i].accel);
        if (!r)
            r = platform_attach_vcpu(vm, i);
        if (r)
            return fail(cfg, r, "cannot create vCPU %d: %s", i, hk_strerror(r));
    }
    return HK_OK;
}

static int vm_init_boot(struct vm *vm, struct hk_config *cfg)
{
    char err[200] = "";
    int r = boot_load(vm, &vm->cfg.boot, err, sizeof(err));
    if (r)
        return fail(cfg, r, "%s", err);
    return HK_OK;
}

/* hk_vm is the public name of struct vm: handles are converted here only. */
static struct vm *vm_of(hk_vm *handle)
{
    return (struct vm *)(void *)handle;
}

int hk_vm_create(hk_config *cfg, hk_vm **out)
{
    if (!cfg || !out)
        return HK_EINVAL;
    cfg->error[0] = '\0';
    if (cfg->boot.kind == HK_BOOT_NONE)
        return fail(cfg, HK_EINVAL, "no guest to boot: use -f");
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return fail(cfg, HK_ENOMEM, "out of memory");
    pthread_mutex_init(&vm->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* HLT sleeps to timer deadlines */
    pthread_cond_init(&vm->cond, &ca);
    pthread_condattr_destroy(&ca);
    iobus_init(&vm->pio);
    iobus_init(&vm->mmio);
    int r = config_copy(&vm->cfg, cfg);
    if (r) {
        fail(cfg, r, "out of memory");
    } else if ((r = evloop_create(&vm->evloop)) != 0) {
        fail(cfg, r, "cannot create the event loop: %s", hk_strerror(r));
    } else if (!(r = vm_init_memory(vm, cfg)) && !(r = vm_init_accel(vm, cfg)) &&
               !(r = vm_init_devices(vm, cfg)) && !(r = vm_init_vcpus(vm, cfg)) &&
               !(r = vm_init_boot(vm, cfg))) {
        *out = (hk_vm *)(void *)vm;
        return HK_OK;
    }
    hk_vm_destroy((hk_vm *)(void *)vm);
    return r;
}

const char *hk_vm_accel_name(const hk_vm *handle)
{
    const struct vm *vm = (const struct vm *)(const void *)handle;
    return vm->accel_ops ? vm->accel_ops->name : "none";
}

int hk_vm_start(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    pthread_mutex_lock(&vm->lock);
    if (vm->state != VM_CREATED) {
        pthread_mutex_unlock(&vm->lock);
        return HK_ESTATE;
    }
    vm->state = VM_RUNNING;
    pthread_mutex_unlock(&vm->lock);
    int r = evloop_start(vm->evloop);
    if (r) {
        vm_request_exit(vm, HK_EXIT_ERROR, 0, "cannot start the event loop");
        return r;
    }
    return vcpus_start(vm);
}

static void copy_exit(struct vm *vm, struct hk_exit *exit)
{
    if (exit)
        *exit = vm->exit;
}

int hk_vm_wait(hk_vm *handle, struct hk_exit *exit)
{
    struct vm *vm = vm_of(handle);
    pthread_mutex_lock(&vm->lock);
    if (vm->state == VM_CREATED) {
        pthread_mutex_unlock(&vm->lock);
        return HK_ESTATE;
    }
    while (vm->state != VM_STOPPED)
        pthread_cond_wait(&vm->cond, &vm->lock);
    copy_exit(vm, exit);
    pthread_mutex_unlock(&vm->lock);
    return HK_OK;
}

int hk_vm_poll(hk_vm *handle, struct hk_exit *exit)
{
    struct vm *vm = vm_of(handle);
    pthread_mutex_lock(&vm->lock);
    int stopped = vm->state == VM_STOPPED;
    if (stopped)
        copy_exit(vm, exit);
    pthread_mutex_unlock(&vm->lock);
    return stopped;
}

int hk_vm_request_stop(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    vm_request_exit(vm, HK_EXIT_POWEROFF, 0, "stopped on request");
    return HK_OK;
}

int hk_vm_pause(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    return vcpus_pause(vm, true);
}

int hk_vm_resume(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    return vcpus_pause(vm, false);
}

void hk_vm_destroy(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    if (!vm)
        return;
    if (vm->state == VM_RUNNING)
        hk_vm_request_stop(handle);
    vcpus_join(vm);
    /* Stop the event thread first so no device callback runs while the
     * devices are destroyed; devices then skip their evloop_remove. */
    if (vm->evloop)
        evloop_destroy(vm->evloop);
    vm->evloop = NULL;
    for (int i = vm->ndevices - 1; i >= 0; i--)
        vm->devices[i].destroy(vm->devices[i].opaque);
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].accel)
            vm->accel_ops->vcpu_destroy(vm->vcpus[i].accel);
    if (vm->accel)
        vm->accel_ops->vm_destroy(vm->accel);
    gmem_fini(&vm->mem);
    iobus_fini(&vm->pio);
    iobus_fini(&vm->mmio);
    config_release(&vm->cfg);
    pthread_cond_destroy(&vm->cond);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

int hk_exit_status(const struct hk_exit *exit)
{
    switch (exit->reason) {
    case HK_EXIT_POWEROFF:
    case HK_EXIT_HALT:
        return 0;
    case HK_EXIT_ERROR:
        return 1;
    case HK_EXIT_REBOOT:
        return 2;
    case HK_EXIT_TRIPLE_FAULT:
        return 3;
    case HK_EXIT_DEBUG_EXIT:
        return exit->status;
    default:
        return 100;
    }
}
