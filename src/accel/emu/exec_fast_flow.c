/*
 * Specialised handlers for control flow and the stack in 64-bit code:
 * PUSH/POP reg, CALL rel, RET, Jcc (exec_fast.h says what they keep).
 */
#include "accel/emu/exec_fast.h"

/* PUSH reg, POP reg, CALL rel, RET in 64-bit mode with a 64-bit operand:
 * a stack slot that hits the TLB inline; anything else (a miss, a
 * non-canonical target or stack) goes to the general executor, which
 * then starts from untouched state. PUSH RSP pushes the old value; POP
 * RSP leaves the popped one. */
static EXEC(fast_push)
{
    uint64_t v = cpu->gpr[in->reg], sp = cpu->gpr[4] - 8;
    uint8_t *h = emu_tlb_host(cpu, cpu->tlb_write, SEG_SS, sp, 8);
    if (!h)
        return ex_push_reg(cpu, in);
    memcpy(h, &v, 8);
    cpu->gpr[4] = sp;
    return next(cpu, in);
}

static EXEC(fast_pop)
{
    uint64_t v, sp = cpu->gpr[4];
    if (!fast_load(cpu, SEG_SS, sp, 8, &v))
        return ex_pop_reg(cpu, in);
    cpu->gpr[4] = sp + 8;
    cpu->gpr[in->reg] = v;
    return next(cpu, in);
}

static EXEC(fast_call)
{
    uint64_t ret = cpu->rip + in->len, target = ret + in->imm, sp = cpu->gpr[4] - 8;
    uint8_t *h = emu_tlb_host(cpu, cpu->tlb_write, SEG_SS, sp, 8);
    if (!h || !emu_canonical(target))
        return ex_call_rel(cpu, in);
    memcpy(h, &ret, 8);
    cpu->gpr[4] = sp;
    cpu->rip = target;
    return EMU_OK;
}

static EXEC(fast_ret)
{
    uint64_t target, sp = cpu->gpr[4];
    if (!fast_load(cpu, SEG_SS, sp, 8, &target) || !emu_canonical(target))
        return ex_ret(cpu, in);
    cpu->gpr[4] = sp + 8 + in->imm;
    cpu->rip = target;
    return EMU_OK;
}

/* Jcc rel in 64-bit mode (ex_jcc, jump_to): ZF's conditions inline, the
 * others through emu_cond; a non-canonical target is #GP(0). */
ALWAYS_INLINE int fast_branch(struct emu_cpu *cpu, const struct emu_insn *in, bool taken)
{
    uint64_t target = cpu->rip + in->len + (taken ? in->imm : 0);
    if (taken && !emu_canonical(target))
        return emu_raise_err(cpu, EXC_GP, 0);
    cpu->rip = target;
    return EMU_OK;
}

static EXEC(fast_jz)
{
    const struct emu_lazy_flags *lf = &cpu->lf;
    bool zf = lf->op == LF_NONE ? (cpu->rflags & RFLAGS_ZF) != 0
                                : (lf->res & size_mask(lf->size)) == 0;
    return fast_branch(cpu, in, zf ^ (in->sub & 1));
}

/* JS/JNS: the result's sign after any lazy operation, as emu_cond. */
static EXEC(fast_js)
{
    const struct emu_lazy_flags *lf = &cpu->lf;
    bool sf = lf->op == LF_NONE ? (cpu->rflags & RFLAGS_SF) != 0
                                : (lf->res & sign_bit(lf->size)) != 0;
    return fast_branch(cpu, in, sf ^ (in->sub & 1));
}

static EXEC(fast_jcc)
{
    return fast_branch(cpu, in, emu_cond(cpu, in->sub));
}

/* B/AE, BE/A, L/GE, LE/G right after CMP or SUB (from its operands) or
 * a logic operation (CF = OF = 0), as emu_cond does; after anything else
 * through emu_cond. */
#define FAST_JCC_SUB(name, cls)                                                             \
    static EXEC(fast_j##name)                                                               \
    {                                                                                       \
        const struct emu_lazy_flags *lf = &cpu->lf;                                         \
        bool r;                                                                             \
        if (lf->op == LF_LOGIC) { /* TEST, AND, OR, XOR: CF = OF = 0 */                     \
            bool zf = (lf->res & size_mask(lf->size)) == 0;                                 \
            bool sf = (lf->res & sign_bit(lf->size)) != 0;                                  \
            r = cls == 1 ? false : cls == 3 ? zf : cls == 6 ? sf : (zf || sf);              \
            return fast_branch(cpu, in, r ^ (in->sub & 1));                                 \
        }                                                                                   \
        if (lf->op != LF_SUB)                                                               \
            return fast_branch(cpu, in, emu_cond(cpu, in->sub));                            \
        uint64_t m = size_mask(lf->size), a = lf->a & m, b = lf->b & m;                     \
        if (cls == 1)                                                                       \
            r = a < b;                                                                      \
        else if (cls == 3)                                                                  \
            r = a <= b;                                                                     \
        else if (cls == 6)                                                                  \
            r = sign_extend(a, lf->size) < sign_extend(b, lf->size);                        \
        else                                                                                \
            r = sign_extend(a, lf->size) <= sign_extend(b, lf->size);                       \
        return fast_branch(cpu, in, r ^ (in->sub & 1));                                     \
    }
FAST_JCC_SUB(b, 1) FAST_JCC_SUB(be, 3) FAST_JCC_SUB(l, 6) FAST_JCC_SUB(le, 7)

emu_exec_fn emu_fast_pick_flow(const struct emu_cpu *cpu, const struct emu_insn *in)
{
    if (cpu->mode != MODE_LONG64 || in->opsz != 8)
        return NULL;
    emu_exec_fn fn = in->fn;
    if (fn == ex_jcc) {
        static const emu_exec_fn jcc[8] = {fast_jcc, fast_jb, fast_jz, fast_jbe,
                                           fast_js, fast_jcc, fast_jl, fast_jle};
        return jcc[(in->sub >> 1) & 7];
    }
    return fn == ex_push_reg ? fast_push : fn == ex_pop_reg ? fast_pop
           : fn == ex_call_rel ? fast_call : fn == ex_ret ? fast_ret : NULL;
}

emu_exec_fn emu_fast_general_flow(emu_exec_fn fn)
{
    const struct {
        emu_exec_fn fast, general;
    } pairs[] = {
        {fast_jz, ex_jcc},
        {fast_jcc, ex_jcc},
        {fast_jb, ex_jcc},
        {fast_jbe, ex_jcc},
        {fast_jl, ex_jcc},
        {fast_jle, ex_jcc},
        {fast_js, ex_jcc},
        {fast_push, ex_push_reg},
        {fast_pop, ex_pop_reg},
        {fast_call, ex_call_rel},
        {fast_ret, ex_ret},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if (pairs[i].fast == fn)
            return pairs[i].general;
    return NULL;
}
