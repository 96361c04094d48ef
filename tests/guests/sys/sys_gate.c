/*
 * IA-32e interrupt gates and IRET, the corners that differ from legacy
 * protected mode:
 * - IRET with RFLAGS.NT=1 is #GP(0): there is no task return in IA-32e
 *   mode (SDM Vol. 2A "IRET" operation; Vol. 3A 7.7), checked before
 *   anything is popped.
 * - An interrupt or trap gate whose target code segment is conforming runs
 *   the handler at the current privilege level, on the current stack; only
 *   a non-conforming segment of DPL < CPL switches to the TSS stack. The
 *   target's DPL must still be <= CPL (SDM Vol. 3A 6.12.1.1, 6.14; "INT n"
 *   operation: "IF new code-segment DPL > CPL THEN #GP(selector)").
 */
#include "rt.h"

#define SEL_CONF0 (GDT_FREE * 8)       /* 64-bit conforming code, DPL 0 */
#define SEL_CONF3 ((GDT_FREE + 1) * 8) /* 64-bit conforming code, DPL 3 */
#define CONF0 0x00af9e000000ffffull    /* P, DPL 0, S, type 1110 (code, C, R), L, G */
#define CONF3 0x00affe000000ffffull    /* the same with DPL 3 */
#define VEC_CONF0_INT 0x90             /* DPL-3 interrupt gate to SEL_CONF0 */
#define VEC_CONF0_TRAP 0x91            /* DPL-3 trap gate to SEL_CONF0 */
#define VEC_CONF3 0x92                 /* DPL-3 interrupt gate to SEL_CONF3 */
#define RFLAGS_NT 0x4000ull

struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint64_t base;
};

/* What conf_handler saw: its RSP on entry, CS and SS, and the 5-word frame. */
volatile uint64_t conf_rsp, conf_cs, conf_ss, conf_frame[5];
/* Where the INT n ran: RSP before it and the address after it. */
volatile uint64_t int_rsp, int_ret;

void conf_handler(void);
void iret_nt_probe(uint64_t out[2]);
void int_conf0_int(void *arg), int_conf0_trap(void *arg), int_conf3(void *arg);

/* conf_handler may run at CPL 3: it writes only globals (the identity map
 * is user-accessible) and IRETs. iret_nt_probe builds an IRETQ frame back
 * to itself, sets NT and runs IRETQ: out[0] = RSP at the IRETQ, out[1] its
 * address. The int_* stubs record RSP and the return address of an INT n. */
__asm__(".text\n"
        ".globl conf_handler\n"
        "conf_handler:\n"
        "  mov %rsp, conf_rsp(%rip)\n"
        "  push %rax\n"
        "  mov %cs, %eax\n  mov %rax, conf_cs(%rip)\n"
        "  mov %ss, %eax\n  mov %rax, conf_ss(%rip)\n"
        "  mov 8(%rsp), %rax\n  mov %rax, conf_frame(%rip)\n"
        "  mov 16(%rsp), %rax\n  mov %rax, conf_frame+8(%rip)\n"
        "  mov 24(%rsp), %rax\n  mov %rax, conf_frame+16(%rip)\n"
        "  mov 32(%rsp), %rax\n  mov %rax, conf_frame+24(%rip)\n"
        "  mov 40(%rsp), %rax\n  mov %rax, conf_frame+32(%rip)\n"
        "  pop %rax\n"
        "  iretq\n"
        ".globl iret_nt_probe\n"
        "iret_nt_probe:\n"
        "  mov %ss, %eax\n  push %rax\n"
        "  lea 8(%rsp), %rax\n  push %rax\n"
        "  pushfq\n"
        "  mov %cs, %eax\n  push %rax\n"
        "  lea 1f(%rip), %rax\n  push %rax\n"
        "  mov %rsp, (%rdi)\n"
        "  lea 2f(%rip), %rax\n  mov %rax, 8(%rdi)\n"
        "  pushfq\n  orq $0x4000, (%rsp)\n  popfq\n"
        "2: iretq\n"
        "1: ret\n"
        ".macro int_stub name, vec\n"
        ".globl \\name\n"
        "\\name:\n"
        "  mov %rsp, int_rsp(%rip)\n"
        "  int $\\vec\n"
        "3: lea 3b(%rip), %rax\n  mov %rax, int_ret(%rip)\n"
        "  ret\n"
        ".endm\n"
        "int_stub int_conf0_int, 0x90\n"
        "int_stub int_conf0_trap, 0x91\n"
        "int_stub int_conf3, 0x92\n");

static void set_gate(int vector, uint16_t sel, unsigned type)
{
    struct dtr i;
    __asm__ volatile("sidt %0" : "=m"(i));
    uint64_t *idt = (uint64_t *)i.base, off = (uint64_t)conf_handler;
    idt[2 * vector] = (off & 0xffff) | (uint64_t)sel << 16 | (uint64_t)(0xe0 | type) << 40 |
                      (off >> 16 & 0xffff) << 48;
    idt[2 * vector + 1] = off >> 32;
}

static void run_iret_nt(void *arg) { iret_nt_probe(arg); }

/* IRETQ with NT=1 at CPL 0 and at CPL 3: #GP(0) at the IRETQ, RSP still
 * at the frame (nothing popped), the pushed RFLAGS with NT set. */
static void check_iret_nt(void)
{
    uint64_t out[2] = {0, 0};
    int v = rt_catch(run_iret_nt, out);
    CHECK_EQ(v, 13, "gate: IRETQ with NT=1 at CPL 0: #GP");
    CHECK_EQ(rt_last.error, 0, "gate: ... error code 0");
    CHECK_EQ(rt_last.rip, out[1], "gate: ... at the IRETQ");
    CHECK_EQ(rt_last.rsp, out[0], "gate: ... nothing popped");
    CHECK(rt_last.rflags & RFLAGS_NT, "gate: ... the pushed RFLAGS has NT");
    out[0] = out[1] = 0;
    v = rt_run_user(run_iret_nt, out, SEL_UCODE, 0);
    CHECK_EQ(v, 13, "gate: IRETQ with NT=1 at CPL 3: #GP");
    CHECK_EQ(rt_last.error, 0, "gate: ... (CPL 3) error code 0");
    CHECK_EQ(rt_last.rip, out[1], "gate: ... (CPL 3) at the IRETQ");
    CHECK_EQ(rt_last.rsp, out[0], "gate: ... (CPL 3) nothing popped");
    CHECK_EQ(rt_last.cs, SEL_UCODE, "gate: ... (CPL 3) from user code");
}

/* INT n from CPL 3 through a DPL-3 gate into conforming DPL-0 code: the
 * handler runs at CPL 3 (CS.RPL = CPL), SS unchanged, on the user stack
 * (aligned to 16 bytes, SDM 6.14.2), and the frame is the usual 5 words. */
static void check_conforming_user(void (*stub)(void *), const char *kind)
{
    conf_cs = conf_ss = conf_rsp = 0;
    int v = rt_run_user(stub, NULL, SEL_UCODE, 0);
    CHECK_EQ(v, -1, "gate: %s gate to conforming DPL-0 code from CPL 3: returns", kind);
    CHECK_EQ(conf_cs, SEL_CONF0 | 3, "gate: %s: the handler runs at CPL 3", kind);
    CHECK_EQ(conf_ss, SEL_UDATA, "gate: %s: SS unchanged", kind);
    CHECK_EQ(conf_rsp, (int_rsp & ~0xfull) - 40, "gate: %s: on the user stack", kind);
    CHECK_EQ(conf_frame[0], int_ret, "gate: %s: frame RIP", kind);
    CHECK_EQ(conf_frame[1], SEL_UCODE, "gate: %s: frame CS", kind);
    CHECK_EQ(conf_frame[3], int_rsp, "gate: %s: frame RSP", kind);
    CHECK_EQ(conf_frame[4], SEL_UDATA, "gate: %s: frame SS", kind);
}

static void run_stub(void *arg) { ((void (*)(void *))arg)(NULL); }

static void check_conforming(void)
{
    rt_gdt[GDT_FREE] = CONF0;
    rt_gdt[GDT_FREE + 1] = CONF3;
    set_gate(VEC_CONF0_INT, SEL_CONF0, 0xe);
    set_gate(VEC_CONF0_TRAP, SEL_CONF0, 0xf);
    set_gate(VEC_CONF3, SEL_CONF3, 0xe);
    check_conforming_user(int_conf0_int, "interrupt");
    check_conforming_user(int_conf0_trap, "trap");

    /* From CPL 0 the same gate runs the handler at CPL 0 on this stack. */
    conf_cs = 0;
    int v = rt_catch(run_stub, (void *)int_conf0_int);
    CHECK_EQ(v, -1, "gate: conforming DPL-0 code from CPL 0: returns");
    CHECK_EQ(conf_cs, SEL_CONF0, "gate: ... the handler runs at CPL 0");
    CHECK_EQ(conf_rsp, (int_rsp & ~0xfull) - 40, "gate: ... on the same stack");

    /* Conforming DPL 3 > CPL 0: #GP(selector), even though conforming. */
    v = rt_catch(run_stub, (void *)int_conf3);
    CHECK_EQ(v, 13, "gate: conforming DPL-3 code from CPL 0: #GP");
    CHECK_EQ(rt_last.error, SEL_CONF3, "gate: ... error code the selector");
    /* ... and from CPL 3 it is allowed, at CPL 3. */
    conf_cs = 0;
    v = rt_run_user(int_conf3, NULL, SEL_UCODE, 0);
    CHECK_EQ(v, -1, "gate: conforming DPL-3 code from CPL 3: returns");
    CHECK_EQ(conf_cs, SEL_CONF3 | 3, "gate: ... the handler runs at CPL 3");
    rt_gdt[GDT_FREE] = rt_gdt[GDT_FREE + 1] = 0;
}

void test_main(void)
{
    check_iret_nt();
    check_conforming();
}
