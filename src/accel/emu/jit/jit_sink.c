/*
 * A pure loop's lazy-flag stores sunk to its ways out. Such a loop
 * (jit_compile.c) calls nothing and only leaves through its checks
 * between runs or by its closing Jcc not taken; when nothing in it reads
 * the lazy state from memory either, the stores that rewrite it on
 * every run are seen by nobody until it leaves. So its last writer of
 * each field copies the value into a pool register the loop leaves free
 * (a spare) or, for a constant, only remembers it; the ways out store
 * them (jit_sink_flush). A field with no spare left is stored as before.
 */
#if defined(__x86_64__)
#include "accel/emu/jit/jit_int.h"

static const int32_t field_off[JIT_SINK_FIELDS] = {LF(op), LF(cf_in), LF(a), LF(b), LF(res)};

static int field_of(int32_t off)
{
    for (int f = 0; f < JIT_SINK_FIELDS; f++)
        if (field_off[f] == off)
            return f;
    return -1;
}

void jit_sink_begin(struct jit_ctx *c)
{
    struct jit_sink *s = &c->sink;
    bool on = s->on;
    memset(s, 0, sizeof(*s));
    s->on = on;
    if (on)
        s->free = jit_regs_unheld(&c->regs);
}

/* The spare holding field f: its own, else a free one taken, the
 * highest-numbered first (reserved from the register pool: jit_regs.c's
 * take_host leaves it), else -1. */
static int spare_for(struct jit_sink *s, int f)
{
    if (s->spare[f])
        return s->spare[f] - 1;
    unsigned avail = s->free & ~s->reserved & 0xffffu;
    if (!avail)
        return -1;
    unsigned h = 31u - (unsigned)__builtin_clz(avail);
    s->reserved |= (uint16_t)(1u << h);
    s->spare[f] = (int8_t)(h + 1);
    return (int)h;
}

bool jit_sink_reg(struct jit_ctx *c, int32_t off, unsigned reg)
{
    struct jit_sink *s = &c->sink;
    int f = field_of(off);
    if (!s->on || f < 0 || s->state[f] == SINK_STORED)
        return false;
    int h = f == SINK_OP ? -1 : spare_for(s, f); /* lf.op: a constant always */
    if (h < 0) {
        s->state[f] = SINK_STORED; /* this store is the field's latest from now on */
        return false;
    }
    x_mov_rr(&c->j, true, (unsigned)h, reg);
    s->state[f] = SINK_REG;
    return true;
}

bool jit_sink_imm(struct jit_ctx *c, int32_t off, uint32_t v)
{
    struct jit_sink *s = &c->sink;
    int f = field_of(off);
    if (!s->on || f < 0 || s->state[f] == SINK_STORED)
        return false;
    s->imm[f] = v;
    s->state[f] = SINK_IMM;
    return true;
}

void jit_sink_flush(struct jit_ctx *c)
{
    struct jit_sink *s = &c->sink;
    struct jit_buf *j = &c->j;
    static const unsigned width[JIT_SINK_FIELDS] = {2, 1, 8, 8, 8};
    for (int f = 0; f < JIT_SINK_FIELDS; f++) {
        if (s->state[f] == SINK_IMM) {
            x_store_imm(j, width[f], X_RBX, field_off[f], s->imm[f]);
        } else if (s->state[f] == SINK_REG && width[f] == 8) {
            x_store(j, true, (unsigned)(s->spare[f] - 1), X_RBX, field_off[f]);
        } else if (s->state[f] == SINK_REG) { /* cf_in: a byte, by way of DL */
            x_mov_rr(j, false, X_RDX, (unsigned)(s->spare[f] - 1));
            x_op_mem(j, false, 0x88, X_RDX, X_RBX, field_off[f]); /* MOV byte [f], DL */
        }
    }
}
#endif
