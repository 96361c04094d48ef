/*
 * Exceptions during event delivery and the RF flag in pushed frames, from
 * the SDM:
 *  - Vol. 3A 6.15 "Interrupt 8—Double Fault Exception", tables 6-4/6-5: a
 *    fault while delivering a benign event is delivered itself, a page
 *    fault while delivering a contributory one too; contributory then
 *    contributory, and page fault then contributory or page fault, give
 *    #DF (error code 0). (A fault while delivering #DF: sys_exc_shutdown.)
 *  - Vol. 3A 6.13: the error code's EXT bit (bit 0) is set for a fault
 *    while delivering an event external to the program (an exception,
 *    INT1) and clear for INT n and INT3; IDT (bit 1) when it names a gate.
 *  - Vol. 3B 17.3.1.1: fault-class exceptions push RF=1; traps and
 *    software interrupts push RF as it is (0 here); an interrupt between
 *    the iterations of a REP string instruction pushes RF=1.
 */
#include "rt.h"

#define RF (1ull << 16)
#define HOLE 0x40000000ull /* a 4 KiB page made not present */
#define VEC_SOFT 0x40      /* INT n target whose gate the tests edit */

/* The faulting instructions, labelled; each saves RSP first so the frame's
 * RSP can be checked. */
uint64_t saved_rsp;
__asm__(".text\n"
        ".globl do_ud, at_ud, do_int40, at_int40, do_int3, at_int3, after_int3\n"
        ".globl do_rdmsr, at_rdmsr, do_read, at_read, do_div, at_div, do_icebp, at_icebp\n"
        ".globl do_int41, after_int41\n"
        "do_ud: mov %rsp, saved_rsp(%rip)\n"
        "at_ud: ud2\n"
        "  ret\n"
        "do_int40: mov %rsp, saved_rsp(%rip)\n"
        "at_int40: int $0x40\n"
        "  ret\n"
        "do_int3: mov %rsp, saved_rsp(%rip)\n"
        "at_int3: int3\n"
        "after_int3: ret\n"
        "do_int41: mov %rsp, saved_rsp(%rip)\n"
        "  int $0x41\n"
        "after_int41: ret\n"
        "do_rdmsr: mov %rsp, saved_rsp(%rip)\n"
        "  mov $0xdeadbeef, %ecx\n"
        "at_rdmsr: rdmsr\n"
        "  ret\n"
        "do_read: mov %rsp, saved_rsp(%rip)\n"
        "at_read: mov (%rdi), %rax\n"
        "  ret\n"
        "do_div: mov %rsp, saved_rsp(%rip)\n"
        "  xor %ecx, %ecx\n"
        "at_div: div %ecx\n"
        "  ret\n"
        "do_icebp: mov %rsp, saved_rsp(%rip)\n"
        "at_icebp: .byte 0xf1\n"
        "  ret\n"
        ".globl do_rep_irq, at_rep_irq\n"
        "do_rep_irq: mov %rsi, %rcx\n"
        "  xor %eax, %eax\n"
        "  sti\n"
        "at_rep_irq: rep stosb\n"
        "  cli\n"
        "  ret\n");
void do_rep_irq(uint64_t dst, uint64_t n);
extern char at_rep_irq[];
void do_ud(void *), do_int40(void *), do_int3(void *), do_int41(void *), do_rdmsr(void *);
void do_read(void *), do_div(void *), do_icebp(void *);
extern char at_ud[], at_int40[], at_int3[], after_int3[], after_int41[], at_rdmsr[], at_read[];
extern char at_div[];
extern char at_icebp[];

static void gate_not_present(int vector) { *rt_idt_gate(vector) &= ~(1ull << 47); }

static void gate_type(int vector, unsigned type)
{
    uint64_t *g = rt_idt_gate(vector);
    *g = (*g & ~(0xfull << 40)) | (uint64_t)type << 40;
}

static void gate_ist(int vector, unsigned ist)
{
    uint64_t *g = rt_idt_gate(vector);
    *g = (*g & ~(7ull << 32)) | (uint64_t)ist << 32;
}

/* IST2 in the 64-bit TSS (offset 44). */
static void set_ist2(uint64_t top) { memcpy((uint8_t *)rt_tss_base() + 44, &top, 8); }

/* The runtime's gates as rt.c sets them. */
static void restore_gates(void)
{
    for (int v = 0; v < 0x42; v++)
        rt_set_gate(v, 0, 0, 0xe);
    rt_set_gate(2, 0, 1, 0xe);
    rt_set_gate(8, 0, 1, 0xe);
    rt_set_gate(3, 3, 0, 0xe);
    rt_set_gate(4, 3, 0, 0xe);
}

/* The frame of the last caught exception: vector, error code, RIP, CS, RF
 * and RSP (the RSP the faulting code had). */
static void check_frame(const char *what, int got, int vector, uint64_t error, const char *rip,
                        bool rf)
{
    CHECK_EQ(got, vector, "%s: vector", what);
    CHECK_EQ(rt_last.error, error, "%s: error code", what);
    CHECK_EQ(rt_last.rip, (uint64_t)rip, "%s: frame RIP", what);
    CHECK_EQ(rt_last.cs, SEL_KCODE, "%s: frame CS", what);
    CHECK_EQ(rt_last.rflags & RF, rf ? RF : 0, "%s: frame RF", what);
    CHECK_EQ(rt_last.rsp, saved_rsp, "%s: frame RSP", what);
}

/* RF in frames (17.3.1.1): faults 1, traps and INT n 0. */
static void test_rf(void)
{
    check_frame("#UD", rt_catch(do_ud, 0), 6, 0, at_ud, true);
    check_frame("#GP from RDMSR", rt_catch(do_rdmsr, 0), 13, 0, at_rdmsr, true);
    check_frame("#DE", rt_catch(do_div, 0), 0, 0, at_div, true);
    check_frame("#PF", rt_catch(do_read, (void *)HOLE), 14, 0, at_read, true);
    CHECK_EQ(rt_last.cr2, HOLE, "#PF: CR2");
    check_frame("INT3 (a trap)", rt_catch(do_int3, 0), 3, 0, after_int3, false);
    check_frame("INT 41h", rt_catch(do_int41, 0), 0x41, 0, after_int41, false);
}

/* A fault while delivering a benign event is delivered (table 6-5). */
static void test_benign_first(void)
{
    gate_not_present(6);
    check_frame("#UD with its gate not present: #NP(6*8+IDT+EXT)", rt_catch(do_ud, 0), 11,
                6 * 8 + 3, at_ud, true);
    restore_gates();

    gate_not_present(VEC_SOFT);
    check_frame("INT 40h, gate not present: #NP(40h*8+IDT), no EXT", rt_catch(do_int40, 0), 11,
                VEC_SOFT * 8 + 2, at_int40, true);
    restore_gates();

    gate_not_present(3);
    check_frame("INT3, gate not present: #NP(3*8+IDT), no EXT", rt_catch(do_int3, 0), 11,
                3 * 8 + 2, at_int3, true);
    restore_gates();

    gate_type(VEC_SOFT, 0x0);
    check_frame("INT 40h through a bad gate type: #GP(40h*8+IDT)", rt_catch(do_int40, 0), 13,
                VEC_SOFT * 8 + 2, at_int40, true);
    restore_gates();

    gate_not_present(1);
    check_frame("INT1, gate not present: #NP(1*8+IDT+EXT)", rt_catch(do_icebp, 0), 11, 1 * 8 + 3,
                at_icebp, true);
    restore_gates();

    /* #UD delivered on an IST stack that is not mapped: the #PF is
     * delivered; its first write is the SS slot, 8 below the IST top. */
    gate_ist(6, 2);
    check_frame("#UD onto an unmapped IST: #PF", rt_catch(do_ud, 0), 14, 0x2, at_ud, true);
    CHECK_EQ(rt_last.cr2, HOLE + 4096 - 8, "#UD onto an unmapped IST: CR2 is the SS slot");
    restore_gates();
}

/* Contributory first: a #PF is delivered, a contributory one makes #DF. */
static void test_contributory_first(void)
{
    /* INT 40h -> #NP; #NP's IST not mapped -> #PF, delivered (6-5). */
    gate_not_present(VEC_SOFT);
    gate_ist(11, 2);
    check_frame("#NP onto an unmapped IST: #PF", rt_catch(do_int40, 0), 14, 0x2, at_int40, true);
    CHECK_EQ(rt_last.cr2, HOLE + 4096 - 8, "#NP onto an unmapped IST: CR2");
    restore_gates();

    gate_not_present(VEC_SOFT);
    gate_not_present(11);
    CHECK_EQ(rt_catch(do_int40, 0), 8, "#NP while delivering #NP: #DF");
    CHECK_EQ(rt_last.error, 0, "#NP while delivering #NP: #DF error code 0");
    CHECK_EQ(rt_last.cs, SEL_KCODE, "#NP while delivering #NP: #DF frame CS");
    restore_gates();

    gate_type(13, 0x0);
    CHECK_EQ(rt_catch(do_rdmsr, 0), 8, "#GP while delivering #GP: #DF");
    CHECK_EQ(rt_last.error, 0, "#GP while delivering #GP: #DF error code 0");
    restore_gates();

    gate_not_present(0);
    CHECK_EQ(rt_catch(do_div, 0), 8, "#NP while delivering #DE: #DF");
    CHECK_EQ(rt_last.error, 0, "#NP while delivering #DE: #DF error code 0");
    restore_gates();
}

/* Page fault first: contributory or page fault makes #DF. */
static void test_page_fault_first(void)
{
    gate_ist(14, 2);
    CHECK_EQ(rt_catch(do_read, (void *)HOLE), 8, "#PF while delivering #PF: #DF");
    CHECK_EQ(rt_last.error, 0, "#PF while delivering #PF: #DF error code 0");
    CHECK_EQ(rt_last.cr2, HOLE + 4096 - 8, "#PF while delivering #PF: CR2 is the second fault's");
    restore_gates();

    gate_not_present(14);
    CHECK_EQ(rt_catch(do_read, (void *)HOLE), 8, "#NP while delivering #PF: #DF");
    CHECK_EQ(rt_last.error, 0, "#NP while delivering #PF: #DF error code 0");
    restore_gates();
}

/* A stack that is not canonical: #SS with EXT (SDM Vol. 3A 6.14.4). */
static void test_stack_fault(void)
{
    set_ist2(0x8000000000001000ull);
    gate_ist(6, 2);
    check_frame("#UD onto a non-canonical IST: #SS(EXT)", rt_catch(do_ud, 0), 12, 1, at_ud, true);
    restore_gates();
}

/* An interrupt between two iterations of a REP string instruction pushes
 * RF=1 and the instruction's own RIP (17.3.1.1): a 1 ms local APIC timer
 * one-shot during a REP STOSB of 16 MiB (RAM at 16 MiB, identity-mapped). */
#define LAPIC 0xfee00000ull
#define VEC_TIMER 0x50
static volatile uint32_t *lapic(unsigned reg) { return (volatile uint32_t *)(LAPIC + reg); }
static unsigned irq_count;
static uint64_t irq_rip, irq_rflags, irq_rcx;

static bool timer_irq(struct rt_frame *f)
{
    if (!irq_count++) {
        irq_rip = f->rip;
        irq_rflags = f->rflags;
        irq_rcx = f->rcx;
    }
    *lapic(0xb0) = 0; /* EOI */
    return true;
}

static void test_rep_interrupt(void)
{
    rt_set_handler(VEC_TIMER, timer_irq);
    *lapic(0xf0) = 0x1ff;        /* software-enabled, spurious vector FFh */
    *lapic(0x3e0) = 0xb;         /* divide by 1 */
    *lapic(0x320) = VEC_TIMER;   /* one-shot, not masked */
    *lapic(0x380) = 1000000;     /* 1 ms */
    do_rep_irq(16ull << 20, 16ull << 20);
    *lapic(0x320) = 1u << 16;    /* masked */
    rt_set_handler(VEC_TIMER, 0);
    CHECK_EQ(irq_count, 1, "timer during REP STOSB: one interrupt");
    CHECK_EQ(irq_rip, (uint64_t)at_rep_irq, "timer during REP STOSB: frame RIP is the REP");
    CHECK(irq_rcx != 0, "timer during REP STOSB: it came between iterations (RCX %lx)", irq_rcx);
    CHECK_EQ(irq_rflags & RF, RF, "timer during REP STOSB: frame RF");
}

void test_main(void)
{
    *rt_pte(HOLE) &= ~PTE_P;
    rt_flush_tlb();
    set_ist2(HOLE + 4096);
    test_rf();
    test_benign_first();
    test_contributory_first();
    test_page_fault_first();
    test_stack_fault();
    rt_reset_paging();
    test_rep_interrupt();
}
