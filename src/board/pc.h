/*
 * The PC board: the devices every VM has around its vCPUs (interrupt
 * controllers and PIT for engines without in-kernel ones, CMOS RTC, ACPI
 * power management, reset ports, PCI bus 0), the -s functions, the -l
 * serial ports and the debug-exit port, all given one dev_env.
 */
#ifndef HK_BOARD_PC_H
#define HK_BOARD_PC_H

#include <stddef.h>

#include "core/vm.h"

struct pc;

/* Build the board of vm (after its memory and engine, before its vCPUs)
 * and install its vm_platform_ops. The VM tears it down, also after a
 * failure (one line in err then). */
int pc_create(struct vm *vm, struct pc **out, char *err, size_t errlen);

/* Connect vCPU i to its local APIC (engines without their own). */
int pc_attach_vcpu(struct pc *pc, int i);

/* The vm_platform_ops the board installs; ctx is its struct irqchip. */
extern const struct vm_platform_ops pc_halt_ops;

#endif
