/*
 * How compiled code goes on from one block into the next (jit_compile.c
 * builds the block, these its ways out): run_chain's checks between
 * blocks, then the link the way out makes, through a jump patched from
 * it and guarded as it is (jit_chain_exit, jit_far_exit) or, within the
 * block's page, a jump patched straight into the next block's code
 * (jit_direct_exit). The rest (both links, the same-page rule, the jump
 * cache) is the shared code's (jit_shared.c).
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

#define LINK(k, field)                                                                     \
    ((int32_t)(offsetof(struct emu_block, link) + (k) * sizeof(struct emu_link) +          \
               offsetof(struct emu_link, field)))

/* cpu->rip = RBP + off (RAX clobbered). */
static void store_rip(struct jit_buf *j, int64_t off)
{
    x_lea(j, true, X_RAX, X_RBP, -1, 0, (int32_t)off);
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(rip));
}

/* The block ran to its end: its instructions taken from the budget
 * (R14, cpu->chain_left once out, which run_chain turns into the
 * instruction count),
 * then run_chain's checks between two blocks, made where compiled code
 * goes on into another block or runs its own again: the budget not
 * spent and nothing posted to the vCPU, else back to run_chain (out),
 * through a cold stub storing RIP (RBP + rip_off) unless it is in
 * cpu->rip already (RIP_UNKNOWN). One subtraction from a register per
 * block: the count and the budget are one. */
void jit_between_blocks(struct jit_ctx *c, int64_t rip_off)
{
    struct jit_buf *j = &c->j;
    x_alu_r_imm(j, false, X_SUB, X_R14, c->b->n);
    if (rip_off == RIP_UNKNOWN) {
        x_jcc_abs(j, X_CC_L, c->sh->out);
        x_alu_mem_imm(j, false, X_CMP, X_RBX, JIT_CPU(events), 0);
        x_jcc_abs(j, X_CC_NE, c->sh->out);
        return;
    }
    uint32_t spent = x_jcc(j, X_CC_L);
    x_alu_mem_imm(j, false, X_CMP, X_RBX, JIT_CPU(events), 0);
    uint32_t posted = x_jcc(j, X_CC_NE);
    jit_cold_begin(c);
    x_patch(j, spent, jb_pos(j));
    x_patch(j, posted, jb_pos(j));
    store_rip(j, rip_off);
    x_jmp_abs(j, c->sh->out);
    jit_cold_end(c);
}

/* Whether RCX, a link's context, holds now (emu_link_ctx_now): this
 * context or this global one; the jump taken when neither is returned. */
static uint32_t ctx_check(struct jit_buf *j)
{
    x_alu_r_mem(j, true, X_CMP, X_RCX, X_RBX, JIT_CPU(link_ctx));
    uint32_t in_ctx = x_jcc(j, X_CC_E);
    x_alu_r_mem(j, true, X_CMP, X_RCX, X_RBX, JIT_CPU(global_ctx));
    uint32_t miss = x_jcc(j, X_CC_NE);
    x_patch(j, in_ctx, jb_pos(j));
    return miss;
}

/* link[k]'s check for a way out to RIP = RAX: a link made for another RIP
 * goes to the shared chain_any, one made before its block was compiled
 * back to run_chain (out); RCX is left its context, RDX its code. The
 * jump taken when that context is neither this one nor this global one
 * is returned, for to_chain_other. */
static uint32_t link_check(struct jit_ctx *c, int k)
{
    struct jit_buf *j = &c->j;
    x_alu_r_mem(j, true, X_CMP, X_RAX, X_R12, LINK(k, lin));
    x_jcc_abs(j, X_CC_NE, c->sh->chain_any);
    x_load(j, true, X_RCX, X_R12, LINK(k, ctx));
    uint32_t other = ctx_check(j);
    x_load(j, true, X_RDX, X_R12, LINK(k, code));
    x_test_rr(j, true, X_RDX, X_RDX); /* not compiled (when linked): run_chain */
    x_jcc_abs(j, X_CC_E, c->sh->out);
    return other;
}

/* After link_check: into link[k]'s block at its code (RDX), R12 that
 * block, RBP its start. */
static void through_link(struct jit_ctx *c, int k)
{
    struct jit_buf *j = &c->j;
    x_mov_rr(j, true, X_RBP, X_RAX);
    x_load(j, true, X_R12, X_R12, LINK(k, to));
    x_jmp_reg(j, X_RDX);
}

/* link_check's other-context jump, here: the shared code's same-page
 * rule (chain_other), RDX addressing link[k] as link[1], RCX the link
 * context. */
static void to_chain_other(struct jit_ctx *c, int k, uint32_t other)
{
    struct jit_buf *j = &c->j;
    x_patch(j, other, jb_pos(j));
    x_load(j, true, X_RCX, X_RBX, JIT_CPU(link_ctx));
    x_mov_rr(j, true, X_RDX, X_R12);
    if (k == 0)
        x_alu_r_imm(j, true, X_SUB, X_RDX, (int32_t)sizeof(struct emu_link));
    x_jmp_abs(j, c->sh->chain_other);
}

/* LEA RSI, [RIP + rel32] from the cold section to hot position at. */
static void lea_rsi_hot(struct jit_buf *j, uint32_t at)
{
    jb_u8(j, 0x48);
    jb_u8(j, 0x8d);
    jb_u8(j, 0x35);
    uint32_t rel_at = jb_pos(j);
    jb_u32(j, 0);
    jb_fixup(j, rel_at, at, NULL); /* RIP-relative: as a jump's rel32 */
}

/* The block ran to its end (status EMU_OK): go on into the next block's
 * compiled code, making run_chain's checks between blocks as it makes
 * them: blocks left in the chain's budget, nothing posted to the vCPU,
 * then a link made for this RIP in the link context now. Only link[k],
 * the one this way out of the block makes (emu_block_link: [1] the
 * way on past its end, [0] a jump's target), is looked at here, through
 * the jump patched from it (jit_far_exit); anything else (k < 0: either
 * link) is the shared code's (chain_any: both links, the same-page rule,
 * the jump cache). R12 becomes the next block, RBP its start;
 * cpu->run_end stays as it is, not 0 (jit_shared.c, enter). */
void jit_chain_exit(struct jit_ctx *c, int k, int64_t rip_off)
{
    if (k >= 0) {
        jit_far_exit(c, k, rip_off);
        return;
    }
    if (rip_off != RIP_UNKNOWN) /* chain_any reads it */
        store_rip(&c->j, rip_off);
    jit_between_blocks(c, RIP_UNKNOWN);
    x_jmp_abs(&c->j, c->sh->chain_any);
}

/* Whether a way out whose RIP is the block's start plus off stays in the
 * block's page: then the block there is found once and jumped to
 * directly ever after (jit_direct_exit). */
bool jit_same_page_exit(const struct jit_ctx *c, int64_t off)
{
    int64_t at = (int64_t)(c->b->gpa & 0xfff) + off;
    return c->chain && off != RIP_UNKNOWN && at >= 0 && at < 4096;
}

/* A way out to the block at RBP + off in this block's page (registers
 * stored, RIP not: cpu->rip is written only on the ways back to
 * run_chain or the shared code, jit_between_blocks): after run_chain's checks
 * between blocks, a jump straight into that block's code, RBP its start
 * and R12 set by the block itself (JIT_SELF_BYTES). No link need be
 * checked: a page that translates to this block's physical page here
 * takes RBP + off to the same page, where the block at that offset is
 * the one decoded there with this mode (mode and CPL change only at
 * instructions that end their block), and decoded code is dropped page
 * by page, taking this block with the other (never a straddling block,
 * which a write to its second page alone drops: no link leads to one,
 * emu_block_link). The jump starts out to
 * link[k]'s check (link_check) and is made into the
 * direct one (patched in place through the writable view) the first time
 * that link leads to compiled code of the block at this block's physical
 * page + off: only that one (a link made in this context may lead to
 * another page, after a PTE change without INVLPG: found in review).
 * Code memory is reset as a whole. */
void jit_direct_exit(struct jit_ctx *c, int k, int64_t off)
{
    struct jit_buf *j = &c->j;
    jit_between_blocks(c, off);
    x_lea(j, true, X_RBP, X_RBP, -1, 0, (int32_t)off);
    while ((jb_pos(j) + 1) & 3) /* the rel32 aligned: patched by one store */
        jb_u8(j, 0x90);
    uint32_t site = x_jmp(j);
    /* Not yet direct, cold: RBP as it was, RIP stored (for the shared
     * code and run_chain), link[k]. */
    jit_cold_begin(c);
    x_patch(j, site, jb_pos(j));
    x_lea(j, true, X_RBP, X_RBP, -1, 0, (int32_t)-off);
    store_rip(j, off);
    uint32_t other = link_check(c, k);
    /* Only into the block at this page + off: a link made in this
     * context may still lead elsewhere (a PTE the guest changed without
     * INVLPG, the exec TLB refilled since this block was found). Another
     * block is gone on into unpatched, as chain_any would. */
    x_load(j, true, X_RCX, X_R12, LINK(k, to));
    x_mov_imm(j, X_RSI, c->b->gpa + (uint64_t)off);
    x_alu_r_mem(j, true, X_CMP, X_RSI, X_RCX, (int32_t)offsetof(struct emu_block, gpa));
    uint32_t elsewhere = x_jcc(j, X_CC_NE);
    /* site's rel32 = the block's start (before its entry) less past site. */
    lea_rsi_hot(j, site + 4);
    x_lea(j, true, X_RDI, X_RDX, -1, 0, -JIT_SELF_BYTES);
    x_alu_rr(j, true, X_SUB, X_RDI, X_RSI);
    x_mov_imm(j, X_R8, (uint64_t)c->sh->rw_delta);
    x_alu_rr(j, true, X_ADD, X_RSI, X_R8);
    x_op_mem(j, false, 0x89, X_RDI, X_RSI, -4); /* MOV [RSI - 4], EDI */
    x_patch(j, elsewhere, jb_pos(j));
    through_link(c, k);
    to_chain_other(c, k, other);
    jit_cold_end(c);
}

/* MOV RCX, imm64 with the immediate always 8 bytes: where it starts. */
static uint32_t mov_rcx_imm64(struct jit_buf *j, uint64_t v)
{
    jb_u8(j, 0x48);
    jb_u8(j, 0xb9);
    uint32_t at = jb_pos(j);
    jb_u64(j, v);
    return at;
}

/* CMP RCX, [RBX + disp32], the displacement always 4 bytes (patched
 * between two fields of cpu): where it starts. */
static uint32_t cmp_rcx_cpu32(struct jit_buf *j, int32_t disp)
{
    jb_u8(j, 0x48);
    jb_u8(j, 0x3b);
    jb_u8(j, 0x8b); /* ModRM: mod 10 (disp32), reg RCX, rm RBX */
    uint32_t at = jb_pos(j);
    jb_u32(j, (uint32_t)disp);
    return at;
}

/* A way out to RBP + off in another page (or to RIP as it is, off
 * RIP_UNKNOWN: a RET, an indirect jump; patched for the target link[k]
 * holds, so the one run_chain last linked), RIP stored only on its ways
 * out of compiled code (jit_between_blocks, resolve): link[k]'s check
 * (link_check) with the link's RIP and context as immediates
 * in the code and a direct jump into its block, all patched from
 * the link the first time it leads to compiled code, and again whenever
 * it is found in another context (after a CR3 switch, unless the block
 * is in a global page). So no link is read from the block: the check
 * compares RIP (RBP + off: the block may be entered at another linear
 * alias) with one immediate and the context with the other, as a link's
 * own check does, and the jump goes where that link led. The context is
 * compared with the one field of cpu it matched when patched (link_ctx,
 * or global_ctx for a link to a global page: kernel code), the field's
 * displacement patched with it: one compare and one taken jump either
 * way (emu_link_ctx_now's other half would only ever fail here), and
 * a context that matches neither any more falls to link_check again.
 * What makes a link stale makes the context differ (a flush, INVLPG,
 * decoded code dropped); code memory is reset as a whole, this code with
 * it. The four are patched by separate stores: one vCPU thread runs
 * compiled code (several would need the context cleared first and set
 * last). */
void jit_far_exit(struct jit_ctx *c, int k, int64_t off)
{
    struct jit_buf *j = &c->j;
    jit_between_blocks(c, off);
    if (off != RIP_UNKNOWN)
        x_lea(j, true, X_RAX, X_RBP, -1, 0, (int32_t)off);
    else
        x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    uint32_t lin_at = mov_rcx_imm64(j, ~0ull); /* no RIP: not yet patched */
    x_alu_rr(j, true, X_CMP, X_RAX, X_RCX);
    uint32_t miss_lin = x_jcc(j, X_CC_NE);
    uint32_t ctx_at = mov_rcx_imm64(j, 0); /* no vCPU's context */
    uint32_t field_at = cmp_rcx_cpu32(j, JIT_CPU(link_ctx));
    uint32_t miss_ctx = x_jcc(j, X_CC_NE);
    x_mov_rr(j, true, X_RBP, X_RAX);
    uint32_t site = x_jmp(j); /* into the block's R12 prefix (JIT_SELF_BYTES) */
    /* Cold: link[k]'s check, then the patches. */
    jit_cold_begin(c);
    uint32_t resolve = jb_pos(j);
    x_patch(j, miss_lin, resolve);
    x_patch(j, miss_ctx, resolve);
    x_patch(j, site, resolve);
    if (off != RIP_UNKNOWN) /* for the shared code and run_chain */
        x_store(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    uint32_t other = link_check(c, k);
    /* R9D = the field of cpu the link's context (RCX) is: link_ctx
     * unless it differs, then global_ctx (link_check saw one of them). */
    x_mov_imm(j, X_R9, (uint64_t)JIT_CPU(link_ctx));
    x_mov_imm(j, X_R10, (uint64_t)JIT_CPU(global_ctx));
    x_alu_r_mem(j, true, X_CMP, X_RCX, X_RBX, JIT_CPU(link_ctx));
    x_cmov(j, false, X_CC_NE, X_R9, X_R10);
    /* RSI = the RIP immediate (executable view), RDI = the jump's rel32:
     * the block's start (before its entry) less past site. */
    lea_rsi_hot(j, lin_at);
    int32_t past_site = (int32_t)(site + 4 - lin_at);
    x_lea(j, true, X_RDI, X_RDX, -1, 0, -JIT_SELF_BYTES - past_site);
    x_alu_rr(j, true, X_SUB, X_RDI, X_RSI);
    x_mov_imm(j, X_R8, (uint64_t)c->sh->rw_delta);
    x_alu_rr(j, true, X_ADD, X_RSI, X_R8);
    x_store(j, true, X_RAX, X_RSI, 0);
    x_store(j, true, X_RCX, X_RSI, (int32_t)(ctx_at - lin_at));
    x_op_mem(j, false, 0x89, X_R9, X_RSI, (int32_t)(field_at - lin_at)); /* MOV [field], R9D */
    x_op_mem(j, false, 0x89, X_RDI, X_RSI, past_site - 4); /* MOV [site's rel32], EDI */
    through_link(c, k);
    to_chain_other(c, k, other);
    jit_cold_end(c);
}
#endif
