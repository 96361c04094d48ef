/* Processor mode bookkeeping: which code size the CPU decodes in, and CPL. */
#include "accel/emu/cpu.h"

void emu_update_mode(struct emu_cpu *cpu)
{
    uint16_t cs = cpu->seg[SEG_CS].attr;
    if (!(cpu->cr0 & CR0_PE)) {
        cpu->mode = MODE_REAL;
        cpu->cpl = 0;
        emu_link_ctx_update(cpu);
        return;
    }
    if ((cpu->efer & EFER_LMA) && (cs & 0x2000))
        cpu->mode = MODE_LONG64;
    else if (cpu->efer & EFER_LMA)
        cpu->mode = (cs & 0x4000) ? MODE_COMPAT32 : MODE_COMPAT16;
    else
        cpu->mode = (cs & 0x4000) ? MODE_PROT32 : MODE_PROT16;
    cpu->cpl = cpu->seg[SEG_CS].selector & 3;
    emu_link_ctx_update(cpu);
}
