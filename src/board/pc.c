/*
 * The PC platform around the vCPUs (pc.h). Built in this order: devices
 * raise interrupts through the chip, so it comes first; the PCI functions
 * come from the device-type table.
 */
#include "board/pc.h"

#include <stdio.h>
#include <stdlib.h>

#include "board/board_env.h"
#include "devices/debug_exit.h"
#include "devices/devtypes.h"
#include "devices/irqchip/irqchip.h"
#include "devices/irqchip/lapic.h"
#include "devices/lpc/acpi_pm.h"
#include "devices/lpc/rtc.h"
#include "devices/lpc/uart8250.h"
#include "devices/pci/pci.h"

struct pc {
    struct board_env be;
    struct vm *vm;
    struct pci_bus *pci;
    struct acpi_pm *pm;
};

/* An interrupt is pending for vCPU i: wake it if halted, kick it if not. */
static void wake_vcpu(void *opaque, int i)
{
    struct vm *vm = opaque;
    if (i < 0 || i >= VM_MAX_VCPUS)
        return;
    pthread_mutex_lock(&vm->lock);
    vm->vcpus[i].wake_seq++;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    if (vm->vcpus[i].accel)
        vm->accel_ops->vcpu_kick(vm->vcpus[i].accel);
}

static void pc_destroy(void *opaque)
{
    struct pc *pc = opaque;
    board_env_fini(&pc->be);
    free(pc);
}

static int add_pci_function(struct pc *pc, const struct hk_pci_slot *s, char *err,
                            size_t errlen)
{
    char why[160] = "";
    const struct dev_type *t = devtype_find(s->emulation);
    if (s->bus != 0) {
        snprintf(err, errlen, "-s %d:%d:%d: only PCI bus 0 exists", s->bus, s->slot, s->func);
        return HK_ENOTSUP;
    }
    if (!t || !t->create) {
        snprintf(err, errlen, "-s %d:%d,%s: %s", s->slot, s->func, s->emulation,
                 hk_strerror(HK_ENOTSUP));
        return HK_ENOTSUP;
    }
    /* The option was checked when given; parsing again hands the
     * constructor its own copy (the VM's config stays strings only). */
    void *parsed = NULL;
    int r = t->parse ? t->parse(s->conf, &parsed, why, sizeof(why)) : HK_OK;
    if (!r)
        r = t->create(&pc->be.env, pc->pci, s->slot, s->func, parsed, why, sizeof(why));
    if (t->free)
        t->free(parsed);
    if (r)
        snprintf(err, errlen, "-s %d:%d,%s: %s", s->slot, s->func, s->emulation,
                 why[0] ? why : hk_strerror(r));
    return r;
}

static int add_platform(struct pc *pc, char *err, size_t errlen)
{
    struct vm *vm = pc->vm;
    struct dev_env *env = &pc->be.env;
    int r = HK_OK;
    const char *what = "";
    if (!vm->accel_ops->set_irq) {
        what = "interrupt controllers";
        if ((r = irqchip_create(env, vm->cfg.vcpus, &pc->be.irqchip)) == 0) {
            irqchip_set_wake(pc->be.irqchip, wake_vcpu, vm);
            vm->platform = &pc_halt_ops;
            vm->platform_ctx = pc->be.irqchip;
        }
    }
    if (!r && (r = rtc_create(env, pc->be.irqchip)) != 0)
        what = "RTC";
    if (!r && (r = acpi_pm_create(env, &pc->pm)) != 0)
        what = "ACPI power management";
    if (!r && (r = reset_create(env)) != 0)
        what = "reset ports";
    if (!r && (r = pci_create(env, &pc->pci)) != 0)
        what = "PCI bus";
    if (r)
        snprintf(err, errlen, "cannot create the %s: %s", what, hk_strerror(r));
    return r;
}

static int add_lpc_devices(struct pc *pc, char *err, size_t errlen)
{
    struct vm *vm = pc->vm;
    char why[200] = "";
    for (int i = 0; i < HK_MAX_COM; i++) {
        if (vm->cfg.com[i].backend == HK_COM_NONE)
            continue;
        int r = uart8250_create(&pc->be.env, i, &vm->cfg.com[i], why, sizeof(why));
        if (r) {
            snprintf(err, errlen, "com%d: %s", i + 1, why);
            return r;
        }
    }
    if (vm->cfg.debug_exit_port) {
        int r = debug_exit_create(&pc->be.env, vm->cfg.debug_exit_port);
        if (r) {
            snprintf(err, errlen, "debug-exit port %#x: %s", vm->cfg.debug_exit_port,
                     hk_strerror(r));
            return r;
        }
    }
    return HK_OK;
}

int pc_create(struct vm *vm, struct pc **out, char *err, size_t errlen)
{
    struct pc *pc = calloc(1, sizeof(*pc));
    if (!pc) {
        snprintf(err, errlen, "out of memory");
        return HK_ENOMEM;
    }
    pc->vm = vm;
    board_env_init(&pc->be, vm);
    /* First on the teardown list, so the last to go: every device's
     * teardown still finds its environment. */
    int r = vm_add_device(vm, "board", pc, pc_destroy);
    if (r) {
        pc_destroy(pc);
        snprintf(err, errlen, "too many devices");
        return r;
    }
    *out = pc;
    if ((r = add_platform(pc, err, errlen)) != 0)
        return r;
    for (int i = 0; i < vm->cfg.npci; i++)
        if ((r = add_pci_function(pc, &vm->cfg.pci[i], err, errlen)) != 0)
            return r;
    return add_lpc_devices(pc, err, errlen);
}

int pc_attach_vcpu(struct pc *pc, int i)
{
    struct vm *vm = pc->vm;
    if (!pc->be.irqchip || !vm->accel_ops->attach_irq)
        return HK_OK;
    return vm->accel_ops->attach_irq(vm->vcpus[i].accel, &irqchip_accel_irq_ops,
                                     irqchip_lapic(pc->be.irqchip, i));
}

/* --- What the vCPU loop asks (ctx: the irqchip) ---------------------------- */

static uint64_t halt_next_event(void *ctx, int i)
{
    struct lapic *l = irqchip_lapic(ctx, i);
    return l ? lapic_next_event(l) : UINT64_MAX;
}

static bool halt_interrupt_pending(void *ctx, int i, uint64_t now_ns, bool irq_ok, bool nmi_ok)
{
    struct lapic *l = irqchip_lapic(ctx, i);
    if (!l)
        return false;
    lapic_poll(l, now_ns);
    /* A latched NMI the CPU cannot take yet is no reason to wake: it would
     * only halt again, at once, for ever (SDM Vol. 3A 6.7.1). */
    return (nmi_ok && lapic_nmi_pending(l)) || (irq_ok && lapic_pending(l, now_ns) >= 0);
}

static bool halt_nmi_armed(void *ctx, int i)
{
    struct lapic *l = irqchip_lapic(ctx, i);
    return l && lapic_nmi_armed(l);
}

const struct vm_platform_ops pc_halt_ops = {
    .next_event = halt_next_event,
    .interrupt_pending = halt_interrupt_pending,
    .nmi_armed = halt_nmi_armed,
};
