/*
 * Guest registers held in host registers within a block. The compiler
 * tracks, instruction by instruction, which guest register a host one
 * of the pool holds and whether it is newer than cpu->gpr (dirty).
 * cpu->gpr is made whole again (the dirty ones stored) before anything
 * that can see it: a call (an executor, a slow path, emu_cf), the end of
 * the block. Only caller-saved host registers are in the pool, so a call
 * also ends what they hold: after one the cache starts empty (jit_emit_call)
 * or, where two paths join (a probe's slow path beside its fast one),
 * is loaded back from cpu->gpr to what the fast path holds.
 */
#if defined(__x86_64__)
#include <assert.h>

#include "accel/emu/cpu.h"
#include "accel/emu/jit/jit_int.h"

static const uint8_t pool[JIT_POOL] = {X_RSI, X_RDI, X_R8, X_R9, X_R10, X_R11};

void jit_regs_clear(struct jit_regs *r)
{
    memset(r, 0, sizeof(*r));
    for (unsigned g = 0; g < 16; g++)
        r->host[g] = -1;
}

bool jit_regs_same(const struct jit_regs *a, const struct jit_regs *b)
{
    return a->dirty == b->dirty && !memcmp(a->host, b->host, sizeof(a->host));
}

static void store(struct jit_ctx *c, unsigned g)
{
    x_store(&c->j, true, (unsigned)c->regs.host[g], X_RBX, JIT_GPR(g));
}

void jit_reg_sync(struct jit_ctx *c, unsigned g)
{
    if (c->regs.dirty & (1u << g)) {
        store(c, g);
        c->regs.dirty &= (uint16_t) ~(1u << g);
    }
}

void jit_reg_drop(struct jit_ctx *c, unsigned g)
{
    jit_reg_sync(c, g);
    c->regs.host[g] = -1;
}

uint16_t jit_regs_unheld(const struct jit_regs *r)
{
    uint16_t mask = 0;
    for (unsigned k = 0; k < JIT_POOL; k++)
        mask |= (uint16_t)(1u << pool[k]);
    for (unsigned g = 0; g < 16; g++)
        if (r->host[g] >= 0)
            mask &= (uint16_t) ~(1u << r->host[g]);
    return mask;
}

/* A pool register holding nothing, or the least recently used one's
 * (its guest register stored first when dirty). */
static unsigned take_host(struct jit_ctx *c)
{
    struct jit_regs *r = &c->regs;
    int victim = -1;
    for (unsigned k = 0; k < JIT_POOL; k++) {
        if (c->sink.reserved & (1u << pool[k])) /* a spare of jit_sink.c's */
            continue;
        int g = -1;
        for (unsigned i = 0; i < 16; i++)
            if (r->host[i] == pool[k])
                g = (int)i;
        if (g < 0)
            return pool[k];
        if (victim < 0 || r->used[g] < r->used[victim])
            victim = g;
    }
    unsigned h = (unsigned)r->host[victim];
    jit_reg_drop(c, (unsigned)victim);
    return h;
}

unsigned jit_reg(struct jit_ctx *c, unsigned g)
{
    struct jit_regs *r = &c->regs;
    assert(g < 16);
    if (r->host[g] < 0) {
        unsigned h = take_host(c);
        x_load(&c->j, true, h, X_RBX, JIT_GPR(g));
        r->host[g] = (int8_t)h;
    }
    r->used[g] = ++r->tick;
    return (unsigned)r->host[g];
}

unsigned jit_reg_def(struct jit_ctx *c, unsigned g)
{
    struct jit_regs *r = &c->regs;
    assert(g < 16);
    if (r->host[g] < 0)
        r->host[g] = (int8_t)take_host(c);
    r->used[g] = ++r->tick;
    r->dirty |= (uint16_t)(1u << g);
    return (unsigned)r->host[g];
}

void jit_reg_written(struct jit_ctx *c, unsigned g)
{
    assert(c->regs.host[g] >= 0);
    c->regs.dirty |= (uint16_t)(1u << g);
}

void jit_regs_flush(struct jit_ctx *c)
{
    for (unsigned g = 0; g < 16; g++)
        jit_reg_sync(c, g);
}

void jit_regs_forget(struct jit_ctx *c)
{
    assert(!c->regs.dirty);
    jit_regs_clear(&c->regs);
}

void jit_regs_load(struct jit_ctx *c, const struct jit_regs *to)
{
    for (unsigned g = 0; g < 16; g++)
        if (to->host[g] >= 0)
            x_load(&c->j, true, (unsigned)to->host[g], X_RBX, JIT_GPR(g));
    c->regs = *to;
}

void jit_regs_slow_point(struct jit_ctx *c)
{
    if (!c->slow_marked) {
        c->slow_regs = c->regs;
        c->slow_marked = true;
    }
    /* Every slow jump of one instruction leaves from the same state: the
     * slow path stores what that state holds dirty. */
    assert(jit_regs_same(&c->slow_regs, &c->regs));
}

void jit_regs_slow_call(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                        uint32_t *ended)
{
    struct jit_regs join = c->regs;
    assert(c->slow_marked);
    c->regs = c->slow_regs;
    jit_emit_call(c, in, stop, ended); /* stores them, then they are gone */
    jit_regs_load(c, &join); /* dirty as the fast path has them: stored again at worst */
}

/* Reading a guest register at a size into host register to, and
 * writing one from RAX. */
void jit_read_gpr(struct jit_ctx *c, unsigned size, unsigned g, unsigned to)
{
    struct jit_buf *j = &c->j;
    if (size == 1 && g >= REG_HIGH8) { /* AH..BH: from cpu->gpr, made current */
        jit_reg_sync(c, g - REG_HIGH8);
        x_op0f_mem(j, false, 0xb6, to, X_RBX, JIT_GPR8(g)); /* MOVZX to32, byte */
        return;
    }
    unsigned h = jit_reg(c, g);
    if (size == 1)
        x_movzx8_any(j, to, h);
    else if (size == 2)
        x_movzx16(j, to, h);
    else
        x_mov_rr(j, size == 8, to, h);
}

void jit_write_gpr(struct jit_ctx *c, unsigned size, unsigned g)
{
    struct jit_buf *j = &c->j;
    if (size == 1 && g >= REG_HIGH8) { /* merged into cpu->gpr */
        jit_reg_drop(c, g - REG_HIGH8);
        x_op_mem(j, false, 0x88, X_RAX, X_RBX, JIT_GPR8(g)); /* MOV [..], AL */
        return;
    }
    if (size == 1) { /* the other bytes kept */
        unsigned h = jit_reg(c, g);
        x_mov8_rr(j, h, X_RAX);
        jit_reg_written(c, g);
        return;
    }
    x_mov_rr(j, size == 8, jit_reg_def(c, g), X_RAX); /* a 32-bit one zero-extends */
}
#endif
