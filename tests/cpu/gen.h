/*
 * Test-case generator: for one form, an encoding with random prefixes,
 * ModRM, SIB and displacement, plus register, flag and memory inputs drawn
 * from edge cases. Memory operands are steered into the data pages by
 * solving for the base/index registers (or the displacement), so the
 * instruction touches nothing on the host outside the tester's own
 * reservation; now and then the operand straddles into the read-only or
 * the inaccessible page, or is non-canonical, to check faults.
 *
 * The code mode (modes.h) sets the default operand and address sizes, and
 * the segment base that pointers are offsets from: in 16-bit code every
 * pointer, stack pointer and branch target is an offset from CD_BASE.
 */
#ifndef HK_TESTS_CPU_GEN_H
#define HK_TESTS_CPU_GEN_H

#include "forms.h"
#include "native.h"

struct cd_rng {
    uint64_t s;
};

static uint64_t cd_rand(struct cd_rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned cd_below(struct cd_rng *r, unsigned n)
{
    return (unsigned)(cd_rand(r) % n);
}

static bool cd_chance(struct cd_rng *r, unsigned percent)
{
    return cd_below(r, 100) < percent;
}

/* A register or operand value: edges of every size, or random. */
static uint64_t cd_value(struct cd_rng *r)
{
    static const uint64_t edge[] = {0,          1,           2,           0x7f,
                                    0x80,       0xff,        0x7fff,      0x8000,
                                    0xffff,     0x7fffffff,  0x80000000,  0xffffffff,
                                    0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull};
    uint64_t e = edge[cd_below(r, sizeof(edge) / sizeof(edge[0]))];
    switch (cd_below(r, 8)) {
    case 0: case 1: return e;
    case 2: return 0 - e;
    case 3: return cd_chance(r, 50) ? e + 1 : e - 1;
    case 4: {
        unsigned bits = 8u << cd_below(r, 4);
        uint64_t v = cd_rand(r) & (bits == 64 ? ~0ull : (1ull << bits) - 1);
        return cd_chance(r, 50) ? (uint64_t)sign_extend(v, bits / 8) : v;
    }
    default: return cd_rand(r);
    }
}

static unsigned cd_count(struct cd_rng *r)
{
    static const unsigned c[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 255};
    return cd_chance(r, 80) ? c[cd_below(r, sizeof(c) / sizeof(c[0]))] : cd_below(r, 256);
}

/* A SHLD/SHRD count: a 16-bit operand shifted by 17-31 gives an undefined
 * result (vendors differ), so those counts are folded back into 0-16;
 * the bits above the masked count stay random. */
static unsigned cd_dshift_count(struct cd_rng *r, unsigned opsz)
{
    unsigned c = cd_count(r);
    if (opsz == 2 && (c & 31) > 16)
        c = (c & ~31u) | ((c & 31) % 17);
    return c & 0xff;
}

struct cd_case {
    int mode;      /* CD_M64, CD_M32, CD_M16 */
    uint8_t bytes[32];
    int len;
    struct cd_state in;
    uint8_t data[CD_DATA_RW];
    uint64_t ea;   /* memory operand, when there is one */
};

/* The instruction being built. Register numbers include the REX bits. */
struct cd_enc {
    const struct cd_mode *m;
    uint64_t sp_lin;           /* linear address of the stack top (CK_STACK) */
    int ovr;                   /* segment override (ES CS SS DS: 0-3), or -1 */
    uint8_t pfx[8];
    int npfx;
    uint8_t rex, rex_eff;      /* REX byte; what the CPU honours */
    bool p66, p67, lock, rep;
    unsigned opsz, adsz;
    bool has_modrm, mem, sib;
    unsigned mod, reg, rm, scale, index, base, dsize;
    int64_t disp;
    unsigned isize, isize2;
    uint64_t imm, imm2;
    unsigned fixed;            /* registers whose values are already chosen */
};

#define CD_NONE 0xffu
#define CD_RIP 16u

static void cd_gen_prefixes(const struct cd_form *f, struct cd_rng *r, struct cd_enc *e)
{
    unsigned k = f->kind;
    bool x64 = e->m->bits == 64;
    e->ovr = -1;
    e->p66 = !(k & CK_NO66) && !(x64 && (k & CK_BR66)) && cd_chance(r, 25);
    e->p67 = cd_chance(r, x64 ? 10 : 30); /* 16-bit addressing is new outside 64-bit code */
    e->lock = !(k & CK_NOLOCK) && cd_chance(r, (f->op->f & O_LOCK) ? 30 : 2);
    if (e->p66)
        e->pfx[e->npfx++] = 0x66;
    if (e->p67)
        e->pfx[e->npfx++] = 0x67;
    if (e->lock)
        e->pfx[e->npfx++] = 0xf0;
    if ((k & CK_STR) ? cd_chance(r, 60) : (!(k & CK_NOREP) && cd_chance(r, 4))) {
        e->rep = true;
        e->pfx[e->npfx++] = cd_chance(r, 70) ? 0xf3 : 0xf2;
    }
    if (cd_chance(r, 10)) {
        e->ovr = (int)cd_below(r, 4);
        e->pfx[e->npfx++] = (uint8_t)(0x26 + 8 * e->ovr); /* ES CS SS DS */
    }
    for (int i = e->npfx - 1; i > 0; i--) { /* any order */
        int j = (int)cd_below(r, (unsigned)i + 1);
        uint8_t t = e->pfx[i];
        e->pfx[i] = e->pfx[j];
        e->pfx[j] = t;
    }
    if (x64 && cd_chance(r, 60)) /* elsewhere 40-4F are INC/DEC */
        e->rex = (uint8_t)(0x40 | cd_below(r, 16));
    /* A REX before a legacy prefix is ignored. */
    e->rex_eff = (e->rex && e->npfx && cd_chance(r, 3)) ? 0 : e->rex;
    uint32_t of = f->op->f;
    e->opsz = (of & O_BYTE) ? 1 : (e->rex_eff & 8) ? 8 : (of & O_DEF64) ? (e->p66 ? 2 : 8)
            : e->p66 ? 2 : 4;
    e->adsz = e->p67 ? 4 : 8;
    if (!x64) { /* the D bit's size, or the other one with 66h/67h */
        bool d32 = e->m->bits == 32;
        e->opsz = (of & O_BYTE) ? 1 : d32 != e->p66 ? 4 : 2;
        e->adsz = d32 != e->p67 ? 4 : 2;
    }
}

/* 16-bit addressing (SDM Vol. 2A table 2-1): [BX+SI] .. [BX], with
 * [disp16] in place of [BP]; a lone SI or DI counts as the base. */
static void cd_gen_modrm16(struct cd_enc *e, unsigned rm)
{
    static const uint8_t base[8] = {3, 3, 5, 5, 6, 7, 5, 3};
    static const uint8_t index[8] = {6, 7, 6, 7, CD_NONE, CD_NONE, CD_NONE, CD_NONE};
    e->base = base[rm];
    e->index = index[rm];
    e->dsize = e->mod == 1 ? 1 : e->mod == 2 ? 2 : 0;
    if (e->mod == 0 && rm == 6) {
        e->base = CD_NONE;
        e->dsize = 2;
    }
}

static void cd_gen_modrm(const struct cd_form *f, struct cd_rng *r, struct cd_enc *e)
{
    uint32_t of = f->op->f;
    e->has_modrm = of & O_MODRM;
    if (!e->has_modrm)
        return;
    e->mod = f->mod == 3 ? 3 : f->mod == 0 ? cd_below(r, 3) : cd_below(r, 4);
    e->reg = (f->greg >= 0 ? (unsigned)f->greg : cd_below(r, 8)) | ((e->rex_eff & 4u) << 1);
    unsigned rm = cd_below(r, 8);
    e->rm = rm | ((e->rex_eff & 1u) << 3);
    e->mem = e->mod != 3 && !(of & O_FORCEREG);
    if (!e->mem)
        return;
    e->base = e->index = CD_NONE;
    if (e->adsz == 2) {
        cd_gen_modrm16(e, rm);
        return;
    }
    e->dsize = e->mod == 1 ? 1 : e->mod == 2 ? 4 : 0;
    if (rm == 4) {
        e->sib = true;
        e->scale = cd_below(r, 4);
        unsigned idx = cd_below(r, 8) | ((e->rex_eff & 2u) << 2), b = cd_below(r, 8);
        e->index = idx == 4 ? CD_NONE : idx;
        if (b == 5 && e->mod == 0)
            e->dsize = 4;
        else
            e->base = b | ((e->rex_eff & 1u) << 3);
    } else if (rm == 5 && e->mod == 0) {
        e->base = e->m->bits == 64 ? CD_RIP : CD_NONE; /* [disp32] outside 64-bit code */
        e->dsize = 4;
    } else {
        e->base = e->rm;
    }
}

static void cd_immediate_sizes(const struct cd_form *f, struct cd_enc *e)
{
    uint32_t of = f->op->f;
    e->isize = (of & (O_IMM8 | O_IMM8U)) ? 1 : (of & O_IMMZ) ? (e->opsz == 2 ? 2 : 4)
             : (of & O_IMMV) ? e->opsz : (of & (O_IMM16 | O_ENTER)) ? 2
             : (of & O_MOFFS) ? e->adsz : (of & O_FARPTR) ? e->opsz : 0;
    e->isize2 = (of & O_ENTER) ? 1 : (of & O_FARPTR) ? 2 : 0;
}

static int cd_length(const struct cd_form *f, const struct cd_enc *e)
{
    return e->npfx + (e->rex ? 1 : 0) + 1 + f->map + (e->has_modrm ? 1 : 0) + (e->sib ? 1 : 0) +
           (e->mem ? (int)e->dsize : 0) + (int)e->isize + (int)e->isize2;
}

static void cd_fix(struct cd_enc *e, struct cd_case *c, unsigned reg, uint64_t v)
{
    c->in.gpr[reg] = v;
    e->fixed |= 1u << reg;
}

static bool cd_is_fixed(const struct cd_enc *e, unsigned reg)
{
    return (e->fixed >> reg) & 1;
}

/* A memory target. safe: well inside the writable pages (the value there
 * is a branch target or the operand must have room around it). */
static uint64_t cd_target(struct cd_rng *r, unsigned size, bool safe, bool can_noncanon)
{
    unsigned p = cd_below(r, 100);
    if (safe)
        return CD_DATA + 0x900 + cd_below(r, 0x700);
    if (p < 84)
        return CD_DATA + 0x40 + cd_below(r, (unsigned)CD_DATA_RW - 0x80);
    if (p < 90) /* into the read-only page */
        return CD_DATA + CD_DATA_RW - size + cd_below(r, 2 * size + 16);
    if (p < 95) /* across into an inaccessible page */
        return cd_chance(r, 50) ? CD_DATA - size + 1 + cd_below(r, size)
                                : CD_DATA + CD_DATA_SIZE - size + 1 + cd_below(r, size);
    if (!can_noncanon)
        return CD_DATA + 0x40 + cd_below(r, 0x100);
    return (cd_chance(r, 50) ? 0x8000000000000000ull : 0x0000800000000000ull) + cd_below(r, 0x1000);
}

static bool cd_in_window(uint64_t ea)
{
    return ea >= CD_DATA - 0xff0 && ea < CD_DATA + CD_DATA_SIZE + 0xff0;
}

static bool cd_noncanonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) != a;
}

/* The segment of a data operand: the override, else DS (SS for one based
 * on rSP or rBP, which cd_gen_modrm has set by now). */
static int cd_data_seg(const struct cd_enc *e, bool modrm)
{
    return e->ovr >= 0 ? e->ovr : modrm && (e->base == 4 || e->base == 5) ? 2 : 3;
}

/* The linear address of offset ea in segment seg (ES CS SS DS: 0-3). */
static uint64_t cd_linear(const struct cd_enc *e, int seg, uint64_t ea)
{
    return e->m->bits == 64 ? ea : (uint32_t)(e->m->sbase[seg] + ea);
}

/* 16-bit addresses in flat 32-bit code reach only the first 64 KiB,
 * which the host side keeps inaccessible (cd_reserve_low): such an operand
 * faults on both sides, and the fault's CR2 still checks the address. */
static bool cd_low_fault(const struct cd_enc *e, uint64_t lin)
{
    return e->m->bits == 32 && lin < 0x10000 && cd_low_free;
}

/* 16-bit code's segments end inside the 64 KiB reservation (modes.h):
 * an operand at or above CD_BASE + 5000h is in the data pages, an
 * inaccessible page, or past a limit (#GP/#SS before any access); one
 * below CD_BASE is below the expand-down SS's limit. Only the state and
 * code pages must never be touched. */
static bool cd_in_segment(const struct cd_enc *e, uint64_t lin)
{
    return e->m->bits == 16 && (lin >= CD_CODE + 0x1000 || lin < CD_BASE);
}

/* Random bits above the address size for registers used as addresses. */
static uint64_t cd_addr_reg(struct cd_rng *r, const struct cd_enc *e, uint64_t low)
{
    if (e->adsz == 8)
        return low;
    uint64_t m = size_mask(e->adsz);
    return (low & m) | (cd_rand(r) & ~m);
}

/* A pointer to linear address lin in SS for a register size bytes wide
 * (the stack pointer, RBP): the offset, random above. */
static uint64_t cd_stack_reg(struct cd_rng *r, const struct cd_enc *e, uint64_t lin, unsigned size)
{
    if (e->m->bits == 64)
        return lin;
    uint64_t m = size_mask(size);
    return ((lin - e->m->sbase[2]) & m) | (cd_rand(r) & ~m);
}

/* The stack pointer's width: SS.B (16-bit code has a 16-bit stack). */
static unsigned cd_stack_size(const struct cd_enc *e)
{
    return e->m->bits == 64 ? 8 : e->m->bits == 32 ? 4 : 2;
}

static int64_t cd_disp(struct cd_rng *r, unsigned dsize)
{
    if (dsize == 1)
        return (int8_t)cd_rand(r);
    if (dsize == 2)
        return (int16_t)cd_rand(r);
    if (dsize == 4)
        return cd_chance(r, 70) ? (int32_t)(cd_below(r, 0x2000) - 0x1000) : (int32_t)cd_rand(r);
    return 0;
}

/* Choose base/index values (or the displacement) so that the effective
 * address is t, as far as fixed registers allow. Returns the address. */
static uint64_t cd_solve(struct cd_rng *r, struct cd_enc *e, struct cd_case *c, uint64_t t, int len)
{
    uint64_t am = size_mask(e->adsz);
    uint64_t *g = c->in.gpr;
    unsigned s = e->scale, b = e->base, x = e->index;
    if (b == CD_RIP) {
        e->disp = (int32_t)(t - (CD_INSN + (uint64_t)len));
        return (CD_INSN + (uint64_t)len + (uint64_t)e->disp) & am;
    }
    if (b != CD_NONE && b == x) { /* [r + r*2^s + disp] */
        if (!cd_is_fixed(e, b)) {
            int64_t d = e->dsize == 1 ? (int64_t)cd_below(r, 240) - 120 : cd_disp(r, e->dsize);
            uint64_t v = ((t - (uint64_t)d) & am) / (1 + (1ull << s));
            cd_fix(e, c, b, cd_addr_reg(r, e, v));
            d = (int64_t)(t - v * (1 + (1ull << s)));
            e->disp = e->dsize == 1 ? (int8_t)d : e->dsize == 4 ? (int32_t)d : 0;
        }
        return (g[b] + (g[b] << s) + (uint64_t)e->disp) & am;
    }
    if (x != CD_NONE && !cd_is_fixed(e, x))
        cd_fix(e, c, x, cd_addr_reg(r, e, (uint64_t)((int64_t)cd_below(r, 0x2000) - 0x1000)));
    uint64_t xi = x == CD_NONE ? 0 : g[x] << s;
    if (b == CD_NONE) {
        e->disp = e->dsize == 2 ? (int16_t)(t - xi) : (int32_t)(t - xi);
        return (xi + (uint64_t)e->disp) & am;
    }
    if (cd_is_fixed(e, b)) {
        int64_t want = (int64_t)(t - g[b] - xi);
        if (e->dsize >= e->adsz) /* the address wraps: any value fits */
            want = sign_extend((uint64_t)want, e->dsize);
        bool fits = e->dsize == 1 ? want == (int8_t)want : e->dsize == 2 ? want == (int16_t)want
                  : e->dsize == 4 && want == (int32_t)want;
        e->disp = fits ? want : e->dsize ? cd_disp(r, e->dsize) : 0;
    } else {
        e->disp = cd_disp(r, e->dsize);
        cd_fix(e, c, b, cd_addr_reg(r, e, t - xi - (uint64_t)e->disp));
    }
    return (g[b] + xi + (uint64_t)e->disp) & am;
}

/* A branch target in the INT3 sled, away from the instruction. */
static uint64_t cd_sled(struct cd_rng *r, int len, int span)
{
    for (;;) {
        int64_t off = (int64_t)cd_below(r, (unsigned)(2 * span)) - span;
        uint64_t a = CD_INSN + (uint64_t)len + (uint64_t)off;
        if ((a < CD_INSN || a >= CD_INSN + (uint64_t)len) && a >= CD_CODE + 0x100 &&
            a < CD_CODE + 0xf00)
            return a;
    }
}

static void cd_put(struct cd_case *c, uint64_t addr, uint64_t v, unsigned size)
{
    if (addr >= CD_DATA && addr + size <= CD_DATA + CD_DATA_RW)
        memcpy(c->data + (addr - CD_DATA), &v, size);
}

static uint64_t cd_get(const struct cd_case *c, uint64_t addr, unsigned size)
{
    uint64_t v = 0;
    if (addr >= CD_DATA && addr + size <= CD_DATA + CD_DATA_RW)
        memcpy(&v, c->data + (addr - CD_DATA), size);
    return v;
}

#include "gen_kinds.h"

#endif
