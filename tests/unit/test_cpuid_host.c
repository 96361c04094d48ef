/*
 * CPUID honesty of the emu CPU: every feature bit it advertises names
 * instructions it runs (none of them #UD); the features it computes with
 * the host's own instructions (AES-NI, SSE3, SSE4.1, SSE4.2) are
 * advertised only when the host has them; and with such a feature turned
 * off (cpu->features_off, as on a host without it) CPUID drops the bit and
 * its instructions raise #UD instead of dying of SIGILL.
 */
#include <cpuid.h>
#include <stdlib.h>

#include "accel/emu/emu.h"
#include "test.h"

#define RAM (1u << 20)
#define MEM 0x8000 /* 64-byte aligned scratch for memory operands (RAX) */

/* An instruction that needs the feature, register forms where there are. */
struct sample {
    uint32_t leaf, reg, bit; /* reg: 0 EAX .. 3 EDX */
    const char *name;
    uint8_t bytes[8];
    int len;
    int host_feature; /* enum emu_host_feature, or -1 */
};

static const struct sample samples[] = {
    {1, 3, 0, "FPU fld1", {0xd9, 0xe8}, 2, -1},
    {1, 3, 4, "TSC rdtsc", {0x0f, 0x31}, 2, -1},
    {1, 3, 5, "MSR rdmsr", {0x0f, 0x32}, 2, -1},
    {1, 3, 8, "CX8 cmpxchg8b", {0x0f, 0xc7, 0x08}, 3, -1},
    {1, 3, 11, "SEP sysenter", {0x0f, 0x34}, 2, -1},
    {1, 3, 15, "CMOV cmovo", {0x0f, 0x40, 0xc1}, 3, -1},
    {1, 3, 19, "CLFSH clflush", {0x0f, 0xae, 0x38}, 3, -1},
    {1, 3, 23, "MMX paddb", {0x0f, 0xfc, 0xc1}, 3, -1},
    {1, 3, 24, "FXSR fxsave", {0x0f, 0xae, 0x00}, 3, -1},
    {1, 3, 25, "SSE addps", {0x0f, 0x58, 0xc1}, 3, -1},
    {1, 3, 26, "SSE2 addpd", {0x66, 0x0f, 0x58, 0xc1}, 4, -1},
    {1, 2, 0, "SSE3 haddps", {0xf2, 0x0f, 0x7c, 0xc1}, 4, EMU_HF_SSE3},
    {1, 2, 1, "PCLMULQDQ", {0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00}, 6, -1},
    {1, 2, 9, "SSSE3 pshufb", {0x66, 0x0f, 0x38, 0x00, 0xc1}, 5, -1},
    {1, 2, 13, "CX16 cmpxchg16b", {0x48, 0x0f, 0xc7, 0x08}, 4, -1},
    {1, 2, 19, "SSE4.1 roundps", {0x66, 0x0f, 0x3a, 0x08, 0xc1, 0x00}, 6, EMU_HF_SSE41},
    {1, 2, 19, "SSE4.1 dpps", {0x66, 0x0f, 0x3a, 0x40, 0xc1, 0xff}, 6, EMU_HF_SSE41},
    {1, 2, 20, "SSE4.2 pcmpistri", {0x66, 0x0f, 0x3a, 0x63, 0xc1, 0x00}, 6, EMU_HF_SSE42},
    {1, 2, 23, "POPCNT", {0xf3, 0x0f, 0xb8, 0xc1}, 4, -1},
    {1, 2, 25, "AES aesenc", {0x66, 0x0f, 0x38, 0xdc, 0xc1}, 5, EMU_HF_AES},
    {1, 2, 25, "AES aeskeygenassist", {0x66, 0x0f, 0x3a, 0xdf, 0xc1, 0x01}, 6, EMU_HF_AES},
    {1, 2, 30, "RDRAND", {0x0f, 0xc7, 0xf0}, 3, -1},
    {7, 1, 18, "RDSEED", {0x0f, 0xc7, 0xf8}, 3, -1},
    {0x80000001, 2, 0, "LAHF-SAHF lahf", {0x9f}, 1, -1},
    {0x80000001, 3, 11, "SYSCALL", {0x0f, 0x05}, 2, -1},
    {0x80000001, 3, 27, "RDTSCP", {0x0f, 0x01, 0xf9}, 3, -1},
};

/* Bits that name no instruction: debug extensions (CR4.DE), paging, the
 * APIC, the TSC's behaviour, 64-bit mode, and "running under a hypervisor". */
static const struct {
    uint32_t leaf, reg, bits;
} no_insn[] = {
    {1, 3, (1u << 2) | (1u << 3) | (1u << 6) | (1u << 13) | (1u << 16)}, /* DE PSE PAE PGE PAT */
    {1, 2, 1u << 31},                                          /* HYPERVISOR */
    {7, 1, 1u << 1},                                           /* TSC_ADJUST (an MSR) */
    {7, 3, 1u << 29},                                          /* ARCH_CAPABILITIES (an MSR) */
    {0x80000001, 3, (1u << 20) | (1u << 29)},                  /* NX LM */
};

static struct guest_mem mem;
static struct emu_vm evm;
static struct emu_cpu cpu;

/* 64-bit mode, CPL 0, no paging (the emu allows it), SSE enabled. */
static void setup(void)
{
    cpu.vm = &evm;
    emu_cpu_reset(&cpu);
    cpu.seg[SEG_CS] = (struct emu_segment){0, 0xffffffff, 0x08, 0xa09b};
    cpu.cr0 = 0x33;
    cpu.cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
    cpu.efer = EFER_LME | EFER_LMA | 1; /* SCE for SYSCALL */
    cpu.msr_sysenter_cs = 0x08;
    emu_update_mode(&cpu);
}

/* Run one instruction; the exception vector, or -1. */
static int run1(const struct sample *s)
{
    static struct accel_exit ex;
    memset(cpu.gpr, 0, sizeof(cpu.gpr));
    cpu.gpr[0] = MEM;
    cpu.gpr[1] = 0x10; /* RDMSR: IA32_TIME_STAMP_COUNTER */
    cpu.rip = 0x1000;
    cpu.exit = &ex;
    cpu.exc.vector = -1;
    struct emu_insn in;
    if (emu_decode(&cpu, s->bytes, s->len, &in) != s->len)
        return -2;
    int st = in.fn(&cpu, &in);
    cpu.cpl = 0; /* SYSRET-free: SYSCALL stays at CPL 0, SYSENTER too */
    return st == EMU_FAULT ? cpu.exc.vector : -1;
}

static uint32_t advertised(uint32_t leaf, uint32_t reg)
{
    uint32_t r[4];
    emu_cpuid(&cpu, leaf, 0, r);
    return r[reg];
}

static bool host_has(uint32_t leaf, uint32_t reg, uint32_t bit)
{
    unsigned r[4] = {0};
    if (!__get_cpuid_count(leaf, 0, &r[0], &r[1], &r[2], &r[3]))
        return false;
    return (r[reg] >> bit) & 1;
}

/* Every advertised bit has a sample that runs, or names no instruction. */
static void check_advertised_implemented(void)
{
    static const uint32_t leaves[][2] = {{1, 2}, {1, 3}, {7, 1}, {7, 3},
                                         {0x80000001, 2}, {0x80000001, 3}};
    for (unsigned l = 0; l < sizeof(leaves) / sizeof(leaves[0]); l++) {
        uint32_t leaf = leaves[l][0], reg = leaves[l][1], bits = advertised(leaf, reg);
        for (unsigned b = 0; b < 32; b++) {
            if (!((bits >> b) & 1))
                continue;
            char name[96];
            bool known = false, ok = true;
            for (unsigned i = 0; i < sizeof(no_insn) / sizeof(no_insn[0]); i++)
                if (no_insn[i].leaf == leaf && no_insn[i].reg == reg &&
                    ((no_insn[i].bits >> b) & 1))
                    known = true;
            for (unsigned i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
                const struct sample *s = &samples[i];
                if (s->leaf != leaf || s->reg != reg || s->bit != b)
                    continue;
                known = true;
                int v = run1(s);
                if (v == EXC_UD || v == -2) {
                    printf("    %s: vector %d\n", s->name, v);
                    ok = false;
                }
            }
            snprintf(name, sizeof(name), "cpuid %#x reg %u bit %u: advertised and implemented",
                     leaf, reg, b);
            CHECK(known && ok, name);
        }
    }
}

/* Host-dependent bits: advertised only when the host has them. */
static void check_host_subset(void)
{
    for (unsigned i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const struct sample *s = &samples[i];
        if (s->host_feature < 0)
            continue;
        char name[96];
        bool adv = (advertised(s->leaf, s->reg) >> s->bit) & 1;
        snprintf(name, sizeof(name), "cpuid: %s advertised only if the host has it", s->name);
        CHECK(!adv || host_has(s->leaf, s->reg, s->bit), name);
        snprintf(name, sizeof(name), "cpuid: %s advertised when the host has it", s->name);
        CHECK(adv || !host_has(s->leaf, s->reg, s->bit), name);
    }
}

/* With the host-dependent features turned off: no bit, #UD. */
static void check_disabled(void)
{
    cpu.features_off = (1u << EMU_HF_COUNT) - 1;
    for (unsigned i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const struct sample *s = &samples[i];
        if (s->host_feature < 0)
            continue;
        char name[96];
        snprintf(name, sizeof(name), "cpuid: %s turned off is not advertised", s->name);
        CHECK(!((advertised(s->leaf, s->reg) >> s->bit) & 1), name);
        snprintf(name, sizeof(name), "cpuid: %s turned off raises #UD", s->name);
        CHECK_EQ(run1(s), EXC_UD, name);
    }
    cpu.features_off = emu_host_features_missing();
    CHECK_EQ(emu_host_features_missing() & ~((1u << EMU_HF_COUNT) - 1), 0,
             "cpuid: the host mask names only host-dependent features");
}

/* RDMSR of index: the vector, or -1; *v gets what it read. */
static int rdmsr(uint32_t index, uint64_t *v)
{
    static struct accel_exit ex;
    static const uint8_t rd[] = {0x0f, 0x32};
    memset(cpu.gpr, 0, sizeof(cpu.gpr));
    cpu.gpr[1] = index;
    cpu.rip = 0x1000;
    cpu.exit = &ex;
    cpu.exc.vector = -1;
    struct emu_insn in;
    if (emu_decode(&cpu, rd, 2, &in) != 2)
        return -2;
    int st = in.fn(&cpu, &in);
    *v = (cpu.gpr[2] << 32) | (uint32_t)cpu.gpr[0];
    return st == EMU_FAULT ? cpu.exc.vector : -1;
}

/* CPUID 7 EDX[29] promises IA32_ARCH_CAPABILITIES: it reads (with
 * RDCL_NO, which keeps Linux from page-table isolation, and none of the
 * bits that promise a mechanism emu lacks) and is read-only. */
static void check_arch_capabilities(void)
{
    uint64_t v = 0;
    CHECK((advertised(7, 3) >> 29) & 1, "cpuid: ARCH_CAPABILITIES enumerated");
    CHECK_EQ(rdmsr(0x10a, &v), -1, "rdmsr IA32_ARCH_CAPABILITIES");
    CHECK(v & 1, "ARCH_CAPABILITIES: RDCL_NO");
    CHECK(v & (1u << 5), "ARCH_CAPABILITIES: MDS_NO");
    /* IBRS_ALL, RSBA, TSX_CTRL, MCU_CONTROL, FB_CLEAR, FB_CLEAR_CTRL, RRSBA */
    uint64_t promises = (1u << 1) | (1u << 2) | (1u << 7) | (1u << 9) | (1u << 17) | (1u << 18) |
                        (1u << 19);
    CHECK_EQ(v & promises, 0, "ARCH_CAPABILITIES: no mechanism bits");
    CHECK(emu_msr_write(&cpu, 0x10a, v) != 0, "wrmsr IA32_ARCH_CAPABILITIES refused (#GP)");
}

/* Leaves 0x80000002-4: a printable, NUL-terminated brand string. */
static void check_brand(void)
{
    char b[49] = {0};
    CHECK(advertised(0x80000000, 0) >= 0x80000004, "cpuid: brand string leaves present");
    for (uint32_t l = 0; l < 3; l++)
        for (uint32_t r = 0; r < 4; r++) {
            uint32_t v = advertised(0x80000002 + l, r);
            memcpy(b + 16 * l + 4 * r, &v, 4);
        }
    size_t n = strlen(b);
    bool printable = n > 0 && n < 48;
    for (size_t i = 0; i < n; i++)
        printable &= b[i] >= 0x20 && b[i] < 0x7f;
    CHECK(printable, "cpuid: brand string printable and NUL-terminated");
}

int main(void)
{
    if (gmem_init(&mem, RAM)) {
        printf("FAIL: cpuid host setup\n");
        return 1;
    }
    evm.mem = &mem;
    setup();
    check_advertised_implemented();
    check_host_subset();
    check_disabled();
    check_arch_capabilities();
    check_brand();
    gmem_fini(&mem);
    TEST_EXIT();
}
