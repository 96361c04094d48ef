/*
 * Descriptor tables above 4 GiB, used from compatibility mode. In IA-32e
 * mode GDTR, LDTR, IDTR and TR hold 64-bit bases, and every access to the
 * tables goes through the full base whatever the code segment's size
 * (SDM Vol. 3A 2.4, 3.5.2, 6.14, 7.7). The GDT, LDT, IDT and TSS here live
 * at 0xfffffe0000001000 and up (where Linux keeps its GDT and TSS), and
 * 32-bit user code (CS 0x23) loads segments through them, takes interrupts
 * and faults, and IRETs back: the IRET reloads SS from the GDT after CS
 * already made the CPU compatibility mode (the Linux oops of issue 8).
 */
#include "rt.h"

#define HIGH 0xfffffe0000000000ull
#define HI_GDT (HIGH + 0x1000)
#define HI_IDT (HIGH + 0x2000)
#define HI_TSS (HIGH + 0x3000)
#define HI_LDT (HIGH + 0x4000)

#define GDT_LIMIT 0x67     /* 13 entries: 0x70 and up are past it */
#define SEL_DATA3_NA 0x4b  /* GDT 9: DPL-3 data, accessed bit clear (RPL 3) */
#define SEL_LDT 0x50       /* GDT 10-11: the 16-byte LDT descriptor */
#define SEL_LDATA 0x0f     /* LDT 1, RPL 3: DPL-3 data, accessed bit clear */
#define VEC_SVC 0x80       /* DPL-3 interrupt gate: the handler IRETs */
#define VEC_IST 0x82       /* DPL-3 gate on IST1 */
#define DATA3_NA 0x00cff2000000ffffull
#define AR_UDATA 0x00c0f300u /* LAR of SEL_UDATA: type 3, S, DPL 3, P, AVL 0, D, G */
#define AR_LDATA 0x00c0f300u /* after the load set the accessed bit */

struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint64_t base;
};

static uint64_t *gdt, *ldt, *idt;
static uint8_t *tss;
static uint64_t svc_cs, svc_ss, svc_frame, ist_frame;

/* A 16-byte system descriptor (LDT type 2, TSS type 9) at e[0..1]. */
static void system_desc(uint64_t *e, uint64_t base, uint32_t limit, unsigned type)
{
    e[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | (uint64_t)(0x80 | type) << 40 |
           (uint64_t)(limit >> 16 & 0xf) << 48 | (base >> 24 & 0xff) << 56;
    e[1] = base >> 32;
}

static uint64_t tss_word(const uint8_t *t, unsigned off)
{
    uint64_t v;
    memcpy(&v, t + off, 8);
    return v;
}

static bool svc_handler(struct rt_frame *f)
{
    svc_cs = f->cs;
    svc_ss = f->ss;
    svc_frame = (uint64_t)f;
    f->rax = 0x5a5a;
    return true;
}

static bool ist_handler(struct rt_frame *f)
{
    ist_frame = (uint64_t)f;
    f->rax = 0x1234;
    return true;
}

/* Copies of the runtime's tables in fresh pages mapped high (supervisor
 * only: table accesses are supervisor accesses at any CPL). */
static void build_tables(void)
{
    struct dtr g, i;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(g), "=m"(i));
    gdt = rt_alloc_page();
    ldt = rt_alloc_page();
    idt = rt_alloc_page();
    tss = rt_alloc_page();
    memcpy(gdt, (void *)g.base, 13 * 8);
    gdt[9] = DATA3_NA;
    system_desc(&gdt[SEL_TSS / 8], HI_TSS, 103, 0x9);
    system_desc(&gdt[SEL_LDT / 8], HI_LDT, 15, 0x2);
    ldt[1] = DATA3_NA;
    rt_set_gate(VEC_SVC, 3, 0, 0xe);
    rt_set_gate(VEC_IST, 3, 1, 0xe);
    rt_set_handler(VEC_SVC, svc_handler);
    rt_set_handler(VEC_IST, ist_handler);
    memcpy(idt, (void *)i.base, 4096);
    memcpy(tss, rt_tss_base(), 104);
    rt_map_page(HI_GDT, (uint64_t)gdt, PTE_RW);
    rt_map_page(HI_LDT, (uint64_t)ldt, PTE_RW);
    rt_map_page(HI_IDT, (uint64_t)idt, PTE_RW);
    rt_map_page(HI_TSS, (uint64_t)tss, PTE_RW);
}

static struct dtr saved_gdtr, saved_idtr;

static void load_high_tables(void)
{
    struct dtr g = {GDT_LIMIT, HI_GDT}, i = {4095, HI_IDT};
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(saved_gdtr), "=m"(saved_idtr));
    __asm__ volatile("lgdt %0; lidt %1; ltr %w2; lldt %w3" ::"m"(g), "m"(i), "r"(SEL_TSS),
                     "r"(SEL_LDT)
                     : "memory");
}

static void restore_tables(void)
{
    __asm__ volatile("lgdt %0; lidt %1; lldt %w2" ::"m"(saved_gdtr), "m"(saved_idtr), "r"(0)
                     : "memory");
    rt_load_tr();
}

/* 32-bit user code, cdecl with a uint32_t out[8] argument. Each step
 * leaves its result in out[]; a fault stops it where it is. */
__asm__(".code32\n"
        "user32_tables:\n"
        "  push %ebx\n"
        "  mov 8(%esp), %ebx\n"
        "  mov $0x2b, %eax\n"              /* DS from the GDT */
        "  mov %ax, %ds\n"
        "  movl $1, 0(%ebx)\n"
        "  mov $0x2b, %ecx\n"              /* LAR reads the GDT too */
        "  lar %ecx, %eax\n"
        "  mov %eax, 4(%ebx)\n"
        "  mov $0x4b, %eax\n"              /* FS: the accessed bit gets written */
        "  mov %ax, %fs\n"
        "  movl $1, 8(%ebx)\n"
        "  mov $0x0f, %eax\n"              /* GS from the LDT */
        "  mov %ax, %gs\n"
        "  mov $0x0f, %ecx\n"
        "  lar %ecx, %eax\n"
        "  mov %eax, 12(%ebx)\n"
        "  xor %eax, %eax\n"               /* through the IDT, RSP0 from the TSS, */
        "  int $0x80\n"                    /* IRETQ back: SS from the GDT */
        "  mov %eax, 16(%ebx)\n"
        "  mov %ss, %eax\n"
        "  mov %eax, 20(%ebx)\n"
        "  xor %eax, %eax\n"               /* IST1 from the TSS */
        "  int $0x82\n"
        "  mov %eax, 24(%ebx)\n"
        "  pop %ebx\n"
        "  ret\n"
        "user32_ud:\n"
        "  ud2\n"
        "user32_load:\n"                   /* load DS with the selector argument */
        "  mov 4(%esp), %eax\n"
        "  mov %ax, %ds\n"
        "  ret\n"
        "user32_int3:\n"
        "  int3\n"
        "  ret\n"
        ".code64\n");
extern char user32_tables[], user32_ud[], user32_load[], user32_int3[];

static int run32(char *code, uint64_t arg)
{
    return rt_run_user((void (*)(void *))code, (void *)arg, SEL_UCODE32, 0);
}

static void check_user_steps(void)
{
    static uint32_t out[8];
    memset(out, 0xee, sizeof(out));
    CHECK_EQ(run32(user32_tables, (uint64_t)out), -1, "desc: 32-bit code runs through tables above 4 GiB");
    CHECK_EQ(out[0], 1, "desc: MOV DS in compatibility mode reads the GDT at its full base");
    CHECK_EQ(out[1], AR_UDATA, "desc: LAR in compatibility mode reads the GDT at its full base");
    CHECK_EQ(out[2], 1, "desc: MOV FS of a not-accessed descriptor loads");
    CHECK_EQ(gdt[9], DATA3_NA | 1ull << 40, "desc: ... and sets the accessed bit in the high GDT");
    CHECK_EQ(out[3], AR_LDATA, "desc: MOV GS and LAR read the LDT at its full base");
    CHECK_EQ(ldt[1], DATA3_NA | 1ull << 40, "desc: ... and set the accessed bit in the high LDT");
    CHECK_EQ(out[4], 0x5a5a, "desc: INT 80h from compatibility mode returns through IRETQ");
    CHECK_EQ(svc_cs, SEL_UCODE32, "desc: INT 80h frame holds CS 0x23");
    CHECK_EQ(svc_ss, SEL_UDATA, "desc: INT 80h frame holds SS 0x2b");
    uint64_t rsp0 = tss_word(tss, 4), ist1 = tss_word(tss, 36);
    CHECK(svc_frame < rsp0 && svc_frame > rsp0 - 512, "desc: INT 80h ran on RSP0 of the high TSS");
    CHECK_EQ(out[5], SEL_UDATA, "desc: SS after IRETQ to compatibility mode is 0x2b");
    CHECK_EQ(out[6], 0x1234, "desc: INT 82h on IST1 returns");
    CHECK(ist_frame < ist1 && ist_frame > ist1 - 512, "desc: INT 82h ran on IST1 of the high TSS");
}

static void check_user_faults(void)
{
    CHECK_EQ(run32(user32_ud, 0), 6, "desc: UD2 in compatibility mode: #UD through the high IDT");
    CHECK_EQ(rt_last.rip, (uint64_t)user32_ud, "desc: #UD frame RIP at the UD2");
    CHECK_EQ(rt_last.cs, SEL_UCODE32, "desc: #UD frame CS 0x23");
    CHECK_EQ(rt_last.ss, SEL_UDATA, "desc: #UD frame SS 0x2b");
    CHECK_EQ(run32(user32_int3, 0), 3, "desc: INT3 in compatibility mode: #BP");
    CHECK_EQ(rt_last.rip, (uint64_t)user32_int3 + 1, "desc: #BP frame RIP after INT3");
    CHECK_EQ(run32(user32_load, SEL_KDATA), 13, "desc: DS = DPL-0 data at CPL 3: #GP");
    CHECK_EQ(rt_last.error, SEL_KDATA, "desc: error code is the selector");
    CHECK_EQ(run32(user32_load, 0x73), 13, "desc: DS past the high GDT's limit: #GP");
    CHECK_EQ(rt_last.error, 0x70, "desc: error code is the selector");
    CHECK_EQ(run32(user32_load, 0x1f), 13, "desc: DS past the LDT's limit: #GP");
    CHECK_EQ(rt_last.error, 0x1c, "desc: error code is the selector with TI");
}

void test_main(void)
{
    build_tables();
    load_high_tables();
    uint16_t tr;
    __asm__ volatile("str %0" : "=r"(tr));
    CHECK_EQ(tr, SEL_TSS, "desc: LTR through the high GDT");
    CHECK_EQ(gdt[SEL_TSS / 8] >> 40 & 0xf, 0xb, "desc: LTR set the busy bit in the high GDT");
    check_user_steps();
    check_user_faults();
    restore_tables();
    rt_reset_paging();
}
