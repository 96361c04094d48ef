/*
 * Trap-flag and alignment-check cases for the differential tester. A share
 * of every form's cases runs with RFLAGS.TF (the host raises the single-
 * step #DB after the instruction: SIGTRAP, trapno 1, RIP past it, or after
 * each iteration of a REP string instruction) or with RFLAGS.AC (Linux runs
 * user code with CR0.AM set, so a misaligned data access raises #AC:
 * SIGBUS, trapno 17). The emu must give the same vector, RIP, registers
 * and flags; DR6 is not visible to a Linux process, so BS is not compared.
 *
 * TF cannot be loaded by the entry stub's POPFQ (the stub's own next
 * instruction would trap), so TF cases enter through IRETQ, which loads
 * RIP, CS, RFLAGS, RSP and SS at once: the instruction that sets TF is not
 * trapped, and the first one traced is the one under test (SDM Vol. 3B
 * 17.3.1.4).
 */
#ifndef HK_TESTS_CPU_TRAPS_H
#define HK_TESTS_CPU_TRAPS_H

#include "native.h"

#define CD_IRET_FRAME (CD_STATE + 0x200) /* RIP CS RFLAGS RSP SS */

/* Which cases get TF or AC: one in eight each, by case number, so the
 * generator's stream (and --seed reproduction) stays as it was. Not TF in
 * 16-bit code: IRETQ to a 16-bit stack segment loads only SP, RSP bits
 * 63:16 stay the stub's (the leak Linux's espfix64 covers), so the
 * registers would differ for the entry's sake, not the instruction's.
 * Not AC for far RET: a host (AMD EPYC) reads the outer-level SS:RSP
 * slots past imm16 before it checks the returned-to CS, so a misaligned
 * imm16 gives #AC where the SDM's order (and the emu) gives #GP for the
 * selector. */
enum cd_trap_kind { CD_TRAP_NONE, CD_TRAP_TF, CD_TRAP_AC };

static enum cd_trap_kind cd_trap_kind_of(unsigned case_no, int bits, emu_exec_fn fn)
{
    if (case_no % 8 == 3 && bits != 16)
        return CD_TRAP_TF;
    return case_no % 8 == 6 && fn != ex_retf ? CD_TRAP_AC : CD_TRAP_NONE;
}

static void cd_trap_apply(struct cd_state *in, enum cd_trap_kind k)
{
    if (k == CD_TRAP_TF)
        in->rflags |= 0x100;
    else if (k == CD_TRAP_AC)
        in->rflags |= 0x40000;
}

/* Like the entry stub (native.h), but RIP, CS, RFLAGS, RSP and SS come
 * from an IRETQ frame, which works for every mode's code segment. */
static void cd_emit_iret_stub(uint8_t *p)
{
    static const uint8_t save[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57};
    uint32_t st = (uint32_t)CD_STATE, saved = (uint32_t)CD_SAVED_RSP;
    uint32_t frame = (uint32_t)CD_IRET_FRAME;
    memcpy(p, save, sizeof(save)), p += sizeof(save); /* push rbx rbp r12-r15 */
    *p++ = 0x48, *p++ = 0x89, *p++ = 0x24, *p++ = 0x25; /* mov [saved], rsp */
    memcpy(p, &saved, 4), p += 4;
    p = cd_emit_load_seg(p, 0, CD_ST_SEGS);     /* ES */
    p = cd_emit_load_seg(p, 3, CD_ST_SEGS + 4); /* DS; SS comes with IRETQ */
    for (int r = 0; r < 16; r++) {
        if (r == 4)
            continue;
        uint32_t a = st + 8u * (unsigned)r;
        *p++ = (uint8_t)(0x48 | (r >> 3) << 2);
        *p++ = 0x8b, *p++ = (uint8_t)(((r & 7) << 3) | 4), *p++ = 0x25;
        memcpy(p, &a, 4), p += 4;
    }
    *p++ = 0x48, *p++ = 0xc7, *p++ = 0xc4; /* mov rsp, imm32 */
    memcpy(p, &frame, 4), p += 4;
    *p++ = 0x48, *p++ = 0xcf; /* iretq */
}

/* A TF case: the IRETQ stub stands in for the entry stub for this one run
 * (cd_native_run still writes the state it reads), then the entry stub is
 * put back. */
static void cd_native_run_tf(const struct cd_mode *m, const struct cd_state *in,
                             const uint8_t *data, struct cd_state *out)
{
    uint64_t *frame = (uint64_t *)CD_IRET_FRAME;
    frame[0] = CD_INSN - m->base;
    frame[1] = m->sel[1];
    frame[2] = in->rflags;
    /* Outside 64-bit code only ESP is defined (compare.h), and a host
     * IRETQ to 32-bit code faults on a non-canonical RSP. */
    frame[3] = m->bits == 64 ? in->gpr[4] : (uint32_t)in->gpr[4];
    frame[4] = m->sel[2];
    cd_emit_iret_stub((uint8_t *)CD_CODE);
    cd_native_run(m, in, data, out);
    cd_emit_stub((uint8_t *)CD_CODE);
}

#endif
