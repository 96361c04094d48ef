/*
 * Debug registers, from SDM Vol. 3B 17.2-17.3 and "MOV—Move to/from Debug
 * Registers": DR6/DR7 fixed bits, MOV DR privilege, DR4/DR5 aliasing and
 * CR4.DE, reserved bits, general detect; instruction breakpoints (a fault,
 * RF=0 pushed, RF lets the instruction run once); data breakpoints (a
 * trap after the instruction or REP iteration; R/W 01b and 11b; lengths
 * 1, 2, 4, 8 with the low address bits ignored) for any instruction,
 * up to the last byte of the address space; a data breakpoint on MOV SS
 * reported after the next instruction, whose instruction breakpoint is
 * not taken (also when it is port I/O the VMM completes) unless it
 * faults first; I/O breakpoints with CR4.DE; single-step and a data
 * breakpoint in one #DB.
 */
#include "rt.h"

#define RF (1ull << 16)
#define TF (1ull << 8)
#define CR4_DE 0x8ull
#define DR6_FIXED 0xffff0ff0ull
#define DR6_BD 0x2000ull
#define DR6_BS 0x4000ull
#define DR7_FIXED 0x400ull
#define DR7_GD 0x2000ull
#define HOLE 0x40000000ull

/* R/W and LEN fields (17.2.4, 17.2.5). */
enum { RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_RW = 3 };
static unsigned len_code(unsigned len) { return len == 1 ? 0 : len == 2 ? 1 : len == 8 ? 2 : 3; }

/* DR7 arming breakpoint n locally (Ln) or globally (Gn). */
static uint64_t dr7_bp(int n, unsigned rw, unsigned len, bool global)
{
    return DR7_FIXED | (1ull << (2 * n + global)) | (uint64_t)rw << (16 + 4 * n) |
           (uint64_t)len_code(len) << (18 + 4 * n);
}

static uint64_t get_dr(int n)
{
    uint64_t v = 0;
    switch (n) {
    case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(v)); break;
    case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(v)); break;
    case 3: __asm__ volatile("mov %%dr3, %0" : "=r"(v)); break;
    case 6: __asm__ volatile("mov %%dr6, %0" : "=r"(v)); break;
    case 7: __asm__ volatile("mov %%dr7, %0" : "=r"(v)); break;
    }
    return v;
}

static void set_dr(int n, uint64_t v)
{
    switch (n) {
    case 0: __asm__ volatile("mov %0, %%dr0" ::"r"(v)); break;
    case 1: __asm__ volatile("mov %0, %%dr1" ::"r"(v)); break;
    case 2: __asm__ volatile("mov %0, %%dr2" ::"r"(v)); break;
    case 3: __asm__ volatile("mov %0, %%dr3" ::"r"(v)); break;
    case 6: __asm__ volatile("mov %0, %%dr6" ::"r"(v)); break;
    case 7: __asm__ volatile("mov %0, %%dr7" ::"r"(v)); break;
    }
}

/* Disarm everything and clear DR6's status bits. */
static void dr_reset(void)
{
    set_dr(7, DR7_FIXED);
    set_dr(6, 0);
}

/* The code under test, labelled. RDI (and RSI) are the arguments. */
__asm__(".text\n"
        ".globl do_exec, at_exec, do_store1, after_store1, do_load1, do_store8, do_load8\n"
        ".globl after_load1, after_load8, after_store8\n"
        ".globl do_push, after_push, do_rep, at_rep, do_movs, after_movs, do_xchg, after_xchg\n"
        ".globl do_gd, at_gd, do_movss, after_movss_next, do_tf_store, after_tf_store\n"
        ".globl do_fault_load, at_fault_load, do_dr4, do_dr5_write, do_dr7_high, do_dr6_high\n"
        ".globl read_dr4, user_mov_dr, at_user_mov_dr, do_outb, after_outb\n"
        ".globl do_movss_out, at_movss_out, do_movss_fault, at_movss_fault\n"
        "do_exec: nop\n"
        "at_exec: nopl 0(%rax)\n"
        "  ret\n"
        "do_store1: movb $1, (%rdi)\n"
        "after_store1: ret\n"
        "do_load1: movb (%rdi), %al\n"
        "after_load1: ret\n"
        "do_store8: movq $1, (%rdi)\n"
        "after_store8: ret\n"
        "do_load8: mov (%rdi), %rax\n"
        "after_load8: ret\n"
        /* PUSH onto a stack at RDI (the breakpoint sits on its top slot). */
        "do_push: mov %rsp, %rsi\n"
        "  mov %rdi, %rsp\n"
        "  pushq $5\n"
        "after_push: mov %rsi, %rsp\n"
        "  ret\n"
        "do_rep: mov %rsi, %rcx\n"
        "  xor %eax, %eax\n"
        "at_rep: rep stosb\n"
        "  ret\n"
        "do_movs: mov %rdi, %rsi\n"
        "  lea movs_dst(%rip), %rdi\n"
        "  movsq\n"
        "after_movs: ret\n"
        "do_xchg: mov $1, %eax\n"
        "  xchg %eax, (%rdi)\n"
        "after_xchg: ret\n"
        "do_gd: nop\n"
        "at_gd: mov %dr0, %rax\n"
        "  ret\n"
        "do_movss: mov (%rdi), %ss\n"
        "  nop\n"
        "after_movss_next: ret\n"
        "do_movss_out: mov (%rdi), %ss\n"
        "at_movss_out: outb %al, $0x80\n"
        "  ret\n"
        "do_movss_fault: mov %ss, %ax\n"
        "  mov %ax, %ss\n"
        "at_movss_fault: mov (%rdi), %rax\n"
        "  ret\n"
        "do_tf_store: pushfq\n"
        "  orq $0x100, (%rsp)\n"
        "  popfq\n"
        "  movb $1, (%rdi)\n"
        "after_tf_store: ret\n"
        "do_fault_load: nop\n"
        "at_fault_load: mov (%rdi), %rax\n"
        "  ret\n"
        "read_dr4:\n"
        "do_dr4: mov %dr4, %rax\n"
        "  ret\n"
        "do_dr5_write: mov $0x400, %eax\n"
        "  mov %rax, %dr5\n"
        "  ret\n"
        "do_dr7_high: mov $0x100000400, %rax\n"
        "  mov %rax, %dr7\n"
        "  ret\n"
        "do_dr6_high: mov $0x10000000000, %rax\n"
        "  mov %rax, %dr6\n"
        "  ret\n"
        "do_outb: mov $0x80, %dx\n"
        "  outb %al, %dx\n"
        "after_outb: ret\n"
        "user_mov_dr: nop\n"
        "at_user_mov_dr: mov %dr7, %rax\n"
        "  ret\n");
uint64_t read_dr4(void);
void do_exec(void *), do_store1(void *), do_load1(void *), do_store8(void *), do_load8(void *);
void do_push(void *), do_movs(void *), do_xchg(void *), do_gd(void *), do_movss(void *);
void do_tf_store(void *), do_fault_load(void *), do_dr4(void *), do_dr5_write(void *);
void do_dr7_high(void *), do_dr6_high(void *), user_mov_dr(void *), do_outb(void *);
void do_rep(uint8_t *buf, uint64_t n), do_movss_out(void *), do_movss_fault(void *);
extern char at_movss_out[], at_movss_fault[];
extern char at_exec[], after_store1[], after_load1[], after_store8[], after_load8[];
extern char after_push[], at_rep[], after_movs[], after_xchg[], at_gd[], after_movss_next[];
extern char after_tf_store[], at_fault_load[], at_user_mov_dr[], after_outb[];

static uint64_t data[512] __attribute__((aligned(4096)));
static uint8_t pstack[4096] __attribute__((aligned(16)));
uint64_t movs_dst;
static uint16_t ssvar __attribute__((aligned(8)));

/* A #DB caught: vector 1, the frame's RIP and RF, DR6's low bits. */
static void check_db(const char *what, int got, const void *rip, uint64_t dr6_bits, bool rf)
{
    CHECK_EQ(got, 1, "%s: #DB", what);
    CHECK_EQ(rt_last.rip, (uint64_t)rip, "%s: frame RIP", what);
    CHECK_EQ(rt_last.dr6 & 0xe00f, dr6_bits, "%s: DR6 B0-B3/BD/BS/BT", what);
    CHECK_EQ(rt_last.rflags & RF, rf ? RF : 0, "%s: frame RF", what);
}

static void test_registers(void)
{
    CHECK_EQ(get_dr(6), DR6_FIXED, "DR6 reads ffff0ff0 after reset");
    CHECK_EQ(get_dr(7), DR7_FIXED, "DR7 reads 400 after reset");
    set_dr(6, ~0ull >> 32);
    CHECK_EQ(get_dr(6), DR6_FIXED | 0xe00f, "DR6: only B0-B3, BD, BS, BT are writable");
    set_dr(6, 0);
    CHECK_EQ(get_dr(6), DR6_FIXED, "DR6 written 0 reads ffff0ff0");
    set_dr(0, 0x123456789abcull);
    CHECK_EQ(get_dr(0), 0x123456789abcull, "DR0 holds a 64-bit address");
    set_dr(0, 0);

    CHECK_EQ(rt_catch(do_dr7_high, 0), 13, "MOV DR7 with bit 32 set: #GP");
    CHECK_EQ(rt_last.error, 0, "MOV DR7 with bit 32 set: error code 0");
    CHECK_EQ(rt_catch(do_dr6_high, 0), 13, "MOV DR6 with bit 40 set: #GP");
    CHECK_EQ(get_dr(7), DR7_FIXED, "DR7 unchanged by the refused write");

    CHECK_EQ(rt_run_user(user_mov_dr, 0, SEL_UCODE, 0), 13, "MOV from DR7 at CPL 3: #GP");
    CHECK_EQ(rt_last.error, 0, "MOV DR at CPL 3: error code 0");
    CHECK_EQ(rt_last.rip, (uint64_t)at_user_mov_dr, "MOV DR at CPL 3: frame RIP");

    /* CR4.DE clear: DR4/DR5 are DR6/DR7; set: #UD (17.2.2). */
    rt_write_cr4(rt_read_cr4() & ~CR4_DE);
    set_dr(6, 0x1);
    CHECK_EQ(read_dr4(), DR6_FIXED | 1, "MOV from DR4 without CR4.DE reads DR6");
    set_dr(7, DR7_FIXED | 0x10000);
    CHECK_EQ(rt_catch(do_dr5_write, 0), -1, "MOV to DR5 without CR4.DE runs");
    CHECK_EQ(get_dr(7), DR7_FIXED, "MOV to DR5 without CR4.DE wrote DR7");
    dr_reset();
    rt_write_cr4(rt_read_cr4() | CR4_DE);
    CHECK_EQ(rt_catch(do_dr4, 0), 6, "MOV from DR4 with CR4.DE: #UD");
    CHECK_EQ(rt_catch(do_dr5_write, 0), 6, "MOV to DR5 with CR4.DE: #UD");
    rt_write_cr4(rt_read_cr4() & ~CR4_DE);
}

/* General detect: #DB before the MOV DR, BD set, GD cleared (17.2.4). */
static void test_general_detect(void)
{
    set_dr(7, DR7_FIXED | DR7_GD);
    check_db("MOV DR with DR7.GD", rt_catch(do_gd, 0), at_gd, DR6_BD, true);
    CHECK_EQ(get_dr(7), DR7_FIXED, "general detect cleared DR7.GD");
    dr_reset();
}

/* The #DB handler that resumes with RF set, as a debugger does. */
static unsigned db_count, pf_count;
static uint64_t db_rip, db_dr6, pf_rflags;

static bool db_resume(struct rt_frame *f)
{
    db_rip = f->rip;
    db_dr6 = get_dr(6);
    set_dr(6, 0);
    f->rflags |= RF;
    if (++db_count > 3)
        set_dr(7, DR7_FIXED); /* RF ignored: do not loop forever */
    return true;
}

/* #PF: point RDI at good data and retry the instruction. */
static bool pf_fix(struct rt_frame *f)
{
    pf_rflags = f->rflags;
    pf_count++;
    f->rdi = (uint64_t)data;
    return true;
}

/* pf_fix, resuming with RF clear (a handler may edit the frame). */
static bool pf_fix_no_rf(struct rt_frame *f)
{
    pf_fix(f);
    f->rflags &= ~RF;
    return true;
}

static void test_instruction_breakpoints(void)
{
    for (int n = 0; n < 4; n += 3) { /* DR0 locally, DR3 globally enabled */
        set_dr(n, (uint64_t)at_exec);
        set_dr(7, dr7_bp(n, RW_EXEC, 1, n == 3));
        check_db(n ? "instruction breakpoint in DR3 (G3)" : "instruction breakpoint in DR0 (L0)",
                 rt_catch(do_exec, 0), at_exec, 1u << n, false);
        dr_reset();
    }
    set_dr(1, (uint64_t)at_exec + 1); /* inside a 4-byte NOP, not its first byte */
    set_dr(7, dr7_bp(1, RW_EXEC, 1, false));
    CHECK_EQ(rt_catch(do_exec, 0), -1, "instruction breakpoint on a later byte: no #DB");
    dr_reset();
    set_dr(2, (uint64_t)at_exec);
    set_dr(7, DR7_FIXED | 2ull << 24); /* R/W2 = execute, L2 = G2 = 0 */
    CHECK_EQ(rt_catch(do_exec, 0), -1, "disabled instruction breakpoint: no #DB");
    dr_reset();

    /* RF=1 in the IRET frame: the instruction runs once, no second #DB. */
    rt_set_handler(1, db_resume);
    db_count = 0;
    set_dr(0, (uint64_t)at_exec);
    set_dr(7, dr7_bp(0, RW_EXEC, 1, false));
    CHECK_EQ(rt_catch(do_exec, 0), -1, "instruction breakpoint resumed with RF: runs on");
    CHECK_EQ(db_count, 1, "resumed with RF: one #DB");
    CHECK_EQ(db_rip, (uint64_t)at_exec, "resumed with RF: the #DB's RIP");
    CHECK_EQ(db_dr6 & 0xf, 1, "resumed with RF: DR6.B0");
    CHECK_EQ(rt_catch(do_exec, 0), -1, "the next run of the instruction ...");
    CHECK_EQ(db_count, 2, "... stops at the breakpoint again (RF was cleared)");

    /* A breakpoint on an instruction that then faults: the fault pushes
     * RF=1, so the retried instruction does not stop again (17.3.1.1). */
    rt_set_handler(14, pf_fix);
    db_count = pf_count = 0;
    set_dr(0, (uint64_t)at_fault_load);
    CHECK_EQ(rt_catch(do_fault_load, (void *)HOLE), -1, "breakpoint, #PF, retry: completes");
    CHECK_EQ(db_count, 1, "breakpoint, #PF, retry: one #DB");
    CHECK_EQ(pf_count, 1, "breakpoint, #PF, retry: one #PF");
    CHECK_EQ(pf_rflags & RF, RF, "breakpoint, #PF, retry: the #PF frame has RF");
    rt_set_handler(14, 0);
    rt_set_handler(1, 0);
    dr_reset();
}

/* One data access against breakpoint (addr, rw, len) in DR1. */
static void data_case(const char *what, void (*fn)(void *), void *arg, uint64_t addr, unsigned rw,
                      unsigned len, const void *trap_rip)
{
    set_dr(1, addr);
    set_dr(7, dr7_bp(1, rw, len, false));
    int v = rt_catch(fn, arg);
    if (trap_rip)
        check_db(what, v, trap_rip, 2, false);
    else
        CHECK_EQ(v, -1, "%s: no #DB", what);
    dr_reset();
}

static void test_data_breakpoints(void)
{
    uint8_t *a = (uint8_t *)&data[8];
    data[8] = 0; /* the page is in the TLB before the breakpoint is armed */
    data_case("write breakpoint, byte store", do_store1, a, (uint64_t)a, RW_WRITE, 1, after_store1);
    data_case("write breakpoint, byte load", do_load1, a, (uint64_t)a, RW_WRITE, 1, 0);
    data_case("read/write breakpoint, byte load", do_load1, a, (uint64_t)a, RW_RW, 1, after_load1);
    data_case("1-byte breakpoint, access at +1", do_store1, a + 1, (uint64_t)a, RW_RW, 1, 0);
    data_case("2-byte breakpoint at +1 covers +0", do_store1, a, (uint64_t)a + 1, RW_WRITE, 2,
              after_store1);
    data_case("2-byte breakpoint at +0, access at +2", do_store1, a + 2, (uint64_t)a, RW_WRITE, 2,
              0);
    data_case("4-byte breakpoint at +6 covers +4", do_load1, a + 4, (uint64_t)a + 6, RW_RW, 4,
              after_load1);
    data_case("4-byte breakpoint at +4, access at +3", do_load1, a + 3, (uint64_t)a + 4, RW_RW, 4,
              0);
    data_case("8-byte breakpoint (LEN 10b) at +5 covers +7", do_store1, a + 7, (uint64_t)a + 5,
              RW_WRITE, 8, after_store1);
    data_case("8-byte breakpoint at +0, access at +8", do_store1, a + 8, (uint64_t)a, RW_WRITE, 8,
              0);
    data_case("8-byte store overlapping a breakpoint at +4", do_store8, a, (uint64_t)a + 4,
              RW_WRITE, 1, after_store8);
    data_case("8-byte load overlapping a breakpoint at +7", do_load8, a, (uint64_t)a + 7, RW_RW, 1,
              after_load8);
    data_case("XCHG with memory: a write", do_xchg, a, (uint64_t)a, RW_WRITE, 4, after_xchg);

    /* PUSH: the stack slot written (frame RSP is the new RSP). */
    uint8_t *top = pstack + sizeof(pstack);
    data_case("PUSH onto a write breakpoint", do_push, top, (uint64_t)top - 8, RW_WRITE, 8,
              after_push);
    CHECK_EQ(rt_last.rsp, (uint64_t)top - 8, "PUSH onto a write breakpoint: frame RSP");

    /* MOVSQ: its read of [RSI] (do_movs copies from RDI's address). */
    data_case("MOVSQ reads a read/write breakpoint", do_movs, a + 64, (uint64_t)a + 64, RW_RW, 8,
              after_movs);
    data_case("MOVSQ: a write breakpoint on its source", do_movs, a + 64, (uint64_t)a + 64,
              RW_WRITE, 8, 0);
}

/* A breakpoint on the last 8 bytes of the address space: its range ends
 * at 2^64, which must not wrap to an empty range (17.2.5). */
#define TOP_PAGE 0xfffffffffffff000ull

static void test_top_of_address_space(void)
{
    rt_map_page(TOP_PAGE, (uint64_t)&data[0], PTE_RW);
    rt_flush_tlb();
    uint8_t *last = (uint8_t *)(TOP_PAGE + 0xff8);
    data_case("8-byte breakpoint at 2^64-8, store at 2^64-1", do_store1, last + 7, (uint64_t)last,
              RW_WRITE, 8, after_store1);
    data_case("8-byte breakpoint at 2^64-8, 8-byte load", do_load8, last, (uint64_t)last, RW_RW, 8,
              after_load8);
    data_case("1-byte breakpoint at 2^64-1, store at 2^64-2", do_store1, last + 6,
              (uint64_t)last + 7, RW_WRITE, 1, 0);
}

/* REP STOSB over a write breakpoint: #DB after that iteration, RIP still
 * at the instruction, RF=1 pushed (17.3.1.1: a trap from an iteration but
 * the last), RCX and RDI past it. */
static uint64_t rep_rcx, rep_rdi;

static bool rep_regs(struct rt_frame *f)
{
    rep_rcx = f->rcx;
    rep_rdi = f->rdi;
    return false; /* then caught as usual */
}

static void rep_call(void *buf) { do_rep(buf, 64); }

static void test_rep(void)
{
    uint8_t *buf = (uint8_t *)&data[64];
    rt_set_handler(1, rep_regs);
    set_dr(0, (uint64_t)buf + 10);
    set_dr(7, dr7_bp(0, RW_WRITE, 1, false));
    check_db("REP STOSB over a write breakpoint", rt_catch(rep_call, buf), at_rep, 1, true);
    CHECK_EQ(rep_rcx, 64 - 11, "REP STOSB: RCX after the 11th iteration");
    CHECK_EQ(rep_rdi, (uint64_t)buf + 11, "REP STOSB: RDI after the 11th iteration");
    dr_reset();
    set_dr(0, (uint64_t)buf + 63);
    set_dr(7, dr7_bp(0, RW_WRITE, 1, false));
    check_db("REP STOSB: breakpoint on the last byte", rt_catch(rep_call, buf), at_rep + 2, 1,
             false);
    CHECK_EQ(rep_rcx, 0, "REP STOSB, last byte: RCX 0");
    rt_set_handler(1, 0);
    dr_reset();
}

/* MOV SS reads a breakpoint: the #DB waits for the next instruction
 * (SDM Vol. 3A 6.8.3). */
static void test_mov_ss(void)
{
    ssvar = SEL_KDATA;
    set_dr(0, (uint64_t)&ssvar);
    set_dr(7, dr7_bp(0, RW_RW, 2, false));
    check_db("MOV SS from a read breakpoint", rt_catch(do_movss, &ssvar), after_movss_next, 1,
             false);
    dr_reset();

    /* An instruction breakpoint on the instruction after MOV SS is not
     * taken (17.3.1.1), also when that instruction is port I/O, which
     * the VMM completes and the CPU model then runs again. */
    set_dr(0, (uint64_t)at_movss_out);
    set_dr(7, dr7_bp(0, RW_EXEC, 1, false));
    CHECK_EQ(rt_catch(do_movss_out, &ssvar), -1,
             "instruction breakpoint on an OUT after MOV SS: no #DB");
    dr_reset();

    /* The inhibit covers one instruction boundary: if that instruction
     * faults, the fault is delivered and the retry is a new boundary,
     * so with RF cleared in the #PF frame the breakpoint is taken. */
    rt_set_handler(14, pf_fix_no_rf);
    rt_set_handler(1, db_resume);
    db_count = pf_count = 0;
    set_dr(0, (uint64_t)at_movss_fault);
    set_dr(7, dr7_bp(0, RW_EXEC, 1, false));
    CHECK_EQ(rt_catch(do_movss_fault, (void *)HOLE), -1,
             "breakpoint on a faulting load after MOV SS: completes");
    CHECK_EQ(pf_count, 1, "... after MOV SS: one #PF");
    CHECK_EQ(db_count, 1, "... after MOV SS: the retry, RF clear, takes the #DB");
    CHECK_EQ(db_rip, (uint64_t)at_movss_fault, "... after MOV SS: the #DB's RIP");
    rt_set_handler(14, 0);
    rt_set_handler(1, 0);
    dr_reset();
}

/* Single-step and a data breakpoint by the same instruction: one #DB
 * with BS and Bn (17.2.3). */
static void test_step_and_data(void)
{
    uint8_t *a = (uint8_t *)&data[16];
    set_dr(2, (uint64_t)a);
    set_dr(7, dr7_bp(2, RW_WRITE, 1, false));
    check_db("single-step over a store to a breakpoint", rt_catch(do_tf_store, a), after_tf_store,
             DR6_BS | 4, false);
    CHECK(rt_last.rflags & TF, "single-step and breakpoint: frame TF");
    dr_reset();
}

/* Whether the hypervisor leaf says KVM ("KVMKVMKVM\0\0\0", as hyperkit's
 * kvm engine shows it; the emu engine says "hyperkit"). */
static bool under_kvm(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
    return b == 0x4b4d564b && c == 0x564b4d56 && d == 0x4d;
}

/* I/O breakpoints: R/W 10b with CR4.DE, a trap after IN/OUT (17.2.4).
 * KVM intercepts every IN and OUT, completes it in the kernel or through
 * the VMM and then only skips the instruction, raising no #DB but
 * single-step (Linux arch/x86/kvm/x86.c: kvm_fast_pio,
 * complete_fast_pio_out, kvm_skip_emulated_instruction; its breakpoint
 * checks, kvm_vcpu_check_hw_bp, are for instruction breakpoints only):
 * under KVM an I/O breakpoint is never taken. */
static void test_io(void)
{
    rt_write_cr4(rt_read_cr4() | CR4_DE);
    set_dr(3, 0x80);
    set_dr(7, dr7_bp(3, RW_IO, 1, false));
    if (under_kvm())
        CHECK_EQ(rt_catch(do_outb, 0), -1, "OUT to an I/O breakpoint under KVM: no #DB (KVM)");
    else
        check_db("OUT to an I/O breakpoint", rt_catch(do_outb, 0), after_outb, 8, false);
    dr_reset();
    rt_write_cr4(rt_read_cr4() & ~CR4_DE);
}

void test_main(void)
{
    *rt_pte(HOLE) &= ~PTE_P;
    rt_flush_tlb();
    test_registers();
    test_general_detect();
    test_instruction_breakpoints();
    test_data_breakpoints();
    test_top_of_address_space();
    test_rep();
    test_mov_ss();
    test_step_and_data();
    test_io();
    rt_reset_paging();
}
