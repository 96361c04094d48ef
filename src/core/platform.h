/* The PC platform devices every VM has (platform.c). */
#ifndef HK_CORE_PLATFORM_H
#define HK_CORE_PLATFORM_H

#include "core/vm.h"

/* Create the platform devices and the -s PCI functions. */
int platform_create(struct vm *vm, char *err, size_t errlen);
/* Connect vCPU i to its local APIC (engines without their own). */
int platform_attach_vcpu(struct vm *vm, int i);
/* For a halted vCPU: when its next timer event is due (UINT64_MAX: none),
 * and whether an interrupt is already waiting. */
uint64_t platform_next_event(struct vm *vm, int i);
bool platform_interrupt_pending(struct vm *vm, int i, uint64_t now_ns);

#endif
