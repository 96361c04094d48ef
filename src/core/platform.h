/* The PC platform devices every VM has (platform.c). */
#ifndef HK_CORE_PLATFORM_H
#define HK_CORE_PLATFORM_H

#include "core/vm.h"

/* Create the platform devices and the -s PCI functions. */
int platform_create(struct vm *vm, char *err, size_t errlen);
/* Connect vCPU i to its local APIC (engines without their own). */
int platform_attach_vcpu(struct vm *vm, int i);
/* For a halted vCPU: when its next timer event is due (UINT64_MAX: none),
 * and whether something it can take is already waiting (after running the
 * timers due): an interrupt if irq_ok (IF=1), an NMI if nmi_ok. */
uint64_t platform_next_event(struct vm *vm, int i);
bool platform_interrupt_pending(struct vm *vm, int i, uint64_t now_ns, bool irq_ok, bool nmi_ok);
/* Whether an NMI can ever come to a CPU halted with IF=0 (one latched, or
 * a line that timers or devices drive in NMI mode). */
bool platform_nmi_armed(struct vm *vm, int i);

#endif
