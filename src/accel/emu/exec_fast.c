/*
 * Handlers specialised at decode time for the most frequent forms: 32- and
 * 64-bit operations on registers (exec_fast_alu.c), memory operands in
 * 64-bit code (exec_fast_mem.c), Jcc and the stack (exec_fast_flow.c).
 * emu_specialize picks one after emu_decode; what they keep is in
 * exec_fast.h.
 */
#include "accel/emu/exec_fast.h"

/* Memory operands and 8- or 16-bit forms keep the general executors,
 * apart from the ones the pickers name. */
void emu_specialize(const struct emu_cpu *cpu, struct emu_insn *in)
{
    emu_exec_fn f = emu_fast_pick_flow(cpu, in);
    if (!f)
        f = emu_fast_pick_mem(cpu, in);
    if (!f)
        f = emu_fast_pick_alu(cpu, in);
    if (f)
        in->fn = f;
}

/* The general executor a specialised one stands for (fn itself when it is
 * none): what the host-differential tests key the flags the SDM leaves
 * undefined on. */
emu_exec_fn emu_general_fn(emu_exec_fn fn)
{
    emu_exec_fn g = emu_fast_general_flow(fn);
    if (!g)
        g = emu_fast_general_mem(fn);
    if (!g)
        g = emu_fast_general_alu(fn);
    return g ? g : fn;
}
