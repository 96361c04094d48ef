/*
 * The PC platform around the vCPUs: interrupt controllers and PIT (for
 * engines without in-kernel ones), CMOS RTC, ACPI power management, the
 * reset ports and PCI configuration space with the -s functions.
 * Built in this order: devices raise interrupts through the chip.
 */
#include "core/platform.h"

#include <stdio.h>
#include <string.h>

#include "devices/irqchip/irqchip.h"
#include "devices/irqchip/lapic.h"
#include "devices/lpc/acpi_pm.h"
#include "devices/lpc/rtc.h"
#include "devices/pci/pci.h"

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

static int add_pci_functions(struct vm *vm, char *err, size_t errlen)
{
    for (int i = 0; i < vm->cfg.npci; i++) {
        const struct hk_pci_slot *s = &vm->cfg.pci[i];
        int r;
        if (s->bus != 0) {
            snprintf(err, errlen, "-s %d:%d:%d: only PCI bus 0 exists", s->bus, s->slot, s->func);
            return HK_ENOTSUP;
        }
        if (strcmp(s->emulation, "hostbridge") == 0 || strcmp(s->emulation, "amd_hostbridge") == 0)
            r = hostbridge_create(vm->pci, s->slot, s->func, s->emulation[0] == 'a');
        else if (strcmp(s->emulation, "lpc") == 0)
            r = lpc_create(vm->pci, s->slot, s->func);
        else
            r = HK_ENOTSUP;
        if (r) {
            snprintf(err, errlen, "-s %d:%d,%s: %s", s->slot, s->func, s->emulation, hk_strerror(r));
            return r;
        }
    }
    return HK_OK;
}

int platform_create(struct vm *vm, char *err, size_t errlen)
{
    int r = HK_OK;
    const char *what = "";
    if (!vm->accel_ops->set_irq) {
        what = "interrupt controllers";
        if ((r = irqchip_create(vm, vm->cfg.vcpus, &vm->irqchip)) == 0)
            irqchip_set_wake(vm->irqchip, wake_vcpu, vm);
    }
    if (!r && (r = rtc_create(vm, vm->irqchip)) != 0)
        what = "RTC";
    if (!r && (r = acpi_pm_create(vm, &vm->pm)) != 0)
        what = "ACPI power management";
    if (!r && (r = reset_create(vm)) != 0)
        what = "reset ports";
    if (!r && (r = pci_create(vm, &vm->pci)) != 0)
        what = "PCI bus";
    if (r) {
        snprintf(err, errlen, "cannot create the %s: %s", what, hk_strerror(r));
        return r;
    }
    return add_pci_functions(vm, err, errlen);
}

int platform_attach_vcpu(struct vm *vm, int i)
{
    if (!vm->irqchip || !vm->accel_ops->attach_irq)
        return HK_OK;
    return vm->accel_ops->attach_irq(vm->vcpus[i].accel, &irqchip_accel_irq_ops,
                                     irqchip_lapic(vm->irqchip, i));
}

uint64_t platform_next_event(struct vm *vm, int i)
{
    return vm->irqchip ? lapic_next_event(irqchip_lapic(vm->irqchip, i)) : UINT64_MAX;
}

bool platform_interrupt_pending(struct vm *vm, int i, uint64_t now_ns, bool irq_ok, bool nmi_ok)
{
    if (!vm->irqchip)
        return false;
    struct lapic *l = irqchip_lapic(vm->irqchip, i);
    lapic_poll(l, now_ns);
    /* A latched NMI the CPU cannot take yet is no reason to wake: it would
     * only halt again, at once, for ever (SDM Vol. 3A 6.7.1). */
    return (nmi_ok && lapic_nmi_pending(l)) || (irq_ok && lapic_pending(l, now_ns) >= 0);
}

bool platform_nmi_armed(struct vm *vm, int i)
{
    return vm->irqchip && lapic_nmi_armed(irqchip_lapic(vm->irqchip, i));
}
