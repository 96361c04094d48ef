/*
 * The harness shared by the JIT's lockstep tests (test_emu_jit_*.c): the
 * JIT against the interpreter, which is the reference. One guest memory
 * layout, the random stream, random CPU states (lazy flags and XMM
 * registers included), a program run interpreted and compiled, and the
 * comparison of everything a run leaves: every GPR and XMM register,
 * CR0, RIP, the materialised RFLAGS, the lazy-flag state, the
 * instruction count, the status, the fault, the held instruction, the
 * exit and all of RAM. Also the paging (page_high) the paged tests run
 * under.
 */
#ifndef EMU_JIT_HARNESS_H
#define EMU_JIT_HARNESS_H

#include <inttypes.h>

#include "accel/emu/exec.h"
#include "accel/emu/exec_fast.h"
#include "accel/emu/sse4.h"
#include "accel/emu/jit/jit.h"
#include "accel/emu/jit/jit_int.h"
#include "emu_fixture.h"
#include "test.h"
#include "xorshift.h"

#define RAM 0x40000ull
#define CODE 0x10000ull
#define DATA 0x20000ull   /* r15 points here */
#define STACK 0x2f800ull  /* RSP, most of the time */
#define STACK_LO 0x2e000ull /* the pages the stack's slots are filled in */
#define STACK_HI 0x31000ull
#define SMC (CODE + 0x800) /* the self-modifying store's target */
#define HIGH 0x7ffffffff000ull /* CODE's linear address once paged (page_high) */
#define PML4 0x3a000ull /* and the 5 tables after it */
#define LOW_PT 0x32000ull /* page_high's table for the low 2 MiB */
#define AFTER_DATA 0x33000ull /* where page_high maps the page after DATA's */

static struct emu_fixture fx;
static struct emu_cpu cpu;
static bool calm; /* no faults or exits: the loop programs run to their HLT */
static uint64_t code_at = CODE; /* CODE or HIGH */
static bool user_mode;          /* the cases run at CPL 3 (after supervisor reads) */

/* Each test program draws from this seed: a section's cases change only
 * with the sections before it in the same program. */
static uint64_t rng = 0x2545f4914f6cdd1dull;

static inline uint64_t rnd(void)
{
    return xorshift64(&rng);
}

static inline unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static inline uint64_t operand(void)
{
    static const uint64_t edges[] = {0,          1,          0x7f,       0x80,
                                     0xff,       0x7fffffff, 0x80000000, 0xffffffff,
                                     0x7fff,     0x8000,     0xff80,
                                     0x100000000ull, 0x7fffffffffffffffull,
                                     0x8000000000000000ull, 0xffffffffffffffffull};
    uint64_t r = rnd();
    return (r & 3) ? edges[(r >> 2) % (sizeof(edges) / sizeof(edges[0]))] + ((r >> 8) & 3) - 1
                   : rnd();
}

/* Registers the random forms may write: not R13 (a non-canonical
 * address, for the faulting load) or R15 (the data page), and RSP
 * rarely (the stack forms then fault or miss) and never when calm. */
static inline unsigned reg(void)
{
    static const unsigned ok[] = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 14};
    if (!calm && pick(64) == 0)
        return 4;
    return ok[pick(sizeof(ok) / sizeof(ok[0]))];
}

struct code {
    uint8_t b[2048]; /* a loop program: up to 6 x 20 instructions of up to 10 bytes */
    unsigned n, insns;
};

static inline void put(struct code *c, unsigned v)
{
    c->b[c->n++] = (uint8_t)v;
}

static inline void put32(struct code *c, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put(c, (v >> (8 * i)) & 0xff);
}

/* A stack slot's random content: mostly an address in the stack's pages
 * (for POP RSP) or the code page (for RET), else past RAM, non-canonical
 * or anything. */
static inline uint64_t stack_value(void)
{
    switch (pick(6)) {
    case 0:
    case 1: return STACK_LO + (rnd() & 0x2ff8) + pick(2) * pick(8);
    case 2: return CODE + pick(4096);
    case 3: return 0x100000 + pick(4096);
    case 4: return 0x0000800000000000ull + pick(4096) - 2048;
    default: return operand();
    }
}

/* RSP for a case: most of the time STACK, else a slot across or at a
 * page edge, past RAM (not backed: the full path) or non-canonical. */
static inline uint64_t random_rsp(void)
{
    if (calm || pick(3))
        return STACK;
    if (code_at == HIGH && pick(2)) /* across HIGH - 0x1000 (0x2e000) and HIGH (CODE) */
        return pick(2) ? HIGH + 4 * pick(3) : HIGH + 0x1000 + 4 * pick(3); /* or the hole */
    switch (pick(5)) {
    case 0: return 0x2f000 + 4 * pick(5);   /* pushes into or across page 0x2e000 */
    case 1: return 0x30000 - 4 * pick(5);   /* pops across page 0x30000 */
    case 2: return 0x100000 + 8 * pick(8);  /* past RAM */
    case 3: return 0x0000800000000000ull + 8 * pick(4); /* non-canonical */
    default: return STACK_LO + (rnd() & 0x2fff);
    }
}

/* XMM registers: edge qwords, bytes of the edges (zero bytes for the
 * string functions' compares), or a copy of another (lanes that compare
 * equal); and the SSE state emu_sse_check looks at: usable, unless
 * (rarely, not when calm) CR0.TS (#NM), CR0.EM or no CR4.OSFXSR (#UD). */
static inline void random_xmm(struct emu_cpu *cpu)
{
    static const uint8_t bytes[] = {0, 0, 1, 0x7f, 0x80, 0xff, 0x2f, 0x61};
    for (unsigned x = 0; x < 16; x++) {
        emu_xmm *v = &cpu->fpu.xmm[x];
        switch (pick(4)) {
        case 0: *v = cpu->fpu.xmm[pick(16)]; break;
        case 1:
            for (unsigned i = 0; i < 16; i++)
                v->b[i] = bytes[pick(sizeof(bytes))];
            break;
        default:
            v->q[0] = operand();
            v->q[1] = operand();
            break;
        }
    }
    cpu->cr0 &= ~(CR0_TS | CR0_EM);
    cpu->cr4 |= CR4_OSFXSR;
    /* Now and then SSE4.2 off, as on a host without it: the string
     * compares #UD (their native form's slow path). */
    cpu->features_off = emu_host_features_missing();
    if (!calm && pick(16) == 0)
        cpu->features_off |= 1u << EMU_HF_SSE42;
    if (!calm && pick(12) == 0) {
        switch (pick(4)) {
        case 0: cpu->cr0 |= CR0_EM; break;
        case 1: cpu->cr4 &= ~CR4_OSFXSR; break;
        default: cpu->cr0 |= CR0_TS; break;
        }
    }
}

/* A lazy state as an instruction leaves it: the result is the operation
 * on its operands (what compiled code that redoes the operation relies
 * on: jit_cond_flags, the shared code's host_flags), the rest random. */
static inline void lazy_consistent(struct emu_lazy_flags *lf)
{
    switch (lf->op) {
    case LF_ADD: lf->res = lf->a + lf->b; break;
    case LF_ADC: lf->res = lf->a + lf->b + lf->cf_in; break;
    case LF_SUB: lf->res = lf->a - lf->b; break;
    case LF_SBB: lf->res = lf->a - lf->b - lf->cf_in; break;
    case LF_INC: lf->b = 1; lf->res = lf->a + 1; break;
    case LF_DEC: lf->b = 1; lf->res = lf->a - 1; break;
    case LF_NEG: lf->b = 0; lf->res = 0 - lf->a; break;
    default: break; /* LOGIC: the result alone; CFOF: cf_in, b, the result */
    }
}

static inline void random_state(struct emu_cpu *cpu)
{
    for (int r = 0; r < 16; r++)
        cpu->gpr[r] = operand();
    cpu->gpr[4] = random_rsp();
    cpu->gpr[13] = 0x8000000000000000ull;
    cpu->gpr[15] = DATA;
    cpu->rip = code_at;
    /* AC (no alignment check at CPL 0) keeps accesses off the TLB. */
    emu_set_rflags(cpu, 2 | (rnd() & RFLAGS_ARITH) | (pick(16) ? 0 : RFLAGS_AC));
    if (!calm && pick(8) == 0)
        emu_tlb_flush(cpu); /* the stack's slots miss the TLB, then fill it */
    if (user_mode) { /* supervisor reads fill the data TLB, then CPL 3 */
        cpu->cpl = 0;
        for (uint64_t a = DATA; a < DATA + 4096; a += 256) {
            uint64_t v;
            emu_read(cpu, SEG_DS, a, 8, &v);
        }
        cpu->cpl = 3;
    }
    static const uint8_t ops[] = {LF_NONE, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC,
                                  LF_INC,  LF_DEC, LF_NEG, LF_CFOF};
    cpu->lf.op = ops[pick(sizeof(ops))];
    if (cpu->lf.op != LF_NONE) {
        static const uint8_t sizes[] = {1, 2, 4, 8};
        cpu->lf.size = sizes[pick(4)];
        cpu->lf.cf_in = pick(2);
        cpu->lf.a = operand();
        cpu->lf.b = operand();
        cpu->lf.res = operand();
        lazy_consistent(&cpu->lf);
    }
    random_xmm(cpu);
    cpu->insn_count = rnd() & 0xffff;
    cpu->exc.vector = -1;
    cpu->exc_pending = cpu->halted = cpu->shadow = cpu->held_valid = false;
    cpu->xlog_n = cpu->xlog_pos = cpu->held_pos = 0;
}

/* What a run leaves that the comparison looks at. */
struct outcome {
    int st;
    uint64_t gpr[16], rip, rflags, insn_count;
    emu_xmm xmm[16];
    uint64_t cr0;
    struct emu_lazy_flags lf;
    int vector;
    uint32_t error;
    bool held_valid;
    uint64_t held_rip;
    int xlog_n;
    struct accel_exit exit;
    uint8_t ram[RAM];
};

static struct emu_cpu start;
static uint8_t start_ram[RAM];
static struct outcome ref, got;

static inline void restore(void)
{
    cpu = start;
    memcpy(fx.ram, start_ram, RAM);
}

static inline void record(struct outcome *o, int st, const struct accel_exit *exit)
{
    o->st = st;
    memcpy(o->gpr, cpu.gpr, sizeof(o->gpr));
    memcpy(o->xmm, cpu.fpu.xmm, sizeof(o->xmm));
    o->cr0 = cpu.cr0;
    o->rip = cpu.rip;
    o->lf = cpu.lf;
    o->insn_count = cpu.insn_count;
    o->vector = cpu.exc.vector;
    o->error = cpu.exc.error;
    o->held_valid = cpu.held_valid;
    o->held_rip = cpu.held_rip;
    o->xlog_n = cpu.xlog_n;
    o->exit = *exit;
    memcpy(o->ram, fx.ram, RAM);
    o->rflags = emu_rflags(&cpu); /* last: it materialises (changes lf) */
}

/* c placed at CODE over random data, count at DATA + at, then run from
 * one random state (with the data TLB empty when cold) to its HLT twice:
 * interpreted into ref, then compiled, each block at its first run, into
 * got. */
static inline void run_program(const struct code *c, unsigned at, uint64_t count, bool cold)
{
    struct accel_exit exit;
    memset(fx.ram + CODE, 0, 4096);
    memcpy(fx.ram + CODE, c->b, c->n);
    for (uint64_t i = DATA; i < RAM; i++)
        fx.ram[i] = (uint8_t)rnd();
    memcpy(fx.ram + DATA + at, &count, 8);
    random_state(&cpu);
    if (cold)
        emu_tlb_flush(&cpu); /* the first access of each page misses */
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    for (int jit = 0; jit < 2; jit++) {
        restore();
        emu_code_invalidate(&fx.evm, CODE, 4096);
        emu_blocks_free_dead(&fx.evm);
        fx.evm.jit_hot = 0;
        if (jit)
            emu_jit_set_hot(&fx.evm, 1);
        memset(&exit, 0, sizeof(exit));
        emu_fixture_run_to_hlt(&cpu, &exit, 100000);
        record(jit ? &got : &ref, exit.reason, &exit);
    }
}

static const char *section = "random blocks"; /* which part of the test reports */

static inline int report(const struct code *c, const char *what, uint64_t a, uint64_t b)
{
    printf("FAIL: emu JIT: %s: JIT differs from the interpreter in %s: interpreter %#" PRIx64
           ", JIT %#" PRIx64 "; block:",
           section, what, a, b);
    for (unsigned i = 0; i < c->n; i++)
        printf(" %02x", c->b[i]);
    printf("\n");
    return 1;
}

static inline int compare(const struct code *c)
{
    static const char *const names[16] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                                          "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
    if (ref.st != got.st)
        return report(c, "status", (uint64_t)ref.st, (uint64_t)got.st);
    for (int r = 0; r < 16; r++)
        if (ref.gpr[r] != got.gpr[r])
            return report(c, names[r], ref.gpr[r], got.gpr[r]);
    for (int x = 0; x < 16; x++)
        for (int h = 0; h < 2; h++)
            if (ref.xmm[x].q[h] != got.xmm[x].q[h]) {
                char what[32];
                snprintf(what, sizeof(what), "XMM%d's %s quadword", x, h ? "high" : "low");
                return report(c, what, ref.xmm[x].q[h], got.xmm[x].q[h]);
            }
    if (ref.cr0 != got.cr0)
        return report(c, "CR0", ref.cr0, got.cr0);
    if (ref.rip != got.rip)
        return report(c, "RIP", ref.rip, got.rip);
    if (ref.rflags != got.rflags)
        return report(c, "RFLAGS", ref.rflags, got.rflags);
    if (ref.lf.op != got.lf.op || ref.lf.size != got.lf.size || ref.lf.cf_in != got.lf.cf_in)
        return report(c, "lazy flags (op, size, cf_in)",
                      ref.lf.op | ref.lf.size << 8 | (uint64_t)ref.lf.cf_in << 16,
                      got.lf.op | got.lf.size << 8 | (uint64_t)got.lf.cf_in << 16);
    if (ref.lf.a != got.lf.a)
        return report(c, "lazy flags' a", ref.lf.a, got.lf.a);
    if (ref.lf.b != got.lf.b)
        return report(c, "lazy flags' b", ref.lf.b, got.lf.b);
    if (ref.lf.res != got.lf.res)
        return report(c, "lazy flags' res", ref.lf.res, got.lf.res);
    if (ref.insn_count != got.insn_count)
        return report(c, "insn_count", ref.insn_count, got.insn_count);
    if (ref.vector != got.vector || ref.error != got.error)
        return report(c, "the exception", (uint64_t)ref.vector << 32 | ref.error,
                      (uint64_t)got.vector << 32 | got.error);
    if (ref.held_valid != got.held_valid || ref.held_rip != got.held_rip ||
        ref.xlog_n != got.xlog_n)
        return report(c, "the held instruction (valid, rip)",
                      (uint64_t)ref.held_valid << 63 | ref.held_rip,
                      (uint64_t)got.held_valid << 63 | got.held_rip);
    if (memcmp(&ref.exit, &got.exit, sizeof(ref.exit)))
        return report(c, "the exit (reason)", ref.exit.reason, got.exit.reason);
    if (memcmp(ref.ram, got.ram, RAM)) {
        uint64_t a = 0;
        while (ref.ram[a] == got.ram[a])
            a++;
        return report(c, "memory (the address, then the JIT's byte)", a, got.ram[a]);
    }
    return 0;
}

/* The size of b's compiled code, right after it was compiled (the last
 * code in code memory). */
static inline size_t code_size(const struct emu_block *b)
{
    const struct jit_arena *a = &fx.evm.jit->arena;
    return (size_t)(a->rx + a->used - (const uint8_t *)b->jit_body);
}

/* Whether [code, code + n) holds the 8 bytes of v. */
static inline bool code_holds(const uint8_t *code, size_t n, uint64_t v)
{
    for (size_t i = 0; i + 8 <= n; i++)
        if (!memcmp(code + i, &v, 8))
            return true;
    return false;
}

/* Whether the code [code, code + n), or the cold code published with the
 * last block compiled (code memory's cold end: jit_mem.h), holds in's
 * address (jit_emit_call's MOV RSI, imm64, an exit stub's MOV RDX,
 * imm64): whether any way of calling in's handler was compiled. */
static inline bool code_names(const uint8_t *code, size_t n, const struct emu_insn *in)
{
    const struct jit_arena *a = &fx.evm.jit->arena;
    uint64_t v = (uint64_t)(uintptr_t)in;
    return code_holds(code, n, v) || code_holds(a->rx + a->cold, a->cold_last - a->cold, v);
}

/* The paged sections' tables (PML4 and the 5 pages after it, LOW_PT)
 * as set, their entries put back before each case where they changed:
 * the low 2 MiB are mapped writable for the guest, whose stray stores
 * (a PUSH with a random RSP) would otherwise change the next cases'
 * translations; and each case starts with the accessed and dirty bits
 * clear, so that it shows which ones it sets. */
static uint64_t tables[0x7000 / 8];
static bool tables_kept;

static inline uint64_t *table_entry(unsigned i)
{
    return (uint64_t *)(fx.ram + (i < 0x6000 / 8 ? PML4 + 8 * i : LOW_PT + 8 * (i - 0x6000 / 8)));
}

static inline void keep_tables(void)
{
    for (unsigned i = 0; i < 0x7000 / 8; i++)
        memcpy(&tables[i], table_entry(i), 8);
    tables_kept = true;
}

static inline void restore_tables(void)
{
    bool changed = false;
    for (unsigned i = 0; tables_kept && i < 0x7000 / 8; i++) {
        uint64_t v;
        memcpy(&v, table_entry(i), 8);
        if (v != tables[i]) {
            memcpy(table_entry(i), &tables[i], 8);
            changed = true;
        }
    }
    if (changed)
        emu_tlb_flush(&cpu);
}

/* b's code called once, as run_chain calls it: with a budget of `runs`
 * more runs of b (cpu.chain_left counts instructions: each run that
 * ends takes b->n), and the instructions taken counted as run_chain
 * counts them. The budget left, in runs of b, into *left (if not NULL). */
static inline int run_compiled(struct emu_block *b, int32_t runs, int32_t *left)
{
    int32_t budget = runs * (int32_t)b->n;
    /* A chaining block finds cpu->rip stale when gone on into from
     * another (jit_direct_exit and jit_far_exit do not store it): it
     * must take RIP from where it was entered (RBP, chain_lin) alone,
     * and store it wherever it leaves compiled code. */
    if (b->jit_entry && cpu.rip == cpu.chain_lin)
        cpu.rip = 0xdead0000beef0000ull;
    cpu.chain_left = budget;
    int st = b->jit_code(&cpu, b);
    cpu.insn_count += (uint32_t)(budget - cpu.chain_left);
    if (left)
        *left = cpu.chain_left / (int32_t)b->n;
    return st;
}

/* 4-level paging: the low 2 MiB identity-mapped but for the page after
 * the data page (AFTER_DATA: an operand across the data page's end is
 * not contiguous in RAM), the last page below the non-canonical hole
 * (HIGH) mapped to CODE, so that a CALL rel32 there can reach a
 * non-canonical target, and the page before it to STACK_LO, so that a
 * stack slot across the two is not contiguous in RAM either (and its
 * second half writes the block's code). */

static inline void set_entry(uint64_t table, unsigned index, uint64_t entry)
{
    memcpy(fx.ram + table + 8 * index, &entry, 8);
}

static inline void page_high(void)
{
    memset(fx.ram + PML4, 0, 0x6000);
    set_entry(PML4, 0, (PML4 + 0x1000) | 7);
    set_entry(PML4 + 0x1000, 0, (PML4 + 0x2000) | 7);
    set_entry(PML4 + 0x2000, 0, LOW_PT | 7);
    for (unsigned i = 0; i < 512; i++)
        set_entry(LOW_PT, i, ((uint64_t)i << 12) | 7);
    set_entry(LOW_PT, (DATA >> 12) + 1, AFTER_DATA | 7);
    set_entry(PML4, 255, (PML4 + 0x3000) | 7);
    set_entry(PML4 + 0x3000, 511, (PML4 + 0x4000) | 7);
    set_entry(PML4 + 0x4000, 511, (PML4 + 0x5000) | 7);
    set_entry(PML4 + 0x5000, 511, CODE | 7);
    set_entry(PML4 + 0x5000, 510, STACK_LO | 7);
    cpu.cr3 = PML4;
    cpu.cr4 |= CR4_PAE;
    cpu.cr0 |= 0x80000000u; /* PG */
    emu_update_mode(&cpu);
    emu_tlb_flush(&cpu);
    code_at = HIGH;
    keep_tables();
}

/* The data page read-only (CR0.WP: for CPL 0 too), or writable again:
 * every store to it must then fault, compiled or not, though its loads
 * fill the read TLB (a store probing that one would write through). */
static inline void data_page_read_only(bool on)
{
    set_entry(LOW_PT, DATA >> 12, DATA | (on ? 5 : 7));
    if (on)
        cpu.cr0 |= CR0_WP;
    else
        cpu.cr0 &= ~CR0_WP;
    keep_tables();
    emu_tlb_flush(&cpu);
}

/* The fixture with the JIT on, the CPU in 64-bit mode at CODE. False
 * when the test cannot go on, main's exit status in *status: 1 when the
 * fixture could not be set up, 0 (after a SKIP line) on a host without
 * the JIT. */
static inline bool emu_jit_test_start(int *status)
{
    setenv("HYPERKIT_EMU_JIT", "1", 1);
    unsetenv("HYPERKIT_EMU_JIT_HOT");
    *status = 1;
    if (emu_fixture_init(&fx, &cpu, RAM, "emu JIT"))
        return false;
    *status = 0;
    if (!fx.evm.jit) { /* emu_fixture_init took HYPERKIT_EMU_JIT=1 */
        printf("SKIP: emu JIT: no JIT on this host\n");
        return false;
    }
    emu_fixture_long64(&cpu, fx.ram, CODE, STACK);
    emu_update_mode(&cpu);
    return true;
}

#endif
