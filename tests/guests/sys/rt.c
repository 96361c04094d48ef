/*
 * The ring-0 test runtime (rt.h): descriptor tables, paging, serial
 * reporting and exception catching for the sys_*.c test guests.
 */
#include "rt.h"

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4
#define POOL_PAGES 96

struct rt_jmp {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip, rflags;
};
int rt_setjmp(struct rt_jmp *j);
_Noreturn void rt_longjmp(struct rt_jmp *j, int v);
void rt_enter_user(uint64_t rip, uint64_t rsp, uint64_t cs, uint64_t rflags, uint64_t arg);
extern char rt_stubs[], rt_user_return64[], rt_user_return32[];

uint8_t rt_kstack[16384] __attribute__((aligned(16))); /* _start's stack */
static uint8_t rt_tss_stack[16384] __attribute__((aligned(16)));
static uint8_t rt_ist_stack[8192] __attribute__((aligned(16)));
static uint8_t rt_user_stack[16384] __attribute__((aligned(16)));

struct rt_fault rt_last;
uint64_t rt_gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static uint64_t idt[512] __attribute__((aligned(16)));
static rt_handler handlers[256];

/* The 64-bit TSS: 104 bytes, then the I/O bitmap and its all-ones byte. */
static struct {
    uint8_t tss[104];
    uint8_t iomap[8192 + 1];
} __attribute__((aligned(16))) tss;
static bool tss_iomap;

/* The identity map lives outside the pool so rt_reset_paging can rewrite it
 * in place while it is the live CR3. */
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned pool_used;

static struct rt_jmp catch_ctx;
static bool catch_armed;
static unsigned passed, failed;

void *memset(void *d, int c, size_t n)
{
    uint8_t *p = d;
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

/* ---- serial output ---- */

void rt_putc(char c)
{
    while (!(rt_inb(COM1 + 5) & 0x20))
        ;
    rt_outb(COM1, (uint8_t)c);
}

static void put_num(uint64_t v, unsigned base, int width, char pad, bool neg)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        buf[n++] = '-';
    for (int i = n; i < width; i++)
        rt_putc(pad);
    while (n)
        rt_putc(buf[--n]);
}

/* %s %c %d %u %x %p, with l/ll and a 0-padded width: enough for reports. */
void rt_vprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            rt_putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0')
            pad = '0';
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')
            lng++, fmt++;
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s)
                rt_putc(*s++);
            break;
        }
        case 'c':
            rt_putc((char)va_arg(ap, int));
            break;
        case 'd': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_num(v < 0 ? -(uint64_t)v : (uint64_t)v, 10, width, pad, v < 0);
            break;
        }
        case 'u':
            put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, false);
            break;
        case 'x':
            put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, false);
            break;
        case 'p':
            put_num((uint64_t)va_arg(ap, void *), 16, 16, '0', false);
            break;
        default:
            rt_putc('%');
            rt_putc(*fmt);
        }
    }
}

void rt_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_vprintf(fmt, ap);
    va_end(ap);
}

static void report(bool ok, const char *fmt, va_list ap)
{
    rt_printf(ok ? "PASS: " : "FAIL: ");
    rt_vprintf(fmt, ap);
    if (ok)
        passed++;
    else
        failed++;
}

void rt_check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(ok, fmt, ap);
    va_end(ap);
    rt_putc('\n');
}

void rt_check_eq(uint64_t got, uint64_t want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(got == want, fmt, ap);
    va_end(ap);
    if (got != want)
        rt_printf(" (got %lx, want %lx)", got, want);
    rt_putc('\n');
}

void rt_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_printf("note: ");
    rt_vprintf(fmt, ap);
    va_end(ap);
    rt_putc('\n');
}

/* Ends the VM through the debug-exit port: status 1 all passed, 3 not. */
_Noreturn void rt_exit(void)
{
    rt_printf("DONE: %u passed, %u failed\n", passed, failed);
    rt_outb(DEBUG_EXIT, failed ? 1 : 0);
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---- control registers and MSRs ---- */

uint64_t rt_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

void rt_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

uint64_t rt_read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
uint64_t rt_read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
uint64_t rt_read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
void rt_write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
void rt_write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
void rt_write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

/* ---- descriptor tables ---- */

struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint64_t base;
};

uint64_t rt_stub(int vector) { return (uint64_t)rt_stubs + 16ull * (unsigned)vector; }

void rt_set_gate(int vector, unsigned dpl, unsigned ist, unsigned type)
{
    uint64_t off = rt_stub(vector);
    idt[2 * vector] = (off & 0xffff) | (uint64_t)SEL_KCODE << 16 | (uint64_t)(ist & 7) << 32 |
                      (uint64_t)(0x80 | (dpl & 3) << 5 | (type & 0xf)) << 40 |
                      (off >> 16 & 0xffff) << 48;
    idt[2 * vector + 1] = off >> 32;
}

void rt_set_handler(int vector, rt_handler h) { handlers[vector & 0xff] = h; }

uint64_t *rt_tss_base(void) { return (uint64_t *)tss.tss; }
uint8_t *rt_tss_iomap(void) { return tss.iomap; }

void rt_load_tr(void)
{
    rt_gdt[SEL_TSS / 8] &= ~(0x2ull << 40); /* busy -> available */
    __asm__ volatile("ltr %w0" ::"r"(SEL_TSS));
}

void rt_tss_set_iomap(bool with_iomap)
{
    uint64_t base = (uint64_t)&tss;
    uint32_t limit = with_iomap ? sizeof(tss) - 1 : 103;
    tss_iomap = with_iomap;
    rt_gdt[SEL_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
                          (uint64_t)(limit >> 16 & 0xf) << 48 | (base >> 24 & 0xff) << 56;
    rt_gdt[SEL_TSS / 8 + 1] = base >> 32;
    rt_load_tr();
}

static void setup_tables(void)
{
    rt_gdt[1] = 0x00af9b000000ffffull; /* 0x08 kernel code64 */
    rt_gdt[2] = 0x00cf93000000ffffull; /* 0x10 kernel data */
    rt_gdt[3] = 0x00cf9b000000ffffull; /* 0x18 kernel code32 */
    rt_gdt[4] = 0x00cffb000000ffffull; /* 0x23 user code32 */
    rt_gdt[5] = 0x00cff3000000ffffull; /* 0x2b user data */
    rt_gdt[6] = 0x00affb000000ffffull; /* 0x33 user code64 */
    struct dtr g = {sizeof(rt_gdt) - 1, (uint64_t)rt_gdt};
    __asm__ volatile("lgdt %0\n"
                     "mov $0x10, %%ax\n mov %%ax, %%ds\n mov %%ax, %%es\n mov %%ax, %%ss\n"
                     "xor %%eax, %%eax\n mov %%ax, %%fs\n mov %%ax, %%gs\n"
                     "pushq $0x08\n lea 1f(%%rip), %%rax\n push %%rax\n lretq\n1:" ::"m"(g)
                     : "rax", "memory");
    /* TSS: RSP0 for traps from CPL 3, IST1 for #DF and NMI; no I/O bitmap. */
    memset(tss.iomap, 0xff, sizeof(tss.iomap));
    uint64_t rsp0 = (uint64_t)(rt_tss_stack + sizeof(rt_tss_stack));
    uint64_t ist1 = (uint64_t)(rt_ist_stack + sizeof(rt_ist_stack));
    memcpy(tss.tss + 4, &rsp0, 8);
    memcpy(tss.tss + 36, &ist1, 8);
    uint16_t iomap_base = 104;
    memcpy(tss.tss + 102, &iomap_base, 2);
    rt_tss_set_iomap(false);
    for (int v = 0; v < 256; v++)
        rt_set_gate(v, 0, 0, 0xe);
    rt_set_gate(2, 0, 1, 0xe);
    rt_set_gate(8, 0, 1, 0xe);
    rt_set_gate(3, 3, 0, 0xe);  /* INT3 and INTO from user code */
    rt_set_gate(4, 3, 0, 0xe);
    rt_set_gate(VEC_USER_DONE, 3, 0, 0xe);
    struct dtr i = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" ::"m"(i));
}

/* ---- paging ---- */

void *rt_alloc_page(void)
{
    if (pool_used == POOL_PAGES) {
        rt_check(false, "rt: page-table pool exhausted");
        rt_exit();
    }
    uint64_t *p = pool[pool_used++];
    memset(p, 0, 4096);
    return p;
}

uint64_t *rt_pml4(void) { return pml4; }
void rt_flush_tlb(void) { rt_write_cr3(rt_read_cr3()); }

static uint64_t *next_table(uint64_t e) { return (uint64_t *)(e & 0x000ffffffffff000ull); }

uint64_t *rt_pml4e(uint64_t va) { return &pml4[va >> 39 & 511]; }
uint64_t *rt_pdpte(uint64_t va) { return &next_table(*rt_pml4e(va))[va >> 30 & 511]; }
uint64_t *rt_pde(uint64_t va) { return &next_table(*rt_pdpte(va))[va >> 21 & 511]; }

uint64_t *rt_pte(uint64_t va)
{
    uint64_t *pde = rt_pde(va);
    if (*pde & PTE_PS) {
        uint64_t *pt = rt_alloc_page();
        uint64_t base = *pde & 0x000fffffffe00000ull;
        uint64_t flags = *pde & (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_XD);
        for (int i = 0; i < 512; i++)
            pt[i] = (base + 4096ull * i) | flags;
        *pde = (uint64_t)pt | PTE_P | PTE_RW | PTE_US;
        rt_flush_tlb();
    }
    return &next_table(*pde)[va >> 12 & 511];
}

/* The table entry e points at, made (empty) first when e is not present. */
static uint64_t *table_at(uint64_t *e)
{
    if (!(*e & PTE_P))
        *e = (uint64_t)rt_alloc_page() | PTE_P | PTE_RW | PTE_US;
    return next_table(*e);
}

void rt_map_page(uint64_t va, uint64_t pa, uint64_t flags)
{
    uint64_t *pte;
    if (va < (4ull << 30)) {
        pte = rt_pte(va); /* inside the identity map's 2 MiB pages */
    } else {
        uint64_t *pdpt_ = table_at(rt_pml4e(va));
        uint64_t *pd_ = table_at(&pdpt_[va >> 30 & 511]);
        pte = &table_at(&pd_[va >> 21 & 511])[va >> 12 & 511];
    }
    *pte = (pa & ~0xfffull) | flags | PTE_P;
    rt_flush_tlb();
}

void rt_reset_paging(void)
{
    for (int i = 0; i < 512; i++) {
        pml4[i] = i ? 0 : (uint64_t)pdpt | PTE_P | PTE_RW | PTE_US;
        pdpt[i] = i < 4 ? (uint64_t)pd[i] | PTE_P | PTE_RW | PTE_US : 0;
    }
    for (uint64_t i = 0; i < 4; i++)
        for (uint64_t j = 0; j < 512; j++)
            pd[i][j] = (i << 30 | j << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
    pool_used = 0;
    rt_write_cr3((uint64_t)pml4);
}

/* ---- exceptions ---- */

static bool has_error_code(int v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

void rt_trap(struct rt_frame *f)
{
    int v = (int)f->vector;
    if (handlers[v] && handlers[v](f))
        return;
    rt_last.vector = v;
    rt_last.error = has_error_code(v) ? f->error : 0;
    rt_last.rip = f->rip;
    rt_last.cs = f->cs;
    rt_last.rflags = f->rflags;
    rt_last.rsp = f->rsp;
    rt_last.ss = f->ss;
    __asm__ volatile("mov %%cr2, %0" : "=r"(rt_last.cr2));
    __asm__ volatile("mov %%dr6, %0" : "=r"(rt_last.dr6));
    rt_last.count++;
    if (catch_armed) {
        catch_armed = false;
        rt_longjmp(&catch_ctx, 1);
    }
    rt_check(false, "unexpected exception %d (error %lx) at %lx cs %lx rflags %lx", v,
             rt_last.error, f->rip, f->cs, f->rflags);
    rt_exit();
}

int rt_catch(void (*fn)(void *), void *arg)
{
    rt_last.vector = -1;
    if (rt_setjmp(&catch_ctx)) {
        __asm__ volatile("" ::: "memory");
        return rt_last.vector;
    }
    catch_armed = true;
    fn(arg);
    catch_armed = false;
    return -1;
}

static bool user_done(struct rt_frame *f)
{
    (void)f;
    if (!catch_armed)
        return false;
    catch_armed = false;
    rt_last.vector = -1;
    rt_longjmp(&catch_ctx, 2);
}

int rt_run_user(void (*fn)(void *), void *arg, uint16_t cs, uint64_t rflags)
{
    uint64_t sp = (uint64_t)(rt_user_stack + sizeof(rt_user_stack)) - 64;
    if (cs == SEL_UCODE) {
        sp -= 8;
        *(uint64_t *)sp = (uint64_t)rt_user_return64;
    } else {
        /* 32-bit code: the argument on the stack (cdecl) under a 4-byte return. */
        sp -= 8;
        *(uint32_t *)(sp + 4) = (uint32_t)(uint64_t)arg;
        *(uint32_t *)sp = (uint32_t)(uint64_t)rt_user_return32;
    }
    rt_last.vector = -1;
    int r = rt_setjmp(&catch_ctx);
    if (r) {
        __asm__ volatile("" ::: "memory");
        return r == 2 ? -1 : rt_last.vector;
    }
    catch_armed = true;
    rt_enter_user((uint64_t)fn, sp, cs, rflags | 0x2, (uint64_t)arg);
    return -1; /* not reached */
}

void rt_init(void)
{
    rt_last.vector = -1;
    setup_tables();
    rt_reset_paging();
    rt_set_handler(VEC_USER_DONE, user_done);
}
