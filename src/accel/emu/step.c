/* One instruction at a time, for the host-differential tester. */
#include "accel/emu/step.h"

#include <string.h>

/* The instruction bytes at RIP. An instruction may end before the next
 * page, which may be unmapped: read only this page first, and touch the
 * next one only when the decoder needs its bytes, so the #PF is raised
 * exactly when hardware raises it. */
static int fetch_decode(struct emu_cpu *cpu, struct emu_insn *in)
{
    uint8_t bytes[15];
    uint64_t lin = cpu->rip;
    if (cpu->mode != MODE_LONG64)
        lin = (uint32_t)(cpu->seg[SEG_CS].base + cpu->rip);
    unsigned in_page = 4096 - (unsigned)(lin & 0xfff);
    unsigned n = in_page < 15 ? in_page : 15;
    int st = emu_read_lin(cpu, lin, bytes, n, ACC_EXEC);
    if (st)
        return st;
    if (emu_decode(cpu, bytes, (int)n, in) > 0)
        return EMU_OK;
    if ((st = emu_read_lin(cpu, lin, bytes, 15, ACC_EXEC)) != 0)
        return st;
    if (emu_decode(cpu, bytes, 15, in) > 0)
        return EMU_OK;
    return emu_raise(cpu, EXC_UD);
}

int emu_step_one(struct emu_cpu *cpu, struct accel_exit *exit)
{
    memset(exit, 0, sizeof(*exit));
    cpu->exit = exit;
    cpu->exc.vector = -1;
    cpu->xlog_n = cpu->xlog_pos = 0;
    cpu->held_valid = false; /* no replay here: every call starts afresh */
    struct emu_insn in;
    /* An instruction breakpoint comes before a fault fetching it. */
    int st = emu_debug_insn_start(cpu);
    if (!st)
        st = fetch_decode(cpu, &in);
    if (st) {
        emu_debug_insn_abort(cpu, st);
        return st;
    }
    uint64_t rsp = cpu->gpr[4];
    emu_step_arm(cpu);
    st = in.fn(cpu, &in);
    if (st == EMU_OK || st == EMU_END_BLOCK) {
        emu_commit_point(cpu);
        cpu->insn_count++;
        return emu_debug_trap(cpu); /* single-step and data #DB, as in run.c */
    }
    cpu->step_trap = false;
    emu_debug_insn_abort(cpu, st);
    cpu->gpr[4] = rsp; /* not committed, as in run.c */
    return st;
}
