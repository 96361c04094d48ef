/*
 * Per-kind input rules and the case builder (included by gen.h): stack and
 * string pointers into the data pages, branch targets in the INT3 sled,
 * shift counts, dividends that mostly do not overflow.
 */
#ifndef HK_TESTS_CPU_GEN_KINDS_H
#define HK_TESTS_CPU_GEN_KINDS_H

static uint64_t cd_data_ptr(struct cd_rng *r, unsigned lo, unsigned span, bool align)
{
    uint64_t a = CD_DATA + lo + cd_below(r, span);
    return align && cd_chance(r, 75) ? a & ~7ull : a;
}

/* Value of register operand rm at size (byte registers AH..BH without REX). */
static uint64_t cd_reg_val(const struct cd_case *c, const struct cd_enc *e, unsigned rm, unsigned size)
{
    if (size == 1 && !e->rex_eff && rm >= 4 && rm < 8)
        return (c->in.gpr[rm - 4] >> 8) & 0xff;
    return c->in.gpr[rm] & size_mask(size);
}

static void cd_set_low(uint64_t *g, uint64_t v, unsigned size)
{
    uint64_t m = size_mask(size);
    *g = (*g & ~m) | (v & m);
}

static void cd_setup_regs(const struct cd_form *f, struct cd_rng *r, struct cd_enc *e,
                          struct cd_case *c)
{
    unsigned k = f->kind;
    uint64_t *g = c->in.gpr;
    const uint64_t *base = e->m->sbase;
    if (k & CK_STACK) {
        e->sp_lin = cd_data_ptr(r, 0x800, 0x800, true);
        cd_fix(e, c, 4, cd_stack_reg(r, e, e->sp_lin, cd_stack_size(e)));
    }
    if (k & CK_RBP)
        cd_fix(e, c, 5, cd_stack_reg(r, e, cd_data_ptr(r, 0x800, 0x800, true), cd_stack_size(e)));
    if (k & CK_STR) { /* DS:rSI (or the override), ES:rDI */
        uint64_t src = base[cd_data_seg(e, false)];
        cd_fix(e, c, 6, cd_addr_reg(r, e, cd_data_ptr(r, 0x200, 0x1a00, true) - src));
        cd_fix(e, c, 7, cd_addr_reg(r, e, cd_data_ptr(r, 0x200, 0x1a00, true) - base[0]));
        if (e->rep)
            cd_fix(e, c, 1, cd_addr_reg(r, e, cd_below(r, 18)));
    }
    if (k & CK_XLAT)
        cd_fix(e, c, 3, cd_addr_reg(r, e, cd_data_ptr(r, 0x200, 0x1a00, false) -
                                              base[cd_data_seg(e, false)]));
    if (k & CK_LOOP)
        cd_fix(e, c, 1, cd_addr_reg(r, e, cd_chance(r, 50) ? cd_below(r, 3) : cd_value(r)));
    if ((k & CK_SHIFT) && (f->opc & 0xfe) == 0xd2)
        g[1] = (g[1] & ~0xffull) | cd_count(r);
    if ((k & CK_DSHIFT) && (f->opc & 1))
        g[1] = (g[1] & ~0xffull) | cd_dshift_count(r, e->opsz);
    if ((k & CK_BTREG) && e->mem) {
        /* Bit offset within +-2 KiB of the operand, sign-extended from the
         * operand size: the upper bits beyond it are random. */
        uint64_t off = (uint64_t)((int64_t)cd_below(r, 0x8000) - 0x4000);
        uint64_t v = cd_rand(r);
        cd_set_low(&v, off, e->opsz);
        cd_fix(e, c, e->reg, v);
    }
}

/* Near the end of a 16-bit-code segment (modes.h), where an operand
 * crosses its limit: FFFFh, or either end of the expand-down SS. */
static uint64_t cd_segment_edge(struct cd_rng *r, int seg, unsigned size)
{
    uint64_t end = CD_BASE + 0x10000;
    if (seg == 2)
        end = cd_chance(r, 50) ? CD_SS16_BASE + CD_SS16_LIMIT + 1 + size : CD_SS16_BASE + 0x10000;
    return end - size + cd_below(r, size + 2);
}

/* Memory operand or moffs: steer it. False when fixed registers make
 * that impossible; the caller draws another case. */
static bool cd_setup_memory(const struct cd_form *f, struct cd_rng *r, struct cd_enc *e,
                            struct cd_case *c, int len)
{
    bool safe = f->kind & (CK_JRM | CK_BTREG | CK_CMPX | CK_FARPTR | CK_BOUND);
    if (f->op->f & O_MOFFS) {
        int seg = cd_data_seg(e, false);
        e->imm = (cd_target(r, e->opsz, false, e->adsz == 8) - e->m->sbase[seg]) &
                 size_mask(e->adsz);
        c->ea = cd_linear(e, seg, e->imm);
        return true;
    }
    if (!e->mem)
        return true;
    if ((f->kind & CK_BTREG) && (e->reg == e->base || e->reg == e->index))
        return false;
    /* SHLD/SHRD by CL: RCX must stay a count, not become an address. */
    if ((f->kind & CK_DSHIFT) && (f->opc & 1) && (e->base == 1 || e->index == 1))
        return false;
    uint64_t t = cd_target(r, e->opsz, safe, e->adsz == 8);
    int seg = cd_data_seg(e, true);
    if (e->m->bits == 16 && !safe && cd_chance(r, 4)) /* across a segment limit */
        t = cd_segment_edge(r, seg, e->opsz);
    c->ea = cd_linear(e, seg, cd_solve(r, e, c, t - e->m->sbase[seg], len));
    return cd_in_window(c->ea) || (cd_noncanonical(c->ea) && c->ea == t) ||
           cd_low_fault(e, c->ea) || (!safe && cd_in_segment(e, c->ea));
}

/* A far pointer's selector: mostly code segments both sides define, the
 * offset then lands in the INT3 sled (as seen from that segment's base). */
static void cd_far_target(struct cd_rng *r, const struct cd_enc *e, int len, uint64_t *off,
                          uint64_t *sel)
{
    static const uint16_t code[] = {0x23, 0x33, CD_SEL_CODE16, CD_SEL_CODE32};
    uint16_t s = cd_chance(r, 30) ? e->m->sel[1]
               : cd_chance(r, 60) ? code[cd_below(r, 4)] : cd_pick_selector(cd_rand(r));
    *sel = s;
    *off = cd_sled(r, len, 0x600) - ((s & 4) ? CD_BASE : 0);
}

static void cd_setup_immediates(const struct cd_form *f, struct cd_rng *r, struct cd_enc *e, int len)
{
    uint32_t of = f->op->f;
    if (of & O_MOFFS)
        return;
    if (f->kind & CK_JREL) {
        uint64_t t = cd_sled(r, len, e->isize == 1 ? 120 : 0x600);
        e->imm = t - (CD_INSN + (uint64_t)len);
    } else if (of & O_FARPTR) {
        cd_far_target(r, e, len, &e->imm, &e->imm2);
    } else if ((f->kind & CK_SHIFT) && (f->opc & 0xfe) == 0xc0) {
        e->imm = cd_count(r);
    } else if ((f->kind & CK_DSHIFT) && !(f->opc & 1)) {
        e->imm = cd_dshift_count(r, e->opsz);
    } else if (of & (O_ENTER | O_IMM16)) {
        /* ENTER checks the final RSP: keep it in the data or the guard page */
        e->imm = cd_chance(r, 80) ? cd_below(r, 0x40) : cd_below(r, 0x1800);
        e->imm2 = cd_rand(r) & 0xff;
    } else {
        e->imm = cd_value(r);
    }
}

/* Make a division not overflow half of the time: high half of the
 * dividend below the divisor (DIV) or the sign of the low half (IDIV). */
static void cd_setup_div(const struct cd_form *f, struct cd_rng *r, struct cd_enc *e,
                         struct cd_case *c)
{
    unsigned s = e->opsz;
    uint64_t d = e->mem ? cd_get(c, c->ea, s) : cd_reg_val(c, e, e->rm, s);
    bool uses_acc = !e->mem && (e->rm == 0 || e->rm == 2 || (s == 1 && !e->rex_eff && e->rm == 4));
    if (uses_acc || d == 0 || cd_is_fixed(e, 0) || cd_is_fixed(e, 2) || cd_chance(r, 50))
        return;
    uint64_t *g = c->in.gpr;
    bool idiv = f->op->fn == ex_idiv;
    uint64_t lo = s == 1 ? g[0] & 0xff : g[0] & size_mask(s);
    uint64_t hi = idiv ? ((lo & sign_bit(s)) ? size_mask(s) : 0) : cd_rand(r) % d;
    if (s == 1)
        g[0] = (g[0] & ~0xff00ull) | ((hi & 0xff) << 8);
    else
        cd_set_low(&g[2], hi, s);
}

static bool cd_setup_data(const struct cd_form *f, struct cd_rng *r, struct cd_enc *e,
                          struct cd_case *c, int len)
{
    unsigned k = f->kind;
    uint64_t sp = e->sp_lin, base = e->m->base; /* CS's, for code offsets */
    if (k & CK_RET)
        cd_put(c, sp, cd_sled(r, len, 0x600) - base, 8);
    if (k & CK_POPF) {
        uint64_t keep_off = 0x100 | 0x4000 | 0x10000 | 0x20000 | 0x40000 | 0x80000 | 0x100000;
        cd_put(c, sp, ((cd_rand(r) & 0x3fffff) & ~keep_off) | 2, 8);
    }
    if (k & CK_POPSEG)
        cd_put(c, sp, (cd_rand(r) & ~0xffffull) | cd_pick_selector(cd_rand(r)), 8);
    if ((k & CK_FARPTR) && e->mem)
        cd_put(c, c->ea + e->opsz, cd_pick_selector(cd_rand(r)), 2);
    if ((k & CK_BOUND) && e->mem && cd_chance(r, 60)) { /* often in bounds */
        int64_t v = sign_extend(cd_reg_val(c, e, e->reg, e->opsz), e->opsz);
        cd_put(c, c->ea, (uint64_t)(v - (int64_t)cd_below(r, 3)), e->opsz);
        cd_put(c, c->ea + e->opsz, (uint64_t)(v + (int64_t)cd_below(r, 3) - 1), e->opsz);
    }
    if (k & CK_JRM) {
        uint64_t t = cd_sled(r, len, 0x600) - base;
        /* The target must be one we wrote: never let the host jump to
         * whatever a register or the read-only page happens to hold. */
        if (e->mem && !(c->ea >= CD_DATA && c->ea + 8 <= CD_DATA + CD_DATA_RW))
            return false;
        if (e->mem)
            cd_put(c, c->ea, t, 8);
        else if (cd_is_fixed(e, e->rm))
            return false;
        else
            cd_fix(e, c, e->rm, t);
    }
    if ((k & CK_CMPX) && !cd_is_fixed(e, 0) && !cd_is_fixed(e, 2) && cd_chance(r, 50)) {
        if (f->op->fn == ex_cmpxchg8b) { /* EDX:EAX or RDX:RAX = the operand */
            unsigned half = (e->rex_eff & 8) ? 8 : 4;
            cd_set_low(&c->in.gpr[0], cd_get(c, c->ea, half), half);
            cd_set_low(&c->in.gpr[2], cd_get(c, c->ea + half, half), half);
        } else {
            uint64_t v = e->mem ? cd_get(c, c->ea, e->opsz) : cd_reg_val(c, e, e->rm, e->opsz);
            cd_set_low(&c->in.gpr[0], v, e->opsz);
        }
    }
    if (k & CK_DIV)
        cd_setup_div(f, r, e, c);
    return true;
}

#include "sys_gen.h"

/* A far CALL from 16-bit code into 64-bit code (selector 0x33) pushes by
 * 64-bit rules on all of RSP, whose upper half the host kernel rewrites
 * whenever it returns to code on a 16-bit stack (ESPFIX64 points it at
 * its own stack): the pushes would land anywhere, so no such case. */
static bool cd_far_call_into_64(const struct cd_form *f, const struct cd_enc *e,
                                const struct cd_case *c)
{
    bool imm = f->op->fn == ex_call_far_imm;
    if (e->m->bits != 16 || !(imm || (f->op->fn == ex_call_far_mem && e->mem)))
        return false;
    uint64_t sel = imm ? e->imm2 : cd_get(c, c->ea + e->opsz, 2);
    return (sel & 0xfffc) == 0x30;
}

static int cd_emit(const struct cd_form *f, const struct cd_enc *e, uint8_t *p)
{
    int n = 0;
    bool early = e->rex && !e->rex_eff;
    if (early)
        p[n++] = e->rex;
    memcpy(p + n, e->pfx, (size_t)e->npfx);
    n += e->npfx;
    if (e->rex && !early)
        p[n++] = e->rex;
    if (f->map)
        p[n++] = 0x0f;
    p[n++] = f->opc;
    if (e->has_modrm)
        p[n++] = (uint8_t)(e->mod << 6 | (e->reg & 7) << 3 | (e->rm & 7));
    if (e->sib)
        p[n++] = (uint8_t)(e->scale << 6 | (e->index == CD_NONE ? 4 : e->index & 7) << 3 |
                           (e->base == CD_NONE ? 5 : e->base & 7));
    if (e->mem) {
        memcpy(p + n, &e->disp, e->dsize);
        n += (int)e->dsize;
    }
    memcpy(p + n, &e->imm, e->isize);
    n += (int)e->isize;
    memcpy(p + n, &e->imm2, e->isize2);
    return n + (int)e->isize2;
}

/* One case for form f in code mode (CD_M64..). False: draw again. */
static bool cd_gen(const struct cd_form *f, int mode, struct cd_rng *r, struct cd_case *c)
{
    struct cd_enc e;
    memset(&e, 0, sizeof(e));
    e.m = &cd_modes[mode];
    c->mode = mode;
    for (unsigned i = 0; i < CD_DATA_RW / 8; i++) {
        uint64_t v = cd_rand(r);
        memcpy(c->data + 8 * i, &v, 8);
    }
    for (int i = 0; i < 16; i++)
        c->in.gpr[i] = cd_value(r);
    c->in.rflags = 0x202 | (cd_rand(r) & (RFLAGS_ARITH | RFLAGS_DF));
    c->in.rip = CD_INSN - e.m->base;
    c->ea = 0;
    cd_gen_prefixes(f, r, &e);
    cd_gen_modrm(f, r, &e);
    cd_immediate_sizes(f, &e);
    int len = cd_length(f, &e);
    cd_setup_regs(f, r, &e, c);
    if (!cd_setup_memory(f, r, &e, c, len))
        return false;
    cd_setup_immediates(f, r, &e, len);
    if (!cd_setup_data(f, r, &e, c, len))
        return false;
    if ((f->kind & CK_SYS) && !cd_sys_setup(f, r, &e, c, len))
        return false;
    if (cd_far_call_into_64(f, &e, c))
        return false;
    c->len = cd_emit(f, &e, c->bytes);
    return c->len == len;
}

#endif
