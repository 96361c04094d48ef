/* Execute exactly one instruction, for tests that hold the emu CPU up
 * against the host CPU (tests/cpu). Not used by the run loop. */
#ifndef HK_EMU_STEP_H
#define HK_EMU_STEP_H

#include "accel/emu/cpu.h"

/* Fetch (through paging), decode and execute the instruction at RIP, with
 * no block cache and no exception delivery. Returns EMU_OK (RIP advanced),
 * EMU_FAULT (exception left in cpu->exc, not delivered; with TF set, the
 * single-step #DB after a completed instruction, RIP advanced) or EMU_EXIT (the
 * instruction needs the VMM; *exit says why). */
int emu_step_one(struct emu_cpu *cpu, struct accel_exit *exit);

#endif
