/*
 * The x86 decoder (SDM Vol. 2A ch. 2): prefixes, REX, opcode maps, ModRM,
 * SIB, displacement and immediates, resolved once into struct emu_insn so
 * executors never look at instruction bytes again.
 */
#include <string.h>

#include "accel/emu/decode_tables.h"
#include "accel/emu/exec.h"

struct cursor {
    const uint8_t *p;
    int pos, avail;
    bool short_;   /* ran out of bytes */
};

static uint64_t take(struct cursor *c, int n)
{
    if (c->pos + n > c->avail) {
        c->short_ = true;
        c->pos += n;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, c->p + c->pos, (size_t)n);
    c->pos += n;
    return v;
}

struct prefixes {
    bool opsize, adsize, lock, rep, repne;
    uint8_t seg;
    uint8_t rex;
};

static bool is_legacy_prefix(uint8_t b)
{
    switch (b) {
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
        return true;
    default:
        return false;
    }
}

static void read_prefixes(struct cursor *c, bool long64, struct prefixes *px)
{
    for (;;) {
        if (c->pos >= c->avail) {
            c->short_ = true;
            return;
        }
        uint8_t b = c->p[c->pos];
        switch (b) {
        case 0x66: px->opsize = true; break;
        case 0x67: px->adsize = true; break;
        case 0xf0: px->lock = true; break;
        case 0xf2: px->repne = true; px->rep = false; break;
        case 0xf3: px->rep = true; px->repne = false; break;
        case 0x26: px->seg = SEG_ES; break;
        case 0x2e: px->seg = SEG_CS; break;
        case 0x36: px->seg = SEG_SS; break;
        case 0x3e: px->seg = SEG_DS; break;
        case 0x64: px->seg = SEG_FS; break;
        case 0x65: px->seg = SEG_GS; break;
        default:
            /* REX counts only directly before the opcode. */
            if (long64 && (b & 0xf0) == 0x40) {
                px->rex = b;
                c->pos++;
                if (c->pos < c->avail && is_legacy_prefix(c->p[c->pos]))
                    px->rex = 0; /* a legacy prefix after REX cancels it */
                else if (c->pos >= c->avail || (c->p[c->pos] & 0xf0) != 0x40)
                    return;
                continue;
            }
            return;
        }
        c->pos++;
    }
}

/* Byte-register number: without REX, 4-7 name AH, CH, DH, BH. */
static uint8_t byte_reg(unsigned r, bool rex)
{
    return (uint8_t)(!rex && r >= 4 && r < 8 ? REG_HIGH8 + r - 4 : r);
}

static void decode_modrm16(struct cursor *c, unsigned mod, unsigned rm, struct emu_insn *in)
{
    static const uint8_t base16[8] = {3, 3, 5, 5, EA_NONE, EA_NONE, 5, 3};
    static const uint8_t index16[8] = {6, 7, 6, 7, 6, 7, EA_NONE, EA_NONE};
    in->base = base16[rm];
    in->index = index16[rm];
    in->scale = 0;
    if (mod == 0 && rm == 6) {
        in->base = EA_NONE;
        in->disp = (int16_t)take(c, 2);
    } else if (mod == 1) {
        in->disp = (int8_t)take(c, 1);
    } else if (mod == 2) {
        in->disp = (int16_t)take(c, 2);
    }
    if (in->base == 5) /* BP-based addressing defaults to SS */
        in->seg = SEG_SS;
}

static void decode_modrm32(struct cursor *c, unsigned mod, unsigned rm, uint8_t rex, bool long64,
                           struct emu_insn *in)
{
    in->index = EA_NONE;
    in->scale = 0;
    if (rm == 4) {
        uint8_t sib = (uint8_t)take(c, 1);
        unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
        unsigned base = sib & 7;
        in->scale = sib >> 6;
        if (idx != 4)
            in->index = (uint8_t)idx;
        if (base == 5 && mod == 0) {
            in->base = EA_NONE;
            in->disp = (int32_t)take(c, 4);
            return;
        }
        in->base = (uint8_t)(base | ((rex & 1) << 3));
    } else if (rm == 5 && mod == 0) {
        in->base = long64 ? EA_RIP : EA_NONE;
        in->disp = (int32_t)take(c, 4);
        return;
    } else {
        in->base = (uint8_t)(rm | ((rex & 1) << 3));
    }
    if (mod == 1)
        in->disp = (int8_t)take(c, 1);
    else if (mod == 2)
        in->disp = (int32_t)take(c, 4);
    if (in->base == 4 || in->base == 5) /* rSP/rBP bases default to SS */
        in->seg = SEG_SS;
}

static unsigned operand_size(const struct emu_cpu *cpu, const struct prefixes *px, uint32_t f)
{
    if (f & O_BYTE)
        return 1;
    if (cpu->mode == MODE_LONG64) {
        if (px->rex & 8)
            return 8;
        if (f & O_DEF64)
            return px->opsize ? 2 : 8;
        return px->opsize ? 2 : 4;
    }
    bool d32 = cpu->mode == MODE_PROT32 || cpu->mode == MODE_COMPAT32;
    return (d32 ^ px->opsize) ? 4 : 2;
}

static unsigned address_size(const struct emu_cpu *cpu, const struct prefixes *px)
{
    if (cpu->mode == MODE_LONG64)
        return px->adsize ? 4 : 8;
    bool d32 = cpu->mode == MODE_PROT32 || cpu->mode == MODE_COMPAT32;
    return (d32 ^ px->adsize) ? 4 : 2;
}

static void read_immediates(struct cursor *c, uint32_t f, struct emu_insn *in)
{
    if (f & O_IMM8)
        in->imm = (uint64_t)(int8_t)take(c, 1);
    else if (f & O_IMM8U)
        in->imm = take(c, 1);
    else if (f & O_IMMZ)
        in->imm = in->opsz == 2 ? (uint64_t)(int16_t)take(c, 2) : (uint64_t)(int32_t)take(c, 4);
    else if (f & O_IMMV)
        in->imm = take(c, in->opsz);
    else if (f & O_IMM16)
        in->imm = take(c, 2);
    else if (f & O_ENTER) {
        in->imm = take(c, 2);
        in->imm2 = take(c, 1);
    } else if (f & O_MOFFS) {
        in->imm = take(c, in->adsz);
    } else if (f & O_FARPTR) {
        in->imm = take(c, in->opsz);
        in->imm2 = take(c, 2);
    }
}

/* The entry for this opcode, resolving groups by ModRM.reg. */
static const struct op *resolve(const struct op *op, struct cursor *c, uint8_t *modrm)
{
    if (!(op->f & O_MODRM))
        return op;
    if (c->pos >= c->avail) {
        c->short_ = true;
        return op;
    }
    *modrm = c->p[c->pos];
    if (!op->group)
        return op;
    const struct op *g = (op->group_reg && (*modrm >> 6) == 3) ? op->group_reg : op->group;
    return &g[(*modrm >> 3) & 7];
}

/* The prefix that selects an SSE-style instruction: F2, F3, 66 or none. */
static int mandatory_prefix(const struct prefixes *px)
{
    return px->repne ? 3 : px->rep ? 2 : px->opsize ? 1 : 0;
}

/* After 0F: the 0F38/0F3A maps, prefix-selected SSE entries, or the plain
 * 0F map. A prefix consumed as mandatory no longer acts as 66/F3/F2. */
static const struct op *escape_0f(struct cursor *c, struct prefixes *px, uint8_t *b)
{
    const struct op_prefixed *table = emu_map0f_sse;
    bool three_byte = *b == 0x38 || *b == 0x3a;
    if (three_byte) {
        table = *b == 0x38 ? emu_map0f38 : emu_map0f3a;
        *b = (uint8_t)take(c, 1);
    }
    int mp = mandatory_prefix(px);
    const struct op *sel = &table[*b].p[mp];
    if (!sel->fn && !sel->group)
        return three_byte ? sel : &emu_map0f[*b];
    if (mp == 1)
        px->opsize = false;
    else if (mp == 2)
        px->rep = false;
    else if (mp == 3)
        px->repne = false;
    return sel;
}

/* D8-DF: memory forms by ModRM.reg, register forms by the low six bits. */
static const struct op *x87_entry(struct cursor *c, uint8_t b)
{
    static const struct op missing = {NULL, O_MODRM, 0, 0, NULL, NULL, 0};
    if (c->pos >= c->avail) {
        c->short_ = true;
        return &missing;
    }
    uint8_t modrm = c->p[c->pos];
    const struct op *op = (modrm >> 6) == 3 ? &emu_x87_reg[b - 0xd8][modrm & 0x3f]
                                            : &emu_x87_mem[b - 0xd8][(modrm >> 3) & 7];
    return op->fn ? op : &missing; /* ModRM still counts toward the length */
}

/* An instruction over 15 bytes raises #GP(0), before any LOCK #UD
 * (SDM Vol. 2A 2.3.11). */
static int ex_too_long(struct emu_cpu *cpu, const struct emu_insn *in)
{
    (void)in;
    return emu_raise_err(cpu, EXC_GP, 0);
}

int emu_decode(const struct emu_cpu *cpu, const uint8_t *bytes, int avail, struct emu_insn *in)
{
    struct cursor c = {bytes, 0, avail, false};
    struct prefixes px = {.seg = SEG_NONE};
    bool long64 = cpu->mode == MODE_LONG64;
    memset(in, 0, sizeof(*in));
    read_prefixes(&c, long64, &px);
    uint8_t b = (uint8_t)take(&c, 1);
    const struct op *op = &emu_map1[b];
    bool x87 = false;
    if (b == 0x0f) {
        b = (uint8_t)take(&c, 1);
        op = escape_0f(&c, &px, &b);
    } else if (b >= 0xd8 && b <= 0xdf) {
        op = x87_entry(&c, b);
        x87 = true;
    }
    /* REX.B 90 is XCHG r8, rAX, not NOP; with F3 it stays PAUSE on Intel
     * (AMD makes it XCHG too). */
    if (b == 0x90 && (px.rex & 1) && !px.rep && op == &emu_map1[0x90])
        op = &emu_map1[0x91];
    in->opcode = b;
    uint8_t modrm = 0;
    op = resolve(op, &c, &modrm);
    uint32_t f = op->f;
    in->fn = op->fn && !(long64 && (f & O_NO64)) ? op->fn : ex_ud;
    in->sub = op->sub == 0xff ? (modrm >> 3) & 7 : op->sub;
    if (x87)
        in->sub = modrm; /* x87 executors decode ST(i) and the form from it */
    in->opsz = (uint8_t)operand_size(cpu, &px, f);
    if (op->io && in->opsz == 8)
        in->opsz = 4;
    in->adsz = (uint8_t)address_size(cpu, &px);
    in->seg = SEG_DS;
    in->base = in->index = EA_NONE;
    bool rex = px.rex != 0;
    if (f & O_REGOP) {
        unsigned r = (b & 7) | ((px.rex & 1) << 3);
        in->reg = (f & O_BYTE) ? byte_reg(r, rex) : (uint8_t)r;
    }
    if (f & O_ACC)
        in->rm = 0;
    if (f & O_MODRM) {
        c.pos++;
        unsigned mod = modrm >> 6, reg = ((modrm >> 3) & 7) | ((px.rex & 4) << 1);
        unsigned rm = (modrm & 7) | ((px.rex & 1) << 3);
        in->reg = (f & O_BYTE) ? byte_reg(reg, rex) : (uint8_t)reg;
        if (mod == 3 || (f & O_FORCEREG)) {
            in->rm = (f & (O_BYTE | O_RMBYTE)) ? byte_reg(rm, rex) : (uint8_t)rm;
        } else {
            in->flags |= INSN_MEM;
            if (in->adsz == 2)
                decode_modrm16(&c, mod, modrm & 7, in);
            else
                decode_modrm32(&c, mod, modrm & 7, px.rex, long64, in);
        }
    }
    /* In 64-bit mode CS, DS, ES and SS overrides are ignored (SDM Vol. 2A
     * 2.2.1): the default segment stays, and SS (rSP/rBP bases) matters
     * because a non-canonical stack reference raises #SS, not #GP. */
    if (px.seg != SEG_NONE && (!long64 || px.seg == SEG_FS || px.seg == SEG_GS))
        in->seg = px.seg;
    if (long64 && in->seg != SEG_FS && in->seg != SEG_GS && in->seg != SEG_SS)
        in->seg = SEG_DS;
    if (!(long64 && (f & O_NO64))) /* #UD at the opcode: nothing more is fetched */
        read_immediates(&c, f, in);
    if (op->srcsize)
        in->imm = op->srcsize;
    if (c.short_ && avail < 15)
        return 0; /* needs bytes past what the caller had */
    bool too_long = c.short_ || c.pos > 15;
    if (too_long)
        c.pos = 15;
    in->len = (uint8_t)c.pos;
    if (px.lock) {
        in->flags |= INSN_LOCK;
        if (!(f & O_LOCK) || !(in->flags & INSN_MEM))
            in->fn = ex_ud;
    }
    if (too_long) {
        in->fn = ex_too_long;
        in->flags |= INSN_ENDS;
    }
    in->flags |= (px.rep ? INSN_REP : 0) | (px.repne ? INSN_REPNE : 0);
    if ((f & O_ENDS) || in->fn == ex_ud)
        in->flags |= INSN_ENDS;
    return in->len;
}
