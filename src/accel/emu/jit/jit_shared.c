/*
 * The code every compiled block shares (jit_int.h, struct jit_shared):
 * entering from C, leaving, the exit stubs' calls into run.c, and the
 * slow half of chaining. It is made once, at the start of code memory,
 * and kept by every reset, so blocks reach it by rel32 jumps. Each block
 * then holds only what runs often: its body and the fast path of the
 * link it expects (jit_compile.c), which keeps the code the guest runs
 * dense in the host's instruction cache: before this, the rest took
 * about half of an average block's 1.1 KiB.
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

#define BLOCK(field) ((int32_t)offsetof(struct emu_block, field))
#define LINK1(field)                                                                       \
    ((int32_t)(offsetof(struct emu_block, link) + sizeof(struct emu_link) +                 \
               offsetof(struct emu_link, field)))
#define JCACHE(field)                                                                      \
    (JIT_CPU(jcache) + (int32_t)offsetof(struct emu_jcache_entry, field))
_Static_assert(sizeof(struct emu_jcache_entry) == 32, "chain_any indexes the jump cache by << 5");

static const unsigned saved[] = {X_RBX, X_RBP, X_R12, X_R13, X_R14, X_R15};
#define NSAVED (sizeof(saved) / sizeof(saved[0]))

/* R15 = what emu_tlb_tag adds to a page for this CPL (1, | 2 at CPL 3),
 * | 4 when RFLAGS.AC is set: then no entry matches, and every access
 * takes its handler's full path, as emu_tlb_host has it. Every
 * instruction that changes CPL or AC (POPF, IRET, SYSCALL/SYSRET, far
 * transfers, CR0) ends its block, and blocks that end so never chain:
 * this holds for the blocks chained after it too. */
static void tlb_tag_bits(struct jit_buf *j)
{
    x_alu_rr(j, false, X_XOR, X_RAX, X_RAX);
    x_alu_mem_imm(j, false, X_CMP, X_RBX, JIT_CPU(cpl), 3);
    x_setcc(j, X_CC_E, X_RAX);
    x_alu_rr(j, false, X_ADD, X_RAX, X_RAX);
    x_alu_r_imm(j, false, X_OR, X_RAX, 1);
    x_test_mem_imm(j, X_RBX, JIT_CPU(rflags), (uint32_t)RFLAGS_AC);
    uint32_t no_ac = x_jcc(j, X_CC_E);
    x_alu_r_imm(j, false, X_OR, X_RAX, 4);
    x_patch(j, no_ac, jb_pos(j));
    x_mov_rr(j, true, X_R15, X_RAX);
}

/* enter(cpu, b), as run_block is called: the callee-saved registers kept
 * (six pushes after the return address and 8 more: RSP 16-byte aligned
 * at calls), RBX = cpu + JIT_CPU_BIAS, R12 = b, RBP = where run_chain entered it, R14 =
 * cpu->chain_left (leave stores it back), R15 set, cpu->run_end = b->end
 * as run_block sets it, then b's body. Only
 * whether run_end is 0 matters to compiled code (emu_end_block zeroes it
 * to end the block after a call): a block it chains into finds it set,
 * since one that saw it zeroed returns instead, so blocks do not set it. */
static void emit_enter(struct jit_buf *j)
{
    for (unsigned i = 0; i < NSAVED; i++)
        x_push(j, saved[i]);
    x_alu_r_imm(j, true, X_SUB, X_RSP, 8);
    x_lea(j, true, X_RBX, X_RDI, -1, 0, JIT_CPU_BIAS);
    x_mov_rr(j, true, X_R12, X_RSI);
    x_load(j, true, X_RBP, X_RBX, JIT_CPU(chain_lin));
    x_load(j, false, X_R14, X_RBX, JIT_CPU(chain_left));
    x_load(j, true, X_RAX, X_R12, BLOCK(end));
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(run_end));
    tlb_tag_bits(j);
    x_jmp_mem(j, X_R12, BLOCK(jit_body));
}

/* out: EMU_OK; leave: EAX, with the last block run told to run_chain. */
static void emit_out_leave(struct jit_buf *j, uint32_t *out, uint32_t *leave)
{
    *out = jb_pos(j);
    x_alu_rr(j, false, X_XOR, X_RAX, X_RAX);
    *leave = jb_pos(j);
    x_store(j, true, X_R12, X_RBX, JIT_CPU(chain_block));
    x_store(j, true, X_RBP, X_RBX, JIT_CPU(chain_lin));
    x_store(j, false, X_R14, X_RBX, JIT_CPU(chain_left));
    x_alu_r_imm(j, true, X_ADD, X_RSP, 8);
    for (unsigned i = NSAVED; i-- > 0;)
        x_pop(j, saved[i]);
    x_ret(j);
}

/* emu_block_stop(cpu, b, in = RDX, st = EAX, rsp = R13) and
 * emu_block_ended(cpu, n = ESI, EMU_OK), then leave. */
static void emit_stubs(struct jit_buf *j, uint32_t leave, uint32_t *stop, uint32_t *ended)
{
    *stop = jb_pos(j);
    x_mov_rr(j, false, X_RCX, X_RAX);
    jit_cpu_to_rdi(j);
    x_mov_rr(j, true, X_RSI, X_R12);
    x_mov_rr(j, true, X_R8, X_R13);
    x_call_abs(j, (const void *)emu_block_stop);
    x_patch(j, x_jmp(j), leave);
    *ended = jb_pos(j);
    jit_cpu_to_rdi(j);
    x_alu_rr(j, false, X_XOR, X_RDX, X_RDX);
    x_call_abs(j, (const void *)emu_block_ended);
    x_patch(j, x_jmp(j), leave);
}

/* The block R12 (started at RBP) ran to its end, and the budget and
 * events were checked: go on into the block a link made for RIP in the
 * link context now leads to (emu_block_follow, its same-page rule
 * included), else the jump cache's entry for it; anything else goes
 * back to run_chain (out). The link or entry holds where the next
 * block's code is entered (its jit_entry when made, NULL when it was not
 * compiled then; cleared when code memory is reset), so the next block's
 * own memory is not read. R12 becomes the next block, RBP its start.
 * chain_other: RDX's link (addressed as link[1]) matched RAX = RIP but
 * was made in another context than RCX = cpu->link_ctx. */
static void emit_chain(struct jit_buf *j, uint32_t out, uint32_t *any, uint32_t *other)
{
    *any = jb_pos(j);
    /* RDX = the block less one link, so that LINK1 finds link[0]. */
    x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    x_load(j, true, X_RCX, X_RBX, JIT_CPU(link_ctx));
    x_mov_rr(j, true, X_RDX, X_R12);
    x_alu_r_mem(j, true, X_CMP, X_RAX, X_R12, LINK1(lin));
    uint32_t found = x_jcc(j, X_CC_E);
    x_alu_r_imm(j, true, X_SUB, X_RDX, (int32_t)sizeof(struct emu_link));
    x_alu_r_mem(j, true, X_CMP, X_RAX, X_RDX, LINK1(lin));
    uint32_t jcache = x_jcc(j, X_CC_NE);
    x_patch(j, found, jb_pos(j));
    x_alu_r_mem(j, true, X_CMP, X_RCX, X_RDX, LINK1(ctx));
    uint32_t other_ctx = x_jcc(j, X_CC_NE);
    uint32_t take = jb_pos(j);
    x_load(j, true, X_RCX, X_RDX, LINK1(code));
    x_load(j, true, X_RDX, X_RDX, LINK1(to));
    uint32_t have = x_jmp(j);
    /* A link made in another context (a CR3 switch since): right if it
     * leads to a global page in this global context, or within this
     * block's page (emu_link_same_page; then made anew in this context,
     * as run_chain would). */
    *other = jb_pos(j);
    x_patch(j, other_ctx, *other);
    x_load(j, true, X_RSI, X_RBX, JIT_CPU(global_ctx));
    x_alu_r_mem(j, true, X_CMP, X_RSI, X_RDX, LINK1(ctx));
    x_patch(j, x_jcc(j, X_CC_E), take);
    x_mov_rr(j, true, X_RSI, X_RBP);
    x_alu_rr(j, true, X_XOR, X_RSI, X_RAX);
    x_shift_imm(j, true, 5, X_RSI, 12);
    x_patch(j, x_jcc(j, X_CC_NE), out);
    x_load(j, true, X_RSI, X_RDX, LINK1(code_gen));
    x_alu_r_mem(j, true, X_CMP, X_RSI, X_RBX, JIT_CPU(code_gen_seen));
    x_patch(j, x_jcc(j, X_CC_NE), out);
    x_load(j, true, X_RSI, X_RDX, LINK1(to));
    x_test_rr(j, true, X_RSI, X_RSI); /* a new block's zeroed link */
    x_patch(j, x_jcc(j, X_CC_E), out);
    x_load(j, true, X_RDI, X_R12, BLOCK(gpa));
    x_alu_r_imm(j, true, X_AND, X_RDI, -4096);
    x_mov_rr(j, false, X_R8, X_RAX);
    x_alu_r_imm(j, false, X_AND, X_R8, 0xfff);
    x_alu_rr(j, true, X_OR, X_RDI, X_R8);
    x_alu_r_mem(j, true, X_CMP, X_RDI, X_RSI, BLOCK(gpa));
    x_patch(j, x_jcc(j, X_CC_NE), out);
    x_load(j, false, X_RDI, X_R12, BLOCK(mode_key));
    x_alu_r_mem(j, false, X_CMP, X_RDI, X_RSI, BLOCK(mode_key));
    x_patch(j, x_jcc(j, X_CC_NE), out);
    x_store(j, true, X_RCX, X_RDX, LINK1(ctx));
    x_load(j, true, X_RCX, X_RSI, BLOCK(jit_entry));
    x_store(j, true, X_RCX, X_RDX, LINK1(code));
    x_mov_rr(j, true, X_RDX, X_RSI);
    uint32_t have2 = x_jmp(j);
    /* Neither link: the jump cache (emu_jcache_find), RSI = its slot. */
    x_patch(j, jcache, jb_pos(j));
    x_mov_rr(j, true, X_RSI, X_RAX);
    x_shift_imm(j, true, 5, X_RSI, EMU_JCACHE_BITS);
    x_alu_rr(j, true, X_XOR, X_RSI, X_RAX);
    x_alu_r_imm(j, false, X_AND, X_RSI, (1 << EMU_JCACHE_BITS) - 1);
    x_shl_imm(j, false, X_RSI, 5);
    x_alu_rr(j, true, X_ADD, X_RSI, X_RBX);
    x_alu_r_mem(j, true, X_CMP, X_RAX, X_RSI, JCACHE(lin));
    x_patch(j, x_jcc(j, X_CC_NE), out);
    x_alu_r_mem(j, true, X_CMP, X_RCX, X_RSI, JCACHE(ctx));
    uint32_t in_ctx = x_jcc(j, X_CC_E);
    x_load(j, true, X_RDI, X_RBX, JIT_CPU(global_ctx));
    x_alu_r_mem(j, true, X_CMP, X_RDI, X_RSI, JCACHE(ctx));
    x_patch(j, x_jcc(j, X_CC_NE), out);
    x_patch(j, in_ctx, jb_pos(j));
    x_load(j, true, X_RCX, X_RSI, JCACHE(code));
    x_load(j, true, X_RDX, X_RSI, JCACHE(to));
    x_patch(j, have, jb_pos(j));
    x_patch(j, have2, jb_pos(j));
    x_test_rr(j, true, X_RCX, X_RCX); /* not compiled (when linked): run_chain */
    x_patch(j, x_jcc(j, X_CC_E), out);
    /* Taken: R12 and RBP are the block and where it starts (told to
     * run_chain on the way out). The crash trail (cpu->recent_rip) has
     * the blocks run_chain enters, not these: HYPERKIT_EMU_JIT=0 for
     * every block's. */
    x_mov_rr(j, true, X_RBP, X_RAX);
    x_mov_rr(j, true, X_R12, X_RDX);
    x_jmp_reg(j, X_RCX);
}

/* CL = 64 - 8 * lf.size, EAX = lf.op: operands shifted left by CL compare
 * as they do masked to the size, and give CF, ZF, SF and OF at the size
 * when added or subtracted (not PF, AF: the low byte is gone). */
static void shift_and_op(struct jit_buf *j)
{
    x_op0f_mem(j, false, 0xb6, X_RCX, X_RBX, LF(size)); /* MOVZX ECX, byte [size] */
    x_shl_imm(j, false, X_RCX, 3);
    x_mov_imm(j, X_RAX, 64);
    x_alu_rr(j, false, X_SUB, X_RAX, X_RCX);
    x_mov_rr(j, false, X_RCX, X_RAX);
    x_op0f_mem(j, false, 0xb6, X_RAX, X_RBX, LF(op));
}

/* RAX = lf.x, RDX = lf.y, both shifted left by CL (64 - 8 * size: the
 * bits above the size gone, as x & m, y & m compare), then RAX op= RDX
 * (X_CMP, X_ADD): the flags the operation has at the size. */
static void op_at_size(struct jit_buf *j, unsigned op, int32_t x, int32_t y)
{
    x_load(j, true, X_RAX, X_RBX, x);
    x_load(j, true, X_RDX, X_RBX, y);
    x_shift_cl(j, true, 4, X_RAX);
    x_shift_cl(j, true, 4, X_RDX);
    x_alu_rr(j, true, op, X_RAX, X_RDX);
}

/* CF when a carry in (lf.cf_in) makes "below" "below or equal" (ADC, SBB). */
static void carry_or_equal(struct jit_buf *j)
{
    x_setcc(j, X_CC_B, X_RDX);
    x_setcc(j, X_CC_B + 4, X_RCX); /* BE */
    x_op0f_mem(j, false, 0xb6, X_RAX, X_RBX, LF(cf_in)); /* MOVZX EAX, byte [cf_in] */
    x_test_rr(j, false, X_RAX, X_RAX);
    x_op0f_rr(j, false, 0x45, X_RDX, X_RCX, false); /* CMOVNZ EDX, ECX */
}

/* cf_dl: DL = emu_cf (lazy_cf of cpu->lf, or RFLAGS.CF when there is no
 * lazy state), for INC, DEC, ADC and SBB after a state the compiler does
 * not know. Called from compiled code, it keeps every register but RAX,
 * RCX, RDX and the flags, so the registers a block holds stay held: the
 * C call it replaces had them stored and loaded again, and cost more
 * than the instruction. */
static void emit_cf_dl(struct jit_buf *j, uint32_t *at)
{
    *at = jb_pos(j);
    shift_and_op(j);
    static const struct {
        uint8_t op;
        int32_t x, y;
        unsigned cc; /* 0: carry_or_equal */
    } cmp[] = {
        {LF_SUB, LF(a), LF(b), X_CC_B},   {LF_ADD, LF(res), LF(a), X_CC_B},
        {LF_SBB, LF(a), LF(b), 0},        {LF_ADC, LF(res), LF(a), 0},
        {LF_NEG, LF(a), 0, 0}, /* a & m != 0 */
    };
    for (unsigned i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++) {
        x_alu_r_imm(j, false, X_CMP, X_RAX, cmp[i].op);
        uint32_t next = x_jcc(j, X_CC_NE);
        if (cmp[i].op == LF_NEG) {
            x_load(j, true, X_RAX, X_RBX, cmp[i].x);
            x_shift_cl(j, true, 4, X_RAX);
            x_test_rr(j, true, X_RAX, X_RAX);
            x_setcc(j, X_CC_NE, X_RDX);
        } else {
            op_at_size(j, X_CMP, cmp[i].x, cmp[i].y);
            if (cmp[i].cc)
                x_setcc(j, cmp[i].cc, X_RDX);
            else
                carry_or_equal(j);
        }
        x_ret(j);
        x_patch(j, next, jb_pos(j));
    }
    /* INC, DEC, shifts and MUL: cf_in; no lazy state: RFLAGS.CF; a logic
     * operation: 0. */
    x_alu_r_imm(j, false, X_CMP, X_RAX, LF_INC);
    uint32_t low = x_jcc(j, X_CC_B);
    x_alu_r_imm(j, false, X_CMP, X_RAX, LF_CFOF);
    uint32_t zero = x_jcc(j, X_CC_A);
    x_op0f_mem(j, false, 0xb6, X_RDX, X_RBX, LF(cf_in));
    x_ret(j);
    x_patch(j, low, jb_pos(j));
    x_test_rr(j, false, X_RAX, X_RAX);
    uint32_t zero2 = x_jcc(j, X_CC_NE);
    x_load(j, false, X_RDX, X_RBX, JIT_CPU(rflags));
    x_alu_r_imm(j, false, X_AND, X_RDX, (int32_t)RFLAGS_CF);
    x_ret(j);
    x_patch(j, zero, jb_pos(j));
    x_patch(j, zero2, jb_pos(j));
    x_alu_rr(j, false, X_XOR, X_RDX, X_RDX);
    x_ret(j);
}

/* The registers compiled code holds guest registers in (jit_int.h): kept
 * across a C call made from a stub. */
static const unsigned pool[] = {X_RSI, X_RDI, X_R8, X_R9, X_R10, X_R11};
#define NPOOL (sizeof(pool) / sizeof(pool[0]))

/* host_flags: host CF, ZF, SF and OF made the guest's (emu_cond's, the
 * lazy state kept), for a Jcc, SETcc or CMOVcc after a state the compiler
 * does not know; PF and AF are not (no parity condition comes here).
 * After SUB, ADD and a logic operation: the operation again on the
 * operands shifted to the top; else emu_peek_rflags, through
 * jit_popf_arith.
 * RAX, RCX, RDX clobbered, the registers held kept. Called with RSP 16-byte
 * aligned, so 8 below after the call: six pushes and 8 more align it. */
static void emit_host_flags(struct jit_buf *j, uint32_t *at)
{
    *at = jb_pos(j);
    shift_and_op(j);
    x_alu_r_imm(j, false, X_CMP, X_RAX, LF_SUB);
    uint32_t not_sub = x_jcc(j, X_CC_NE);
    op_at_size(j, X_CMP, LF(a), LF(b));
    x_ret(j);
    x_patch(j, not_sub, jb_pos(j));
    x_alu_r_imm(j, false, X_CMP, X_RAX, LF_ADD);
    uint32_t not_add = x_jcc(j, X_CC_NE);
    op_at_size(j, X_ADD, LF(a), LF(b));
    x_ret(j);
    x_patch(j, not_add, jb_pos(j));
    x_alu_r_imm(j, false, X_CMP, X_RAX, LF_LOGIC);
    uint32_t not_logic = x_jcc(j, X_CC_NE);
    x_load(j, true, X_RAX, X_RBX, LF(res));
    x_shift_cl(j, true, 4, X_RAX);
    x_test_rr(j, true, X_RAX, X_RAX); /* CF = OF = 0 */
    x_ret(j);
    x_patch(j, not_logic, jb_pos(j));
    for (unsigned i = 0; i < NPOOL; i++)
        x_push(j, pool[i]);
    x_alu_r_imm(j, true, X_SUB, X_RSP, 8);
    jit_cpu_to_rdi(j);
    x_call_abs(j, (const void *)emu_peek_rflags);
    x_alu_r_imm(j, true, X_ADD, X_RSP, 8);
    for (unsigned i = NPOOL; i-- > 0;)
        x_pop(j, pool[i]);
    jit_popf_arith(j);
    x_ret(j);
}

/* op reg, [RBX + off] at size (1, 2, 4, 8; opc the 32-bit form's). */
static void op_sized_mem(struct jit_buf *j, unsigned size, uint8_t opc, unsigned reg, int32_t off)
{
    if (size == 2)
        jb_u8(j, 0x66);
    x_op_mem(j, size == 8, (uint8_t)(size == 1 ? opc - 1 : opc), reg, X_RBX, off);
}

/* rflags: emu_rflags (the lazy state's flags into cpu->rflags, lf.op =
 * LF_NONE), for BSF, BSR and BT, called when lf.op is not LF_NONE. After
 * SUB, ADD and a logic operation the operation again at its size gives
 * every flag (PF and AF from the low bits the operands keep; a logic
 * one's AF is 0, the host's undefined); anything else calls emu_rflags.
 * RAX and the host flags clobbered, every other register kept; called
 * with RSP 16-byte aligned, as host_flags. */
static void emit_rflags(struct jit_buf *j, uint32_t *at)
{
    static const uint8_t ops[] = {LF_SUB, LF_LOGIC, LF_ADD}, sizes[] = {4, 8, 1, 2};
    uint32_t to_tail[12], to_logic[4];
    unsigned nt = 0, nl = 0;
    *at = jb_pos(j);
    x_op0f_mem(j, false, 0xb7, X_RAX, X_RBX, LF(op)); /* MOVZX EAX, word [op]: op | size << 8 */
    for (unsigned o = 0; o < sizeof(ops); o++) {
        for (unsigned k = 0; k < sizeof(sizes); k++) {
            unsigned size = sizes[k];
            x_alu_r_imm(j, false, X_CMP, X_RAX, (int32_t)(ops[o] | size << 8));
            uint32_t next = x_jcc(j, X_CC_NE);
            if (ops[o] == LF_LOGIC) {
                op_sized_mem(j, size, 0x8b, X_RAX, LF(res));
                if (size == 2)
                    jb_u8(j, 0x66);
                x_op_rr(j, size == 8, size == 1 ? 0x84 : 0x85, X_RAX, X_RAX); /* TEST */
                to_logic[nl++] = x_jmp(j);
            } else {
                op_sized_mem(j, size, 0x8b, X_RAX, LF(a));
                op_sized_mem(j, size, ops[o] == LF_SUB ? 0x3b : 0x03, X_RAX, LF(b)); /* CMP, ADD */
                to_tail[nt++] = x_jmp(j);
            }
            x_patch(j, next, jb_pos(j));
        }
    }
    for (unsigned i = 0; i < NPOOL; i++)
        x_push(j, pool[i]);
    x_push(j, X_RCX);
    x_push(j, X_RDX);
    x_alu_r_imm(j, true, X_SUB, X_RSP, 8);
    jit_cpu_to_rdi(j);
    x_call_abs(j, (const void *)emu_rflags);
    x_alu_r_imm(j, true, X_ADD, X_RSP, 8);
    x_pop(j, X_RDX);
    x_pop(j, X_RCX);
    for (unsigned i = NPOOL; i-- > 0;)
        x_pop(j, pool[i]);
    x_ret(j);
    for (unsigned i = 0; i < nl; i++)
        x_patch(j, to_logic[i], jb_pos(j));
    x_pushf(j);
    x_pop(j, X_RAX);
    x_alu_r_imm(j, false, X_AND, X_RAX, (int32_t)(RFLAGS_ARITH & ~RFLAGS_AF));
    uint32_t merge = x_jmp(j);
    for (unsigned i = 0; i < nt; i++)
        x_patch(j, to_tail[i], jb_pos(j));
    x_pushf(j);
    x_pop(j, X_RAX);
    x_alu_r_imm(j, false, X_AND, X_RAX, (int32_t)RFLAGS_ARITH);
    x_patch(j, merge, jb_pos(j));
    x_alu_mem_imm(j, true, X_AND, X_RBX, JIT_CPU(rflags), (int32_t) ~(uint32_t)RFLAGS_ARITH);
    x_op_mem(j, true, 0x09, X_RAX, X_RBX, JIT_CPU(rflags)); /* OR [rflags], RAX */
    x_store_imm(j, 1, X_RBX, LF(op), LF_NONE);
    x_ret(j);
}

bool jit_shared_build(struct emu_jit *jit)
{
    struct jit_arena *a = &jit->arena;
    struct jit_buf jb = {jit->buf, jit->buf, jit->buf + sizeof(jit->buf), false, 0, 0, NULL};
    struct jit_buf *j = &jb;
    uint32_t out, leave, stop, ended, any, other, cf_dl, host_flags, rflags;
    emit_out_leave(j, &out, &leave);
    emit_stubs(j, leave, &stop, &ended);
    emit_chain(j, out, &any, &other);
    emit_cf_dl(j, &cf_dl);
    emit_host_flags(j, &host_flags);
    emit_rflags(j, &rflags);
    uint32_t enter = jb_pos(j);
    emit_enter(j);
    if (j->full || a->used)
        return false;
    const uint8_t *code = jit_arena_publish(a, j->start, jb_pos(j));
    if (!code)
        return false;
    a->keep = a->used;
    jit->shared = (struct jit_shared){code + enter, code + out, code + leave, code + stop,
                                      code + ended, code + any, code + other, code + cf_dl,
                                      code + host_flags,
                                      (intptr_t)(a->rw - a->rx), code + rflags};
    return true;
}
#endif
