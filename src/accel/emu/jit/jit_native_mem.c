/*
 * MOV reg, [mem] and MOV [mem], reg (8, 16, 32 and 64 bits, AH..BH included)
 * and MOVZX/MOVSX/MOVSXD reg, [mem] in 64-bit code as host code: the data TLB probed inline exactly as emu_tlb_host does it
 * (no RFLAGS.AC, canonical, within one page, the tag with the access's
 * user/supervisor bit), then the access through the entry's host address.
 * Anything else (a miss, a device, decoded code under a store, a data
 * breakpoint: none of those is in the TLB) calls the specialised handler
 * like any called instruction, which takes the full path. The fast path
 * leaves RIP to the pending delta; the slow one writes RIP before its
 * call, as calls do, and takes the delta back after it, so both join
 * with the same delta pending. Neither touches the lazy flags.
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

_Static_assert(sizeof(struct emu_tlb_entry) == 16, "jit_tlb_probe indexes the TLB by << 4");

#define TLB(tlb, field)                                                                    \
    (JIT_CPU(tlb) + (int32_t)offsetof(struct emu_tlb_entry, field))

bool jit_mem_form(const struct emu_insn *in)
{
    emu_exec_fn g = emu_general_fn(in->fn);
    if (!(in->flags & INSN_MEM) || (in->adsz != 4 && in->adsz != 8))
        return false;
    /* The word MOVs have no specialised handler: their general executor
     * (rm_read or rm_write at 2, reg_read, reg_write) is reproduced. */
    if (in->opsz == 2 && (in->fn == ex_mov_reg_rm || in->fn == ex_mov_rm_reg))
        return true;
    if (g == in->fn)
        return false;
    if (g == ex_mov_reg_rm || g == ex_mov_rm_reg)
        return in->opsz == 1 || in->opsz == 4 || in->opsz == 8;
    if (g == ex_movzx || g == ex_movsx) /* fast_movzx, fast_movsx */
        return (in->opsz == 4 || in->opsz == 8) && (in->imm == 1 || in->imm == 2);
    return g == ex_movsxd && in->opsz == 8; /* fast_movsxd */
}

void jit_mem_lin(struct jit_ctx *c, const struct emu_insn *in)
{
    jit_ea_to_rax(c, in);
    if (in->seg == SEG_FS || in->seg == SEG_GS)
        x_alu_r_mem(&c->j, true, X_ADD, X_RAX, X_RBX,
                    JIT_CPU(seg) + (int32_t)(in->seg * sizeof(struct emu_segment) +
                                             offsetof(struct emu_segment, base)));
}

unsigned jit_tlb_probe(struct jit_ctx *c, int32_t tlb, unsigned size, uint32_t slow[JIT_PROBE_SLOW])
{
    struct jit_buf *j = &c->j;
    unsigned ns = 0;
    /* RCX = the tag of the access's last byte: its page, then R15's bits
     * (valid, user, and a bit no entry has when RFLAGS.AC is set). Its
     * slot is the first byte's, which holds the last byte's page only
     * when both are one page; a non-canonical page is in no entry. */
    if (size > 1)
        x_lea(j, true, X_RCX, X_RAX, -1, 0, (int32_t)size - 1);
    else
        x_mov_rr(j, true, X_RCX, X_RAX);
    x_alu_r_imm(j, true, X_AND, X_RCX, -4096);
    x_alu_rr(j, true, X_OR, X_RCX, X_R15);
    /* RDX = slot * sizeof(entry): the slot's bits shifted into place; the
     * entry at [RBX + RDX + its offset] (no add on the way to the tag) */
    x_mov_rr(j, false, X_RDX, X_RAX);
    x_shift_imm(j, false, 5, X_RDX, 12 - 4);
    x_alu_r_imm(j, false, X_AND, X_RDX, (EMU_TLB_SIZE - 1) << 4);
    x_op_mem_idx(j, true, 0x3b, X_RCX, X_RBX, X_RDX,
                 TLB(tlb_read, vpage) - JIT_CPU(tlb_read) + tlb); /* CMP RCX, tag */
    jit_regs_slow_point(c);
    slow[ns++] = x_jcc(j, X_CC_NE);
    /* RCX = lin + the page's addend (RAX kept: lin) */
    x_op_mem_idx(j, true, 0x8b, X_RCX, X_RBX, X_RDX,
                 TLB(tlb_read, addend) - JIT_CPU(tlb_read) + tlb);
    x_alu_rr(j, true, X_ADD, X_RCX, X_RAX);
    return ns;
}

void jit_mem_slow_call(struct jit_ctx *c, const struct emu_insn *in, const uint32_t *slow,
                       unsigned ns, uint32_t *stop, uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    int lf_op = c->lf_op;
    unsigned lf_size = c->lf_size;
    bool host_flags = c->host_flags;
    uint32_t join = jb_pos(j);
    jit_cold_begin(c);
    for (unsigned k = 0; k < ns; k++)
        x_patch(j, slow[k], jb_pos(j));
    int32_t delta = c->rip_delta;
    jit_regs_slow_call(c, in, stop, ended); /* writes RIP first: delta now 0 */
    if (!c->chain) /* else written from RBP: the paths may leave it apart (rip_stale) */
        x_alu_mem_imm(j, true, X_SUB, X_RBX, JIT_CPU(rip), delta + in->len);
    c->lf_op = lf_op; /* the handler leaves the flags as they were */
    c->lf_size = lf_size;
    if (host_flags) /* the fast path left them in host RFLAGS: so must this one */
        jit_cond_flags(c);
    x_patch(j, x_jmp(j), join);
    jit_cold_end(c);
    c->rip_delta = delta + in->len;
    c->rip_stale = c->chain;
    c->host_flags = host_flags;
}

bool jit_native_mem(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                    uint32_t *ended)
{
    if (!jit_mem_form(in))
        return false;
    struct jit_buf *j = &c->j;
    emu_exec_fn g = emu_general_fn(in->fn);
    bool store = g == ex_mov_rm_reg, q = in->opsz == 8, sx = g == ex_movsx;
    bool movx = g == ex_movzx || sx;
    unsigned size = movx ? (unsigned)in->imm : g == ex_movsxd ? 4 : in->opsz;
    uint32_t slow[JIT_PROBE_SLOW];
    jit_mem_lin(c, in); /* RAX = lin */
    unsigned ns = jit_tlb_probe(c, store ? JIT_CPU(tlb_write) : JIT_CPU(tlb_read), size, slow);
    if (store && size == 1) {
        jit_read_gpr(c, 1, in->reg, X_RAX);
        x_op_mem(j, false, 0x88, X_RAX, X_RCX, 0);
    } else if (size == 2 && !movx) { /* 66 89 / 66 8B: a load keeps bits 63:16 */
        unsigned h = jit_reg(c, in->reg);
        jb_u8(j, 0x66);
        x_op_mem(j, false, store ? 0x89 : 0x8b, h, X_RCX, 0);
        if (!store)
            jit_reg_written(c, in->reg);
    } else if (store) {
        jit_read_gpr(c, 8, in->reg, X_RAX);
        x_store(j, q, X_RAX, X_RCX, 0);
    } else if (movx || size == 1) { /* 0F B6/B7 MOVZX, 0F BE/BF MOVSX (a 32-bit one zero-extends) */
        x_op0f_mem(j, sx && q, (uint8_t)((sx ? 0xbe : 0xb6) + (size == 2)), X_RAX, X_RCX, 0);
        jit_write_gpr(c, movx ? 8 : 1, in->reg);
    } else if (g == ex_movsxd) {
        x_op_mem(j, true, 0x63, X_RAX, X_RCX, 0);
        jit_write_gpr(c, 8, in->reg);
    } else {
        x_load(j, q, X_RAX, X_RCX, 0);
        jit_write_gpr(c, in->opsz, in->reg);
    }
    jit_mem_slow_call(c, in, slow, ns, stop, ended);
    return true;
}
#endif
