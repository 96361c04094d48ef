/*
 * The emu engine's x86-64 CPU state, decoded-instruction form, and the
 * helpers executors share. Instructions are decoded once into struct
 * emu_insn (grouped into blocks cached by guest-physical address) and then
 * executed many times through the handler pointer each one carries.
 */
#ifndef HK_EMU_CPU_H
#define HK_EMU_CPU_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "accel/accel.h"

struct emu_vm;
struct emu_cpu;
struct emu_insn;

/* What an executor returns. */
enum emu_status {
    EMU_OK = 0,     /* done; RIP advanced */
    EMU_EXIT,       /* cpu->exit filled for the VMM; instruction not committed */
    EMU_FAULT,      /* exception pending in cpu->exc; instruction not committed */
    EMU_END_BLOCK,  /* done, but state changed so the block must end here */
};

typedef int (*emu_exec_fn)(struct emu_cpu *cpu, const struct emu_insn *in);

enum emu_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 7 };

#define EA_NONE 0xff    /* no base / no index register */
#define EA_RIP 16       /* RIP-relative base */
#define REG_HIGH8 16    /* byte registers AH, CH, DH, BH are 16..19 */

/* Decoder flags (emu_insn.flags). */
#define INSN_MEM 0x01      /* ModRM names memory (else in->rm is a register) */
#define INSN_LOCK 0x02
#define INSN_REP 0x04      /* F3 */
#define INSN_REPNE 0x08    /* F2 */
#define INSN_ENDS 0x10     /* ends a block (control transfer, mode change) */

struct emu_insn {
    emu_exec_fn fn;
    uint8_t len;
    uint8_t opsz;        /* operand size in bytes: 1, 2, 4, 8 */
    uint8_t adsz;        /* address size in bytes: 2, 4, 8 */
    uint8_t seg;         /* enum emu_seg for the memory operand */
    uint8_t reg;         /* ModRM.reg (+REX.R) or the opcode's register */
    uint8_t rm;          /* register operand when !(flags & INSN_MEM) */
    uint8_t base, index; /* memory operand registers, EA_NONE if absent */
    uint8_t scale;       /* shift count 0-3 */
    uint8_t flags;
    uint8_t sub;         /* ALU op, condition code, or other sub-operation */
    uint8_t opcode;      /* last opcode byte, for executors that share code */
    int32_t disp;
    uint64_t imm;
    uint64_t imm2;       /* ENTER's second immediate, far pointers */
};

struct emu_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint16_t attr;       /* accel_segment layout */
};

/* Lazy arithmetic flags: the last flag-setting operation, evaluated when a
 * flag is read. LF_NONE means rflags already holds the truth. */
enum emu_lazy_op {
    LF_NONE, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC, LF_NEG,
    LF_CFOF,             /* shifts, MUL: CF in cf_in, OF in b, AF clear */
};

struct emu_lazy_flags {
    uint8_t op;          /* enum emu_lazy_op */
    uint8_t size;        /* operand size in bytes */
    bool cf_in;          /* carry in (ADC/SBB) or preserved CF (INC/DEC) */
    uint64_t a, b, res;
};

/* One pending access outside RAM or to an I/O port, replayed when the
 * instruction is re-executed after the VMM completed it. */
struct emu_xaccess {
    bool is_io, is_write;
    uint8_t size;
    uint64_t addr, data;
};
#define EMU_XLOG_MAX 16 /* an interrupt frame, PUSHA, a 16-byte access done bytewise */

/* A translation as a hit reads it (emu_tlb_host_lin, compiled code's
 * jit_tlb_probe): 16 bytes, so a TLB's slots take 4 KiB of cache. */
struct emu_tlb_entry {
    uint64_t vpage;  /* linear page | 1 when valid | 2 for a user access */
    uint64_t addend; /* host page - linear page: lin + addend (mod 2^64) is
                      * the host address of any lin in the page */
};
/* The rest of a translation, read on misses and flushes only, in arrays
 * parallel to the slots (cpu->tlb_info). */
struct emu_tlb_info {
    uint64_t gpage; /* guest-physical page */
    bool global;    /* G with CR4.PGE: MOV CR3 keeps it */
};
/* A translation pushed out of its slot (cpu->tlb_victim): both halves. */
struct emu_tlb_victim {
    struct emu_tlb_entry e;
    struct emu_tlb_info info;
};
#define EMU_TLB_SIZE 256
#define EMU_TLB_VICTIMS 8

/* A TLB entry's tag: the page, valid, and the access's user/supervisor
 * mode, as a translation filled by a supervisor access (an implicit one
 * at CPL 3 included, SDM 4.6) must not serve a user access. So a CPL
 * change needs no flush. */
#define emu_tlb_tag(cpu, lin) (((lin) & ~0xfffull) | 1 | ((cpu)->cpl == 3 ? 2 : 0))
#define emu_tlb_slot(lin) (((lin) >> 12) & (EMU_TLB_SIZE - 1))

struct emu_exception {
    int vector;          /* -1 when none */
    bool has_error;
    uint32_t error;
};

#define RFLAGS_CF 0x0001ull
#define RFLAGS_PF 0x0004ull
#define RFLAGS_AF 0x0010ull
#define RFLAGS_ZF 0x0040ull
#define RFLAGS_SF 0x0080ull
#define RFLAGS_TF 0x0100ull
#define RFLAGS_IF 0x0200ull
#define RFLAGS_DF 0x0400ull
#define RFLAGS_OF 0x0800ull
#define RFLAGS_RF 0x10000ull
#define RFLAGS_AC 0x40000ull
#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)
/* The bits emu_set_rflags keeps (bit 1 is always set, the rest read as 0). */
#define RFLAGS_WRITABLE 0x3f7fd7ull

#define CR0_PE 0x1ull
#define CR0_WP 0x10000ull
#define CR0_AM 0x40000ull
#define CR0_PG 0x80000000ull
#define CR0_NW 0x20000000ull
#define CR0_CD 0x40000000ull
#define CR0_DEFINED 0xe005003full /* PE MP EM TS ET NE WP AM NW CD PG */
#define CR4_PSE 0x10ull
#define CR4_PAE 0x20ull
#define CR4_PGE 0x80ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define EFER_NXE 0x800ull
#define CR0_MP 0x2ull
#define CR0_EM 0x4ull
#define CR0_TS 0x8ull
#define CR4_OSFXSR 0x200ull
#define CR4_OSXMMEXCPT 0x400ull

/* The code-size mode, which selects default operand/address sizes. */
enum emu_mode { MODE_REAL, MODE_PROT16, MODE_PROT32, MODE_LONG64, MODE_COMPAT16, MODE_COMPAT32 };

/* x87 and SSE state. The x87 registers keep the 80-bit format (the host's
 * long double) in FXSAVE order: st_raw[i] is physical register i. */
typedef union {
    uint8_t b[16];
    uint16_t w[8];
    uint32_t d[4];
    uint64_t q[2];
    float f[4];
    double g[2];
} emu_xmm;

struct emu_fpu {
    uint16_t fcw, fsw, fop;
    uint8_t ftw;             /* abridged tag word: bit i set = register i valid */
    uint64_t fip, fdp;
    uint16_t fcs, fds;
    uint8_t st_raw[8][16];   /* 10 bytes used, FXSAVE layout */
    uint32_t mxcsr;
    emu_xmm xmm[16];
};

#define EMU_JCACHE_BITS 10
struct emu_block;
struct emu_jcache_entry {
    uint64_t lin, ctx;
    struct emu_block *to;
    void *code; /* to->jit_entry then (struct emu_link) */
};

struct emu_cpu {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;     /* arithmetic bits valid only when lf.op == LF_NONE */
    struct emu_lazy_flags lf;
    struct emu_segment seg[6];
    struct emu_segment ldtr, tr;
    struct accel_dtable gdtr, idtr;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t pdpte[4];   /* PAE paging's PDPTE registers, loaded with CR3 (mmu.c) */
    uint64_t dr[8];
    uint64_t msr_sysenter_cs, msr_sysenter_esp, msr_sysenter_eip;
    uint64_t msr_star, msr_lstar, msr_cstar, msr_sfmask, msr_kernel_gs_base;
    uint64_t msr_tsc_aux, msr_pat, msr_misc_enable, msr_apic_base;
    uint64_t tsc_offset;
    uint64_t msr_tsc_adjust;           /* IA32_TSC_ADJUST: moves with TSC writes */
    struct emu_fpu fpu;
    int cpl;
    enum emu_mode mode;

    struct emu_exception exc;
    bool exc_pending;              /* exc awaits delivery that an exit interrupted */
    struct accel_exit *exit;       /* where executors describe an exit */
    struct emu_xaccess xlog[EMU_XLOG_MAX];
    int xlog_n, xlog_pos;
    struct emu_insn held;          /* the instruction a device exit interrupted, as */
    uint64_t held_rip;             /* decoded then: its re-execution (run.c) */
    int held_pos;                  /* log entries before its own: its fetch from
                                    * outside RAM, 0 after a REP iteration committed */
    bool held_valid;
    /* Where the running block's loop stops (the address of its end), or
     * 0 once it must stop after this instruction: code under it was
     * written, a device access, a trap due, a REP batch ran out (then back
     * to the run loop's top). One field so the loop tests one compare per
     * instruction; set through emu_end_block. */
    uintptr_t run_end;
    bool jit_on;                   /* the VM compiles blocks (jit/jit.h): taken at
                                    * each emu_cpu_run entry */

    struct emu_tlb_entry tlb_read[EMU_TLB_SIZE];
    struct emu_tlb_entry tlb_write[EMU_TLB_SIZE];
    struct emu_tlb_entry tlb_exec[EMU_TLB_SIZE];
    struct emu_tlb_info tlb_info[3][EMU_TLB_SIZE]; /* by enum emu_access: read,
                                                    * write, exec slots' rest */
    /* Data translations pushed out of their slot by another page's, kept
     * so that two pages taking turns in one slot refill it without a
     * walk (page_lookup): [0] read, [1] write; flushed with the slots. */
    struct emu_tlb_victim tlb_victim[2][EMU_TLB_VICTIMS];
    unsigned victim_next[2];
    uint64_t link_gen;                 /* new at each TLB flush and after decoded code
                                        * was dropped, unique in the VM: block links
                                        * made before are stale (emu.h) */
    uint64_t link_ctx;                 /* link_gen, mode and CPL in one word: what a
                                        * link must match (emu_link_ctx_update) */
    uint64_t global_gen;               /* as link_gen, but kept by MOV CR3: new at
                                        * every other flush, INVLPG and code drop */
    uint64_t global_ctx;               /* global_gen, mode and CPL: what a link to
                                        * a global page may match instead (emu.h) */
    uint64_t code_gen_seen;            /* the VM's code_gen when link_gen was taken */
    bool tlb_large;                    /* an entry came from a 2 or 4 MiB page since
                                        * the last flush (emu_tlb_flush_page) */

    const struct accel_irq_ops *irq;   /* local APIC, NULL when none */
    void *irq_opaque;
    bool halted;                       /* in HLT until an interrupt */
    bool shadow;                       /* STI: no interrupt before the next insn */
    bool nmi_blocked;                  /* in an NMI handler: until the next IRET */
    bool step_trap;                    /* #DB single-step trap due after this insn */
    uint8_t dbg_exec, dbg_data;        /* enabled DR0-3 instruction / data breakpoints
                                        * (bit n: DRn), from DR7 (debug.c) */
    uint8_t dbg_hit;                   /* data breakpoints this instruction hit */
    bool dbg_hold;                     /* MOV SS hit one: report after the next insn */
    bool dbg_inhibit;                  /* MOV SS: no instruction breakpoint next */
    bool rf_at_start;                  /* RF as the running instruction started */
    bool inhibit_at_start;             /* dbg_inhibit as it started (restored on exit) */
    unsigned features_off;             /* enum emu_host_feature bits: the host lacks
                                        * them (set at reset), or a test said so */

    /* Blocks looked up, by linear RIP, with the link context then: a
     * link of any block to any block (emu.h), taken when a block's own
     * two miss (a RET's many targets). */
    struct emu_jcache_entry jcache[1u << EMU_JCACHE_BITS];
    uint64_t recent_rip[64];           /* block starts, for crash reports */
    unsigned recent_pos;
    /* Compiled blocks that ran to their end go on into the next compiled
     * block through its link themselves (jit_compile.c) while chain_left,
     * a budget of instructions, lasts: each such block takes its own from
     * it (run_chain sets it and adds what was taken to insn_count), and
     * the last one entered and its linear RIP are left here (chain_lin:
     * where the running block started, from run_chain too). */
    int32_t chain_left;
    struct emu_block *chain_block;
    uint64_t chain_lin;
    uint64_t loop_ctx;                 /* a self-looping block's link context at entry */

    struct emu_vm *vm;
    /* EMU_EV_* bits other threads post (or this one, for itself): the run
     * loop reads this one word after each block and leaves its fast path
     * when any is set. */
    _Atomic uint32_t events;
    uint64_t insn_count;
    /* How often the run loop found no link to the next block
     * (emu_block_get) and how often it entered compiled code: for tests
     * and profiles of chaining. */
    uint64_t lookups, jit_runs;
    /* Instructions fetched and decoded afresh, without a block (run.c:
     * code outside RAM, TF, a straddling one the cache could not hold). */
    uint64_t uncached_fetches;
};

/* run_chain's budget of blocks in instructions, for compiled chaining
 * (cpu->chain_left): about as many as that many blocks hold. */
#define EMU_CHAIN_INSNS 8

/* cpu->events bits. */
#define EMU_EV_KICK 0x1u   /* return to the VMM (emu_vcpu_kick) */
#define EMU_EV_CODE 0x2u   /* a device wrote decoded code: drain before the next link */

/* What a block link made now must match when followed (struct emu_link):
 * the link generation, the decoding mode and the CPL (user and supervisor
 * code pages differ in rights). Kept in one word so the check is one
 * compare; called wherever one of them changes for good (emu_update_mode,
 * a new link generation) and at each emu_cpu_run entry. */
static inline void emu_link_ctx_update(struct emu_cpu *cpu)
{
    uint64_t mode_cpl = (uint64_t)cpu->mode << 2 | (unsigned)cpu->cpl;
    cpu->link_ctx = cpu->link_gen << 8 | mode_cpl;
    cpu->global_ctx = cpu->global_gen << 8 | mode_cpl;
}

/* --- Registers --------------------------------------------------------- */

static inline uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* A 48-bit canonical address: bits 63:47 all equal (shift unsigned: no UB). */
static inline bool emu_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static inline uint64_t sign_bit(unsigned size)
{
    return 1ull << (size * 8 - 1);
}

static inline int64_t sign_extend(uint64_t v, unsigned size)
{
    unsigned shift = 64 - size * 8;
    return (int64_t)(v << shift) >> shift;
}

/* Read register r at operand size (r >= REG_HIGH8 means AH..BH). */
static inline uint64_t reg_read(const struct emu_cpu *cpu, unsigned r, unsigned size)
{
    if (r >= REG_HIGH8)
        return (cpu->gpr[r - REG_HIGH8] >> 8) & 0xff;
    return cpu->gpr[r] & size_mask(size);
}

/* Write with x86-64 rules: 32-bit writes zero the upper half, 8/16 merge. */
static inline void reg_write(struct emu_cpu *cpu, unsigned r, unsigned size, uint64_t v)
{
    if (r >= REG_HIGH8) {
        uint64_t *g = &cpu->gpr[r - REG_HIGH8];
        *g = (*g & ~0xff00ull) | ((v & 0xff) << 8);
    } else if (size == 4) {
        cpu->gpr[r] = (uint32_t)v;
    } else if (size == 8) {
        cpu->gpr[r] = v;
    } else {
        uint64_t m = size_mask(size);
        cpu->gpr[r] = (cpu->gpr[r] & ~m) | (v & m);
    }
}

/* --- Flags (flags.c) ----------------------------------------------------- */

uint64_t emu_rflags(struct emu_cpu *cpu);          /* materialize all flags */
void emu_set_rflags(struct emu_cpu *cpu, uint64_t v);
bool emu_cf(const struct emu_cpu *cpu);
uint64_t emu_peek_rflags(const struct emu_cpu *cpu); /* emu_rflags, the lazy state kept */
bool emu_cond(struct emu_cpu *cpu, unsigned cc);   /* Jcc/SETcc/CMOVcc 0-15 */

static inline void lazy_set(struct emu_cpu *cpu, int op, unsigned size, uint64_t a, uint64_t b,
                            uint64_t res)
{
    cpu->lf.op = (uint8_t)op;
    cpu->lf.size = (uint8_t)size;
    cpu->lf.a = a;
    cpu->lf.b = b;
    cpu->lf.res = res;
}

/* --- Memory (mmu.c) ------------------------------------------------------ */

enum emu_access { ACC_READ, ACC_WRITE, ACC_EXEC };

/* A 4- or 8-byte value from host memory (a guest page or a page-table entry). */
static inline uint64_t emu_load48(const uint8_t *p, unsigned size)
{
    if (size == 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    uint32_t v32;
    memcpy(&v32, p, 4);
    return v32;
}

/* Effective address of the memory operand (without segment base). Inline:
 * the specialised handlers (exec_fast.c) compute it on every access. */
static inline __attribute__((always_inline)) uint64_t emu_ea(const struct emu_cpu *cpu,
                                                             const struct emu_insn *in)
{
    uint64_t ea = (uint64_t)(int64_t)in->disp;
    if (in->base == EA_RIP)
        ea += cpu->rip + in->len;
    else if (in->base != EA_NONE)
        ea += cpu->gpr[in->base];
    if (in->index != EA_NONE)
        ea += cpu->gpr[in->index] << in->scale;
    /* size_mask(in->adsz) without its shift: 8 is the common case. */
    return in->adsz == 8 ? ea : in->adsz == 4 ? (uint32_t)ea : (uint16_t)ea;
}
/* Linear address for seg:ea, with 64-bit mode / segment rules. */
int emu_linear(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, enum emu_access acc,
               uint64_t *lin);
int emu_read_lin(struct emu_cpu *cpu, uint64_t lin, void *buf, unsigned size, enum emu_access acc);
int emu_write_lin(struct emu_cpu *cpu, uint64_t lin, const void *buf, unsigned size);
int emu_read(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, uint64_t *val);
/* The common data access in 64-bit mode: no AC check due, within one
 * page, a hit in tlb (cpu->tlb_read or tlb_write: RAM, no data breakpoint,
 * for a write no decoded code): the host address of seg:ea. NULL when it
 * must take the full path (emu_read, emu_write). A canonical first byte
 * makes the whole access canonical when it stays in one page. _lin: for
 * the linear address itself. */
static inline uint8_t *emu_tlb_host_lin(struct emu_cpu *cpu, const struct emu_tlb_entry *tlb,
                                        uint64_t lin, unsigned size)
{
    if (cpu->mode != MODE_LONG64 || (cpu->rflags & RFLAGS_AC))
        return NULL;
    const struct emu_tlb_entry *t = &tlb[emu_tlb_slot(lin)];
    if (t->vpage != emu_tlb_tag(cpu, lin) || (lin & 0xfff) + size > 4096 || !emu_canonical(lin))
        return NULL;
    return (uint8_t *)(uintptr_t)(lin + t->addend);
}

static inline uint8_t *emu_tlb_host(struct emu_cpu *cpu, const struct emu_tlb_entry *tlb,
                                    int seg, uint64_t ea, unsigned size)
{
    uint64_t lin = ea + (seg == SEG_FS || seg == SEG_GS ? cpu->seg[seg].base : 0);
    return emu_tlb_host_lin(cpu, tlb, lin, size);
}
int emu_write(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, uint64_t val);
/* Guest-physical address of a linear one (page walk, A/D bits). */
int emu_translate(struct emu_cpu *cpu, uint64_t lin, enum emu_access acc, uint64_t *gpa);
void emu_tlb_flush(struct emu_cpu *cpu);
/* MOV CR3: every translation but the global ones (SDM 4.10.4.1). */
void emu_tlb_flush_nonglobal(struct emu_cpu *cpu);
/* A fresh link generation and global one: every block link this vCPU
 * made before is stale (a TLB flush, decoded code dropped). */
void emu_link_new_gen(struct emu_cpu *cpu);
/* INVLPG: drop the translations of the page holding lin, whatever its size. */
void emu_tlb_flush_page(struct emu_cpu *cpu, uint64_t lin);
/* emu_translate through the TLB for acc: a hit skips the walk (and its
 * A/D updates), as hardware's TLB does; a miss fills it. For a write, the
 * caller is about to write the page (self-modifying code is dropped). */
int emu_translate_tlb(struct emu_cpu *cpu, uint64_t lin, enum emu_access acc, uint64_t *gpa);
/* Physical-address width (CPUID 0x80000008 EAX[7:0]); entry bits above it
 * are reserved. */
#define EMU_MAXPHYADDR 39
/* PAE paging (not long mode): load the PDPTE registers from CR3 (SDM
 * 4.4.1). False when a present one sets a reserved bit: the instruction
 * then raises #GP(0) and undoes the load. True and a no-op in other modes. */
bool emu_pdptes_load(struct emu_cpu *cpu);
/* Port I/O through the VMM (with replay). */
int emu_port_io(struct emu_cpu *cpu, uint16_t port, unsigned size, bool is_write, uint64_t *val);
/* May the current code use `size` ports from `port`? IOPL, then the TSS
 * I/O permission bit map; EMU_FAULT (#GP(0) or #PF) if not (io_perm.c). */
int emu_io_check(struct emu_cpu *cpu, uint16_t port, unsigned size);
/* Everything the instruction did outside RAM is now final. */
static inline void emu_commit_point(struct emu_cpu *cpu)
{
    cpu->xlog_n = 0;
    cpu->xlog_pos = 0;
    cpu->held_valid = false;
    cpu->held_pos = 0;
}

/* Operand helpers: the r/m operand and the stack. */
int rm_read_mem(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, uint64_t *v);
int rm_write_mem(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, uint64_t v);

/* Register operands inline, memory out of line. */
static inline int rm_read(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size,
                          uint64_t *v)
{
    if (in->flags & INSN_MEM)
        return rm_read_mem(cpu, in, size, v);
    *v = reg_read(cpu, in->rm, size);
    return EMU_OK;
}

static inline int rm_write(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size,
                           uint64_t v)
{
    if (in->flags & INSN_MEM)
        return rm_write_mem(cpu, in, size, v);
    reg_write(cpu, in->rm, size, v);
    return EMU_OK;
}
int emu_push(struct emu_cpu *cpu, unsigned size, uint64_t v);
int emu_pop(struct emu_cpu *cpu, unsigned size, uint64_t *v);
unsigned emu_stack_size(const struct emu_cpu *cpu);

/* --- x87 / SSE availability (SDM Vol. 3A 2.5, table 2-2) ------------------ */

/* x87 instructions: #NM when CR0.EM or CR0.TS is set. */
int emu_fpu_check(struct emu_cpu *cpu);
/* SSE instructions: #UD without CR4.OSFXSR or with CR0.EM, #NM with CR0.TS. */
int emu_sse_check(struct emu_cpu *cpu);

/* --- Exceptions (exception.c) --------------------------------------------- */

#define EXC_DE 0
#define EXC_DB 1
#define EXC_BP 3
#define EXC_UD 6
#define EXC_NM 7
#define EXC_DF 8
#define EXC_TS 10
#define EXC_NP 11
#define EXC_SS 12
#define EXC_GP 13
#define EXC_PF 14
#define EXC_MF 16
#define EXC_AC 17
#define EXC_XM 19

int emu_raise(struct emu_cpu *cpu, int vector);
int emu_raise_err(struct emu_cpu *cpu, int vector, uint32_t error);
/* Deliver the pending exception, or a software interrupt (INT n).
 * Returns EMU_OK, or EMU_EXIT with a shutdown exit on triple fault. */
int emu_deliver_pending(struct emu_cpu *cpu);
enum emu_int_kind {
    INT_EXCEPTION,   /* error code (if any) from cpu->exc */
    INT_SOFTWARE,    /* INT n / INT3: gate DPL checked against CPL */
    INT_EXTERNAL,    /* from the local APIC */
};
int emu_interrupt(struct emu_cpu *cpu, int vector, enum emu_int_kind kind, uint64_t return_rip);
/* Take a pending NMI, or external interrupt if IF allows (interrupts.c).
 * now_ns 0: read the host clock only if needed. */
int emu_check_interrupts(struct emu_cpu *cpu, uint64_t now_ns);
uint64_t emu_now_ns(void);
/* CR8 as the local APIC's TPR (cpu->cr8 without one). */
uint64_t emu_cr8_read(const struct emu_cpu *cpu);
void emu_cr8_write(struct emu_cpu *cpu, uint64_t v);
/* Something may have made an interrupt or NMI deliverable: end the block
 * so the run loop looks at the next instruction boundary. */
static inline void emu_end_block(struct emu_cpu *cpu)
{
    cpu->run_end = 0;
}

static inline void emu_recheck_events(struct emu_cpu *cpu)
{
    emu_end_block(cpu);
}

/* --- Single-step trap (SDM Vol. 3B 17.3.1.4) ----------------------------- */

#define DR6_BS 0x4000ull

/* Before an instruction: the trap follows it when TF is set as it starts,
 * so the POPF or IRET that sets TF is not trapped and the one that clears
 * it is. Executors may cancel it (MOV SS, a delivered INT n) or re-arm it
 * from the new TF (SYSCALL, SYSRET). */
static inline void emu_step_arm(struct emu_cpu *cpu)
{
    cpu->step_trap = (cpu->rflags & RFLAGS_TF) != 0;
}

/* After an instruction completed: raise the armed trap as #DB with DR6.BS,
 * RIP already past the instruction. */
static inline int emu_step_finish(struct emu_cpu *cpu)
{
    if (!cpu->step_trap)
        return EMU_OK;
    cpu->step_trap = false;
    cpu->dr[6] |= DR6_BS;
    return emu_raise(cpu, EXC_DB);
}

/* --- Debug registers (debug.c, SDM Vol. 3B 17.2-17.3) -------------------- */

#define DR6_BD 0x2000ull
#define DR7_GD 0x2000ull

/* DR7 or DR0-3 changed: recompute which breakpoints are armed. */
void emu_debug_update(struct emu_cpu *cpu);
/* Before an instruction run one at a time: the instruction-breakpoint
 * fault unless RF is set; RF is then cleared (17.3.1.1). */
int emu_debug_insn_start(struct emu_cpu *cpu);
/* An armed instruction breakpoint on RIP's page (or the MOV SS shadow to
 * clear): the run loop must step instructions one at a time. */
bool emu_debug_exec_near(const struct emu_cpu *cpu);
/* The instruction did not complete: RF back on an exit (it runs again). */
void emu_debug_insn_abort(struct emu_cpu *cpu, int st);
/* After a completed instruction: the single-step and data-breakpoint
 * traps, together in one #DB. */
int emu_debug_trap(struct emu_cpu *cpu);
/* A data access to [lin, lin+size) that missed the TLB; true when the
 * page holds an armed data breakpoint (it must then stay out of the TLB,
 * so every access to it comes back here). */
bool emu_debug_data_page(struct emu_cpu *cpu, uint64_t lin, unsigned size, enum emu_access acc);
/* A port access: I/O breakpoints (CR4.DE), a trap like data ones. */
void emu_debug_io(struct emu_cpu *cpu, uint16_t port, unsigned size);
/* MOV SS / POP SS: hold a data-breakpoint #DB for one instruction. */
void emu_debug_mov_ss(struct emu_cpu *cpu);
/* MOV to or from DRn after the #UD (DR8-15) and CPL checks: DR4/DR5,
 * general detect, reserved bits; *v is read or written. */
int emu_debug_mov_dr(struct emu_cpu *cpu, unsigned n, bool write, uint64_t *v);

/* --- Mode and segments (system.c) ---------------------------------------- */

void emu_update_mode(struct emu_cpu *cpu);
/* Features whose instructions run as the host's own instruction
 * (exec_sse3.c, exec_sse41.c, exec_sse42.c, exec_aes.c). On a host
 * without one they would die of SIGILL, so the emu CPU then neither
 * advertises it in CPUID nor runs those instructions (#UD). */
enum emu_host_feature { EMU_HF_SSE3, EMU_HF_SSE41, EMU_HF_SSE42, EMU_HF_AES, EMU_HF_COUNT };
/* Bit per enum emu_host_feature: what this host lacks (cpuid.c). */
unsigned emu_host_features_missing(void);
static inline bool emu_has(const struct emu_cpu *cpu, enum emu_host_feature f)
{
    return !((cpu->features_off >> f) & 1);
}
/* CPUID leaf/subleaf into EAX, EBX, ECX, EDX (cpuid.c). */
void emu_cpuid(const struct emu_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* IA32_ARCH_CAPABILITIES (MSR 0x10a, read-only), enumerated by CPUID 7 EDX[29]. */
uint64_t emu_arch_capabilities(void);
/* MSRs: 0, or nonzero for an MSR this CPU does not have (#GP). */
int emu_msr_read(struct emu_cpu *cpu, uint32_t index, uint64_t *value);
int emu_msr_write(struct emu_cpu *cpu, uint32_t index, uint64_t value);

/* --- Decoder (decode.c) --------------------------------------------------- */

/* Decode one instruction from bytes[0..avail). Returns its length, or 0
 * when more bytes than avail are needed. Undefined encodings decode to an
 * executor that raises #UD. */
int emu_decode(const struct emu_cpu *cpu, const uint8_t *bytes, int avail, struct emu_insn *in);
/* Swap a decoded instruction's executor for one specialised to its form
 * and operand size, when there is one (exec_fast.c). */
void emu_specialize(const struct emu_cpu *cpu, struct emu_insn *in);
/* The general executor a specialised one stands for, or fn (exec_fast.c). */
emu_exec_fn emu_general_fn(emu_exec_fn fn);
/* Once a block is decoded: rotates whose CF and OF no one sees take their
 * form that leaves the flags (flags_live.c). */
void emu_block_flags_live(struct emu_insn *insns, int n);

#endif
