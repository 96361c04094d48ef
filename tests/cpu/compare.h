/*
 * Comparing the host's and the emulator's results for one case, with the
 * flags the SDM leaves undefined masked per instruction, and the report of
 * a mismatch: bytes, inputs, both results.
 */
#ifndef HK_TESTS_CPU_COMPARE_H
#define HK_TESTS_CPU_COMPARE_H

#include <inttypes.h>
#include <stdio.h>

#include "gen.h"

/* Flags compared: everything user mode can observe except RF, which the
 * host sets in the image of a fault (SDM Vol. 3A 17.3.1.1). */
#define CD_FLAGS_COMPARED (0x3f7fd7ull & ~0x10000ull)

static bool cd_is_alu_fn(emu_exec_fn fn)
{
    return fn == ex_alu_rm_reg || fn == ex_alu_reg_rm || fn == ex_alu_acc_imm || fn == ex_alu_rm_imm;
}

/* Shifts and rotates (SDM "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR"): a masked
 * count of 0 changes nothing; OF is defined only for 1-bit counts; AF is
 * undefined after a shift; CF is undefined after SHL/SHR by the operand
 * width or more. */
static uint64_t cd_shift_undefined(const struct emu_insn *in, const struct cd_state *s)
{
    unsigned op = in->opcode & 0xfe;
    unsigned count = op == 0xd2 ? (unsigned)(s->gpr[1] & 0xff) : op == 0xd0 ? 1 : (unsigned)in->imm;
    count &= in->opsz == 8 ? 63 : 31;
    if (count == 0)
        return 0;
    uint64_t m = count != 1 ? RFLAGS_OF : 0;
    if (in->sub >= 4)
        m |= RFLAGS_AF;
    if (in->sub >= 4 && in->sub <= 6 && count >= in->opsz * 8u)
        m |= RFLAGS_CF;
    return m;
}

/* SHLD/SHRD: nothing changes for a masked count of 0; AF is undefined,
 * OF too unless the count is 1, and everything (result included) when a
 * 16-bit operand is shifted by more than 16. */
static uint64_t cd_double_shift_undefined(const struct emu_insn *in, const struct cd_state *s)
{
    unsigned count = (in->opcode & 1) ? (unsigned)(s->gpr[1] & 0xff) : (unsigned)in->imm;
    count &= in->opsz == 8 ? 63 : 31;
    if (count == 0)
        return 0;
    if (count > in->opsz * 8u)
        return RFLAGS_ARITH;
    return RFLAGS_AF | (count != 1 ? RFLAGS_OF : 0);
}

/* Flags the SDM leaves undefined after this instruction, given its inputs. */
static uint64_t cd_undefined_flags(const struct emu_insn *in, const struct cd_state *s)
{
    emu_exec_fn fn = emu_general_fn(in->fn); /* not the specialised one */
    if ((cd_is_alu_fn(fn) && (in->sub == 1 || in->sub == 4 || in->sub == 6)) ||
        fn == ex_test_rm_reg || fn == ex_test_rm_imm)
        return RFLAGS_AF;
    if (fn == ex_mul || fn == ex_imul1 || fn == ex_imul_reg_rm || fn == ex_imul_reg_rm_imm)
        return RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF;
    if (fn == ex_div || fn == ex_idiv)
        return RFLAGS_ARITH;
    if (fn == ex_bt_reg || fn == ex_bt_imm)
        return RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF;
    if (fn == ex_bsf || fn == ex_bsr)
        return RFLAGS_CF | RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF;
    if (fn == ex_shift)
        return cd_shift_undefined(in, s);
    if (fn == ex_shld_shrd)
        return cd_double_shift_undefined(in, s);
    if (fn == ex_daa_das) /* SDM "DAA", "DAS": OF undefined */
        return RFLAGS_OF;
    if (fn == ex_aaa_aas) /* "AAA", "AAS": only AF and CF defined */
        return RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_PF;
    if (fn == ex_aam_aad) /* "AAM", "AAD": OF, AF, CF undefined */
        return RFLAGS_OF | RFLAGS_AF | RFLAGS_CF;
    return 0;
}

static bool cd_has_error_code(int v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

/* Registers and RIP as code of this width defines them: outside 64-bit
 * code only the low 32 bits of RAX..RDI (the SDM leaves the upper halves
 * undefined after a mode switch) and none of R8..R15. */
static bool cd_regs_differ(const struct cd_state *nat, const struct cd_state *emu, int bits)
{
    if (bits == 64)
        return memcmp(nat->gpr, emu->gpr, sizeof(nat->gpr)) || nat->rip != emu->rip;
    for (int i = 0; i < 8; i++)
        if ((uint32_t)nat->gpr[i] != (uint32_t)emu->gpr[i])
            return true;
    return (uint32_t)nat->rip != (uint32_t)emu->rip;
}

/* Empty when the results agree, else a short reason. bits: the code
 * width the instruction ran in. */
static const char *cd_differs(const struct cd_state *nat, const struct cd_state *emu,
                              const uint8_t *nat_mem, const uint8_t *emu_mem, uint64_t undef, int bits)
{
    if (nat->vector != emu->vector)
        return "exception";
    if (nat->vector >= 0 && cd_has_error_code(nat->vector) && nat->error != emu->error)
        return "error code";
    if (nat->vector == 14 && nat->cr2 != emu->cr2)
        return "CR2";
    if (cd_regs_differ(nat, emu, bits))
        return nat->rip != emu->rip ? "RIP" : "registers";
    if (memcmp(nat->sreg, emu->sreg, 4 * sizeof(nat->sreg[0])))
        return "segment registers"; /* null RPLs cleared on both sides (sys_native.h) */
    if (memcmp(nat->sreg + 4, emu->sreg + 4, 2 * sizeof(nat->sreg[0])))
        return "FS/GS";
    /* After a single-step #DB the instruction has completed: its undefined
     * flags are as undefined as without the trap. */
    bool done = nat->vector < 0 || nat->vector == 1;
    uint64_t m = CD_FLAGS_COMPARED & ~(done ? undef : 0);
    if ((nat->rflags ^ emu->rflags) & m)
        return "RFLAGS";
    if (memcmp(nat_mem, emu_mem, CD_DATA_SIZE))
        return "memory";
    return "";
}

static const char *const cd_reg_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                             "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

static void cd_print_bytes(const uint8_t *b, int n)
{
    for (int i = 0; i < n; i++)
        printf("%s%02x", i ? " " : "", b[i]);
}

static void cd_print_result(const char *who, const struct cd_state *s, const struct cd_state *other)
{
    printf("    %-6s rip=%#" PRIx64 " rflags=%#" PRIx64 " es/cs/ss/ds/fs/gs=%x/%x/%x/%x/%x/%x", who,
           s->rip, s->rflags, s->sreg[0], s->sreg[1], s->sreg[2], s->sreg[3], s->sreg[4], s->sreg[5]);
    if (s->vector >= 0)
        printf(" vector=%d error=%#x cr2=%#" PRIx64, s->vector, s->error, s->cr2);
    for (int i = 0; i < 16; i++)
        if (s->gpr[i] != other->gpr[i])
            printf(" %s=%#" PRIx64, cd_reg_names[i], s->gpr[i]);
    printf("\n");
}

static void cd_print_memory(const uint8_t *init, const uint8_t *nat, const uint8_t *emu)
{
    int shown = 0;
    for (uint64_t i = 0; i < CD_DATA_SIZE && shown < 4; i++) {
        if (nat[i] == emu[i])
            continue;
        uint64_t at = i & ~7ull;
        uint64_t a = 0, b = 0, c = 0;
        memcpy(&b, nat + at, 8);
        memcpy(&c, emu + at, 8);
        if (at + 8 <= CD_DATA_RW)
            memcpy(&a, init + at, 8);
        printf("    memory %#" PRIx64 ": before %016" PRIx64 " host %016" PRIx64 " emu %016" PRIx64
               "\n", (uint64_t)(CD_DATA + at), a, b, c);
        shown++;
        i = at + 7;
    }
}

/* The full story of one mismatch, on lines that tests/run.sh does not count. */
static void cd_report(const struct cd_case *c, const struct cd_state *nat, const struct cd_state *emu,
                      const uint8_t *nat_mem, const uint8_t *emu_mem, uint64_t undef)
{
    printf("    bytes ");
    cd_print_bytes(c->bytes, c->len);
    printf("  (ea %#" PRIx64 ", undefined flags %#" PRIx64 ")\n    input  rflags=%#" PRIx64,
           c->ea, undef, c->in.rflags);
    for (int i = 0; i < 16; i++)
        printf("%s%s=%#" PRIx64, i == 8 ? "\n          " : " ", cd_reg_names[i], c->in.gpr[i]);
    printf("\n");
    cd_print_result("host", nat, emu);
    cd_print_result("emu", emu, nat);
    cd_print_memory(c->data, nat_mem, emu_mem);
}

#endif
