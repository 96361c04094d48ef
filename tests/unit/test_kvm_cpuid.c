/*
 * The kvm engine's CPUID model (src/accel/kvm/cpuid.c) applied to a table
 * shaped as KVM_GET_SUPPORTED_CPUID returns it on a nested-capable AMD or
 * Intel host: the hypervisor bit appears, nested virtualization goes, KVM's
 * paravirtual features are cut to what the in-kernel KVM serves, and each
 * vCPU gets its own APIC ID. Runs without /dev/kvm; the real guest's view
 * is checked by tests/linux/test_linux_shell.sh in the kvm test bed.
 */
#include <asm/kvm_para.h>

#include "accel/kvm/kvm_cpuid.h"
#include "test.h"

#define ALL_PV_BITS 0x0103ffffu /* every KVM_FEATURE_* KVM 6.1 can offer, and the stable bit */

static const struct kvm_cpuid_entry2 supported[] = {
    {.function = 0, .eax = 0x10, .ebx = 0x68747541},
    {.function = 1, .eax = 0x00a00f11, .ebx = 0x12100800, .ecx = 0x7ed8320b | (1u << 5),
     .edx = 0x178bfbff},
    {.function = 0xb, .index = 0, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x12,
     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX},
    {.function = 0xb, .index = 1, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 0x12,
     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX},
    {.function = KVM_CPUID_SIGNATURE, .eax = KVM_CPUID_FEATURES, .ebx = 0x4b4d564b,
     .ecx = 0x564b4d56, .edx = 0x4d},
    {.function = KVM_CPUID_FEATURES, .eax = ALL_PV_BITS, .edx = 1u << KVM_HINTS_REALTIME},
    {.function = 0x80000000, .eax = 0x80000021},
    {.function = 0x80000001, .ecx = 0x75c237ff, .edx = 0x2fd3fbff},
    {.function = 0x8000000a, .eax = 1, .ebx = 8, .edx = 0x3fff},
    {.function = 0x8000001e, .eax = 0x12, .ebx = 0x100},
};
#define N (sizeof(supported) / sizeof(supported[0]))

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, uint32_t n,
                                           uint32_t function, uint32_t index)
{
    for (uint32_t i = 0; i < n; i++)
        if (e[i].function == function && e[i].index == index)
            return &e[i];
    return NULL;
}

int main(void)
{
    struct kvm_cpuid_entry2 e[N];
    memcpy(e, supported, sizeof(e));
    uint32_t n = kvm_cpuid_model(e, N, 3, true);

    CHECK_EQ(n, N - 1, "one entry dropped (the SVM leaf)");
    CHECK(!find(e, n, 0x8000000a, 0), "leaf 0x8000000a (SVM features) is gone");
    const struct kvm_cpuid_entry2 *l1 = find(e, n, 1, 0);
    CHECK(l1 && (l1->ecx >> 31) & 1, "leaf 1 ECX: hypervisor bit set");
    CHECK(l1 && !((l1->ecx >> 5) & 1), "leaf 1 ECX: no VMX");
    CHECK(l1 && (l1->ecx >> 24) & 1, "leaf 1 ECX: TSC-deadline when KVM emulates it");
    CHECK(l1 && (l1->ecx & 0x7ed8320bu) == 0x7ed8320bu, "leaf 1 ECX: the host's other features kept");
    CHECK_EQ(l1 ? l1->ebx : 0, 0x03100800, "leaf 1 EBX: initial APIC ID 3, the rest as KVM said");
    CHECK_EQ(l1 ? l1->edx : 0, 0x178bfbff, "leaf 1 EDX unchanged");
    const struct kvm_cpuid_entry2 *t0 = find(e, n, 0xb, 0), *t1 = find(e, n, 0xb, 1);
    CHECK(t0 && t1 && t0->edx == 3 && t1->edx == 3, "leaf 0xb: x2APIC ID 3 at every level");
    CHECK(t1 && t1->ecx == 0x201, "leaf 0xb: topology levels kept");
    const struct kvm_cpuid_entry2 *sig = find(e, n, KVM_CPUID_SIGNATURE, 0);
    CHECK(sig && sig->eax == KVM_CPUID_FEATURES && sig->ebx == 0x4b4d564b,
          "leaf 0x40000000: KVMKVMKVM, highest leaf 0x40000001");
    const struct kvm_cpuid_entry2 *pv = find(e, n, KVM_CPUID_FEATURES, 0);
    uint32_t f = pv ? pv->eax : 0;
    CHECK(f & (1u << KVM_FEATURE_CLOCKSOURCE2), "kvm-clock (CLOCKSOURCE2) offered");
    CHECK(f & (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT), "kvm-clock stable bit offered");
    CHECK(f & (1u << KVM_FEATURE_PV_EOI), "PV EOI offered");
    CHECK(f & (1u << KVM_FEATURE_STEAL_TIME), "steal time offered");
    CHECK(!(f & (1u << KVM_FEATURE_PV_UNHALT)), "no PV unhalt (HLT with IF=0 ends the VM)");
    CHECK(!(f & (1u << KVM_FEATURE_MSI_EXT_DEST_ID)), "no extended MSI destination ID");
    CHECK(!(f & (1u << KVM_FEATURE_HC_MAP_GPA_RANGE)), "no MAP_GPA_RANGE hypercall");
    CHECK(!(f & (1u << KVM_FEATURE_MIGRATION_CONTROL)), "no migration control");
    CHECK_EQ(f, kvm_cpuid_pv_features() & ALL_PV_BITS, "leaf 0x40000001 EAX is the model's set");
    CHECK_EQ(pv ? pv->edx : 1, 0, "leaf 0x40000001 EDX: no hints");
    const struct kvm_cpuid_entry2 *x = find(e, n, 0x80000001, 0);
    CHECK(x && !((x->ecx >> 2) & 1), "leaf 0x80000001 ECX: no SVM");
    CHECK(x && x->edx == 0x2fd3fbff, "leaf 0x80000001 EDX unchanged");
    const struct kvm_cpuid_entry2 *ext = find(e, n, 0x8000001e, 0);
    CHECK(ext && ext->eax == 3 && ext->ebx == 0x100, "leaf 0x8000001e: extended APIC ID 3");

    /* What KVM did not offer stays off, and TSC-deadline needs KVM's word. */
    memcpy(e, supported, sizeof(e));
    e[5].eax = 1u << KVM_FEATURE_CLOCKSOURCE;
    n = kvm_cpuid_model(e, N, 0, false);
    pv = find(e, n, KVM_CPUID_FEATURES, 0);
    CHECK_EQ(pv ? pv->eax : 0, 1u << KVM_FEATURE_CLOCKSOURCE, "a PV feature KVM lacks is not added");
    l1 = find(e, n, 1, 0);
    CHECK(l1 && !((l1->ecx >> 24) & 1), "no TSC-deadline when KVM does not emulate it");
    CHECK(l1 && (l1->ebx >> 24) == 0, "vCPU 0: APIC ID 0");
    TEST_EXIT();
}
