/*
 * Far transfers the host tester cannot reach from CPL 3 (tests/unit/
 * test_cpu_diff.c compares the CPL-3 ones with the host CPU): at CPL 0 in
 * 64-bit mode, a refused far JMP, RETF or IRETQ must raise the SDM's fault
 * and leave CS, SS, CPL, RSP and RIP as they were (SDM Vol. 2 "JMP", "RET",
 * "IRET": every check comes before any state changes).
 */
#include "emu_fixture.h"
#include "test.h"

#define RAM 0x20000ull
#define CODE 0x1000ull
#define PTR 0x2000ull /* far pointer for JMP m16:32 */
#define STACK 0x7000ull

static struct emu_fixture fx;
static struct emu_cpu cpu;
static uint8_t *ram;

/* 0x08 code64 DPL 0, 0x10 data DPL 0, 0x20 data DPL 3, 0x28 code64 DPL 3. */
static void setup(const uint8_t *insn, unsigned len)
{
    static const uint64_t gdt[] = {0, 0x00af9a000000ffffull, 0x00cf92000000ffffull, 0,
                                   0x00cff2000000ffffull, 0x00affa000000ffffull};
    memset(ram, 0, RAM);
    memcpy(ram + CODE, insn, len);
    emu_fixture_long64(&cpu, ram, CODE, STACK);
    /* This GDT in place of the fixture's one-entry one, and SS 0x10. */
    memcpy(ram + EMU_FIXTURE_GDT, gdt, sizeof(gdt));
    cpu.seg[SEG_SS].selector = 0x10;
    cpu.gdtr.limit = sizeof(gdt) - 1;
    cpu.gpr[0] = PTR;
    emu_update_mode(&cpu);
}

static void push_frame(const uint64_t *slots, unsigned n)
{
    cpu.gpr[4] = STACK - 8ull * n;
    memcpy(ram + cpu.gpr[4], slots, 8ull * n);
}

/* Step once: the fault must be vector/error with nothing committed. */
static void expect_refused(const char *what, int vector, uint32_t error)
{
    uint64_t rsp = cpu.gpr[4];
    int st;
    bool faulted = emu_fixture_step_fault(&cpu, vector, error, &st);
    char name[128];
    snprintf(name, sizeof(name), "emu far: %s: #%d(%#x), nothing committed", what, vector, error);
    bool ok = faulted && cpu.seg[SEG_CS].selector == 0x08 && cpu.seg[SEG_SS].selector == 0x10 &&
              cpu.cpl == 0 && cpu.mode == MODE_LONG64 && cpu.gpr[4] == rsp && cpu.rip == CODE;
    CHECK(ok, name);
    if (!ok)
        printf("    st %d vector %d error %#x cs %#x ss %#x cpl %d rsp %#llx rip %#llx\n", st,
               cpu.exc.vector, cpu.exc.error, cpu.seg[SEG_CS].selector,
               cpu.seg[SEG_SS].selector, cpu.cpl, (unsigned long long)cpu.gpr[4],
               (unsigned long long)cpu.rip);
}

/* IRETQ at CPL 3 from a misaligned frame, with CR0.AM set and RFLAGS.AC
 * clear: Intel checks the SS:RSP pops with the AC the frame's RFLAGS
 * brings, so AC=1 there is #AC(0) with nothing committed, AC=0 returns.
 * (test_cpu_diff cannot ask the host: Linux takes that #AC, whose frame
 * shows AC=0, for a split-lock one and restarts the IRETQ forever.) */
static void iretq_alignment_check(const uint8_t *iretq)
{
    for (int ac = 1; ac >= 0; ac--) {
        setup(iretq, 2);
        cpu.seg[SEG_CS] = (struct emu_segment){0, 0xffffffff, 0x28 | 3, 0xa0fb};
        cpu.seg[SEG_SS] = (struct emu_segment){0, 0xffffffff, 0x20 | 3, 0xc0f3};
        cpu.cpl = 3;
        cpu.cr0 |= CR0_AM;
        emu_update_mode(&cpu);
        const uint64_t frame[5] = {0x1234, 0x28 | 3, 2 | (ac ? RFLAGS_AC : 0), 0x6000, 0x20 | 3};
        cpu.gpr[4] = STACK - 4 - sizeof(frame);
        memcpy(ram + cpu.gpr[4], frame, sizeof(frame));
        uint64_t rsp = cpu.gpr[4];
        int st;
        if (ac) {
            bool faulted = emu_fixture_step_fault(&cpu, 17, 0, &st);
            CHECK(faulted && cpu.rip == CODE && cpu.gpr[4] == rsp && !(cpu.rflags & RFLAGS_AC),
                  "emu far: IRETQ at CPL 3 to AC=1 from a misaligned frame: #AC(0), nothing "
                  "committed");
        } else {
            struct accel_exit exit;
            st = emu_step_one(&cpu, &exit);
            CHECK(st == EMU_OK && cpu.rip == 0x1234 && cpu.gpr[4] == 0x6000,
                  "emu far: IRETQ at CPL 3 to AC=0 from a misaligned frame returns");
        }
    }
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu far"))
        return 1;
    ram = fx.ram;

    static const uint8_t jmp_far[] = {0xff, 0x28};   /* jmp far [rax] (m16:32) */
    static const uint8_t lretq[] = {0x48, 0xcb};     /* retf, 64-bit operands */
    static const uint8_t iretq[] = {0x48, 0xcf};
    const uint64_t noncanonical = 0x8000000000001000ull;

    /* JMP to a non-conforming segment needs RPL <= CPL as well as DPL = CPL. */
    setup(jmp_far, sizeof(jmp_far));
    uint8_t ptr[6] = {0x00, 0x10, 0, 0, 0x08 | 3, 0}; /* 0x0b:0x1000 */
    memcpy(ram + PTR, ptr, sizeof(ptr));
    expect_refused("JMP far with RPL 3 > CPL 0", 13, 0x08);

    /* Outward RETF whose SS fails (RPL 0 for CPL 3): CS must not stay loaded. */
    setup(lretq, sizeof(lretq));
    push_frame((const uint64_t[]){0x1000, 0x28 | 3, 0x6000, 0x10}, 4);
    expect_refused("RETF to CPL 3 with a DPL-0 SS", 13, 0x10);

    setup(lretq, sizeof(lretq));
    push_frame((const uint64_t[]){noncanonical, 0x08}, 2);
    expect_refused("RETF to a non-canonical RIP", 13, 0);

    setup(lretq, sizeof(lretq));
    push_frame((const uint64_t[]){noncanonical, 0x28 | 3, 0x6000, 0x20 | 3}, 4);
    expect_refused("RETF to CPL 3 at a non-canonical RIP", 13, 0);

    setup(iretq, sizeof(iretq));
    push_frame((const uint64_t[]){noncanonical, 0x08, 2, 0x6000, 0x10}, 5);
    expect_refused("IRETQ to a non-canonical RIP", 13, 0);

    setup(iretq, sizeof(iretq));
    push_frame((const uint64_t[]){0x1000, 0x28 | 3, 2, 0x6000, 0x10}, 5);
    expect_refused("IRETQ to CPL 3 with a DPL-0 SS", 13, 0x10);

    /* And the same frames, made valid, do go to CPL 3. */
    setup(lretq, sizeof(lretq));
    push_frame((const uint64_t[]){0x1234, 0x28 | 3, 0x6000, 0x20 | 3}, 4);
    struct accel_exit exit;
    int st = emu_step_one(&cpu, &exit);
    CHECK(st == EMU_OK && cpu.cpl == 3 && cpu.rip == 0x1234 && cpu.gpr[4] == 0x6000 &&
              cpu.seg[SEG_SS].selector == 0x23,
          "emu far: RETF to CPL 3 with a valid frame switches CS, SS, RSP");

    iretq_alignment_check(iretq);
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
