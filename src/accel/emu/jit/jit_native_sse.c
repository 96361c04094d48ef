/*
 * The SSE2 forms glibc's string functions run on, in 64-bit code, as
 * host SSE2 code: MOVDQA/MOVDQU/MOVAPS/MOVUPS (loads, stores, register
 * moves), ex_sse_int's integer operations (PCMPEQB, PXOR, PMINUB, the
 * unpacks and packs, ..., and ANDPS/ORPS/XORPS/ANDNPS, which are the same
 * operations), the shifts by an immediate, PSHUFD/PSHUFHW/PSHUFLW,
 * PMOVMSKB, and MOVD/MOVQ between XMM and a general register or memory;
 * and, when the host has them (jit_host_isa, else the handler is called),
 * SSSE3's PSHUFB and SSE4.2's string compares PCMPxSTRI/PCMPxSTRM, which
 * glibc's strcspn, strspn, strcpy and memcpy variants run on.
 * The guest's XMM registers stay in cpu->fpu.xmm: each form loads its
 * operands into host XMM0 and XMM1 (caller-saved, holding nothing between
 * instructions), runs the same host instruction, and stores the result
 * back (test_jit_x86 checks each host operation against the interpreter's
 * sse_int_lanes). The handler is called whenever it would do more:
 * - emu_sse_check would fault (CR0.EM or CR0.TS set, CR4.OSFXSR clear).
 *   Tested before the block's first such form only: nothing within a
 *   block makes the check fail once it passed (MOV to CR0/CR4 and LMSW end
 *   their block, CLTS only clears TS, a fault or task switch leaves it);
 * - a 16-byte memory operand that must be aligned (MOVDQA, MOVAPS, the
 *   ex_sse_int, PSHUF and PSHUFB forms: sse_lin's #GP) is not;
 * - for a string compare, the CPU has SSE4.2 off (cpu->features_off:
 *   ex_pcmpstr's #UD);
 * - the data-TLB probe misses (jit_tlb_probe: RFLAGS.AC, a page crossing,
 *   not canonical, not RAM, decoded code under a store).
 * The handler then takes the full path from untouched state and raises
 * the fault, if any, itself. Both paths leave RIP to the pending delta;
 * neither touches the lazy flags but the string compares', which both
 * leave as emu_set_rflags does (str_cmp).
 */
#if defined(__x86_64__)
#include <assert.h>
#include <cpuid.h>

#include "accel/emu/jit/jit_int.h"
#include "accel/emu/sse4.h"

#define XMM(n) (JIT_CPU(fpu.xmm) + 16 * (int32_t)((n) & 15))

enum form {
    S_NONE,
    S_MOV_LOAD,   /* xmm = xmm/m128 (ex_sse_mov_load; sub 1: aligned) */
    S_MOV_STORE,  /* xmm/m128 = xmm (ex_sse_mov_store; sub 1: aligned) */
    S_INT,        /* xmm = op(xmm, xmm/m128), aligned (ex_sse_int) */
    S_SHIFT_IMM,  /* xmm (ModRM.rm) shifted by imm8 (ex_sse_shift_imm) */
    S_PSHUF,      /* xmm = shuffle(xmm/m128, imm8), aligned (ex_pshuf) */
    S_PMOVMSKB,   /* r32 = the sign bits of xmm's bytes (ex_pmovmskb) */
    S_MOVD_LOAD,  /* xmm = r/m32/64 zero-extended (ex_sse_movd_load) */
    S_MOVD_STORE, /* r/m32/64 = xmm's low bits (ex_sse_movd_store) */
    S_MOVQ_LOAD,  /* xmm = xmm/m64 zero-extended (ex_sse_movq_load) */
    S_MOVQ_STORE, /* xmm/m64 = xmm's low quadword, zero-extended (ex_sse_movq_store) */
    S_BYTE_SHUF,  /* PSHUFB xmm, xmm/m128, aligned (ex_ssse3, S_PSHUFB) */
    S_STR_CMP,    /* PCMPxSTRx xmm, xmm/m128, imm8 (ex_pcmpstr) */
};

/* The host's 66 0F opcode for each enum sse_int_op (0: none; PSRLDQ and
 * PSLLDQ have only the immediate form). */
static const uint8_t int_opc[I_COUNT] = {
    [I_PUNPCKLBW] = 0x60, [I_PUNPCKLWD] = 0x61, [I_PUNPCKLDQ] = 0x62, [I_PUNPCKLQDQ] = 0x6c,
    [I_PUNPCKHBW] = 0x68, [I_PUNPCKHWD] = 0x69, [I_PUNPCKHDQ] = 0x6a, [I_PUNPCKHQDQ] = 0x6d,
    [I_PACKSSWB] = 0x63,  [I_PACKSSDW] = 0x6b,  [I_PACKUSWB] = 0x67,
    [I_PCMPEQB] = 0x74,   [I_PCMPEQW] = 0x75,   [I_PCMPEQD] = 0x76,
    [I_PCMPGTB] = 0x64,   [I_PCMPGTW] = 0x65,   [I_PCMPGTD] = 0x66,
    [I_PADDB] = 0xfc,     [I_PADDW] = 0xfd,     [I_PADDD] = 0xfe,     [I_PADDQ] = 0xd4,
    [I_PSUBB] = 0xf8,     [I_PSUBW] = 0xf9,     [I_PSUBD] = 0xfa,     [I_PSUBQ] = 0xfb,
    [I_PADDSB] = 0xec,    [I_PADDSW] = 0xed,    [I_PADDUSB] = 0xdc,   [I_PADDUSW] = 0xdd,
    [I_PSUBSB] = 0xe8,    [I_PSUBSW] = 0xe9,    [I_PSUBUSB] = 0xd8,   [I_PSUBUSW] = 0xd9,
    [I_PMULLW] = 0xd5,    [I_PMULHW] = 0xe5,    [I_PMULHUW] = 0xe4,   [I_PMULUDQ] = 0xf4,
    [I_PMADDWD] = 0xf5,   [I_PSADBW] = 0xf6,    [I_PAVGB] = 0xe0,     [I_PAVGW] = 0xe3,
    [I_PMINUB] = 0xda,    [I_PMAXUB] = 0xde,    [I_PMINSW] = 0xea,    [I_PMAXSW] = 0xee,
    [I_PAND] = 0xdb,      [I_PANDN] = 0xdf,     [I_POR] = 0xeb,       [I_PXOR] = 0xef,
    [I_PSRLW] = 0xd1,     [I_PSRLD] = 0xd2,     [I_PSRLQ] = 0xd3,
    [I_PSRAW] = 0xe1,     [I_PSRAD] = 0xe2,
    [I_PSLLW] = 0xf1,     [I_PSLLD] = 0xf2,     [I_PSLLQ] = 0xf3,
};

/* The shifts by an immediate: 66 0F opc /ext ib (0: none). */
static const struct {
    uint8_t opc, ext;
} shift_opc[I_COUNT] = {
    [I_PSRLW] = {0x71, 2}, [I_PSRAW] = {0x71, 4}, [I_PSLLW] = {0x71, 6},
    [I_PSRLD] = {0x72, 2}, [I_PSRAD] = {0x72, 4}, [I_PSLLD] = {0x72, 6},
    [I_PSRLQ] = {0x73, 2}, [I_PSRLDQ] = {0x73, 3}, [I_PSLLQ] = {0x73, 6}, [I_PSLLDQ] = {0x73, 7},
};

/* Which form in is, keyed on its executor (none of these is specialised). */
static enum form form_of(const struct emu_insn *in)
{
    bool mem = in->flags & INSN_MEM;
    emu_exec_fn fn = in->fn;
    if (mem && in->adsz != 4 && in->adsz != 8)
        return S_NONE;
    if (fn == ex_sse_mov_load)
        return S_MOV_LOAD;
    if (fn == ex_sse_mov_store)
        return S_MOV_STORE;
    if (fn == ex_sse_int)
        return in->sub < I_COUNT && int_opc[in->sub] ? S_INT : S_NONE;
    if (fn == ex_sse_shift_imm) /* the memory forms are #UD */
        return !mem && in->sub < I_COUNT && shift_opc[in->sub].opc ? S_SHIFT_IMM : S_NONE;
    if (fn == ex_pshuf)
        return in->sub <= 2 ? S_PSHUF : S_NONE;
    if (fn == ex_pmovmskb)
        return mem ? S_NONE : S_PMOVMSKB; /* the memory form is #UD */
    if (fn == ex_sse_movd_load)
        return S_MOVD_LOAD;
    if (fn == ex_sse_movd_store)
        return S_MOVD_STORE;
    if (fn == ex_sse_movq_load)
        return S_MOVQ_LOAD;
    if (fn == ex_sse_movq_store)
        return S_MOVQ_STORE;
    if (fn == ex_ssse3)
        return in->sub == S_PSHUFB ? S_BYTE_SHUF : S_NONE;
    if (fn == ex_pcmpstr)
        return S_STR_CMP;
    return S_NONE;
}

bool jit_sse_form(const struct emu_insn *in)
{
    return form_of(in) != S_NONE;
}

int jit_sse_lf_after(const struct emu_insn *in, int lf_before)
{
    return form_of(in) == S_STR_CMP ? LF_NONE : lf_before;
}

unsigned jit_host_isa(void)
{
    unsigned eax, ebx, ecx = 0, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return 0;
    return ((ecx >> 9) & 1 ? JIT_ISA_SSSE3 : 0) | ((ecx >> 20) & 1 ? JIT_ISA_SSE42 : 0);
}

/* Whether the host runs f's instruction (the SSE2 ones: every x86-64). */
static bool host_has(const struct jit_ctx *c, enum form f)
{
    if (f == S_BYTE_SHUF)
        return c->host_isa & JIT_ISA_SSSE3;
    if (f == S_STR_CMP)
        return c->host_isa & JIT_ISA_SSE42;
    return true;
}

/* Whether one of the block's native SSE forms comes before in: its code
 * ran (every way past it passed emu_sse_check, natively or in the
 * handler), and the check cannot fail again within the block. */
static bool checked_before(const struct jit_ctx *c, const struct emu_insn *in)
{
    for (const struct emu_insn *p = c->b->insns; p < in; p++)
        if (jit_sse_form(p))
            return true;
    return false;
}

/* emu_sse_check's faults to the handler: #UD for CR0.EM or CR4.OSFXSR
 * clear, #NM for CR0.TS. */
static unsigned sse_check(struct jit_ctx *c, uint32_t *slow)
{
    struct jit_buf *j = &c->j;
    jit_regs_slow_point(c);
    x_test_mem_imm(j, X_RBX, JIT_CPU(cr0), (uint32_t)(CR0_EM | CR0_TS));
    slow[0] = x_jcc(j, X_CC_NE);
    x_test_mem_imm(j, X_RBX, JIT_CPU(cr4), (uint32_t)CR4_OSFXSR);
    slow[1] = x_jcc(j, X_CC_E);
    return 2;
}

/* The memory operand's size, and whether it must be 16-byte aligned. */
static unsigned mem_size(const struct emu_insn *in, enum form f, bool *aligned)
{
    *aligned = f == S_INT || f == S_PSHUF || f == S_BYTE_SHUF ||
               ((f == S_MOV_LOAD || f == S_MOV_STORE) && in->sub);
    if (f == S_MOVD_LOAD || f == S_MOVD_STORE)
        return in->opsz == 8 ? 8 : 4;
    return f == S_MOVQ_LOAD || f == S_MOVQ_STORE ? 8 : 16;
}

/* xmm = the r/m operand: memory at RCX, or the guest's XMM register. */
static void load_rm(struct jit_buf *j, const struct emu_insn *in, unsigned xmm)
{
    if (in->flags & INSN_MEM)
        x_movdqu_load(j, xmm, X_RCX, 0);
    else
        x_movdqu_load(j, xmm, X_RBX, XMM(in->rm));
}

/* Guest XMM register n = RAX zero-extended (MOVD, MOVQ). */
static void xmm_from_rax(struct jit_buf *j, unsigned n)
{
    x_store(j, true, X_RAX, X_RBX, XMM(n));
    x_store_imm(j, 8, X_RBX, XMM(n) + 8, 0);
}

/* ex_pcmpstr's fast path: the host's instruction on the same operands,
 * for the explicit-length forms with the guest's RAX and RDX (the host
 * takes their saturated absolute values, as str_len does), then ECX or
 * XMM0, and the flags as emu_set_rflags leaves them: CF, ZF, SF, OF the
 * host's, AF and PF clear, the other bits kept, the lazy state LF_NONE
 * (its other fields as they were). */
static void str_cmp(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    bool explicit = in->opcode < 0x62, index = in->opcode & 1;
    x_movdqu_load(j, 0, X_RBX, XMM(in->reg));
    load_rm(j, in, 1);
    if (explicit) {
        jit_read_gpr(c, 8, 0, X_RAX);
        jit_read_gpr(c, 8, 2, X_RDX);
    }
    x_pcmpstr(j, explicit && in->opsz == 8, in->opcode, 0, 1, (uint8_t)in->imm);
    x_pushf(j);
    x_pop(j, X_RDX);
    if (index)
        x_mov_rr(j, false, X_RAX, X_RCX); /* the host's ECX */
    else
        x_movdqu_store(j, 0, X_RBX, XMM(0));
    x_alu_r_imm(j, false, X_AND, X_RDX, (int32_t)(RFLAGS_CF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF));
    x_load(j, true, X_RCX, X_RBX, JIT_CPU(rflags));
    x_alu_r_imm(j, true, X_AND, X_RCX, (int32_t)(RFLAGS_WRITABLE & ~RFLAGS_ARITH));
    x_alu_rr(j, true, X_OR, X_RCX, X_RDX);
    x_alu_r_imm(j, true, X_OR, X_RCX, 2);
    x_store(j, true, X_RCX, X_RBX, JIT_CPU(rflags));
    x_store_imm(j, 1, X_RBX, JIT_CPU(lf.op), LF_NONE);
    if (index)
        jit_write_gpr(c, 4, 1);
}

/* What the handler does on its fast path, the checks passed (RCX = the
 * memory operand's host address). */
static void body(struct jit_ctx *c, const struct emu_insn *in, enum form f)
{
    struct jit_buf *j = &c->j;
    bool mem = in->flags & INSN_MEM;
    bool q = in->opsz == 8;
    static const uint8_t shuf_pfx[3] = {0x66, 0xf3, 0xf2}; /* PSHUFD, PSHUFHW, PSHUFLW */
    switch (f) {
    case S_NONE:
        break;
    case S_MOV_LOAD:
        load_rm(j, in, 0);
        x_movdqu_store(j, 0, X_RBX, XMM(in->reg));
        break;
    case S_MOV_STORE:
        x_movdqu_load(j, 0, X_RBX, XMM(in->reg));
        if (mem)
            x_movdqu_store(j, 0, X_RCX, 0);
        else
            x_movdqu_store(j, 0, X_RBX, XMM(in->rm));
        break;
    case S_INT:
        x_movdqu_load(j, 0, X_RBX, XMM(in->reg));
        load_rm(j, in, 1);
        x_sse_op(j, int_opc[in->sub], 0, 1);
        x_movdqu_store(j, 0, X_RBX, XMM(in->reg));
        break;
    case S_SHIFT_IMM:
        x_movdqu_load(j, 0, X_RBX, XMM(in->rm));
        x_sse_shift_imm(j, shift_opc[in->sub].opc, shift_opc[in->sub].ext, 0, (uint8_t)in->imm);
        x_movdqu_store(j, 0, X_RBX, XMM(in->rm));
        break;
    case S_PSHUF:
        load_rm(j, in, 1);
        x_pshuf(j, shuf_pfx[in->sub], 0, 1, (uint8_t)in->imm);
        x_movdqu_store(j, 0, X_RBX, XMM(in->reg));
        break;
    case S_PMOVMSKB:
        x_movdqu_load(j, 0, X_RBX, XMM(in->rm));
        x_pmovmskb(j, X_RAX, 0);
        jit_write_gpr(c, 4, in->reg);
        break;
    case S_MOVD_LOAD:
        if (mem)
            x_load(j, q, X_RAX, X_RCX, 0);
        else
            jit_read_gpr(c, q ? 8 : 4, in->rm, X_RAX);
        xmm_from_rax(j, in->reg);
        break;
    case S_MOVD_STORE:
        x_load(j, q, X_RAX, X_RBX, XMM(in->reg));
        if (mem)
            x_store(j, q, X_RAX, X_RCX, 0);
        else
            jit_write_gpr(c, q ? 8 : 4, in->rm);
        break;
    case S_MOVQ_LOAD:
        x_load(j, true, X_RAX, mem ? X_RCX : X_RBX, mem ? 0 : XMM(in->rm));
        xmm_from_rax(j, in->reg);
        break;
    case S_MOVQ_STORE:
        x_load(j, true, X_RAX, X_RBX, XMM(in->reg));
        if (mem)
            x_store(j, true, X_RAX, X_RCX, 0);
        else
            xmm_from_rax(j, in->rm);
        break;
    case S_BYTE_SHUF:
        x_movdqu_load(j, 0, X_RBX, XMM(in->reg));
        load_rm(j, in, 1);
        x_pshufb(j, 0, 1);
        x_movdqu_store(j, 0, X_RBX, XMM(in->reg));
        break;
    case S_STR_CMP:
        str_cmp(c, in);
        break;
    }
}

bool jit_native_sse(struct jit_ctx *c, const struct emu_insn *in, bool *called, uint32_t *stop,
                    uint32_t *ended)
{
    enum form f = form_of(in);
    if (f == S_NONE)
        return false;
    assert(in >= c->b->insns && in < c->b->insns + c->b->n);
    struct jit_buf *j = &c->j;
    if (!host_has(c, f)) { /* the handler, which checks as a native form's first would */
        int lf_op = c->lf_op;
        unsigned lf_size = c->lf_size;
        jit_emit_call(c, in, stop, ended);
        c->lf_op = jit_sse_lf_after(in, lf_op);
        c->lf_size = lf_size;
        *called = true;
        return true;
    }
    bool mem = in->flags & INSN_MEM;
    uint32_t slow[4 + JIT_PROBE_SLOW];
    unsigned ns = 0;
    if (mem)
        jit_mem_lin(c, in); /* RAX = lin; first: it may load registers */
    if (!checked_before(c, in))
        ns += sse_check(c, slow);
    if (f == S_STR_CMP) { /* ex_pcmpstr's #UD */
        jit_regs_slow_point(c);
        x_test_mem_imm(j, X_RBX, JIT_CPU(features_off), 1u << EMU_HF_SSE42);
        slow[ns++] = x_jcc(j, X_CC_NE);
    }
    if (mem) {
        bool aligned, store = f == S_MOV_STORE || f == S_MOVD_STORE || f == S_MOVQ_STORE;
        unsigned size = mem_size(in, f, &aligned);
        if (aligned) {
            jit_regs_slow_point(c);
            x_test_r_imm(j, false, X_RAX, 15);
            slow[ns++] = x_jcc(j, X_CC_NE);
        }
        uint32_t probe[JIT_PROBE_SLOW];
        unsigned np = jit_tlb_probe(c, store ? JIT_CPU(tlb_write) : JIT_CPU(tlb_read), size, probe);
        for (unsigned k = 0; k < np; k++)
            slow[ns++] = probe[k];
    }
    body(c, in, f);
    *called = ns != 0;
    if (ns)
        jit_mem_slow_call(c, in, slow, ns, stop, ended);
    else
        c->rip_delta += in->len;
    c->lf_op = jit_sse_lf_after(in, c->lf_op);
    return true;
}
#endif
