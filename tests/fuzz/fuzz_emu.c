/*
 * libFuzzer target for the emu CPU: decoder, executors, MMU, exception
 * delivery and the run loop. Arbitrary bytes must decode, execute or
 * fault, never crash, hang, or touch host memory outside guest RAM (which
 * sits between PROT_NONE guard pages; ASan and UBSan watch the rest).
 *
 * An input is a 24-byte header (struct fz_hdr: mode, CPL, register values,
 * what the devices answer) and then code, placed at RIP (and a copy in the
 * data page). Guest RAM is 4 MiB with page tables for every paging mode, a
 * GDT with kernel and user segments, an LDT, a TSS and an IDT whose gates
 * lead to a HLT stub or into the code. The code runs until HLT, a triple
 * fault, or its budget (FZ_MAX_EXITS exits or FZ_MAX_STEPS instructions,
 * and FZ_BUDGET_MS of CPU time, after which the vCPU is kicked as the
 * VMM would). Port I/O and MMIO exits are answered from the header and the
 * instruction resumed, which replays the access log in mmu.c.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>

#include "accel/emu/emu.h"
#include "accel/emu/jit/jit.h"
#include "core/vm.h"

#define FZ_RAM (4ull << 20)
#define FZ_HDR 24
#define FZ_MAX_CODE 4096
#define FZ_MAX_EXITS 256
#define FZ_MAX_STEPS 4096
#define FZ_BUDGET_MS 10

/* Guest-physical layout. */
#define G_PML4 0x1000ull
#define G_PDPT 0x2000ull
#define G_PD 0x3000ull
#define G_PT 0x4000ull       /* 4 KiB pages for 0-2 MiB: long mode and PAE */
#define G_GDT 0x5000ull
#define G_LDT 0x5800ull
#define G_IDT 0x6000ull
#define G_TSS 0x7000ull
#define G_PD32 0x8000ull     /* 32-bit paging */
#define G_PT32 0x9000ull
#define G_PAE_PDPT 0xa000ull
#define G_PAE_PD 0xb000ull
#define G_PAE_PD3 0xc000ull  /* 3-4 GiB: MMIO */
#define G_STUB 0xf000ull     /* HLT */
#define G_CODE 0x10000ull
#define G_DATA 0x20000ull
#define G_NX 0x3d000ull
#define G_SUPER 0x3e000ull   /* supervisor-only */
#define G_RO 0x3f000ull      /* read-only */
#define G_STACK 0x80000ull
#define G_IST 0x8f000ull
#define G_STACK0 0x9f000ull
#define G_MMIO 0xc0000000ull

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define PS 0x80ull
#define NX (1ull << 63)

/* GDT selectors. */
#define SEL_KCODE64 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE32 0x18
#define SEL_UDATA 0x20
#define SEL_UCODE64 0x28
#define SEL_TSS 0x30
#define SEL_KCODE32 0x40
#define SEL_KCODE16 0x48
#define SEL_KDATA16 0x50
#define SEL_LDT 0x58

struct fz_hdr {
    uint8_t mode;       /* b0-1: 64, 64, compat, legacy 32; b2: CPL 3; b3: step driver;
                         * b4: real mode; b5: IST for #DF/#PF; b6: gates DPL 0; b7: no IDT */
    uint8_t cfg;        /* b0: no CR0.WP; b1: CR0.TS; b2: CR0.EM; b3: no OSFXSR; b4: no NXE;
                         * b5: trace to /dev/null; b6: ignore bad MSRs; b7: CR0.AM */
    uint8_t regsel[8];  /* a nibble per GPR: which value (fz_reg_value) */
    uint8_t rflags;     /* b0: IF; b1: DF; b2: TF; b3: AC; b4-5: IOPL */
    uint8_t handler;    /* exception handlers: 0 = the HLT stub, else code + 4 * n */
    uint8_t irq_vector; /* 0: no interrupts, else offered every irq_period checks */
    uint8_t irq_period; /* b0-2: the period; b7: NMIs too */
    uint8_t data[8];    /* device answers, and the arbitrary register value */
    uint8_t paging;     /* legacy mode: 0 off, 1 32-bit with PSE, 2-3 PAE */
    uint8_t spare;
};

struct fz {
    struct fz_hdr h;
    struct guest_mem mem;
    uint8_t *ram;
    struct vm *vm;
    struct emu_vm evm;
    struct emu_cpu cpu;
    FILE *devnull;
    unsigned answers, irq_checks, nmi_checks;
    uint32_t tpr;        /* what CR8 writes and reads */
    bool verbose;        /* FUZZ_EMU_VERBOSE set: one line per input */
};

_Static_assert(sizeof(struct fz_hdr) == FZ_HDR, "header layout");

static struct fz *fz;
static volatile sig_atomic_t fz_timeup;

static void fz_fail(const char *why)
{
    fprintf(stderr, "fuzz_emu: %s (rip %#llx, mode %d, cpl %d)\n", why,
            (unsigned long long)fz->cpu.rip, fz->cpu.mode, fz->cpu.cpl);
    abort();
}

/* The budget ran out: kick the vCPU, as the VMM's timer would. */
static void on_timer(int sig)
{
    (void)sig;
    fz_timeup = 1;
    atomic_fetch_or_explicit(&fz->cpu.events, EMU_EV_KICK, memory_order_release);
}

static void arm_timer(long ms)
{
    struct itimerval t = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_VIRTUAL, &t, NULL);
}

/* --- The interrupt controller and MSR hooks ------------------------------ */

static int irq_pending(void *opaque, uint64_t now_ns)
{
    struct fz *f = opaque;
    (void)now_ns;
    if (!f->h.irq_vector || ++f->irq_checks % (f->h.irq_period % 8 + 1))
        return -1;
    return f->h.irq_vector;
}

static void irq_accept(void *opaque, int vector)
{
    (void)opaque;
    if (vector < 0 || vector > 255)
        fz_fail("accepted a vector out of range");
}

static uint64_t answer(struct fz *f)
{
    uint64_t v;
    memcpy(&v, f->h.data, 8);
    unsigned r = (f->answers++ * 8) & 63;
    return r ? (v >> r) | (v << (64 - r)) : v;
}

/* The x2APIC range is the hook's; everything else falls through to emu. */
static int irq_msr_read(void *opaque, uint32_t index, uint64_t *value)
{
    if (index < 0x800 || index > 0x8ff)
        return 1;
    *value = answer(opaque);
    return (index & 0xf) == 0xf ? -1 : 0;
}

static int irq_msr_write(void *opaque, uint32_t index, uint64_t value)
{
    (void)opaque;
    (void)value;
    if (index < 0x800 || index > 0x8ff)
        return 1;
    return (index & 0xf) == 0xf ? -1 : 0;
}

/* An NMI every third time the engine may take one. */
static bool irq_nmi(void *opaque)
{
    struct fz *f = opaque;
    return (f->h.irq_period & 0x80) && ++f->nmi_checks % 3 == 0;
}

static uint32_t irq_tpr_read(void *opaque)
{
    return ((struct fz *)opaque)->tpr;
}

static void irq_tpr_write(void *opaque, uint32_t tpr)
{
    if (tpr > 0xf0 || (tpr & 0xf))
        fz_fail("CR8 wrote a TPR CR8 cannot hold");
    ((struct fz *)opaque)->tpr = tpr;
}

static const struct accel_irq_ops irq_ops = {
    .pending = irq_pending,
    .accept = irq_accept,
    .msr_read = irq_msr_read,
    .msr_write = irq_msr_write,
    .nmi = irq_nmi,
    .tpr_read = irq_tpr_read,
    .tpr_write = irq_tpr_write,
};

/* --- Building the machine ------------------------------------------------- */

static void put64(struct fz *f, uint64_t gpa, uint64_t v)
{
    memcpy(f->ram + gpa, &v, 8);
}

static void put32(struct fz *f, uint64_t gpa, uint32_t v)
{
    memcpy(f->ram + gpa, &v, 4);
}

/* Identity maps of 0-4 MiB and of the 3-4 GiB MMIO hole, in every paging
 * format, with an unmapped page 0 and NX, supervisor and read-only pages. */
static void build_page_tables(struct fz *f)
{
    put64(f, G_PML4, G_PDPT | P | RW | US);
    put64(f, G_PML4 + 511 * 8, G_PDPT | P | RW | US); /* the same at the top */
    put64(f, G_PDPT, G_PD | P | RW | US);
    put64(f, G_PDPT + 8, 0 | PS | P | RW | US);       /* 1 GiB alias of RAM */
    put64(f, G_PDPT + 24, G_MMIO | PS | P | RW | US);
    put64(f, G_PD, G_PT | P | RW | US);
    put64(f, G_PD + 8, 0x200000 | PS | P | RW | US);
    for (uint64_t i = 1; i < 512; i++) {
        uint64_t pte = (i << 12) | P | RW | US;
        if (i << 12 == G_NX)
            pte |= NX;
        else if (i << 12 == G_SUPER)
            pte &= ~US;
        else if (i << 12 == G_RO)
            pte &= ~RW;
        put64(f, G_PT + i * 8, pte);
    }
    put64(f, G_PAE_PDPT, G_PAE_PD | P);
    put64(f, G_PAE_PDPT + 24, G_PAE_PD3 | P);
    put64(f, G_PAE_PD, G_PT | P | RW | US);
    put64(f, G_PAE_PD + 8, 0x200000 | PS | P | RW | US);
    put64(f, G_PAE_PD3, G_MMIO | PS | P | RW | US);
    put32(f, G_PD32, (uint32_t)(G_PT32 | P | RW | US));
    put32(f, G_PD32 + 4, (uint32_t)(0x400000 | PS | P | RW | US)); /* past RAM: MMIO */
    put32(f, G_PD32 + 768 * 4, (uint32_t)(G_MMIO | PS | P | RW | US));
    for (uint32_t i = 1; i < 1024; i++) {
        uint32_t pte = (i << 12) | P | RW | US;
        if (i << 12 == G_SUPER)
            pte &= ~(uint32_t)US;
        else if (i << 12 == G_RO)
            pte &= ~(uint32_t)RW;
        put32(f, G_PT32 + i * 4, pte);
    }
}

static void build_gdt(struct fz *f)
{
    static const uint64_t gdt[] = {
        0,
        0x00af9b000000ffffull, /* 0x08 kernel code 64 */
        0x00cf93000000ffffull, /* 0x10 kernel data */
        0x00cffb000000ffffull, /* 0x18 user code 32 */
        0x00cff3000000ffffull, /* 0x20 user data */
        0x00affb000000ffffull, /* 0x28 user code 64 */
        0x00008b0070000067ull, /* 0x30 TSS at G_TSS, busy */
        0,                     /*      its upper half in long mode */
        0x00cf9b000000ffffull, /* 0x40 kernel code 32 */
        0x00009b000000ffffull, /* 0x48 kernel code 16 */
        0x000093000000ffffull, /* 0x50 kernel data 16 */
        0x000082005800001full, /* 0x58 LDT at G_LDT */
        0,
        0x00cff2000000ffffull, /* 0x68 user data, not accessed */
        0x00cf1b000000ffffull, /* 0x70 kernel code 32, not present */
    };
    memcpy(f->ram + G_GDT, gdt, sizeof(gdt));
    static const uint64_t ldt[] = {0x00cff3000000ffffull, 0x00cffb000000ffffull,
                                   0x00affb000000ffffull, 0x00cf93000000ffffull};
    memcpy(f->ram + G_LDT, ldt, sizeof(ldt));
}

static uint64_t handler_address(const struct fz *f)
{
    return f->h.handler ? G_CODE + 4ull * f->h.handler : G_STUB;
}

static void build_idt(struct fz *f, bool long_mode)
{
    uint64_t h = handler_address(f);
    uint64_t dpl = (f->h.mode & 0x40) ? 0 : 3;
    for (uint64_t v = 0; v < 256; v++) {
        uint64_t sel = long_mode ? SEL_KCODE64 : SEL_KCODE32;
        uint64_t lo = (h & 0xffff) | (sel << 16) | (0xeull << 40) | (dpl << 45) | (1ull << 47) |
                      ((h >> 16 & 0xffff) << 48);
        if (long_mode) {
            bool ist = (f->h.mode & 0x20) && (v == 8 || v == 14);
            put64(f, G_IDT + v * 16, lo | ((ist ? 1ull : 0) << 32));
            put64(f, G_IDT + v * 16 + 8, h >> 32);
        } else {
            put64(f, G_IDT + v * 8, lo);
        }
    }
    if (long_mode) {
        put64(f, G_TSS + 4, G_STACK0);  /* RSP0 */
        put64(f, G_TSS + 0x24, G_IST);  /* IST1 */
    } else {
        put32(f, G_TSS + 4, (uint32_t)G_STACK0);  /* ESP0 */
        put32(f, G_TSS + 8, SEL_KDATA);           /* SS0 */
    }
}

/* The interesting values a register can start with. */
static uint64_t fz_reg_value(const struct fz *f, unsigned sel, unsigned reg)
{
    uint64_t arbitrary;
    memcpy(&arbitrary, f->h.data, 8);
    switch (sel) {
    case 0: return reg == 4 ? G_STACK : 0;
    case 1: return 1;
    case 2: return G_DATA + f->h.data[0];
    case 3: return G_RO + f->h.data[1];
    case 4: return G_SUPER;
    case 5: return 0x100;                        /* unmapped page 0 */
    case 6: return G_MMIO + f->h.data[2];
    case 7: return 0x8000000000000000ull;        /* not canonical */
    case 8: return ~0ull;
    case 9: return 0xffffffffull;
    case 10: return G_RO - 3;                    /* straddles into read-only */
    case 11: return 0xffffff8000000000ull + G_DATA; /* the high alias */
    case 12: return FZ_RAM - 4;                  /* straddles the end of RAM */
    case 13: return arbitrary;
    case 14: return 0x3f8;
    default: return G_CODE;                      /* self-modifying code */
    }
}

static struct emu_segment seg(uint16_t sel, uint16_t attr)
{
    return (struct emu_segment){0, 0xffffffff, sel, attr};
}

static void set_segments(struct fz *f, int kind, bool user)
{
    struct emu_cpu *c = &f->cpu;
    struct emu_segment data = user ? seg(SEL_UDATA | 3, 0xc0f3) : seg(SEL_KDATA, 0xc093);
    for (int s = 0; s < 6; s++)
        c->seg[s] = data;
    if (kind < 2)
        c->seg[SEG_CS] = user ? seg(SEL_UCODE64 | 3, 0xa0fb) : seg(SEL_KCODE64, 0xa09b);
    else
        c->seg[SEG_CS] = user ? seg(SEL_UCODE32 | 3, 0xc0fb) : seg(SEL_KCODE32, 0xc09b);
    c->tr = (struct emu_segment){G_TSS, 0x67, SEL_TSS, 0x8b};
    c->ldtr = (struct emu_segment){G_LDT, 0x1f, SEL_LDT, 0x82};
    c->gdtr = (struct accel_dtable){G_GDT, 0x77};
}

static void set_control(struct fz *f, int kind)
{
    struct emu_cpu *c = &f->cpu;
    uint8_t cfg = f->h.cfg;
    c->cr0 = 0x80000033ull | ((cfg & 1) ? 0 : CR0_WP) | ((cfg & 2) ? CR0_TS : 0) |
             ((cfg & 4) ? CR0_EM : 0) | ((cfg & 0x80) ? 0x40000ull : 0);
    c->cr4 = ((cfg & 8) ? 0 : CR4_OSFXSR | CR4_OSXMMEXCPT) | CR4_PGE;
    c->efer = 1 | ((cfg & 0x10) ? 0 : EFER_NXE);
    if (kind < 3) {
        c->cr3 = G_PML4;
        c->cr4 |= CR4_PAE;
        c->efer |= EFER_LME | EFER_LMA;
        return;
    }
    switch (f->h.paging & 3) {
    case 0: c->cr0 &= ~CR0_PG; break;
    case 1: c->cr3 = G_PD32; c->cr4 |= CR4_PSE; break;
    default: c->cr3 = G_PAE_PDPT; c->cr4 |= CR4_PAE; break;
    }
}

static void set_msrs(struct fz *f)
{
    struct emu_cpu *c = &f->cpu;
    uint64_t h = handler_address(f);
    c->msr_star = ((uint64_t)SEL_UCODE32 << 48) | ((uint64_t)SEL_KCODE64 << 32);
    c->msr_lstar = c->msr_cstar = h;
    c->msr_sfmask = 0x4700;
    c->msr_sysenter_cs = SEL_KCODE64;
    c->msr_sysenter_eip = h;
    c->msr_sysenter_esp = G_STACK0;
    c->msr_kernel_gs_base = G_DATA;
}

/* Real mode: code at 1000:0000, an IVT at 0 sending everything to the
 * handler. */
static void set_real_mode(struct fz *f)
{
    struct emu_cpu *c = &f->cpu;
    uint64_t h = handler_address(f);
    for (int v = 0; v < 256; v++)
        put32(f, 4ull * v, (uint32_t)(((h >> 4) << 16) | (h & 0xf)));
    for (int s = 0; s < 6; s++)
        c->seg[s] = (struct emu_segment){0, 0xffff, 0, 0x93};
    c->seg[SEG_CS] = (struct emu_segment){G_CODE, 0xffff, G_CODE >> 4, 0x9b};
    c->rip = 0;
    c->cr0 = 0x10;
    c->cr4 &= ~CR4_PAE;
    c->efer &= ~(EFER_LME | EFER_LMA);
    c->idtr = (struct accel_dtable){0, 0x3ff};
}

static void build_machine(struct fz *f, const uint8_t *code, size_t len)
{
    struct emu_cpu *c = &f->cpu;
    int kind = f->h.mode & 3;
    bool user = f->h.mode & 4, real = f->h.mode & 0x10;
    madvise(f->ram, FZ_RAM, MADV_DONTNEED); /* back to zeroes */
    build_page_tables(f);
    build_gdt(f);
    build_idt(f, kind < 3);
    memset(f->ram + G_STUB, 0xf4, 4096);                  /* HLT */
    memset(f->ram + G_CODE, 0xf4, G_DATA - G_CODE);
    memcpy(f->ram + G_CODE, code, len);
    memcpy(f->ram + G_DATA, code, len);

    emu_cpu_reset(c);
    c->irq = &irq_ops;
    c->irq_opaque = f;
    for (unsigned r = 0; r < 16; r++)
        c->gpr[r] = fz_reg_value(f, (f->h.regsel[r / 2] >> (r % 2 * 4)) & 0xf, r);
    set_segments(f, kind, user);
    set_control(f, kind);
    set_msrs(f);
    c->rip = G_CODE;
    uint8_t fl = f->h.rflags;
    c->rflags = 0x2 | ((fl & 1) ? RFLAGS_IF : 0) | ((fl & 2) ? RFLAGS_DF : 0) |
                ((fl & 4) ? RFLAGS_TF : 0) | ((fl & 8) ? 0x40000ull : 0) |
                ((uint64_t)(fl >> 4 & 3) << 12);
    c->idtr = (struct accel_dtable){G_IDT, (f->h.mode & 0x80) ? 0 : kind < 3 ? 0xfff : 0x7ff};
    if (real)
        set_real_mode(f);
    if (real || kind == 3)
        for (int r = 0; r < 16; r++)
            c->gpr[r] = (uint32_t)c->gpr[r]; /* no upper halves outside long mode */
    emu_update_mode(c);
    emu_tlb_flush(c);
    emu_pdptes_load(c); /* PAE: the PDPTE registers, as MOV CR3 would */
    f->vm->cfg.flags[HK_FLAG_IGNORE_BAD_MSR] = (f->h.cfg & 0x40) != 0;
    f->evm.trace = (f->h.cfg & 0x20) ? f->devnull : NULL;
    f->answers = f->irq_checks = f->nmi_checks = f->tpr = 0;
}

/* --- Running it ------------------------------------------------------------ */

static void check_state(struct fz *f)
{
    struct emu_cpu *c = &f->cpu;
    if (c->cpl < 0 || c->cpl > 3)
        fz_fail("CPL out of range");
    if (c->mode < MODE_REAL || c->mode > MODE_COMPAT32)
        fz_fail("mode out of range");
    if (c->xlog_n < 0 || c->xlog_n > EMU_XLOG_MAX || c->xlog_pos < 0 ||
        c->xlog_pos > c->xlog_n)
        fz_fail("device access log out of range");
}

/* Answer an exit as the VMM would. Returns false when the run is over. */
static bool answer_exit(struct fz *f, struct accel_exit *e)
{
    check_state(f);
    if (f->verbose && e->reason != ACCEL_EXIT_IO && e->reason != ACCEL_EXIT_MMIO)
        fprintf(stderr, "fuzz_emu: exit %d at rip %#llx%s%s\n", e->reason,
                (unsigned long long)f->cpu.rip, e->reason == ACCEL_EXIT_INTERNAL ? ": " : "",
                e->reason == ACCEL_EXIT_INTERNAL ? e->internal.why : "");
    else if (f->verbose)
        fprintf(stderr, "fuzz_emu: exit %d at rip %#llx: %s %#llx size %u%s, log %d\n",
                e->reason, (unsigned long long)f->cpu.rip,
                e->reason == ACCEL_EXIT_IO ? "port" : "gpa",
                e->reason == ACCEL_EXIT_IO ? e->io.port : (unsigned long long)e->mmio.gpa,
                e->reason == ACCEL_EXIT_IO ? e->io.size : e->mmio.size,
                (e->reason == ACCEL_EXIT_IO ? e->io.is_write : e->mmio.is_write) ? " write" : "",
                f->cpu.xlog_n);
    switch (e->reason) {
    case ACCEL_EXIT_IO:
        if (e->io.size != 1 && e->io.size != 2 && e->io.size != 4)
            fz_fail("port I/O of a bad size");
        if (!e->io.is_write)
            e->io.data = (uint32_t)answer(f);
        return true;
    case ACCEL_EXIT_MMIO:
        if (e->mmio.size != 1 && e->mmio.size != 2 && e->mmio.size != 4 && e->mmio.size != 8)
            fz_fail("MMIO of a bad size");
        if (gmem_is_ram(&f->mem, e->mmio.gpa))
            fz_fail("MMIO exit for an address in RAM");
        if (!e->mmio.is_write)
            e->mmio.data = answer(f);
        return true;
    case ACCEL_EXIT_HLT:
        /* With an interrupt on offer, let it wake the CPU. */
        return e->hlt.interrupts_enabled && f->h.irq_vector;
    case ACCEL_EXIT_INTERNAL:
        /* Legitimate for a guest that asks too much of devices (FXSAVE to
         * MMIO); never for the emulator losing track of its own state. */
        if (strstr(e->internal.why, "out of step"))
            fz_fail(e->internal.why);
        return false;
    case ACCEL_EXIT_SHUTDOWN:
    case ACCEL_EXIT_RESET:
    case ACCEL_EXIT_KICKED:
        return false;
    default:
        fz_fail("unexpected exit reason");
        return false;
    }
}

/* Through the run loop and the block cache, as a VM runs. */
static void run_blocks(struct fz *f)
{
    struct accel_exit exit;
    memset(&exit, 0, sizeof(exit));
    for (int i = 0; i < FZ_MAX_EXITS && !fz_timeup; i++) {
        if (emu_cpu_run(&f->cpu, &exit) != 0)
            fz_fail("emu_cpu_run failed");
        if (!answer_exit(f, &exit))
            break;
    }
}

/* One instruction, like emu_step_one but keeping the access log so a
 * completed exit replays (emu_step_one starts every call afresh), and
 * re-executing the instruction that exited as run.c does. */
static int step(struct emu_cpu *c, struct accel_exit *exit)
{
    memset(exit, 0, sizeof(*exit));
    c->exit = exit;
    c->exc.vector = -1;
    struct emu_insn fetched;
    const struct emu_insn *in = emu_insn_held(c);
    if (!in) {
        c->xlog_pos = 0;
        uint8_t bytes[15];
        uint64_t lin = c->mode == MODE_LONG64 ? c->rip : (uint32_t)(c->seg[SEG_CS].base + c->rip);
        unsigned in_page = 4096 - (unsigned)(lin & 0xfff);
        unsigned n = in_page < 15 ? in_page : 15;
        int st = emu_read_lin(c, lin, bytes, n, ACC_EXEC);
        if (st)
            return st;
        if (emu_decode(c, bytes, (int)n, &fetched) == 0) {
            c->xlog_pos = 0;
            if ((st = emu_read_lin(c, lin, bytes, 15, ACC_EXEC)) != 0)
                return st;
            if (emu_decode(c, bytes, 15, &fetched) == 0)
                fz_fail("15 bytes did not decode");
        }
        in = &fetched;
    }
    c->held_pos = c->xlog_pos;
    uint64_t rsp = c->gpr[4];
    int st = in->fn(c, in);
    if (st == EMU_OK || st == EMU_END_BLOCK)
        return emu_insn_done(c);
    c->gpr[4] = rsp; /* not committed, as in run.c */
    if (st == EMU_EXIT)
        emu_insn_hold(c, in);
    return st;
}

/* What the run loop's completion does: the read's value for the replay. */
static void complete(struct emu_cpu *c, const struct accel_exit *e)
{
    if (c->xlog_n == 0)
        fz_fail("exit with an empty access log");
    struct emu_xaccess *x = &c->xlog[c->xlog_n - 1];
    if (!x->is_write)
        x->data = (e->reason == ACCEL_EXIT_IO ? e->io.data : e->mmio.data) & size_mask(x->size);
}

/* Deliver cpu->exc as run.c does, replaying what an exit interrupted. */
static int deliver(struct emu_cpu *c, struct accel_exit *exit, bool fresh)
{
    if (fresh) {
        memset(exit, 0, sizeof(*exit));
        c->exit = exit;
    }
    c->xlog_pos = 0;
    int st = emu_deliver_pending(c);
    if (st == EMU_OK)
        emu_commit_point(c);
    return st;
}

/* One instruction at a time, delivering faults and interrupts between. */
static void run_steps(struct fz *f)
{
    struct emu_cpu *c = &f->cpu;
    struct accel_exit exit;
    for (int i = 0; i < FZ_MAX_STEPS && !fz_timeup; i++) {
        int st = EMU_OK;
        if (c->exc_pending) {
            st = deliver(c, &exit, true);
        } else if (c->halted) {
            if (!(c->rflags & RFLAGS_IF) || !f->h.irq_vector)
                return;
            memset(&exit, 0, sizeof(exit));
            c->exit = &exit;
            st = emu_check_interrupts(c, 0);
        } else {
            bool shadow = c->shadow;
            st = step(c, &exit);
            if (shadow)
                c->shadow = false;
            if (st == EMU_OK && !c->shadow)
                st = emu_check_interrupts(c, 0);
        }
        if (st == EMU_FAULT) {
            emu_commit_point(c);
            c->halted = false;
            st = deliver(c, &exit, false);
        }
        if (st == EMU_EXIT) {
            bool device = exit.reason == ACCEL_EXIT_IO || exit.reason == ACCEL_EXIT_MMIO;
            if (!answer_exit(f, &exit) && !device)
                return;
            complete(c, &exit);
        }
        check_state(f);
    }
}

static struct fz *fz_create(void)
{
    struct fz *f = calloc(1, sizeof(*f));
    f->vm = calloc(1, sizeof(*f->vm));
    /* RAM between two inaccessible guard pages. */
    uint8_t *map = mmap(NULL, FZ_RAM + 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                        -1, 0);
    if (!f || !f->vm || map == MAP_FAILED || mprotect(map + 4096, FZ_RAM, PROT_READ | PROT_WRITE))
        abort();
    f->ram = map + 4096;
    f->mem.regions[0] = (struct gmem_region){0, FZ_RAM, f->ram};
    f->mem.nregions = 1;
    f->mem.ram_bytes = FZ_RAM;
    f->vm->mem = f->mem;
    f->evm.vm = f->vm;
    f->evm.mem = &f->mem;
    f->evm.npages = FZ_RAM >> 12;
    f->evm.page_blocks = calloc(f->evm.npages, sizeof(*f->evm.page_blocks));
    /* The JIT as HYPERKIT_EMU_JIT says (on by default; lockstep checks each
     * compiled block against the interpreter and aborts on a difference),
     * compiling a block at its second run unless HYPERKIT_EMU_JIT_HOT says
     * otherwise, so short inputs reach compiled code. */
    setenv("HYPERKIT_EMU_JIT_HOT", "2", 0);
    if (emu_jit_vm_init(&f->evm))
        abort();
    f->cpu.vm = &f->evm;
    f->devnull = fopen("/dev/null", "w");
    f->verbose = getenv("FUZZ_EMU_VERBOSE") != NULL;
    if (!f->evm.page_blocks || !f->devnull)
        abort();
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_timer;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGVTALRM, &sa, NULL);
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz)
        fz = fz_create();
    struct fz *f = fz;
    memset(&f->h, 0, sizeof(f->h));
    memcpy(&f->h, data, size < FZ_HDR ? size : FZ_HDR);
    size_t len = size > FZ_HDR ? size - FZ_HDR : 0;
    if (len > FZ_MAX_CODE)
        len = FZ_MAX_CODE;
    build_machine(f, data + (size - len), len);
    fz_timeup = 0;
    arm_timer(FZ_BUDGET_MS);
    if (f->h.mode & 8)
        run_steps(f);
    else
        run_blocks(f);
    arm_timer(0);
    emu_blocks_free_all(&f->evm); /* libFuzzer counts mallocs against frees */
    if (f->verbose) {
        uint64_t compiled, resets;
        emu_jit_stats(&f->evm, &compiled, &resets);
        fprintf(stderr, "fuzz_emu: %s, %llu instructions, %u answers, rip %#llx%s, %llu blocks "
                "compiled so far\n", (f->h.mode & 8) ? "steps" : "blocks",
                (unsigned long long)f->cpu.insn_count, f->answers, (unsigned long long)f->cpu.rip,
                fz_timeup ? ", out of time" : "", (unsigned long long)compiled);
    }
    return 0;
}
