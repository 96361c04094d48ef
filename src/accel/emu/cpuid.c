/*
 * CPUID: the emu CPU advertises exactly what it implements, nothing more.
 * Add a feature bit here in the same change that implements it. Features
 * computed on the host's own units are advertised only when the host has
 * them (emu_host_features_missing).
 */
#include <cpuid.h>
#include <string.h>

#include "accel/emu/cpu.h"

/* Leaf 1 EDX (SDM Vol. 2A, table 3-11). */
#define F1D_FPU (1u << 0)
#define F1D_DE (1u << 2)   /* CR4.DE: I/O breakpoints, DR4/DR5 #UD (debug.c) */
#define F1D_PSE (1u << 3)
#define F1D_TSC (1u << 4)
#define F1D_MSR (1u << 5)
#define F1D_PAE (1u << 6)
#define F1D_PGE (1u << 13)
#define F1D_CX8 (1u << 8)
#define F1D_SEP (1u << 11)
#define F1D_CMOV (1u << 15)
#define F1D_MMX (1u << 23)
#define F1D_PAT (1u << 16)
#define F1D_FXSR (1u << 24)
#define F1D_SSE (1u << 25)
#define F1D_SSE2 (1u << 26)
#define F1D_APIC (1u << 9)
#define F1D_CLFSH (1u << 19)

/* Leaf 1 ECX. SSE3 through SSE4.2, POPCNT, CX16 and LAHF/SAHF (0x80000001)
 * make x86-64-v2. */
#define F1C_SSE3 (1u << 0)
#define F1C_PCLMULQDQ (1u << 1)
#define F1C_SSSE3 (1u << 9)
#define F1C_CX16 (1u << 13)
#define F1C_SSE41 (1u << 19)
#define F1C_SSE42 (1u << 20)
#define F1C_POPCNT (1u << 23)
#define F1C_AES (1u << 25)
#define F1C_X2APIC (1u << 21)
#define F1C_TSC_DEADLINE (1u << 24)
#define F1C_RDRAND (1u << 30)
#define F1C_HYPERVISOR (1u << 31)

/* Leaf 7 subleaf 0 EBX. */
#define F7B_TSC_ADJUST (1u << 1)
#define F7B_RDSEED (1u << 18)

/* Leaf 7 subleaf 0 EDX: IA32_ARCH_CAPABILITIES (MSR 0x10a) exists. */
#define F7D_ARCH_CAPABILITIES (1u << 29)

/* Leaf 0x80000007 EDX: the TSC is invariant (host monotonic time). With
 * CONSTANT_TSC (family 6) and TSC_ADJUST, Linux trusts it without the
 * clocksource watchdog, which on a slow interpreter would see late timer
 * ticks as TSC skew, mark the TSC unstable and keep a periodic tick. */
#define F87D_INVARIANT_TSC (1u << 8)

/* Leaf 6 EAX: the APIC timer keeps running in deep C-states. */
#define F6A_ARAT (1u << 2)

/* Leaf 0x80000001 ECX: LAHF/SAHF in 64-bit mode. */
#define F81C_LAHF (1u << 0)

/* Leaf 0x80000001 EDX. */
#define F81D_SYSCALL (1u << 11)
#define F81D_NX (1u << 20)
#define F81D_RDTSCP (1u << 27)
#define F81D_LM (1u << 29)

static const uint32_t leaf1_edx =
    F1D_FPU | F1D_DE | F1D_PSE | F1D_TSC | F1D_MSR | F1D_PAE | F1D_CX8 | F1D_SEP | F1D_PGE |
    F1D_CMOV | F1D_PAT | F1D_CLFSH | F1D_MMX | F1D_FXSR | F1D_SSE | F1D_SSE2;
/* We are a virtual machine: saying so keeps Linux off bare-metal-only
 * paths such as loading CPU microcode. */
static const uint32_t leaf1_ecx = F1C_SSE3 | F1C_PCLMULQDQ | F1C_SSSE3 | F1C_SSE41 |
                                  F1C_SSE42 | F1C_POPCNT | F1C_AES | F1C_CX16 |
                                  F1C_RDRAND | F1C_HYPERVISOR;
/* Only with a local APIC attached (the emu engine's platform). */
static const uint32_t leaf1_edx_apic = F1D_APIC;
static const uint32_t leaf1_ecx_apic = F1C_X2APIC | F1C_TSC_DEADLINE;

/* The TSC (and the LAPIC timer) count at 1 GHz of host time. Leaf 0x15
 * with a non-zero crystal lets Linux skip calibrating either. */
#define TSC_HZ 1000000000u
#define TSC_MHZ 1000u
static const uint32_t leaf81_edx = F81D_SYSCALL | F81D_NX | F81D_RDTSCP | F81D_LM;
static const uint32_t leaf81_ecx = F81C_LAHF;

/* Leaves 0x80000002-4: 48 bytes, NUL-padded (Linux's "model name"). */
static const char brand[48] = "hyperkit emu x86-64 CPU";

/* Leaf 1 ECX bit of each enum emu_host_feature. */
static const uint32_t host_feature_bit[EMU_HF_COUNT] = {
    [EMU_HF_SSE3] = F1C_SSE3,
    [EMU_HF_SSE41] = F1C_SSE41,
    [EMU_HF_SSE42] = F1C_SSE42,
    [EMU_HF_AES] = F1C_AES,
};

/* IA32_ARCH_CAPABILITIES (SDM Vol. 4, table 2-2): the "not affected" bits
 * that are true of an interpreter. It has no speculative execution, no
 * L1D, fill or store buffers shared across privilege levels and no
 * machine check on page-size changes, so no Meltdown (RDCL_NO), L1TF
 * flush need, SSB, MDS, TAA, iTLB multihit, MMIO stale data, BHI,
 * post-barrier RSB, GDS, RFDS or indirect target selection. Bits that
 * promise a mechanism (IBRS_ALL, TSX_CTRL, FB_CLEAR, ...) stay clear: none
 * is implemented. Linux then leaves page-table isolation and VERW buffer
 * clearing off. */
#define ARCH_CAP_RDCL_NO (1ull << 0)
#define ARCH_CAP_SKIP_L1DFL_VMENTRY (1ull << 3)
#define ARCH_CAP_SSB_NO (1ull << 4)
#define ARCH_CAP_MDS_NO (1ull << 5)
#define ARCH_CAP_PSCHANGE_MC_NO (1ull << 6)
#define ARCH_CAP_TAA_NO (1ull << 8)
#define ARCH_CAP_SBDR_SSDP_NO (1ull << 13)
#define ARCH_CAP_FBSDP_NO (1ull << 14)
#define ARCH_CAP_PSDP_NO (1ull << 15)
#define ARCH_CAP_BHI_NO (1ull << 20)
#define ARCH_CAP_PBRSB_NO (1ull << 24)
#define ARCH_CAP_GDS_NO (1ull << 26)
#define ARCH_CAP_RFDS_NO (1ull << 27)
#define ARCH_CAP_ITS_NO (1ull << 62)

uint64_t emu_arch_capabilities(void)
{
    return ARCH_CAP_RDCL_NO | ARCH_CAP_SKIP_L1DFL_VMENTRY | ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO |
           ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TAA_NO | ARCH_CAP_SBDR_SSDP_NO |
           ARCH_CAP_FBSDP_NO | ARCH_CAP_PSDP_NO | ARCH_CAP_BHI_NO | ARCH_CAP_PBRSB_NO |
           ARCH_CAP_GDS_NO | ARCH_CAP_RFDS_NO | ARCH_CAP_ITS_NO;
}

unsigned emu_host_features_missing(void)
{
    unsigned eax, ebx, ecx = 0, edx, off = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        ecx = 0;
    for (unsigned f = 0; f < EMU_HF_COUNT; f++)
        if (!(ecx & host_feature_bit[f]))
            off |= 1u << f;
    return off;
}

/* Leaf 1 ECX less the host-dependent features that are off. */
static uint32_t leaf1_ecx_for(const struct emu_cpu *cpu)
{
    unsigned off = cpu ? cpu->features_off : emu_host_features_missing();
    uint32_t ecx = leaf1_ecx;
    for (unsigned f = 0; f < EMU_HF_COUNT; f++)
        if ((off >> f) & 1)
            ecx &= ~host_feature_bit[f];
    return ecx;
}

void emu_cpuid(const struct emu_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    bool apic = cpu && cpu->irq;
    r[0] = r[1] = r[2] = r[3] = 0;
    switch (leaf) {
    case 0:
        r[0] = 0x16;
        r[1] = 0x756e6547; /* "GenuineIntel" in EBX, EDX, ECX */
        r[3] = 0x49656e69;
        r[2] = 0x6c65746e;
        break;
    case 1:
        r[0] = 0x000606a0;          /* family 6 */
        r[1] = (1u << 16) | (8u << 8); /* one logical CPU, CLFLUSH line 64 bytes, APIC ID 0 */
        r[2] = leaf1_ecx_for(cpu) | (apic ? leaf1_ecx_apic : 0);
        r[3] = leaf1_edx | (apic ? leaf1_edx_apic : 0);
        break;
    case 6:
        r[0] = apic ? F6A_ARAT : 0;
        break;
    case 7:
        if (subleaf == 0) {
            r[1] = F7B_TSC_ADJUST | F7B_RDSEED;
            r[3] = F7D_ARCH_CAPABILITIES;
        }
        break;
    case 0x15:                      /* TSC = crystal * EBX / EAX */
        r[0] = 1;
        r[1] = 1;
        r[2] = TSC_HZ;
        break;
    case 0x16:                      /* base, maximum and bus frequency, MHz */
        r[0] = TSC_MHZ;
        r[1] = TSC_MHZ;
        r[2] = TSC_MHZ;
        break;
    case 0x40000000:                /* hypervisor vendor leaf */
        r[0] = 0x40000000;
        r[1] = 0x65707968;          /* "hyperkit    " in EBX, ECX, EDX */
        r[2] = 0x74696b72;
        r[3] = 0x20202020;
        break;
    case 0x80000000:
        r[0] = 0x80000008;
        break;
    case 0x80000002:                /* the brand string, 16 bytes a leaf */
    case 0x80000003:
    case 0x80000004:
        memcpy(r, brand + 16 * (leaf - 0x80000002), 16);
        break;
    case 0x80000001:
        r[2] = leaf81_ecx;
        r[3] = leaf81_edx;
        break;
    case 0x80000007:
        r[3] = F87D_INVARIANT_TSC;
        break;
    case 0x80000008:
        r[0] = (48u << 8) | EMU_MAXPHYADDR; /* linear and physical address bits */
        break;
    }
}
