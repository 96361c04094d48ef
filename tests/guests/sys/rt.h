/*
 * A small ring-0 runtime for the system-conformance test guests (flat64):
 * our own GDT, TSS (with an I/O bitmap), IDT and page tables, serial
 * output, CHECK() reporting as PASS:/FAIL: lines, and rt_catch() to run a
 * piece of code and learn which exception it raised, with the exact frame
 * the CPU pushed. The Intel SDM is the oracle each test guest is written
 * from; the same binaries run on any engine.
 */
#ifndef SYS_RT_H
#define SYS_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GDT selectors (Linux's layout where it has one). */
#define SEL_KCODE 0x08   /* 64-bit code, DPL 0 */
#define SEL_KDATA 0x10   /* data, DPL 0 */
#define SEL_KCODE32 0x18 /* 32-bit code, DPL 0 (compatibility mode) */
#define SEL_UCODE32 0x23 /* 32-bit code, DPL 3 */
#define SEL_UDATA 0x2b   /* data, DPL 3 */
#define SEL_UCODE 0x33   /* 64-bit code, DPL 3 */
#define SEL_TSS 0x38     /* 16-byte TSS descriptor, 0x38-0x47 */
#define GDT_FREE 9       /* entries 9..GDT_ENTRIES-1 are free for tests */
#define GDT_ENTRIES 32

/* IDT vectors the runtime uses itself. */
#define VEC_USER_DONE 0x81 /* DPL 3 gate: user code finished (rt_run_user) */

/* What the CPU pushed for the last caught exception, and the state with it. */
struct rt_fault {
    int vector;      /* -1: none */
    uint64_t error;  /* 0 for vectors without an error code */
    uint64_t rip, cs, rflags, rsp, ss;
    uint64_t cr2, dr6;
    uint64_t count;  /* exceptions caught since boot */
};

/* The registers an exception stub saves, then the CPU's frame. */
struct rt_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* A handler for one vector: return true to IRET with *f (possibly edited),
 * false to treat the event like an unexpected exception. */
typedef bool (*rt_handler)(struct rt_frame *f);

extern struct rt_fault rt_last;
extern uint64_t rt_gdt[GDT_ENTRIES];

/* Serial output and reporting. */
void rt_putc(char c);
void rt_printf(const char *fmt, ...);
void rt_vprintf(const char *fmt, va_list ap);
void rt_check(bool ok, const char *fmt, ...);
#define CHECK(cond, ...) rt_check((cond), __VA_ARGS__)
/* CHECK_EQ: prints both values when they differ. */
#define CHECK_EQ(got, want, ...) rt_check_eq((uint64_t)(got), (uint64_t)(want), __VA_ARGS__)
void rt_check_eq(uint64_t got, uint64_t want, const char *fmt, ...);
void rt_note(const char *fmt, ...); /* an informational line (not counted) */
_Noreturn void rt_exit(void);       /* prints the summary, ends the VM */

/* Run fn(arg) at CPL 0; returns the vector of the first exception it raised
 * (details in rt_last) or -1 if it returned normally. RFLAGS, segment
 * registers and the callee-saved registers are restored either way. */
int rt_catch(void (*fn)(void *), void *arg);

/* Run fn(arg) at CPL 3 with code selector cs (SEL_UCODE, or SEL_UCODE32 for
 * 32-bit code) and the given RFLAGS; fn may simply return (64-bit) or
 * `ret` (32-bit: the return address pushed is 4 bytes). Returns -1 when it
 * finished, else the vector of the exception that stopped it. */
int rt_run_user(void (*fn)(void *), void *arg, uint16_t cs, uint64_t rflags);

/* Per-vector handlers (replace rt_catch's default for that vector). */
void rt_set_handler(int vector, rt_handler h);
/* The first quadword of the live IDT's gate for vector (bit 47: P). */
static inline uint64_t *rt_idt_gate(int vector)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } d;
    __asm__ volatile("sidt %0" : "=m"(d));
    return (uint64_t *)d.base + 2 * vector;
}
/* IDT gate for vector: DPL and IST (0 = none); type 0xe interrupt, 0xf trap. */
void rt_set_gate(int vector, unsigned dpl, unsigned ist, unsigned type);
/* The stub address for vector, for tests that build their own gates. */
uint64_t rt_stub(int vector);

/* TSS: the I/O permission bitmap (8 KiB + the all-ones byte) is present
 * when with_iomap, else the limit stops at the 104-byte TSS. Reloads TR. */
void rt_tss_set_iomap(bool with_iomap);
uint8_t *rt_tss_iomap(void);
uint64_t *rt_tss_base(void);      /* the 64-bit TSS as 8-byte words */
void rt_load_tr(void);            /* clears the busy bit and runs LTR */

/* Paging (4-level, the low 4 GiB identity-mapped by 2 MiB pages with
 * P|RW|US). Helpers return pointers to live entries; flush after edits. */
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_US 0x4ull
#define PTE_PWT 0x8ull
#define PTE_PCD 0x10ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_PS 0x80ull
#define PTE_G 0x100ull
#define PTE_XD (1ull << 63)
uint64_t *rt_pml4(void);
uint64_t *rt_pml4e(uint64_t va);
uint64_t *rt_pdpte(uint64_t va);
uint64_t *rt_pde(uint64_t va);       /* the 2 MiB entry covering va */
uint64_t *rt_pte(uint64_t va);       /* splits va's 2 MiB page into 4 KiB pages first */
void *rt_alloc_page(void);           /* a zeroed 4 KiB page from a static pool */
/* Map the 4 KiB page at va (any canonical address, e.g. above 4 GiB) to
 * physical pa with flags | P, building missing tables from the pool. */
void rt_map_page(uint64_t va, uint64_t pa, uint64_t flags);
void rt_flush_tlb(void);             /* reloads CR3 */
/* Restore the pristine identity map (and flush): call after editing it. */
void rt_reset_paging(void);

/* Small helpers. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
uint64_t rt_rdmsr(uint32_t msr);
void rt_wrmsr(uint32_t msr, uint64_t v);
uint64_t rt_read_cr0(void), rt_read_cr3(void), rt_read_cr4(void);
void rt_write_cr0(uint64_t v), rt_write_cr3(uint64_t v), rt_write_cr4(uint64_t v);
static inline void rt_outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t rt_inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* The guest's entry point: each sys_*.c test guest defines it. */
void test_main(void);

#endif
