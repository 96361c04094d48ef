/*
 * MOV SS holds off interrupts and NMIs for one instruction (SDM Vol. 3A
 * 6.8.3), through the emu's real run loop. The guest's interrupt
 * controller is a stub that offers vector 0x40, then an NMI, only while
 * RIP lies in a window starting right after a MOV SS: the event must be
 * taken one instruction later, and NMIs regardless of IF.
 */
#include "emu_fixture.h"
#include "test.h"

/* Data: 0x8000 event count, 0x8008.. log of (vector, RIP). */
__asm__(".pushsection .rodata\n"
        ".globl irq_guest, irq_guest_end, irq_h40, irq_h2\n"
        ".globl irq_m1, irq_m2, irq_n1, irq_n2\n"
        ".code64\n"
        "irq_guest:\n"
        "  sti\n"
        "  nop\n"
        "  mov %ss, %ax\n"
        "  mov %ax, %ss\n"
        "irq_m1:\n"                /* offered from here (IF=1) ... */
        "  inc %ebx\n"
        "irq_m2:\n"                /* ... taken here */
        "  inc %ebx\n"
        "  cli\n"
        "  mov %ax, %ss\n"
        "irq_n1:\n"                /* an NMI offered from here (IF=0) ... */
        "  inc %ebx\n"
        "irq_n2:\n"                /* ... taken here */
        "  inc %ebx\n"
        "  hlt\n"
        "irq_h40:\n"
        "  pushq $0x40\n"
        "  jmp 1f\n"
        "irq_h2:\n"
        "  pushq $2\n"
        "1:\n"
        "  push %rax\n"
        "  push %rdx\n"
        "  mov 0x8000, %rax\n"
        "  shl $4, %rax\n"
        "  mov 16(%rsp), %rdx\n"
        "  mov %rdx, 0x8008(%rax)\n"
        "  mov 24(%rsp), %rdx\n"
        "  mov %rdx, 0x8010(%rax)\n"
        "  incq 0x8000\n"
        "  pop %rdx\n"
        "  pop %rax\n"
        "  add $8, %rsp\n"
        "  iretq\n"
        "irq_guest_end:\n"
        ".popsection\n");

extern const uint8_t irq_guest[], irq_guest_end[], irq_h40[], irq_h2[];
extern const uint8_t irq_m1[], irq_m2[], irq_n1[], irq_n2[];

#define RAM (1u << 20)
#define LOAD 0x10000ull
#define IDT 0x1000ull
#define STACK 0x7000ull

static struct emu_fixture fx;

static uint64_t at(const uint8_t *label)
{
    return emu_fixture_at(&fx, label);
}

static struct emu_cpu cpu;
static bool irq_taken, nmi_taken;

static bool in_window(const uint8_t *from, const uint8_t *to)
{
    return cpu.rip >= at(from) && cpu.rip <= at(to);
}

static int stub_pending(void *opaque, uint64_t now)
{
    return !irq_taken && in_window(irq_m1, irq_m2) ? 0x40 : -1;
}

static void stub_accept(void *opaque, int vector)
{
    irq_taken = true;
}

static int stub_msr(void *opaque, uint32_t index, uint64_t *value)
{
    return 1;
}

static int stub_msr_write(void *opaque, uint32_t index, uint64_t value)
{
    return 1;
}

static bool stub_nmi(void *opaque)
{
    if (nmi_taken || !in_window(irq_n1, irq_n2))
        return false;
    nmi_taken = true;
    return true;
}

/* The local APIC's TPR behind CR8. */
static uint32_t tpr;

static uint32_t stub_tpr_read(void *opaque)
{
    return tpr;
}

static void stub_tpr_write(void *opaque, uint32_t v)
{
    tpr = v;
}

static const struct accel_irq_ops stub = {.pending = stub_pending, .accept = stub_accept,
                                          .msr_read = stub_msr, .msr_write = stub_msr_write,
                                          .nmi = stub_nmi, .tpr_read = stub_tpr_read,
                                          .tpr_write = stub_tpr_write};

/* A VMM's get_sregs/set_sregs round trip keeps TPR[3:0], which CR8 does
 * not hold (CR8 = TPR[7:4], SDM Vol. 3A 10.8.6.1); a new CR8 still
 * writes TPR, with TPR[3:0] = 0. The emu vCPU is its emu_cpu. */
static void test_sregs_tpr(void)
{
    struct accel_vcpu *v = (struct accel_vcpu *)&cpu;
    struct accel_sregs s;
    tpr = 0x1f;
    CHECK_EQ(accel_emu_ops.get_sregs(v, &s), 0, "emu sregs: get");
    CHECK_EQ(s.cr8, 1, "emu sregs: CR8 is TPR[7:4]");
    CHECK_EQ(accel_emu_ops.set_sregs(v, &s), 0, "emu sregs: set");
    CHECK_EQ(tpr, 0x1f, "emu sregs: a round trip keeps TPR[3:0]");
    s.cr8 = 3;
    accel_emu_ops.set_sregs(v, &s);
    CHECK_EQ(tpr, 0x30, "emu sregs: a new CR8 writes TPR[7:4], TPR[3:0] = 0");
}

static void setup(uint8_t *ram)
{
    emu_fixture_load(&fx, LOAD, irq_guest, irq_guest_end);
    emu_fixture_set_gate(ram, IDT, 0x40, at(irq_h40));
    emu_fixture_set_gate(ram, IDT, 2, at(irq_h2));
    emu_fixture_long64(&cpu, ram, LOAD, STACK);
    cpu.idtr = (struct accel_dtable){IDT, 16 * 0x41 - 1};
    cpu.irq = &stub;
    emu_update_mode(&cpu);
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu irq"))
        return 1;
    uint8_t *ram = fx.ram;
    setup(ram);
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 100);
    CHECK_EQ(exit.reason, ACCEL_EXIT_HLT, "emu irq: the guest reaches HLT");
    uint64_t count, log[4];
    memcpy(&count, ram + 0x8000, 8);
    memcpy(log, ram + 0x8008, sizeof(log));
    CHECK_EQ(count, 2, "emu irq: one interrupt and one NMI taken");
    CHECK_EQ(log[0], 0x40, "emu irq: the interrupt first");
    CHECK_EQ(log[1], at(irq_m2), "emu irq: MOV SS holds an interrupt off for one instruction");
    CHECK_EQ(log[2], 2, "emu irq: then the NMI, with IF=0");
    CHECK_EQ(log[3], at(irq_n2), "emu irq: MOV SS holds an NMI off for one instruction");
    CHECK_EQ(cpu.gpr[3], 4, "emu irq: every instruction ran once");
    CHECK(!cpu.nmi_blocked, "emu irq: the NMI handler's IRET ended NMI blocking");
    test_sregs_tpr();
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
