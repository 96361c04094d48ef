/*
 * What the control registers and EFER accept (SDM Vol. 3A 2.5, 2.8.1;
 * Vol. 2 "MOV—Move to/from Control Registers", "WRMSR"), and SMSW/LMSW.
 * A bit is writable only when CPUID reports its feature, so the two never
 * disagree: advertising a feature in cpuid.c opens its control bit here.
 */
#include <stddef.h>

#include "accel/emu/exec.h"

/* CR4 bits and the CPUID feature each needs: leaf, register (0 EAX ..
 * 3 EDX) and bit (SDM Vol. 3A 2.5; Vol. 2A "CPUID", tables 3-10, 3-11). */
static const struct {
    uint8_t cr4_bit, leaf7, reg, bit;
} cr4_features[] = {
    {0, 0, 3, 1},   /* VME: VME */
    {1, 0, 3, 1},   /* PVI: VME */
    {2, 0, 3, 4},   /* TSD: TSC */
    {3, 0, 3, 2},   /* DE: DE */
    {4, 0, 3, 3},   /* PSE: PSE */
    {5, 0, 3, 6},   /* PAE: PAE */
    {6, 0, 3, 7},   /* MCE: MCE */
    {7, 0, 3, 13},  /* PGE: PGE */
    {9, 0, 3, 24},  /* OSFXSR: FXSR */
    {10, 0, 3, 25}, /* OSXMMEXCPT: SSE */
    {11, 1, 2, 2},  /* UMIP: leaf 7 ECX.UMIP */
    {12, 1, 2, 16}, /* LA57: leaf 7 ECX.LA57 */
    {13, 0, 2, 5},  /* VMXE: VMX */
    {14, 0, 2, 6},  /* SMXE: SMX */
    {16, 1, 1, 0},  /* FSGSBASE: leaf 7 EBX.FSGSBASE */
    {17, 0, 2, 17}, /* PCIDE: PCID */
    {18, 0, 2, 26}, /* OSXSAVE: XSAVE */
    {20, 1, 1, 7},  /* SMEP: leaf 7 EBX.SMEP */
    {21, 1, 1, 20}, /* SMAP: leaf 7 EBX.SMAP */
    {22, 1, 2, 3},  /* PKE: leaf 7 ECX.PKU */
    {23, 1, 2, 7},  /* CET: leaf 7 ECX.CET_SS */
    {24, 1, 2, 31}, /* PKS: leaf 7 ECX.PKS */
};

/* The CR4 bits this CPU lets software set. PCE (bit 8) has no CPUID bit:
 * it only opens RDPMC to CPL 3, and RDPMC has no counters here anyway. */
static uint64_t cr4_writable(const struct emu_cpu *cpu)
{
    uint32_t l1[4], l7[4];
    emu_cpuid(cpu, 1, 0, l1);
    emu_cpuid(cpu, 7, 0, l7);
    uint64_t ok = 1ull << 8;
    for (size_t i = 0; i < sizeof(cr4_features) / sizeof(cr4_features[0]); i++) {
        const uint32_t *r = cr4_features[i].leaf7 ? l7 : l1;
        if ((r[cr4_features[i].reg] >> cr4_features[i].bit) & 1)
            ok |= 1ull << cr4_features[i].cr4_bit;
    }
    return ok;
}

bool emu_cr4_valid(const struct emu_cpu *cpu, uint64_t v)
{
    if (v & ~cr4_writable(cpu))
        return false;
    /* IA-32e mode needs PAE: clearing it there is #GP, not a mode exit. */
    return !((cpu->efer & EFER_LMA) && !(v & CR4_PAE));
}

/* Bits 63:32 are reserved; PG needs PE, and NW needs CD (SDM Vol. 3A
 * 2.5, 11.5.1 table 11-5: NW=1 with CD=0 is an invalid combination). */
bool emu_cr0_valid(uint64_t v)
{
    if ((v >> 32) || ((v & CR0_PG) && !(v & CR0_PE)))
        return false;
    return !((v & CR0_NW) && !(v & CR0_CD));
}

/* In IA-32e mode CR3 holds a physical address: bits 63:MAXPHYADDR are
 * reserved (CPUID 80000008H reports 39; bit 63 would need PCIDE, which
 * is not offered). Outside it CR3 is 32 bits wide and all are usable. */
bool emu_cr3_valid(const struct emu_cpu *cpu, uint64_t v)
{
    uint32_t r[4];
    emu_cpuid(cpu, 0x80000008, 0, r);
    unsigned maxphy = r[0] & 0xff;
    return !(cpu->efer & EFER_LMA) || (v >> maxphy) == 0;
}

/* EFER: SCE, LME/LMA and NXE exist when CPUID 80000001H reports SYSCALL,
 * LM and NX; LME cannot change while paging is on (SDM Vol. 3A 10.8.5,
 * 2.2.1). LMA is read-only: what software writes there is ignored. */
bool emu_efer_valid(const struct emu_cpu *cpu, uint64_t v)
{
    uint32_t r[4];
    emu_cpuid(cpu, 0x80000001, 0, r);
    uint64_t ok = ((r[3] >> 11) & 1 ? 0x1ull : 0) | ((r[3] >> 29) & 1 ? 0x500ull : 0) |
                  ((r[3] >> 20) & 1 ? 0x800ull : 0);
    if (v & ~ok)
        return false;
    return !((cpu->cr0 & CR0_PG) && ((v ^ cpu->efer) & EFER_LME));
}

/* IA32_PAT: each of the eight entries must name a memory type, 0, 1, 4,
 * 5, 6 or 7 (SDM Vol. 3A 11.12.2: anything else is #GP(0)). */
bool emu_pat_valid(uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        unsigned t = (v >> (8 * i)) & 0xff;
        if (t > 7 || t == 2 || t == 3)
            return false;
    }
    return true;
}

/* 0F 01 /4: SMSW. CR4.UMIP would make it CPL 0 only, but UMIP is not
 * offered, so it runs at any CPL. A register gets CR0 at the operand
 * size (64-bit mode: zero-extended); memory always gets 16 bits (SDM
 * "SMSW"). */
EXEC(ex_smsw)
{
    unsigned size = (in->flags & INSN_MEM) ? 2 : in->opsz;
    int st = rm_write(cpu, in, size, cpu->cr0);
    return st ? st : next(cpu, in);
}

/* 0F 01 /6: LMSW loads CR0's PE, MP, EM and TS from a 16-bit source;
 * it can set PE but not clear it (SDM "LMSW"). CPL 0 only, the check
 * before the operand is read. */
EXEC(ex_lmsw)
{
    if (cpu->cpl != 0)
        return emu_raise_err(cpu, EXC_GP, 0);
    uint64_t src;
    int st = rm_read(cpu, in, 2, &src);
    if (st)
        return st;
    uint64_t cr0 = (cpu->cr0 & ~0xeull) | (src & 0xf);
    if ((st = emu_write_cr0(cpu, cr0)) != 0)
        return st;
    emu_tlb_flush(cpu);
    emu_update_mode(cpu);
    next(cpu, in);
    return EMU_END_BLOCK;
}
