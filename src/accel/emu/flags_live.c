/*
 * Which CF and OF results of a block no one can see. A rotate keeps SF ZF
 * AF PF and sets CF and OF, so the exact one must materialise the lazy
 * flags; when a later instruction of the same block overwrites CF and OF
 * and nothing between can read them, fault, or end the block, the rotate
 * may leave the flags alone. Only instructions on registers qualify as
 * "between": they cannot fault, exit or end a block early, so no exception
 * frame, interrupt or VMM ever sees the skipped flags. The last
 * instruction's flags are always live (the next block, an interrupt).
 */
#include "accel/emu/exec.h"
#include "accel/emu/exec_fast.h"

enum cfof_use {
    CFOF_SEEN,   /* may read CF or OF, fault, exit or end the block */
    CFOF_KILLS,  /* sets both, reads neither, cannot fault */
    CFOF_PASSES, /* reads neither, cannot fault; may or may not set them */
};

static bool is_alu(emu_exec_fn g)
{
    return g == ex_alu_rm_reg || g == ex_alu_reg_rm || g == ex_alu_rm_imm || g == ex_alu_acc_imm;
}

static enum cfof_use cfof_use(const struct emu_insn *in)
{
    if (in->flags & (INSN_LOCK | INSN_ENDS))
        return CFOF_SEEN;
    emu_exec_fn g = emu_general_fn(in->fn);
    if (in->flags & INSN_MEM) /* LEA computes the address only */
        return g == ex_lea ? CFOF_PASSES : CFOF_SEEN;
    if (is_alu(g))
        return (in->sub & 7) == 2 || (in->sub & 7) == 3 ? CFOF_SEEN : CFOF_KILLS; /* ADC SBB */
    if (g == ex_test_rm_reg || g == ex_test_rm_imm || g == ex_neg || g == ex_imul_reg_rm ||
        g == ex_imul_reg_rm_imm)
        return CFOF_KILLS;
    if (g == ex_shift) {
        if (in->sub == 2 || in->sub == 3) /* RCL RCR read CF */
            return CFOF_SEEN;
        bool by_cl = (in->opcode & 0xfe) == 0xd2;
        unsigned mask = in->opsz == 8 ? 63 : 31;
        /* A count of 0 leaves the flags: so may CL. */
        return !by_cl && (((in->opcode & 0xfe) == 0xd0 ? 1u : (unsigned)in->imm) & mask)
                   ? CFOF_KILLS
                   : CFOF_PASSES;
    }
    /* INC and DEC keep CF: it passes through them to the instruction that
     * overwrites it. */
    if (g == ex_mov_rm_reg || g == ex_mov_reg_rm || g == ex_mov_reg_imm || g == ex_mov_rm_imm ||
        g == ex_not || g == ex_bswap || g == ex_movzx || g == ex_movsx || g == ex_movsxd ||
        g == ex_inc_dec_reg || (g == ex_inc_dec_rm && in->sub < 2))
        return CFOF_PASSES;
    return CFOF_SEEN;
}

void emu_block_flags_live(struct emu_insn *insns, int n)
{
    bool live = true;
    for (int i = n - 1; i >= 0; i--) {
        struct emu_insn *in = &insns[i];
        enum cfof_use use = cfof_use(in);
        if (!live) {
            emu_exec_fn quiet = emu_fast_without_cfof(in->fn);
            if (quiet)
                in->fn = quiet;
        }
        if (use == CFOF_KILLS)
            live = false;
        else if (use == CFOF_SEEN)
            live = true;
    }
}
