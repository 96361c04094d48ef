/*
 * The JIT lockstep tests' block shapes (from emu_jit_gen_forms.h's
 * forms): a random body closed by a Jcc (after a flag setter and forms
 * that keep the host's flags), CALL or RET, JMP, JMP or CALL through a
 * register or memory, or HLT; a string compare's block; a crowded block
 * (more guest registers than the JIT's pool holds, memory forms among
 * them).
 */
#ifndef EMU_JIT_GEN_BLOCKS_H
#define EMU_JIT_GEN_BLOCKS_H

#include "emu_jit_gen_forms.h"

static bool all_native; /* gen_body: native forms only */
static bool sse_heavy;  /* gen_body: half of them SSE forms (as in glibc's string functions) */

static inline void gen_body(struct code *c, unsigned n)
{
    unsigned native_share = all_native ? 4 : pick(5); /* some blocks all native, some mostly called */
    for (unsigned i = 0; i < n; i++, c->insns++) {
        if (sse_heavy && pick(2))
            gen_sse(c);
        else if (pick(4) < native_share)
            gen_native(c);
        else
            gen_called(c);
    }
}

static bool rel8_last; /* gen_block ended the block with a Jcc or JMP rel8 */

/* A flag setter on registers (CMP, TEST, an ALU operation, INC/DEC; byte
 * ones too, AH..BH among them), for a Jcc to read. */
static inline void gen_flag_setter(struct code *c)
{
    bool w = pick(2);
    unsigned op = pick(8);
    switch (pick(5)) {
    case 0: op_rr(c, w, pick(2) ? 0x39 : 0x85, reg(), reg()); break; /* CMP, TEST */
    case 1: byte_rr(c, pick(2) ? 0x38 : 0x84); break;
    case 2: /* CMP or another ALU operation (not ADC, SBB) with an imm8 */
        op_rr(c, w, 0x83, op == 2 || op == 3 ? 7 : op, reg());
        put(c, pick(3) ? 0 : pick(256));
        break;
    case 3: op_rr(c, w, (op == 2 || op == 3 ? 7 : op) * 8 + 1, reg(), reg()); break;
    default: op_rr(c, w, 0xff, pick(2), reg()); break; /* INC, DEC */
    }
}

/* What a compare is often followed by before its Jcc: forms whose code
 * keeps the host's flags (jit_flags_neutral: MOVs of registers and
 * immediates, LEA, MOVZX/MOVSX, MOVSXD, BSWAP, NOT, CBW, NOPs), now and
 * then one whose code does not (LEA with 32-bit or RIP-relative
 * addressing, a rotate, NEG, a load, a called form). */
static inline void gen_between(struct code *c)
{
    bool w = pick(2);
    unsigned r = reg();
    switch (pick(14)) {
    case 0: op_rr(c, w, pick(2) ? 0x89 : 0x8b, r, reg()); break;
    case 1: byte_rr(c, pick(2) ? 0x88 : 0x8a); break;
    case 2: /* MOV r, imm32 / imm64; C7 /0 */
        if (pick(2)) {
            put(c, 0x40 | (w ? 8 : 0) | (r >> 3));
            put(c, 0xb8 + (r & 7));
            put32(c, (uint32_t)operand());
            if (w)
                put32(c, (uint32_t)operand());
        } else {
            op_rr(c, w, 0xc7, 0, r);
            put32(c, (uint32_t)operand());
        }
        break;
    case 3:
    case 4: { /* LEA d8(base, index, scale), 32-bit addressing now and then */
        unsigned base = pick(16), index = pick(16);
        if (index == 4)
            index = 12;
        if (pick(6) == 0)
            put(c, 0x67);
        put(c, 0x40 | (w ? 8 : 0) | (r >> 3) << 2 | (index >> 3) << 1 | (base >> 3));
        put(c, 0x8d);
        put(c, 0x40 | (r & 7) << 3 | 4);
        put(c, pick(4) << 6 | (pick(3) ? index & 7 : 4) << 3 | (base & 7));
        put(c, pick(256));
        break;
    }
    case 5: gen_movx(c); break;
    case 6: op_rr(c, true, 0x63, r, pick(16)); break; /* MOVSXD */
    case 7: /* BSWAP; NOT */
        if (pick(2)) {
            put(c, 0x40 | (w ? 8 : 0) | (r >> 3));
            put(c, 0x0f);
            put(c, 0xc8 + (r & 7));
        } else {
            op_rr(c, w, 0xf7, 2, r);
        }
        break;
    case 8: /* CBW, CWDE, CDQE */
        put_cbw(c);
        break;
    case 9: /* NOP; NOP dword [rax + d8] */
        if (pick(2)) {
            put(c, 0x90);
        } else {
            put(c, 0x0f);
            put(c, 0x1f);
            put(c, 0x40);
            put(c, pick(256));
        }
        break;
    case 10: { /* LEA r, [rip + d32] */
        put(c, 0x40 | (w ? 8 : 0) | (r >> 3) << 2);
        put(c, 0x8d);
        put(c, (r & 7) << 3 | 5);
        put32(c, (uint32_t)operand());
        break;
    }
    case 11: /* ROL, ROR, NEG */
        if (pick(2)) {
            op_rr(c, w, 0xc1, pick(2), r);
            put(c, pick(70));
        } else {
            op_rr(c, w, 0xf7, 3, r);
        }
        break;
    case 12: /* MOV r, [r15 + d8] */
        put(c, (w ? 0x49 : 0x41) | (r >> 3) << 2);
        put(c, 0x8b);
        put(c, 0x40 | (r & 7) << 3 | 7);
        put(c, pick(16) * 8);
        break;
    default: gen_called(c); break;
    }
}

/* JMP or CALL through memory (FF /4, FF /2): the pointer (a random
 * operand or stack value: often canonical, else #GP) RIP-relative into
 * the data page (the code page at HIGH), at [r15 + d8] (maybe FS:, or
 * 32-bit addressing), [r15 + index * 8 + d8] (a random index: now and
 * then off the data page, or off RAM), on the stack around RSP (a CALL
 * pushing over the slot it read), or at a random register. */
static inline void gen_branch_mem(struct code *c)
{
    unsigned digit = pick(2) ? 2 : 4;
    switch (pick(5)) {
    case 0: { /* RIP-relative: [rip + disp32] */
        put(c, 0xff);
        put(c, digit << 3 | 5);
        uint64_t end = code_at + c->n + 4;
        uint64_t at = code_at == CODE ? DATA + 8 * pick(512) : code_at + 8 * pick(512);
        put32(c, (uint32_t)(at - end));
        break;
    }
    case 1: /* [r15 + d8], FS: or 32-bit addressing now and then */
        if (pick(4) == 0)
            put(c, 0x64);
        else if (pick(4) == 0)
            put(c, 0x67);
        put(c, 0x41);
        put(c, 0xff);
        put(c, 0x40 | digit << 3 | 7);
        put(c, pick(32) * 8 + (pick(8) ? 0 : pick(8)));
        break;
    case 2: { /* [r15 + index * 8 + d8] */
        unsigned index = reg();
        put(c, 0x41 | (index >> 3) << 1);
        put(c, 0xff);
        put(c, 0x40 | digit << 3 | 4);
        put(c, 3 << 6 | (index & 7) << 3 | 7);
        put(c, pick(256));
        break;
    }
    case 3: /* [rsp + d8]: -8, the slot a CALL pushes to, or above */
        put(c, 0xff);
        put(c, 0x40 | digit << 3 | 4);
        put(c, 0x24);
        put(c, pick(2) ? 0xf8 : 8 * pick(8));
        break;
    default: { /* [r], mostly a fault or past RAM */
        unsigned r = pick(16);
        if (r >= 8)
            put(c, 0x41);
        put(c, 0xff);
        put(c, ((r & 7) == 5 ? 0x40 : 0) | digit << 3 | ((r & 7) == 4 ? 4 : r & 7));
        if ((r & 7) == 4)
            put(c, 0x24);
        if ((r & 7) == 5)
            put(c, 0);
        break;
    }
    }
}

static inline void gen_block(struct code *c)
{
    c->n = c->insns = 0;
    rel8_last = false;
    sse_heavy = pick(10) == 0;
    gen_body(c, 1 + pick(40));
    sse_heavy = false;
    switch (pick(8)) {
    case 0:
    case 1:
        if (pick(3) == 0) { /* a flag-setting form on memory before it */
            if (pick(4))
                gen_alu_mem(c, true);
            else
                gen_atomic(c, true);
            c->insns++;
        } else if (pick(2)) { /* or on registers */
            gen_flag_setter(c);
            c->insns++;
        }
        for (unsigned k = pick(2) ? 1 + pick(3) : 0; k > 0; k--, c->insns++)
            gen_between(c); /* the flags kept in host RFLAGS across them */
        put(c, 0x70 + pick(16)); /* Jcc: ends the block, reads the flags */
        put(c, pick(256));
        rel8_last = true;
        break;
    case 2:
        put(c, 0xe8); /* CALL rel32: at HIGH, maybe past the canonical end */
        put32(c, code_at == HIGH && pick(2) ? 0xe00 + pick(0x300)
                 : pick(2)                  ? pick(256) - 128u
                                            : (uint32_t)operand());
        break;
    case 3:
        if (pick(2)) {
            put(c, 0xc3); /* RET */
        } else {
            put(c, 0xc2); /* RET imm16 */
            put(c, pick(2) ? 8 * pick(4) : pick(256));
            put(c, pick(4) ? 0 : pick(256));
        }
        break;
    case 4: /* JMP rel8 / rel32: at HIGH, maybe past the canonical end */
        if (pick(2)) {
            put(c, 0xeb);
            put(c, pick(256));
            rel8_last = true;
        } else {
            put(c, 0xe9);
            put32(c, code_at == HIGH && pick(2) ? 0xe00 + pick(0x300)
                     : pick(2)                  ? pick(0x2000) - 0x1000u
                                                : (uint32_t)operand());
        }
        break;
    case 5: { /* JMP or CALL through a register (FF /4, FF /2), REX.W or not:
               * to a random operand, often canonical, else #GP */
        unsigned r = pick(16);
        if (r >= 8 || pick(4) == 0)
            put(c, 0x40 | pick(2) << 3 | r >> 3);
        put(c, 0xff);
        put(c, 0xc0 | (pick(2) ? 2u : 4u) << 3 | (r & 7));
        break;
    }
    case 6: gen_branch_mem(c); break;
    default:
        put(c, 0xf4); /* HLT: EMU_END_BLOCK */
        break;
    }
}

/* str_block's: the string compare (opcode, imm8) of the next block, or
 * none (opc 0). */
static unsigned str_opc, str_imm;

/* A string compare (str_opc, str_imm) on registers or memory, maybe
 * between SSE forms, then HLT (the flags seen at the end) or a Jcc on
 * them, or a SETcc and a called form. */
static inline void gen_str_block(struct code *c)
{
    c->n = c->insns = 0;
    rel8_last = false;
    if (pick(3) == 0) {
        gen_sse(c);
        c->insns++;
    }
    gen_str_cmp(c, str_opc, str_imm);
    c->insns++;
    switch (pick(3)) {
    case 0:
        put(c, 0x70 + pick(16));
        put(c, pick(256));
        rel8_last = true;
        break;
    case 1:
        put(c, 0x0f); /* SETcc AL */
        put(c, 0x90 + pick(16));
        put(c, 0xc0);
        put(c, 0xf4);
        break;
    default:
        put(c, 0xf4);
        break;
    }
}

/* MOV r, [r15 + d8] / MOV [r15 + d8], r at 32 or 64 bits: jit_native_mem's. */
static inline void gen_mov_mem(struct code *c)
{
    unsigned r = reg();
    put(c, (pick(2) ? 0x49 : 0x41) | (r >> 3) << 2);
    put(c, pick(2) ? 0x8b : 0x89);
    put(c, 0x40 | (r & 7) << 3 | 7);
    put(c, pick(16) * 8);
}

/* Register pressure: native register forms on all of reg()'s 13
 * registers (more than the JIT's pool of 6 holds: evictions, dirty ones
 * stored), NOT and NEG, and memory forms (SETcc, XCHG, CMPXCHG among
 * them), whose slow path (the data TLB empty at the start) must store
 * what the pool holds and load it back. */
static inline void gen_crowded(struct code *c)
{
    switch (pick(9)) {
    case 0: op_rr(c, pick(2), 0xf7, 2 + pick(2), reg()); break; /* NOT, NEG */
    case 1: gen_alu_mem(c, false); break;
    case 2:
    case 3: gen_mov_mem(c); break;
    case 4: { /* LEA r, [base + index * scale + disp32] of held registers */
        unsigned r = reg(), base = reg(), index = reg();
        put(c, 0x40 | (pick(2) ? 8 : 0) | (r >> 3) << 2 | (index >> 3) << 1 | (base >> 3));
        put(c, 0x8d);
        put(c, 0x84 | (r & 7) << 3);
        put(c, pick(4) << 6 | (index & 7) << 3 | (base & 7));
        put32(c, (uint32_t)operand());
        break;
    }
    case 5: gen_atomic(c, false); break; /* SETcc, XCHG, CMPXCHG */
    default: gen_native(c); break;
    }
}

static inline void gen_crowded_block(struct code *c)
{
    c->n = c->insns = 0;
    for (unsigned n = 10 + pick(30); n > 0; n--, c->insns++)
        gen_crowded(c);
    if (pick(2)) {
        gen_alu_mem(c, true);
        c->insns++;
        put(c, 0x70 + pick(16));
        put(c, pick(256));
    } else {
        put(c, 0xf4);
    }
}

#endif
