/*
 * The emu CPU's single-step trap through its real run loop (blocks, event
 * delivery through the IDT): a 64-bit guest sets TF and runs POPF, NOP,
 * REP STOSB, MOV SS, INT3 and a POPF that clears TF; its #DB handler logs
 * each trap's return RIP and DR6. The expected log follows SDM Vol. 3B
 * 17.3.1.4 (and the host CPU, which tests/unit/test_cpu_diff.c holds the
 * emu against instruction by instruction). Then, with CR0.AM and RFLAGS.AC
 * at CPL 0, a misaligned load must not raise #AC (SDM Vol. 3A 6.15: only
 * CPL 3 is checked), or the guest would triple-fault before HLT.
 */
#include "emu_fixture.h"
#include "test.h"

/* The guest, assembled with the test; labels mark the RIPs the traps
 * must report. Data: 0x8000 trap count, 0x8008.. log of (RIP, DR6). */
__asm__(".pushsection .rodata\n"
        ".globl dbg_guest, dbg_guest_end, dbg_db, dbg_bp\n"
        ".globl dbg_t1, dbg_t2, dbg_t3, dbg_t4, dbg_t5, dbg_t6, dbg_t7\n"
        ".code64\n"
        "dbg_guest:\n"
        "  pushfq\n"
        "  orq $0x100, (%rsp)\n"
        "  popfq\n"                /* sets TF: no trap after it */
        "  nop\n"
        "dbg_t1:\n"                /* trap 1 */
        "  mov $2, %ecx\n"
        "dbg_t2:\n"                /* trap 2 */
        "dbg_rep:\n"
        "  rep stosb\n"            /* trap 3 at dbg_rep (RCX 1 left), trap 4 after */
        "dbg_t3:\n"
        "  mov %ss, %ax\n"
        "dbg_t4:\n"                /* trap 5 */
        "  mov %ax, %ss\n"         /* no trap after MOV SS ... */
        "  nop\n"
        "dbg_t5:\n"                /* ... trap 6 after the next instruction */
        "  int3\n"                 /* no trap after INT n; the handler IRETs, */
        "  nop\n"                  /* the instruction after it traps: */
        "dbg_t6:\n"                /* trap 7 */
        "  pushfq\n"
        "dbg_t7:\n"                /* trap 8 */
        "  andq $-0x101, (%rsp)\n" /* trap 9 at dbg_t7 + 8 (after the AND) */
        "  popfq\n"                /* clears TF: trapped all the same (trap 10) */
        "  nop\n"
        "  pushfq\n"               /* AC with CR0.AM at CPL 0 (a SMAP STAC */
        "  orl $0x40000, (%rsp)\n" /* window): misaligned data is no #AC */
        "  popfq\n"
        "  mov 0x8001, %eax\n"
        "  hlt\n"
        "dbg_db:\n"                /* #DB: log RIP and DR6, clear DR6, return */
        "  push %rax\n"
        "  push %rdx\n"
        "  mov 0x8000, %rax\n"
        "  shl $4, %rax\n"
        "  mov 16(%rsp), %rdx\n"
        "  mov %rdx, 0x8008(%rax)\n"
        "  mov %dr6, %rdx\n"
        "  mov %rdx, 0x8010(%rax)\n"
        "  xor %edx, %edx\n"
        "  mov %rdx, %dr6\n"
        "  incq 0x8000\n"
        "  pop %rdx\n"
        "  pop %rax\n"
        "  iretq\n"
        "dbg_bp:\n"
        "  iretq\n"
        "dbg_guest_end:\n"
        ".popsection\n");

extern const uint8_t dbg_guest[], dbg_guest_end[], dbg_db[], dbg_bp[];
extern const uint8_t dbg_t1[], dbg_t2[], dbg_t3[], dbg_t4[], dbg_t5[], dbg_t6[], dbg_t7[];

#define RAM (1u << 20)
#define LOAD 0x10000ull
#define IDT 0x1000ull
#define STACK 0x7000ull

static struct emu_fixture fx;

static uint64_t at(const uint8_t *label)
{
    return emu_fixture_at(&fx, label);
}

/* 64-bit mode at CPL 0 without paging (the emu allows it), a GDT with one
 * code segment, IDT gates for #DB and #BP. */
static void setup(struct emu_cpu *cpu, uint8_t *ram)
{
    emu_fixture_load(&fx, LOAD, dbg_guest, dbg_guest_end);
    emu_fixture_set_gate(ram, IDT, 1, at(dbg_db));
    emu_fixture_set_gate(ram, IDT, 3, at(dbg_bp));
    emu_fixture_long64(cpu, ram, LOAD, STACK);
    cpu->idtr = (struct accel_dtable){IDT, 16 * 4 - 1};
    cpu->cr0 |= CR0_AM;
    cpu->gpr[7] = 0x9000; /* STOSB target */
    emu_update_mode(cpu);
}

int main(void)
{
    static struct emu_cpu cpu;
    if (emu_fixture_init(&fx, &cpu, RAM, "emu debug"))
        return 1;
    uint8_t *ram = fx.ram;
    setup(&cpu, ram);
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 100);
    CHECK_EQ(exit.reason, ACCEL_EXIT_HLT, "emu debug: the traced guest reaches HLT");

    const uint64_t want[] = {at(dbg_t1), at(dbg_t2), at(dbg_t2), at(dbg_t3), at(dbg_t4),
                             at(dbg_t5), at(dbg_t6), at(dbg_t7), at(dbg_t7) + 8,
                             at(dbg_t7) + 9};
    unsigned n = sizeof(want) / sizeof(want[0]);
    uint64_t count;
    memcpy(&count, ram + 0x8000, 8);
    CHECK_EQ(count, n, "emu debug: one #DB per traced instruction, REP iteration by iteration");
    bool rips = true, bs = true;
    for (unsigned i = 0; i < n && i < count; i++) {
        uint64_t rip, dr6;
        memcpy(&rip, ram + 0x8008 + 16 * i, 8);
        memcpy(&dr6, ram + 0x8010 + 16 * i, 8);
        if (rip != want[i]) {
            printf("    trap %u: rip %#llx, expected %#llx\n", i, (unsigned long long)rip,
                   (unsigned long long)want[i]);
            rips = false;
        }
        bs &= (dr6 & DR6_BS) != 0;
    }
    CHECK(rips, "emu debug: each #DB returns to the next instruction (SDM 17.3.1.4)");
    CHECK(bs, "emu debug: MOV from DR6 shows BS in the #DB handler");
    CHECK_EQ(cpu.gpr[1], 0, "emu debug: REP STOSB finished under single-step");
    CHECK_EQ(emu_rflags(&cpu) & RFLAGS_TF, 0, "emu debug: POPF cleared TF");
    CHECK_EQ(emu_rflags(&cpu) & RFLAGS_AC, RFLAGS_AC,
             "emu debug: AC at CPL 0 allows misaligned data");
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
