/* When x87 and SSE instructions may run (SDM Vol. 3A 2.5, 13.1). */
#include "accel/emu/cpu.h"

int emu_fpu_check(struct emu_cpu *cpu)
{
    if (cpu->cr0 & (CR0_EM | CR0_TS))
        return emu_raise(cpu, EXC_NM);
    return EMU_OK;
}

int emu_sse_check(struct emu_cpu *cpu)
{
    if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR))
        return emu_raise(cpu, EXC_UD);
    if (cpu->cr0 & CR0_TS)
        return emu_raise(cpu, EXC_NM);
    return EMU_OK;
}
