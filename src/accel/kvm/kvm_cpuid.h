/*
 * The CPU the kvm engine shows its guests: what KVM supports on this host
 * (KVM_GET_SUPPORTED_CPUID), said to be a virtual machine, with KVM's
 * paravirtual leaves limited to what the in-kernel KVM serves by itself,
 * without nested virtualization, and with each vCPU's own APIC ID.
 */
#ifndef HK_KVM_CPUID_H
#define HK_KVM_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* Leaf 0x40000001 EAX bits the model keeps (KVM_FEATURE_*, asm/kvm_para.h). */
uint32_t kvm_cpuid_pv_features(void);

/* Rewrite the n entries KVM_GET_SUPPORTED_CPUID gave into the model for
 * the vCPU whose APIC ID is apic_id; tsc_deadline: KVM emulates the
 * LAPIC's TSC-deadline mode (KVM_CAP_TSC_DEADLINE_TIMER). Entries the model
 * drops are removed; returns how many remain. */
uint32_t kvm_cpuid_model(struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t apic_id,
                         bool tsc_deadline);

#endif
