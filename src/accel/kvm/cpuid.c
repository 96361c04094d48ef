/*
 * The kvm engine's CPUID model (kvm_cpuid.h). KVM_GET_SUPPORTED_CPUID is
 * the host's CPU less what KVM cannot virtualize; it already carries KVM's
 * own leaves (0x40000000 "KVMKVMKVM", 0x40000001 features), but without
 * leaf 1's hypervisor bit Linux never looks at them: no "Hypervisor
 * detected", no kvm-clock, and a TSC calibration that fails nested.
 *
 * The vendor stays the host's: SYSCALL/SYSENTER and other vendor
 * behaviour comes from the hardware, whatever CPUID says.
 */
#include <asm/kvm_para.h>
#include <string.h>

#include "accel/kvm/kvm_cpuid.h"

#define LEAF1_ECX_VMX (1u << 5)
#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF81_ECX_SVM (1u << 2)
#define LEAF_SVM 0x8000000au          /* AMD: SVM revision and features */

/*
 * Paravirtual features the in-kernel KVM serves without the VMM:
 * kvm-clock (both MSR sets, and the stable bit), no I/O-port delay, async
 * page faults (with their interrupt), steal time, PV EOI, PV TLB flush and
 * IPIs, poll control and directed yield. Left out:
 * - PV_UNHALT: PV spinlocks wait in HLT with interrupts off until
 *   KVM_HC_KICK_CPU, which the engine's "cli; hlt ends the VM" check
 *   (kvm.c) cannot tell from a guest that stopped for good;
 * - MSI_EXT_DEST_ID: for a split irqchip; ours is all in the kernel;
 * - HC_MAP_GPA_RANGE, MIGRATION_CONTROL: exits to the VMM, for encrypted
 *   guests and migration, which hyperkit does not do.
 */
uint32_t kvm_cpuid_pv_features(void)
{
    return (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) |
           (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_ASYNC_PF) |
           (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI) |
           (1u << KVM_FEATURE_PV_TLB_FLUSH) | (1u << KVM_FEATURE_ASYNC_PF_VMEXIT) |
           (1u << KVM_FEATURE_PV_SEND_IPI) | (1u << KVM_FEATURE_POLL_CONTROL) |
           (1u << KVM_FEATURE_PV_SCHED_YIELD) | (1u << KVM_FEATURE_ASYNC_PF_INT) |
           (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
}

/* Rewrite one entry; false drops it. */
static bool model_entry(struct kvm_cpuid_entry2 *e, uint32_t apic_id, bool tsc_deadline)
{
    switch (e->function) {
    case 1:
        /* Nested virtualization is not offered: no VMX. */
        e->ecx &= ~LEAF1_ECX_VMX;
        e->ecx |= LEAF1_ECX_HYPERVISOR;
        if (tsc_deadline)
            e->ecx |= LEAF1_ECX_TSC_DEADLINE;
        e->ebx = (e->ebx & 0x00ffffffu) | (apic_id << 24); /* initial APIC ID */
        break;
    case 0xb:
    case 0x1f:
        e->edx = apic_id; /* x2APIC ID, at every topology level */
        break;
    case KVM_CPUID_SIGNATURE:
        e->eax = KVM_CPUID_FEATURES; /* the highest hypervisor leaf */
        break;
    case KVM_CPUID_FEATURES:
        e->eax &= kvm_cpuid_pv_features();
        e->edx = 0; /* no hints: KVM_HINTS_REALTIME is the VMM's promise */
        break;
    case 0x80000001:
        e->ecx &= ~LEAF81_ECX_SVM; /* no nested SVM: EFER.SVME stays reserved */
        break;
    case LEAF_SVM:
        return false;
    case 0x8000001e:
        e->eax = apic_id; /* AMD's extended APIC ID */
        break;
    }
    return true;
}

uint32_t kvm_cpuid_model(struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t apic_id,
                         bool tsc_deadline)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct kvm_cpuid_entry2 entry = e[i];
        if (model_entry(&entry, apic_id, tsc_deadline))
            e[kept++] = entry;
    }
    return kept;
}
