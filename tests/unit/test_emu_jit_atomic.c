/*
 * The JIT's SETcc, XCHG and CMPXCHG on memory (jit_native_atomic.c)
 * against the interpreter in directed cases (emu_jit_harness.h): from a
 * warm and a cold TLB, CMPXCHG equal and not, across a page; then under
 * paging with the data page read-only, where each must be #PF with W.
 * The random blocks' atomic forms are test_emu_jit_blocks.c's.
 */
#include "emu_jit_harness.h"

/* Directed cases of jit_native_atomic.c's forms, the operand at
 * DATA + 0x40 (through R15, RDI = DATA, RSP, RIP-relative) or across the
 * data page's end, each from random states, interpreted and compiled:
 * warm (the operand's page in the write TLB, the read TLB empty) and
 * cold (both empty); CMPXCHG with the accumulator made equal to the
 * operand, and not; SETcc after a state the block sets and one it does
 * not know (the shared host_flags; a Jcc on parity after it). Warm, a
 * memory form in one page must not call its handler: the handler would
 * read the operand through the read TLB and fill it (the interpreted run
 * must, the compiled one must not). With the data page read-only
 * (read_only: its translation in the read TLB when warm), each must be
 * #PF with P and W set, CMPXCHG's compare failing or not. */
struct atomic_case {
    const char *what;
    uint8_t code[16];
    unsigned n;
    unsigned rel_at;   /* a rel32 to DATA + 0x40 there (0: none), RIP the instruction's end */
    unsigned rel_end;
    unsigned size;     /* the operand's; 0: no memory operand */
    bool straddles;    /* the operand across the data page's end */
    bool eq;           /* the accumulator made equal to the operand */
    bool handler_reads; /* the handler reads the operand (XCHG, CMPXCHG) */
    unsigned at;        /* the form's offset (after a flag setter) */
};

static const struct atomic_case atomic_cases[] = {
    {"LOCK CMPXCHG [r15 + 0x40], edx (equal)",
     {0xf0, 0x41, 0x0f, 0xb1, 0x57, 0x40, 0xf4}, 7, 0, 0, 4, false, true, true, 0},
    {"LOCK CMPXCHG [r15 + 0x40], edx",
     {0xf0, 0x41, 0x0f, 0xb1, 0x57, 0x40, 0xf4}, 7, 0, 0, 4, false, false, true, 0},
    {"LOCK CMPXCHG [r15 + 0x40], rdx (equal)",
     {0xf0, 0x49, 0x0f, 0xb1, 0x57, 0x40, 0xf4}, 7, 0, 0, 8, false, true, true, 0},
    {"LOCK CMPXCHG [r15 + 0x40], rdx",
     {0xf0, 0x49, 0x0f, 0xb1, 0x57, 0x40, 0xf4}, 7, 0, 0, 8, false, false, true, 0},
    {"LOCK CMPXCHG [r15 + 0x40], dl (equal)",
     {0xf0, 0x41, 0x0f, 0xb0, 0x57, 0x40, 0xf4}, 7, 0, 0, 1, false, true, true, 0},
    {"CMPXCHG [rdi + 0x40], ah", {0x0f, 0xb0, 0x67, 0x40, 0xf4}, 5, 0, 0, 1, false, false, true, 0},
    {"CMPXCHG [rdi + 0x40], edx; JNE (equal)",
     {0x0f, 0xb1, 0x57, 0x40, 0x75, 0x00}, 6, 0, 0, 4, false, true, true, 0},
    {"CMPXCHG [rdi + 0x40], edx; JNE",
     {0x0f, 0xb1, 0x57, 0x40, 0x75, 0x00}, 6, 0, 0, 4, false, false, true, 0},
    {"LOCK CMPXCHG [rip + rel32], edx (equal)",
     {0xf0, 0x0f, 0xb1, 0x15, 0, 0, 0, 0, 0xf4}, 9, 4, 8, 4, false, true, true, 0},
    {"LOCK CMPXCHG [DATA + 0xffe], edx (equal)",
     {0xf0, 0x0f, 0xb1, 0x14, 0x25, 0xfe, 0x0f, 0x02, 0x00, 0xf4}, 10, 0, 0, 4, true, true, true, 0},
    {"LOCK CMPXCHG [DATA + 0xffe], edx",
     {0xf0, 0x0f, 0xb1, 0x14, 0x25, 0xfe, 0x0f, 0x02, 0x00, 0xf4}, 10, 0, 0, 4, true, false, true, 0},
    {"XCHG [rdi + 0x40], eax", {0x87, 0x47, 0x40, 0xf4}, 4, 0, 0, 4, false, false, true, 0},
    {"XCHG [rdi + 0x40], rax", {0x48, 0x87, 0x47, 0x40, 0xf4}, 5, 0, 0, 8, false, false, true, 0},
    {"XCHG [rdi + 0x40], ah", {0x86, 0x67, 0x40, 0xf4}, 4, 0, 0, 1, false, false, true, 0},
    {"XCHG [rip + rel32], eax", {0x87, 0x05, 0, 0, 0, 0, 0xf4}, 7, 2, 6, 4, false, false, true, 0},
    {"XCHG [DATA + 0xffe], eax",
     {0x87, 0x04, 0x25, 0xfe, 0x0f, 0x02, 0x00, 0xf4}, 8, 0, 0, 4, true, false, true, 0},
    {"XCHG rsi, rdi", {0x48, 0x87, 0xf7, 0xf4}, 4, 0, 0, 0, false, false, false, 0},
    {"XCHG esi, esi", {0x87, 0xf6, 0xf4}, 3, 0, 0, 0, false, false, false, 0},
    {"CMP eax, ecx; SETE [rsp + 0x3b]",
     {0x39, 0xc8, 0x0f, 0x94, 0x44, 0x24, 0x3b, 0xf4}, 8, 0, 0, 1, false, false, false, 2},
    {"SETA [r15 + 0x40] (state unknown)",
     {0x41, 0x0f, 0x97, 0x47, 0x40, 0xf4}, 6, 0, 0, 1, false, false, false, 0},
    {"INC r8d; SETB [r15 + 0x40]; JP",
     {0x41, 0xff, 0xc0, 0x41, 0x0f, 0x92, 0x47, 0x40, 0x7a, 0x00}, 10, 0, 0, 1, false, false, false, 3},
    {"ADC eax, ecx; SETP [r15 + 0x40] (called)",
     {0x11, 0xc8, 0x41, 0x0f, 0x9a, 0x47, 0x40, 0xf4}, 8, 0, 0, 1, false, false, false, 2},
};

/* One run of case k: *compiled_reads whether the compiled run filled the
 * read TLB for the operand; false when it differs from the interpreter
 * or (read_only) does not fault as it must. */
static bool atomic_case_run(const struct atomic_case *k, bool warm, bool read_only,
                            bool *compiled_reads, bool *interp_reads)
{
    struct accel_exit exit;
    struct code c = {.n = k->n, .insns = 1};
    memcpy(c.b, k->code, k->n);
    uint64_t lin = k->straddles ? DATA + 0xffe : DATA + 0x40;
    if (k->rel_at) {
        uint64_t rel = lin - (code_at + k->rel_end);
        if (!x_fits_s32((int64_t)rel))
            return true; /* paged: DATA is out of reach */
        memcpy(c.b + k->rel_at, &(uint32_t){(uint32_t)rel}, 4);
    }
    restore_tables();
    memset(fx.ram + CODE, 0xf4, 4096);
    memcpy(fx.ram + CODE, c.b, c.n);
    for (unsigned i = 0; i < 4096; i += 8) {
        uint64_t v = operand();
        memcpy(fx.ram + DATA + i, &v, 8);
    }
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    emu_set_rflags(&cpu, emu_rflags(&cpu) & ~(uint64_t)RFLAGS_AC);
    cpu.gpr[7] = DATA;
    cpu.gpr[4] = DATA + 0x40 - 0x3b;
    if (k->eq)
        memcpy(&cpu.gpr[0], fx.ram + lin, k->size);
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    cpu.xlog_n = cpu.xlog_pos = cpu.held_pos = 0;
    cpu.held_valid = false;
    memset(cpu.tlb_read, 0, sizeof(cpu.tlb_read));
    memset(cpu.tlb_write, 0, sizeof(cpu.tlb_write));
    if (warm) { /* the operand's page (its first byte's) in one TLB */
        uint64_t v;
        if (read_only)
            emu_read(&cpu, SEG_DS, lin, 1, &v);
        else if (emu_read(&cpu, SEG_DS, lin, 1, &v) || emu_write(&cpu, SEG_DS, lin, 1, v))
            return printf("FAIL: emu JIT: %s: the operand not writable\n", k->what), false;
        if (!read_only)
            memset(cpu.tlb_read, 0, sizeof(cpu.tlb_read));
    }
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    if (!b)
        return printf("FAIL: emu JIT: %s: no block (status %d)\n", k->what, st), false;
    memset(cpu.jcache, 0, sizeof(cpu.jcache));
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    const struct emu_tlb_entry *slot = &cpu.tlb_read[emu_tlb_slot(lin)];
    st = emu_run_block(&cpu, b);
    *interp_reads = slot->vpage == emu_tlb_tag(&cpu, lin);
    record(&ref, st, &exit);
    restore();
    memset(&exit, 0, sizeof(exit));
    emu_code_invalidate(&fx.evm, CODE, 4096);
    if (!(b = emu_block_get(&cpu, &st)))
        return printf("FAIL: emu JIT: %s: no block the second time\n", k->what), false;
    emu_jit_compile(&fx.evm, b);
    if (!b->jit_code)
        return printf("FAIL: emu JIT: %s: not compiled\n", k->what), false;
    cpu.chain_lin = code_at;
    st = run_compiled(b, 0, NULL);
    *compiled_reads = slot->vpage == emu_tlb_tag(&cpu, lin);
    record(&got, st, &exit);
    if (compare(&c))
        return false;
    if (read_only && k->size &&
        (ref.st != EMU_FAULT || ref.vector != EXC_PF || (ref.error & 3) != 3 ||
         ref.rip != code_at + k->at)) {
        printf("FAIL: emu JIT: %s on a read-only page: status %d, vector %d, error %#x, RIP %#llx "
               "(expected #PF with P and W at the instruction)\n",
               k->what, ref.st, ref.vector, ref.error, (unsigned long long)ref.rip);
        return false;
    }
    return true;
}

static int atomic_directed(bool read_only)
{
    const char *kept = section;
    section = read_only ? "SETcc, XCHG, CMPXCHG on a read-only page" : "SETcc, XCHG, CMPXCHG";
    unsigned runs = 0, fails = 0;
    for (size_t i = 0; i < sizeof(atomic_cases) / sizeof(atomic_cases[0]) && !fails; i++) {
        const struct atomic_case *k = &atomic_cases[i];
        for (unsigned r = 0; r < 64 && !fails; r++, runs++) {
            bool warm = r & 1, compiled_reads, interp_reads;
            if (!atomic_case_run(k, warm, read_only, &compiled_reads, &interp_reads)) {
                fails++;
                break;
            }
            /* Warm in one page: native (no read); the interpreter's handler reads. */
            if (!read_only && warm && k->handler_reads && !k->straddles &&
                (compiled_reads || !interp_reads)) {
                printf("FAIL: emu JIT: %s: warm, the compiled run %s the read TLB (the "
                       "interpreter's %s)\n",
                       k->what, compiled_reads ? "filled" : "did not fill",
                       interp_reads ? "did" : "did not");
                fails++;
            }
        }
    }
    section = kept;
    if (!fails)
        printf("PASS: emu JIT: %u directed runs of SETcc, XCHG, CMPXCHG (%s; TLB warm and cold, "
               "CMPXCHG equal and not, across a page), the same as the interpreter%s\n",
               runs, read_only ? "the data page read-only: #PF with W" : "native when warm",
               read_only ? "" : ", the handler not called when warm");
    return fails;
}

int main(void)
{
    int status;
    if (!emu_jit_test_start(&status))
        return status;
    if (atomic_directed(false))
        test_failures++;
    page_high();
    data_page_read_only(true);
    if (atomic_directed(true))
        test_failures++;
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
