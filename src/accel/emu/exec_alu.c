/* Integer arithmetic, logic, shifts, multiply/divide and bit operations. */
#include "accel/emu/exec.h"

/* The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP), with
 * lazy flags. Returns the result; CMP's is discarded by the caller. */
static uint64_t alu(struct emu_cpu *cpu, unsigned op, unsigned size, uint64_t a, uint64_t b)
{
    uint64_t r;
    bool cf;
    switch (op) {
    case 0:
        r = a + b;
        lazy_set(cpu, LF_ADD, size, a, b, r);
        break;
    case 1:
        r = a | b;
        lazy_set(cpu, LF_LOGIC, size, a, b, r);
        break;
    case 2:
        cf = emu_cf(cpu);
        r = a + b + cf;
        lazy_set(cpu, LF_ADC, size, a, b, r);
        cpu->lf.cf_in = cf;
        break;
    case 3:
        cf = emu_cf(cpu);
        r = a - b - cf;
        lazy_set(cpu, LF_SBB, size, a, b, r);
        cpu->lf.cf_in = cf;
        break;
    case 4:
        r = a & b;
        lazy_set(cpu, LF_LOGIC, size, a, b, r);
        break;
    case 6:
        r = a ^ b;
        lazy_set(cpu, LF_LOGIC, size, a, b, r);
        break;
    default: /* SUB, CMP */
        r = a - b;
        lazy_set(cpu, LF_SUB, size, a, b, r);
        break;
    }
    return r & size_mask(size);
}

/* The read of a read-modify-write. Hardware reads the destination with
 * write intent: a #PF on it has W set, and an operand crossing pages is
 * checked for writing page by page, in order, before anything is read. */
int emu_probe_write(struct emu_cpu *cpu, uint64_t lin, unsigned size)
{
    uint64_t gpa, next_page = (lin | 0xfff) + 1;
    if (cpu->mode != MODE_LONG64)
        next_page = (uint32_t)next_page;
    int st = emu_translate(cpu, lin, ACC_WRITE, &gpa);
    if (!st && (lin & 0xfff) + size > 4096)
        st = emu_translate(cpu, next_page, ACC_WRITE, &gpa);
    return st;
}

int emu_read_rmw(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, uint64_t *v)
{
    uint64_t lin;
    int st = emu_linear(cpu, seg, ea, size, ACC_WRITE, &lin);
    if (!st && (lin & 0xfff) + size > 4096) /* the common case needs no walk */
        st = emu_probe_write(cpu, lin, size);
    if (!st)
        st = emu_read(cpu, seg, ea, size, v);
    if (st == EMU_FAULT && cpu->exc.vector == EXC_PF)
        cpu->exc.error |= 2; /* W */
    return st;
}

int rm_read_rmw_mem(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, uint64_t *v)
{
    return emu_read_rmw(cpu, in->seg, emu_ea(cpu, in), size, v);
}

/* Write the result of a read-modify-write whose flags are already set;
 * if the write does not complete (a fault, or an MMIO exit after which
 * the instruction runs again) the flags go back to what they were. */
static int write_keep_flags(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t v,
                            const struct emu_lazy_flags *lf, uint64_t rflags)
{
    int st = rm_write(cpu, in, in->opsz, v);
    if (st) {
        cpu->lf = *lf;
        cpu->rflags = rflags;
    }
    return st;
}

static int alu_rm(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t b)
{
    if (!(in->flags & INSN_MEM)) { /* a register write cannot fail: no rollback */
        uint64_t r = alu(cpu, in->sub, in->opsz, reg_read(cpu, in->rm, in->opsz),
                         b & size_mask(in->opsz));
        if (in->sub != 7)
            reg_write(cpu, in->rm, in->opsz, r);
        return next(cpu, in);
    }
    uint64_t a, fl = cpu->rflags;
    struct emu_lazy_flags lf = cpu->lf;
    bool cmp = in->sub == 7;
    int st = cmp ? rm_read(cpu, in, in->opsz, &a) : rm_read_rmw(cpu, in, in->opsz, &a);
    if (st)
        return st;
    uint64_t r = alu(cpu, in->sub, in->opsz, a, b & size_mask(in->opsz));
    if (!cmp && (st = write_keep_flags(cpu, in, r, &lf, fl)) != 0)
        return st;
    return next(cpu, in);
}

EXEC(ex_alu_rm_reg)
{
    return alu_rm(cpu, in, reg_read(cpu, in->reg, in->opsz));
}

EXEC(ex_alu_rm_imm)
{
    return alu_rm(cpu, in, in->imm);
}

EXEC(ex_alu_acc_imm)
{
    return alu_rm(cpu, in, in->imm); /* decoder sets rm = accumulator */
}

EXEC(ex_alu_reg_rm)
{
    uint64_t b;
    int st = rm_read(cpu, in, in->opsz, &b);
    if (st)
        return st;
    uint64_t r = alu(cpu, in->sub, in->opsz, reg_read(cpu, in->reg, in->opsz), b);
    if (in->sub != 7)
        reg_write(cpu, in->reg, in->opsz, r);
    return next(cpu, in);
}

static int test(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t b)
{
    uint64_t a;
    int st = rm_read(cpu, in, in->opsz, &a);
    if (st)
        return st;
    lazy_set(cpu, LF_LOGIC, in->opsz, a, b, a & b);
    return next(cpu, in);
}

EXEC(ex_test_rm_reg)
{
    return test(cpu, in, reg_read(cpu, in->reg, in->opsz));
}

EXEC(ex_test_rm_imm)
{
    return test(cpu, in, in->imm);
}

static uint64_t inc_dec(struct emu_cpu *cpu, bool dec, unsigned size, uint64_t a)
{
    bool cf = emu_cf(cpu);
    uint64_t r = (dec ? a - 1 : a + 1) & size_mask(size);
    lazy_set(cpu, dec ? LF_DEC : LF_INC, size, a, 1, r);
    cpu->lf.cf_in = cf;
    return r;
}

EXEC(ex_inc_dec_rm)
{
    if (!(in->flags & INSN_MEM)) {
        uint64_t a = reg_read(cpu, in->rm, in->opsz);
        reg_write(cpu, in->rm, in->opsz, inc_dec(cpu, in->sub & 1, in->opsz, a));
        return next(cpu, in);
    }
    uint64_t a, fl = cpu->rflags;
    struct emu_lazy_flags lf = cpu->lf;
    int st = rm_read_rmw(cpu, in, in->opsz, &a);
    if (!st)
        st = write_keep_flags(cpu, in, inc_dec(cpu, in->sub & 1, in->opsz, a), &lf, fl);
    return st ? st : next(cpu, in);
}

EXEC(ex_inc_dec_reg)
{
    uint64_t a = reg_read(cpu, in->reg, in->opsz);
    reg_write(cpu, in->reg, in->opsz, inc_dec(cpu, in->sub & 1, in->opsz, a));
    return next(cpu, in);
}

EXEC(ex_not)
{
    uint64_t a;
    int st = rm_read_rmw(cpu, in, in->opsz, &a);
    if (!st)
        st = rm_write(cpu, in, in->opsz, ~a);
    return st ? st : next(cpu, in);
}

EXEC(ex_neg)
{
    uint64_t a;
    int st = rm_read_rmw(cpu, in, in->opsz, &a);
    if (st)
        return st;
    uint64_t r = (0 - a) & size_mask(in->opsz);
    if ((st = rm_write(cpu, in, in->opsz, r)) != 0)
        return st;
    lazy_set(cpu, LF_NEG, in->opsz, a, 0, r);
    return next(cpu, in);
}

/* MUL/IMUL leave SF, ZF, AF, PF undefined; we compute them from the low
 * half as current Intel cores do, and set CF = OF = "high half needed". */
static void mul_flags(struct emu_cpu *cpu, unsigned size, uint64_t lo, bool overflow)
{
    lazy_set(cpu, LF_CFOF, size, 0, overflow, lo & size_mask(size));
    cpu->lf.cf_in = overflow;
}

/* Store a double-width product in AX or rDX:rAX. */
static void store_wide(struct emu_cpu *cpu, unsigned size, uint64_t lo, uint64_t hi)
{
    if (size == 1) {
        reg_write(cpu, 0, 2, (lo & 0xff) | ((hi & 0xff) << 8));
    } else {
        reg_write(cpu, 0, size, lo);
        reg_write(cpu, 2, size, hi);
    }
}

EXEC(ex_mul)
{
    uint64_t b;
    int st = rm_read(cpu, in, in->opsz, &b);
    if (st)
        return st;
    unsigned s = in->opsz, bits = s * 8;
    unsigned __int128 p = (unsigned __int128)reg_read(cpu, 0, s) * b;
    uint64_t lo = (uint64_t)p & size_mask(s);
    uint64_t hi = (uint64_t)(p >> bits) & size_mask(s);
    store_wide(cpu, s, lo, hi);
    mul_flags(cpu, s, lo, hi != 0);
    return next(cpu, in);
}

static __int128 imul_wide(uint64_t a, uint64_t b, unsigned size)
{
    return (__int128)sign_extend(a, size) * (__int128)sign_extend(b, size);
}

static bool imul_overflow(__int128 p, unsigned size)
{
    return p != (__int128)sign_extend((uint64_t)p, size);
}

EXEC(ex_imul1)
{
    uint64_t b;
    int st = rm_read(cpu, in, in->opsz, &b);
    if (st)
        return st;
    unsigned s = in->opsz;
    __int128 p = imul_wide(reg_read(cpu, 0, s), b, s);
    uint64_t lo = (uint64_t)p & size_mask(s);
    uint64_t hi = (uint64_t)((unsigned __int128)p >> (s * 8)) & size_mask(s);
    store_wide(cpu, s, lo, hi);
    mul_flags(cpu, s, lo, imul_overflow(p, s));
    return next(cpu, in);
}

static int imul_to_reg(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t a, uint64_t b)
{
    __int128 p = imul_wide(a, b, in->opsz);
    reg_write(cpu, in->reg, in->opsz, (uint64_t)p);
    mul_flags(cpu, in->opsz, (uint64_t)p, imul_overflow(p, in->opsz));
    return next(cpu, in);
}

EXEC(ex_imul_reg_rm)
{
    uint64_t b;
    int st = rm_read(cpu, in, in->opsz, &b);
    return st ? st : imul_to_reg(cpu, in, reg_read(cpu, in->reg, in->opsz), b);
}

EXEC(ex_imul_reg_rm_imm)
{
    uint64_t b;
    int st = rm_read(cpu, in, in->opsz, &b);
    return st ? st : imul_to_reg(cpu, in, b, in->imm);
}

/* Dividend from AX or rDX:rAX. */
static unsigned __int128 dividend(const struct emu_cpu *cpu, unsigned s)
{
    if (s == 1)
        return reg_read(cpu, 0, 2);
    return ((unsigned __int128)reg_read(cpu, 2, s) << (s * 8)) | reg_read(cpu, 0, s);
}

static void store_divide(struct emu_cpu *cpu, unsigned s, uint64_t q, uint64_t r)
{
    if (s == 1) {
        reg_write(cpu, 0, 2, (q & 0xff) | ((r & 0xff) << 8));
    } else {
        reg_write(cpu, 0, s, q);
        reg_write(cpu, 2, s, r);
    }
}

EXEC(ex_div)
{
    uint64_t d;
    int st = rm_read(cpu, in, in->opsz, &d);
    if (st)
        return st;
    unsigned s = in->opsz;
    if (d == 0)
        return emu_raise(cpu, EXC_DE);
    unsigned __int128 n = dividend(cpu, s), q = n / d;
    if (q > size_mask(s))
        return emu_raise(cpu, EXC_DE);
    store_divide(cpu, s, (uint64_t)q, (uint64_t)(n % d));
    return next(cpu, in);
}

EXEC(ex_idiv)
{
    uint64_t raw;
    int st = rm_read(cpu, in, in->opsz, &raw);
    if (st)
        return st;
    unsigned s = in->opsz, bits = s * 8;
    __int128 d = sign_extend(raw, s);
    if (d == 0)
        return emu_raise(cpu, EXC_DE);
    unsigned __int128 un = dividend(cpu, s);
    /* Sign-extend the 2*bits-wide dividend. */
    __int128 n = (__int128)(un << (128 - 2 * bits)) >> (128 - 2 * bits);
    __int128 lim = (__int128)1 << (bits - 1);
    /* The one quotient __int128 cannot hold: -2^127 / -1 (the minimum is
     * built unsigned, since 1 << 127 overflows a signed shift). */
    if (bits == 64 && d == -1 && un == (unsigned __int128)1 << 127)
        return emu_raise(cpu, EXC_DE);
    __int128 q = n / d, r = n % d;
    if (q >= lim || q < -lim)
        return emu_raise(cpu, EXC_DE);
    store_divide(cpu, s, (uint64_t)q, (uint64_t)r);
    return next(cpu, in);
}

static void set_flag(uint64_t *f, uint64_t bit, bool on)
{
    *f = on ? (*f | bit) : (*f & ~bit);
}

static void result_flags(uint64_t *f, uint64_t r, unsigned size)
{
    r &= size_mask(size);
    set_flag(f, RFLAGS_ZF, r == 0);
    set_flag(f, RFLAGS_SF, (r & sign_bit(size)) != 0);
    set_flag(f, RFLAGS_PF, !__builtin_parity((unsigned)(r & 0xff)));
}

/* Group 2 (SDM Vol. 2B "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR"). */
static uint64_t shift(struct emu_cpu *cpu, unsigned op, unsigned size, uint64_t a, unsigned count)
{
    unsigned w = size * 8;
    uint64_t m = size_mask(size), sb = sign_bit(size), r;
    count &= size == 8 ? 63 : 31;
    if (count == 0)
        return a;
    uint64_t f = op < 4 ? emu_rflags(cpu) : 0; /* rotates keep SF ZF AF PF */
    bool cf, of;
    a &= m;
    switch (op) {
    case 0: { /* ROL */
        unsigned c = count % w;
        r = c ? ((a << c) | (a >> (w - c))) & m : a;
        cf = r & 1;
        of = ((r & sb) != 0) ^ cf;
        break;
    }
    case 1: { /* ROR */
        unsigned c = count % w;
        r = c ? ((a >> c) | (a << (w - c))) & m : a;
        cf = (r & sb) != 0;
        of = cf ^ ((r & (sb >> 1)) != 0);
        break;
    }
    case 2: case 3: { /* RCL, RCR: rotate through CF over w+1 bits */
        unsigned c = count % (w + 1);
        cf = f & RFLAGS_CF;
        r = a;
        for (unsigned i = 0; i < c; i++) {
            bool out;
            if (op == 2) {
                out = (r & sb) != 0;
                r = ((r << 1) | cf) & m;
            } else {
                out = r & 1;
                r = (r >> 1) | (cf ? sb : 0);
            }
            cf = out;
        }
        of = op == 2 ? (((r & sb) != 0) ^ cf) : (((r & sb) != 0) ^ ((r & (sb >> 1)) != 0));
        break;
    }
    case 4: case 6: /* SHL/SAL */
        r = count < w ? (a << count) & m : 0;
        cf = count <= w ? (a >> (w - count)) & 1 : 0;
        of = ((r & sb) != 0) ^ cf;
        break;
    case 5: /* SHR */
        r = count < w ? a >> count : 0;
        cf = count <= w ? (a >> (count - 1)) & 1 : 0;
        of = (a & sb) != 0;
        break;
    default: { /* SAR */
        int64_t sa = sign_extend(a, size);
        unsigned c = count < w ? count : w - 1;
        r = (uint64_t)(sa >> c) & m;
        cf = count < w ? (sa >> (count - 1)) & 1 : sa < 0;
        of = false;
        break;
    }
    }
    if (op >= 4) { /* shifts: all six flags from the result, CF and OF */
        lazy_set(cpu, LF_CFOF, size, 0, of, r);
        cpu->lf.cf_in = cf;
        return r;
    }
    set_flag(&f, RFLAGS_CF, cf);
    set_flag(&f, RFLAGS_OF, of);
    cpu->rflags = f;
    return r;
}

EXEC(ex_shift)
{
    /* C0/C1 shift by imm8, D0/D1 by one, D2/D3 by CL. */
    unsigned count = (in->opcode & 0xfe) == 0xd2   ? (unsigned)(cpu->gpr[1] & 0xff)
                     : (in->opcode & 0xfe) == 0xd0 ? 1u
                                                   : (unsigned)in->imm;
    if (!(in->flags & INSN_MEM)) {
        uint64_t a = reg_read(cpu, in->rm, in->opsz);
        reg_write(cpu, in->rm, in->opsz, shift(cpu, in->sub, in->opsz, a, count));
        return next(cpu, in);
    }
    uint64_t a, fl = cpu->rflags;
    struct emu_lazy_flags lf = cpu->lf;
    int st = rm_read_rmw(cpu, in, in->opsz, &a);
    if (st)
        return st;
    uint64_t r = shift(cpu, in->sub, in->opsz, a, count);
    if ((st = write_keep_flags(cpu, in, r, &lf, fl)) != 0)
        return st;
    return next(cpu, in);
}

/* SHLD (0F A4/A5) and SHRD (0F AC/AD): shift r/m by imm8 or CL, filling
 * from the register operand (SDM "SHLD", "SHRD"). Counts above the
 * operand width (16-bit only) and OF for counts above 1 are undefined. */
static uint64_t double_shift(struct emu_cpu *cpu, bool left, unsigned size, uint64_t dst,
                             uint64_t src, unsigned count)
{
    unsigned w = size * 8;
    uint64_t m = size_mask(size), sb = sign_bit(size);
    dst &= m;
    src &= m;
    unsigned __int128 cat;
    uint64_t r;
    bool cf;
    if (left) {
        cat = ((unsigned __int128)dst << w) | src;
        r = (uint64_t)((cat << count) >> w) & m;
        cf = (cat >> (2 * w - count)) & 1;
    } else {
        cat = ((unsigned __int128)src << w) | dst;
        r = (uint64_t)(cat >> count) & m;
        cf = (cat >> (count - 1)) & 1;
    }
    uint64_t f = emu_rflags(cpu) & ~RFLAGS_AF;
    set_flag(&f, RFLAGS_CF, cf);
    set_flag(&f, RFLAGS_OF, ((r ^ dst) & sb) != 0);
    result_flags(&f, r, size);
    cpu->rflags = f;
    return r;
}

EXEC(ex_shld_shrd)
{
    uint64_t a, fl = cpu->rflags;
    struct emu_lazy_flags lf = cpu->lf;
    unsigned count = (in->opcode & 1) ? (unsigned)(cpu->gpr[1] & 0xff) : (unsigned)in->imm;
    count &= in->opsz == 8 ? 63 : 31;
    int st = rm_read_rmw(cpu, in, in->opsz, &a);
    if (st)
        return st;
    /* A zero count changes no flag, but the destination is still written
     * (a 32-bit register is zero-extended; a read-only page faults). */
    uint64_t r = count ? double_shift(cpu, in->opcode < 0xa8, in->opsz, a,
                                      reg_read(cpu, in->reg, in->opsz), count)
                       : a;
    if ((st = write_keep_flags(cpu, in, r, &lf, fl)) != 0)
        return st;
    return next(cpu, in);
}

/* BT family: sub 4 BT, 5 BTS, 6 BTR, 7 BTC. A register bit offset may
 * reach outside the addressed operand in memory (SDM "BT"). */
static int bit_op(struct emu_cpu *cpu, const struct emu_insn *in, int64_t bitoff, bool from_reg)
{
    unsigned s = in->opsz, bits = s * 8;
    uint64_t v, ea = 0;
    int st;
    if (in->flags & INSN_MEM) {
        ea = emu_ea(cpu, in);
        if (from_reg) {
            int64_t off = sign_extend((uint64_t)bitoff, s);
            ea = (ea + (uint64_t)((off >> (s == 8 ? 6 : s == 4 ? 5 : 4)) * (int64_t)s)) &
                 size_mask(in->adsz);
        }
        st = in->sub == 4 ? emu_read(cpu, in->seg, ea, s, &v)
                          : emu_read_rmw(cpu, in->seg, ea, s, &v);
    } else {
        v = reg_read(cpu, in->rm, s);
        st = EMU_OK;
    }
    if (st)
        return st;
    unsigned bit = (unsigned)bitoff & (bits - 1);
    bool old = (v >> bit) & 1;
    uint64_t nv = v;
    if (in->sub == 5)
        nv |= 1ull << bit;
    else if (in->sub == 6)
        nv &= ~(1ull << bit);
    else if (in->sub == 7)
        nv ^= 1ull << bit;
    if (in->sub != 4) {
        st = (in->flags & INSN_MEM) ? emu_write(cpu, in->seg, ea, s, nv)
                                    : (reg_write(cpu, in->rm, s, nv), EMU_OK);
        if (st)
            return st;
    }
    uint64_t f = emu_rflags(cpu);
    set_flag(&f, RFLAGS_CF, old);
    cpu->rflags = f;
    return next(cpu, in);
}

EXEC(ex_bt_reg)
{
    return bit_op(cpu, in, (int64_t)reg_read(cpu, in->reg, in->opsz), true);
}

EXEC(ex_bt_imm)
{
    return bit_op(cpu, in, (int64_t)(in->imm & 0xff), false);
}

static int bit_scan(struct emu_cpu *cpu, const struct emu_insn *in, bool reverse)
{
    uint64_t v;
    int st = rm_read(cpu, in, in->opsz, &v);
    if (st)
        return st;
    uint64_t f = emu_rflags(cpu);
    set_flag(&f, RFLAGS_ZF, v == 0);
    if (v) /* a zero source leaves the destination unchanged (as hardware does) */
        reg_write(cpu, in->reg, in->opsz, reverse ? 63u - (unsigned)__builtin_clzll(v)
                                                  : (unsigned)__builtin_ctzll(v));
    cpu->rflags = f;
    return next(cpu, in);
}

EXEC(ex_bsf)
{
    return bit_scan(cpu, in, false);
}

EXEC(ex_bsr)
{
    return bit_scan(cpu, in, true);
}

EXEC(ex_xadd)
{
    uint64_t a, fl = cpu->rflags;
    struct emu_lazy_flags lf = cpu->lf;
    int st = rm_read_rmw(cpu, in, in->opsz, &a);
    if (st)
        return st;
    uint64_t b = reg_read(cpu, in->reg, in->opsz);
    uint64_t r = alu(cpu, 0, in->opsz, a, b);
    if (!(in->flags & INSN_MEM)) {
        /* SRC <- DEST, then DEST <- sum: XADD r, r keeps the sum. */
        reg_write(cpu, in->reg, in->opsz, a);
        reg_write(cpu, in->rm, in->opsz, r);
        return next(cpu, in);
    }
    if ((st = write_keep_flags(cpu, in, r, &lf, fl)) != 0)
        return st;
    reg_write(cpu, in->reg, in->opsz, a);
    return next(cpu, in);
}

EXEC(ex_cmpxchg)
{
    uint64_t a;
    int st = rm_read_rmw(cpu, in, in->opsz, &a);
    if (st)
        return st;
    uint64_t acc = reg_read(cpu, 0, in->opsz);
    bool eq = a == acc;
    /* A memory destination is always written (SDM "CMPXCHG"): a locked bus
     * cycle. A register one is left alone on a mismatch, upper half of a
     * 32-bit register included (as AMD and Intel hardware do). */
    bool mem = in->flags & INSN_MEM;
    if ((eq || mem) &&
        (st = rm_write(cpu, in, in->opsz, eq ? reg_read(cpu, in->reg, in->opsz) : a)) != 0)
        return st;
    alu(cpu, 7, in->opsz, acc, a);
    if (!eq)
        reg_write(cpu, 0, in->opsz, a);
    return next(cpu, in);
}

EXEC(ex_setcc)
{
    int st = rm_write(cpu, in, 1, emu_cond(cpu, in->sub));
    return st ? st : next(cpu, in);
}

EXEC(ex_cmovcc)
{
    uint64_t v;
    int st = rm_read(cpu, in, in->opsz, &v);
    if (st)
        return st;
    if (emu_cond(cpu, in->sub))
        reg_write(cpu, in->reg, in->opsz, v);
    else if (in->opsz == 4)
        reg_write(cpu, in->reg, 4, reg_read(cpu, in->reg, 4)); /* still zero-extends */
    return next(cpu, in);
}

EXEC(ex_bswap)
{
    uint64_t v = cpu->gpr[in->reg];
    if (in->opsz == 8)
        cpu->gpr[in->reg] = __builtin_bswap64(v);
    else if (in->opsz == 4)
        cpu->gpr[in->reg] = __builtin_bswap32((uint32_t)v);
    else
        reg_write(cpu, in->reg, 2, 0); /* BSWAP r16 is undefined; hardware gives 0 */
    return next(cpu, in);
}
