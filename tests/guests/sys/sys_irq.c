/*
 * When interrupts are taken (SDM Vol. 3A 6.7-6.9, 10.5.1, 10.6.1, 10.8):
 * at the first instruction boundary where one is deliverable. After STI
 * only once the next instruction is done; at once after POPF or IRET set
 * IF, after MOV CR8 or a TPR write lowers the priority, after an EOI
 * unmasks a lower class. NMIs (ICR, LINT0 in NMI mode) ignore IF, block
 * further NMIs until IRET with one more held pending, and wake HLT.
 * Each handler records the vector and the RIP it interrupted.
 */
#include "rt.h"

#define APIC 0xfee00000ull
#define APIC_ID 0x020
#define APIC_TPR 0x080
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_DCR 0x3e0
#define LVT_MASKED 0x10000u
#define ICR_SELF 0x40000u
#define ICR_ASSERT 0x4000u
#define ICR_NMI 0x400u

static volatile uint32_t *reg(unsigned off) { return (volatile uint32_t *)(APIC + off); }
static uint32_t apic_read(unsigned off) { return *reg(off); }
static void apic_write(unsigned off, uint32_t v) { *reg(off) = v; }

/* What the handlers saw, in order. */
struct event {
    int vector;
    uint64_t rip, rax, rflags;
};
static struct event log[8];
static volatile unsigned nlog;
static volatile bool eoi_in_handler[256];
static volatile unsigned nmi_depth, nmi_max_depth, nmi_resend;
static volatile bool nmi_hlt; /* the NMI handler halts until a timer interrupt */
static volatile bool x2apic_mode; /* EOI by MSR 0x80b, not on the page */

static void record(struct rt_frame *f)
{
    if (nlog < 8)
        log[nlog] = (struct event){(int)f->vector, f->rip, f->rax, f->rflags};
    nlog++;
}

static bool on_fixed(struct rt_frame *f)
{
    record(f);
    if (eoi_in_handler[f->vector & 0xff] && x2apic_mode)
        rt_wrmsr(0x80b, 0);
    else if (eoi_in_handler[f->vector & 0xff])
        apic_write(APIC_EOI, 0);
    return true;
}

static void send_nmi_self(void);

static bool on_nmi(struct rt_frame *f)
{
    if (++nmi_depth > nmi_max_depth)
        nmi_max_depth = nmi_depth;
    record(f);
    /* NMIs sent while this one is handled stay pending until IRET. */
    for (; nmi_resend; nmi_resend--)
        send_nmi_self();
    if (nmi_hlt) {
        nmi_hlt = false;
        apic_write(APIC_TIMER_INIT, 200000000); /* 0x60 in ~0.2 s */
        __asm__ volatile("sti\n hlt\n cli" ::: "memory");
    }
    nmi_depth--;
    return true;
}

static void reset_log(void)
{
    nlog = 0;
    memset(log, 0, sizeof(log));
}

static void send_ipi_self(uint8_t vector) { apic_write(APIC_ICR_LO, ICR_SELF | ICR_ASSERT | vector); }

/* NMI to our own APIC ID (no shorthand: SDM Table 10-3 allows NMI only
 * with a destination, not with "self"). */
static void send_nmi_self(void)
{
    apic_write(APIC_ICR_HI, apic_read(APIC_ID) & 0xff000000u);
    apic_write(APIC_ICR_LO, ICR_ASSERT | ICR_NMI);
}

/* The code under test; labels mark where an event must hit. Each starts
 * and ends with IF=0 (cli) so the C around it is never interrupted. */
__asm__(".text\n"
        /* STI: the interrupt comes after the instruction that follows. */
        "t_sti: xor %eax, %eax\n sti\n inc %rax\n t_sti_at: inc %rax\n cli\n ret\n"
        /* POPF setting IF: no shadow. */
        "t_popf: xor %eax, %eax\n pushfq\n orq $0x200, (%rsp)\n popfq\n t_popf_at: inc %rax\n"
        "  cli\n ret\n"
        /* IRET to IF=1 code. */
        "t_iret: mov %rsp, %rax\n pushq $0x10\n push %rax\n pushfq\n orq $0x200, (%rsp)\n"
        "  pushq $0x08\n lea t_iret_at(%rip), %rax\n push %rax\n xor %eax, %eax\n iretq\n"
        "  t_iret_at: inc %rax\n cli\n ret\n"
        /* IF=1 with the priority high, then MOV CR8 lowers it. */
        "t_cr8: xor %eax, %eax\n sti\n nop\n inc %rax\n inc %rax\n xor %ecx, %ecx\n mov %rcx, %cr8\n"
        "  t_cr8_at: inc %rax\n cli\n ret\n"
        /* The same through the TPR on the APIC page. */
        "t_tpr: xor %eax, %eax\n mov $0xfee00080, %edx\n sti\n nop\n inc %rax\n movl $0, (%rdx)\n"
        "  t_tpr_at: inc %rax\n cli\n ret\n"
        /* Two pending: the higher is taken after STI's shadow, the lower
         * only when the EOI retires the higher. */
        "t_eoi: xor %eax, %eax\n mov $0xfee000b0, %edx\n sti\n inc %rax\n t_eoi_first: inc %rax\n"
        "  inc %rax\n movl $0, (%rdx)\n t_eoi_at: inc %rax\n cli\n ret\n"
        /* An NMI through the ICR, with IF=0 (ESI: ICR low word). */
        "t_nmi: xor %eax, %eax\n mov $0xfee00300, %edx\n movl %esi, (%rdx)\n t_nmi_at: inc %rax\n"
        "  ret\n"
        /* x2APIC: WRMSR lowers the TPR (ESI: the new TPR). */
        "t_x2tpr: mov $0x808, %ecx\n mov %esi, %eax\n xor %edx, %edx\n sti\n nop\n nop\n wrmsr\n"
        "  t_x2tpr_at: nop\n cli\n ret\n"
        /* HLT until an NMI. */
        "t_hlt: sti\n hlt\n t_hlt_at: cli\n ret\n"
        /* The same with IF=0: only an NMI can wake it. */
        "t_clihlt: cli\n hlt\n t_clihlt_at: ret\n"
        /* CPL 3 with IF=0: SYSCALL to t_sys_kernel, which sends a fixed
         * IPI to itself and SYSRETs to IF=1 (R11): taken at once. */
        "t_sys_user: xor %eax, %eax\n syscall\n t_sysret_at: inc %rax\n ret\n"
        "t_sys_kernel: mov $0xfee00300, %edx\n movl $0x44040, (%rdx)\n"
        "  lea t_sysret_at(%rip), %rcx\n mov $0x202, %r11d\n sysretq\n");
extern char t_sti[], t_sti_at[], t_popf[], t_popf_at[], t_iret[], t_iret_at[], t_cr8[],
    t_cr8_at[], t_tpr[], t_tpr_at[], t_eoi[], t_eoi_first[], t_eoi_at[], t_nmi[], t_nmi_at[],
    t_hlt[], t_hlt_at[], t_x2tpr[], t_x2tpr_at[], t_clihlt[], t_clihlt_at[], t_sys_user[],
    t_sysret_at[], t_sys_kernel[];

static void call_asm(char *fn, uint64_t esi)
{
    __asm__ volatile("call *%0"
                     : "+r"(fn), "+S"(esi)
                     :
                     : "rax", "rcx", "rdx", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
}

static void set_cr8(uint64_t v) { __asm__ volatile("mov %0, %%cr8" ::"r"(v) : "memory"); }
static uint64_t get_cr8(void) { uint64_t v; __asm__ volatile("mov %%cr8, %0" : "=r"(v)); return v; }

/* One fixed interrupt pending at IF=0, then `fn` enables it. */
static void one_fixed(const char *what, char *fn, char *at, uint64_t rax)
{
    reset_log();
    __asm__ volatile("cli");
    send_ipi_self(0x40);
    CHECK_EQ(nlog, 0, "irq: %s: nothing taken with IF=0", what);
    call_asm(fn, 0);
    CHECK_EQ(nlog, 1, "irq: %s: one interrupt taken", what);
    CHECK_EQ(log[0].vector, 0x40, "irq: %s: vector", what);
    CHECK_EQ(log[0].rip, (uint64_t)at, "irq: %s: taken at the first deliverable boundary", what);
    CHECK_EQ(log[0].rax, rax, "irq: %s: instructions done before it", what);
}

static void fixed_tests(void)
{
    eoi_in_handler[0x40] = true;
    one_fixed("STI", t_sti, t_sti_at, 1);
    one_fixed("POPF", t_popf, t_popf_at, 0);
    one_fixed("IRET", t_iret, t_iret_at, 0);

    /* CR8 is TPR[7:4] (SDM 10.8.6.1). */
    apic_write(APIC_TPR, 0x50);
    CHECK_EQ(get_cr8(), 5, "irq: CR8 reads TPR[7:4]");
    set_cr8(3);
    CHECK_EQ(apic_read(APIC_TPR), 0x30, "irq: MOV CR8 writes TPR[7:4], clears TPR[3:0]");
    set_cr8(0);

    reset_log();
    __asm__ volatile("cli");
    set_cr8(4); /* class 4 masks vector 0x40 (SDM 10.8.3.1: class > PPR class) */
    send_ipi_self(0x40);
    call_asm(t_cr8, 0);
    CHECK_EQ(nlog, 1, "irq: CR8 drop: one interrupt taken");
    CHECK_EQ(log[0].rip, (uint64_t)t_cr8_at, "irq: CR8 drop: taken right after MOV CR8");
    CHECK_EQ(log[0].rax, 2, "irq: CR8 drop: not taken while CR8 masked it");

    reset_log();
    apic_write(APIC_TPR, 0x40);
    send_ipi_self(0x40);
    call_asm(t_tpr, 0);
    CHECK_EQ(nlog, 1, "irq: TPR write: one interrupt taken");
    CHECK_EQ(log[0].rip, (uint64_t)t_tpr_at, "irq: TPR write: taken right after the write");
    CHECK_EQ(log[0].rax, 1, "irq: TPR write: not taken while TPR masked it");

    reset_log();
    eoi_in_handler[0x50] = false; /* 0x50 stays in service until t_eoi's EOI */
    eoi_in_handler[0x48] = true;
    send_ipi_self(0x48);
    send_ipi_self(0x50);
    call_asm(t_eoi, 0);
    CHECK_EQ(nlog, 2, "irq: EOI: two interrupts taken");
    CHECK_EQ(log[0].vector, 0x50, "irq: EOI: the higher class first");
    CHECK_EQ(log[0].rip, (uint64_t)t_eoi_first, "irq: EOI: the higher after STI's shadow");
    CHECK_EQ(log[1].vector, 0x48, "irq: EOI: then the lower class");
    CHECK_EQ(log[1].rip, (uint64_t)t_eoi_at, "irq: EOI: the lower right after the EOI");
    CHECK_EQ(log[1].rax, 3, "irq: EOI: the lower held off while 0x50 was in service");
}

static void nmi_tests(void)
{
    uint64_t icr = ICR_ASSERT | ICR_NMI;
    apic_write(APIC_ICR_HI, apic_read(APIC_ID) & 0xff000000u);
    reset_log();
    __asm__ volatile("cli");
    call_asm(t_nmi, icr);
    CHECK_EQ(nlog, 1, "irq: NMI by ICR: taken with IF=0");
    CHECK_EQ(log[0].vector, 2, "irq: NMI by ICR: vector 2");
    CHECK_EQ(log[0].rip, (uint64_t)t_nmi_at, "irq: NMI by ICR: right after the ICR write");
    CHECK_EQ(log[0].rflags & 0x200, 0, "irq: NMI by ICR: frame shows IF=0");

    /* Two more sent from the handler: one is held until its IRET, and the
     * other merges into it (one latch), with no nesting. */
    reset_log();
    nmi_max_depth = 0;
    nmi_resend = 2;
    call_asm(t_nmi, icr);
    CHECK_EQ(nlog, 2, "irq: NMI blocking: the held NMI comes once");
    CHECK_EQ(nmi_max_depth, 1, "irq: NMI blocking: no NMI inside the NMI handler");
    CHECK_EQ(log[1].vector, 2, "irq: NMI blocking: vector 2");
    CHECK_EQ(log[1].rip, (uint64_t)t_nmi_at, "irq: NMI blocking: delivered right after IRET");
    CHECK_EQ(log[1].rax, 0, "irq: NMI blocking: before the interrupted code went on");

    /* A fixed interrupt and an NMI pending together: NMI first (6.9). */
    reset_log();
    eoi_in_handler[0x40] = true;
    send_ipi_self(0x40);
    call_asm(t_nmi, icr);
    CHECK_EQ(nlog, 1, "irq: NMI with IF=0 and a fixed one pending: only the NMI");
    call_asm(t_sti, 0);
    CHECK_EQ(nlog, 2, "irq: the fixed one after STI");
    CHECK_EQ(log[1].vector, 0x40, "irq: the fixed one's vector");
}

/* SYSRET setting IF (from R11): an interrupt waiting is taken before the
 * first instruction at CPL 3, as after POPF (SDM "SYSRET": no shadow). */
static void sysret_if(void)
{
    rt_wrmsr(0xc0000080, rt_rdmsr(0xc0000080) | 1);  /* EFER.SCE */
    /* SYSRET: CS = 0x20 + 16 | 3 = SEL_UCODE, SS = 0x20 + 8 | 3 = SEL_UDATA. */
    rt_wrmsr(0xc0000081, (0x20ull << 48) | ((uint64_t)SEL_KCODE << 32));
    rt_wrmsr(0xc0000082, (uint64_t)t_sys_kernel);
    rt_wrmsr(0xc0000084, 0x200);                      /* SFMASK: IF */
    eoi_in_handler[0x40] = true;
    reset_log();
    int r = rt_run_user((void (*)(void *))t_sys_user, 0, SEL_UCODE, 0);
    CHECK_EQ(r, -1, "irq: SYSRET: the user code finished");
    CHECK_EQ(nlog, 1, "irq: SYSRET: one interrupt taken");
    CHECK_EQ(log[0].vector, 0x40, "irq: SYSRET: vector");
    CHECK_EQ(log[0].rip, (uint64_t)t_sysret_at, "irq: SYSRET setting IF: taken at once");
    CHECK_EQ(log[0].rax, 0, "irq: SYSRET setting IF: before the next instruction");
}

static void pic_init(void)
{
    static const uint8_t icw_m[] = {0x11, 0x20, 0x04, 0x01}, icw_s[] = {0x11, 0x28, 0x02, 0x01};
    rt_outb(0x21, 0xff);
    rt_outb(0x20, icw_m[0]);
    for (int i = 1; i < 4; i++)
        rt_outb(0x21, icw_m[i]);
    rt_outb(0xa0, icw_s[0]);
    for (int i = 1; i < 4; i++)
        rt_outb(0xa1, icw_s[i]);
    rt_outb(0x21, 0xff);
    rt_outb(0xa1, 0xff);
}

/* PIT channel 0 (mode 0, ~10 ms) -> PIC IRQ 0 -> INTR -> LINT0 in NMI
 * mode. The PIC is initialised afresh each time: with no INTA, the last
 * request keeps INTR high, and LINT0 needs a new rising edge. */
static void pit_nmi_arm(void)
{
    pic_init();
    apic_write(APIC_LVT_LINT0, 0x400); /* NMI, edge, unmasked */
    rt_outb(0x43, 0x30);               /* channel 0, LSB/MSB, mode 0 */
    rt_outb(0x40, 11932 & 0xff);
    rt_outb(0x40, 11932 >> 8);
    rt_outb(0x21, 0xfe);
}

static void pit_nmi_disarm(void)
{
    rt_outb(0x21, 0xff);
    apic_write(APIC_LVT_LINT0, LVT_MASKED | 0x400);
}

/* PIT channel 0 -> PIC IRQ 0 -> INTR -> LINT0 programmed for NMI: the NMI
 * wakes HLT. A LAPIC timer at 0x60 stops the wait if it never comes. */
static void lint0_nmi_hlt(void)
{
    eoi_in_handler[0x60] = true;
    apic_write(APIC_TIMER_DCR, 0xb);   /* divide by 1 */
    apic_write(APIC_LVT_TIMER, 0x60);
    apic_write(APIC_TIMER_INIT, 500000000); /* fallback, ~0.5 s */
    reset_log();
    pit_nmi_arm();
    call_asm(t_hlt, 0);
    apic_write(APIC_TIMER_INIT, 0);
    pit_nmi_disarm();
    CHECK(nlog >= 1, "irq: LINT0 NMI: HLT woke up");
    CHECK_EQ(log[0].vector, 2, "irq: LINT0 NMI: an NMI woke HLT");
    CHECK_EQ(log[0].rip, (uint64_t)t_hlt_at, "irq: LINT0 NMI: frame RIP after HLT");
}

/* A timer's NMI comes while IF=0 too (NMIs ignore IF, SDM 6.7.1): spin
 * with IF=0 for up to 0.3 s, timed by the masked LAPIC timer's count. */
static void lint0_nmi_cli(void)
{
    apic_write(APIC_TIMER_DCR, 0xb);
    apic_write(APIC_LVT_TIMER, LVT_MASKED | 0x60);
    apic_write(APIC_TIMER_INIT, 1000000000);
    reset_log();
    __asm__ volatile("cli");
    pit_nmi_arm();
    while (nlog == 0 && apic_read(0x390) > 700000000u)
        ;
    pit_nmi_disarm();
    apic_write(APIC_TIMER_INIT, 0);
    CHECK_EQ(nlog, 1, "irq: LINT0 NMI with IF=0: taken while running");
    CHECK_EQ(log[0].vector, 2, "irq: LINT0 NMI with IF=0: vector 2");
    CHECK_EQ(log[0].rflags & 0x200, 0, "irq: LINT0 NMI with IF=0: frame shows IF=0");
}

/* HLT in an NMI handler with another NMI latched: the blocked NMI does not
 * wake it (the VMM must sleep, not spin), the timer interrupt does, and its
 * IRET unblocks NMIs (SDM 6.7.1), so the latched one nests after it. */
static void nmi_handler_hlt(void)
{
    eoi_in_handler[0x60] = true;
    apic_write(APIC_TIMER_DCR, 0xb);
    apic_write(APIC_LVT_TIMER, 0x60);
    reset_log();
    nmi_max_depth = 0;
    nmi_resend = 1;
    nmi_hlt = true;
    rt_set_gate(2, 0, 0, 0xe); /* no IST: the nested NMI must not reuse the stack */
    call_asm(t_nmi, ICR_ASSERT | ICR_NMI);
    rt_set_gate(2, 0, 1, 0xe);
    apic_write(APIC_TIMER_INIT, 0);
    CHECK_EQ(nlog, 3, "irq: HLT in an NMI handler: NMI, timer, NMI");
    CHECK_EQ(log[1].vector, 0x60, "irq: HLT in an NMI handler: a blocked NMI does not wake it");
    CHECK_EQ(log[2].vector, 2, "irq: HLT in an NMI handler: the latched NMI after the timer's IRET");
    CHECK_EQ(nmi_max_depth, 2, "irq: HLT in an NMI handler: any IRET unblocks NMIs");
}

/* `cli; hlt` is not the end while an NMI can come: it resumes the CPU
 * whatever IF is (SDM "HLT"). */
static void lint0_nmi_clihlt(void)
{
    reset_log();
    pit_nmi_arm();
    call_asm(t_clihlt, 0);
    pit_nmi_disarm();
    CHECK_EQ(nlog, 1, "irq: LINT0 NMI: woke CLI; HLT");
    CHECK_EQ(log[0].vector, 2, "irq: LINT0 NMI after CLI; HLT: vector 2");
    CHECK_EQ(log[0].rip, (uint64_t)t_clihlt_at, "irq: LINT0 NMI: frame RIP after CLI; HLT");
}

/* The same in x2APIC mode (SDM 10.12): TPR and SELF IPI are MSRs. */
static void x2apic_tpr(void)
{
    rt_wrmsr(0x1b, rt_rdmsr(0x1b) | 0xc00); /* IA32_APIC_BASE: EN + EXTD */
    x2apic_mode = true;
    reset_log();
    __asm__ volatile("cli");
    rt_wrmsr(0x808, 0x40);
    rt_wrmsr(0x83f, 0x40);                  /* SELF IPI */
    call_asm(t_x2tpr, 0);
    CHECK_EQ(nlog, 1, "irq: x2APIC TPR by WRMSR: one interrupt taken");
    CHECK_EQ(log[0].rip, (uint64_t)t_x2tpr_at, "irq: x2APIC TPR by WRMSR: right after WRMSR");
    CHECK_EQ(rt_rdmsr(0x80a), 0, "irq: x2APIC: the handler's EOI by WRMSR left PPR 0");
}

void test_main(void)
{
    for (int v = 0x30; v < 0x70; v++)
        rt_set_handler(v, on_fixed);
    rt_set_handler(2, on_nmi);
    apic_write(APIC_SVR, 0x1ff);       /* software enable, spurious vector 0xff */
    apic_write(APIC_LVT_LINT0, LVT_MASKED | 0x700);
    apic_write(APIC_LVT_LINT1, LVT_MASKED | 0x400);
    apic_write(APIC_TPR, 0);
    fixed_tests();
    sysret_if();
    nmi_tests();
    lint0_nmi_hlt();
    lint0_nmi_cli();
    nmi_handler_hlt();
    lint0_nmi_clihlt();
    CHECK_EQ(apic_read(APIC_TPR), 0, "irq: TPR back to 0");
    x2apic_tpr(); /* last: the xAPIC page is gone in x2APIC mode */
}
