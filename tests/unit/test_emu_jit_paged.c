/*
 * The JIT against the interpreter under 4-level paging (page_high, in
 * emu_jit_harness.h): random blocks at the top of the lower canonical
 * half, then with the data page read-only (CR0.WP), then at CPL 3 over
 * supervisor pages the TLB holds (with CR0.AM); and in each of the three
 * the native memory forms (INC/DEC [mem], byte ALU [mem], word MOVs,
 * TEST on words) in directed cases, from a warm and an empty TLB and
 * across a page.
 */
#include "emu_jit_random.h"

#define PAGED_CASES 2000

/* Memory forms made native after forms that were called (INC/DEC
 * after any lazy state, the byte ALU read-modify-writes, the word MOVs)
 * and TEST on word registers, each in a block of its own with what sets
 * up its case before it: the compiled code must hold the form's own host
 * access (sig: its bytes, the ModRM's mod and rm bits only where ModRM
 * is 0xc7 in mask) and no call of a register form's handler, and end as
 * the interpreter does with the operand at DATA + off (RDX = that),
 * from a warm TLB (read, then written), an empty one, and across the
 * data page's end. */
struct directed {
    const char *what;
    uint8_t code[12], n, sig[4], mask[4], sig_n;
};

static bool code_has_sig(const uint8_t *code, size_t n, const struct directed *d)
{
    for (size_t i = 0; i + d->sig_n + 1 <= n; i++) {
        const uint8_t *at = code + i;
        size_t k = 0;
        while (k < d->sig_n && (at[k] & d->mask[k]) == d->sig[k]) {
            k++;
            if (k == 1 && d->sig[0] == 0x66 && (at[1] & 0xf0) == 0x40)
                at++; /* 66 REX: the host register's */
        }
        if (k == d->sig_n)
            return true;
    }
    return false;
}

static unsigned directed_faults; /* cases the interpreter ended with an exception */

static int directed_case(const struct directed *d, uint64_t off, int tlb)
{
    struct code c = {.n = d->n};
    struct accel_exit exit;
    memcpy(c.b, d->code, d->n);
    c.b[c.n++] = 0xf4; /* HLT */
    restore_tables();
    memset(fx.ram + CODE, 0, 4096);
    memcpy(fx.ram + CODE, c.b, c.n);
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    cpu.gpr[2] = DATA + off;
    emu_set_rflags(&cpu, 2 | (rnd() & RFLAGS_ARITH)); /* no AC */
    if (tlb) { /* a read fills the read TLB, a write (which may fault) the write one */
        uint64_t v;
        if (emu_read(&cpu, SEG_DS, DATA + off, 1, &v) == EMU_OK)
            emu_write(&cpu, SEG_DS, DATA + off, 1, v);
        cpu.exc.vector = -1;
    } else {
        emu_tlb_flush(&cpu);
    }
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    if (!b) {
        printf("FAIL: emu JIT: %s: no block (status %d)\n", d->what, st);
        return 1;
    }
    st = emu_run_block(&cpu, b);
    record(&ref, st, &exit);
    directed_faults += st == EMU_FAULT;
    restore();
    memset(&exit, 0, sizeof(exit));
    emu_code_invalidate(&fx.evm, CODE, 4096);
    if ((b = emu_block_get(&cpu, &st)) != NULL)
        emu_jit_compile(&fx.evm, b);
    if (!b || !b->jit_code) {
        printf("FAIL: emu JIT: %s: not compiled\n", d->what);
        return 1;
    }
    size_t n = code_size(b);
    const struct emu_insn *last = &b->insns[b->n - 2]; /* the form, before HLT */
    bool calls = !(last->flags & INSN_MEM) && code_names(b->jit_body, n, last);
    if (!code_has_sig(b->jit_body, n, d) || calls) {
        printf("FAIL: emu JIT: %s: %s\n", d->what,
               calls ? "its handler is called" : "compiled without its native access");
        return 1;
    }
    cpu.chain_lin = code_at;
    st = run_compiled(b, 0, NULL);
    record(&got, st, &exit);
    return compare(&c);
}

static int directed_forms(void)
{
    directed_faults = 0;
    static const struct directed forms[] = {
        /* INC/DEC (%rdx): after the block's unknown state (the shared
         * cf_dl, RCX saved around it), after ADC (inline, RCX too), ADD,
         * INC (CF kept); the store through RCX */
        {"decl (%rdx)", {0xff, 0x0a}, 2, {0x89, 0x01}, {0xff, 0xff}, 2},
        {"incq (%rdx)", {0x48, 0xff, 0x02}, 3, {0x48, 0x89, 0x01}, {0xff, 0xff, 0xff}, 3},
        {"adc %rbx,%rax; incl (%rdx)", {0x48, 0x11, 0xd8, 0xff, 0x02}, 5, {0x89, 0x01},
         {0xff, 0xff}, 2},
        {"add %rbx,%rax; decq (%rdx)", {0x48, 0x01, 0xd8, 0x48, 0xff, 0x0a}, 6,
         {0x48, 0x89, 0x01}, {0xff, 0xff, 0xff}, 3},
        {"inc %eax; decl (%rdx)", {0xff, 0xc0, 0xff, 0x0a}, 4, {0x89, 0x01}, {0xff, 0xff}, 2},
        /* the byte ALU [mem], r8 / imm8: MOV [RDX], AL */
        {"and %al,(%rdx)", {0x20, 0x02}, 2, {0x88, 0x02}, {0xff, 0xff}, 2},
        {"or %bh,(%rdx)", {0x08, 0x3a}, 2, {0x88, 0x02}, {0xff, 0xff}, 2},
        {"sub %sil,(%rdx)", {0x40, 0x28, 0x32}, 3, {0x88, 0x02}, {0xff, 0xff}, 2},
        {"xorb $0x5a,(%rdx)", {0x80, 0x32, 0x5a}, 3, {0x88, 0x02}, {0xff, 0xff}, 2},
        {"addb $0xff,(%rdx)", {0x80, 0x02, 0xff}, 3, {0x88, 0x02}, {0xff, 0xff}, 2},
        /* the word MOVs: 66 [REX] 89/8B with [RCX] */
        {"mov %ax,(%rdx)", {0x66, 0x89, 0x02}, 3, {0x66, 0x89, 0x01}, {0xff, 0xff, 0xc7}, 3},
        {"mov %r9w,(%rdx)", {0x66, 0x44, 0x89, 0x0a}, 4, {0x66, 0x89, 0x01}, {0xff, 0xff, 0xc7},
         3},
        {"mov (%rdx),%cx", {0x66, 0x8b, 0x0a}, 3, {0x66, 0x8b, 0x01}, {0xff, 0xff, 0xc7}, 3},
        {"mov (%rdx),%r9w", {0x66, 0x44, 0x8b, 0x0a}, 4, {0x66, 0x8b, 0x01}, {0xff, 0xff, 0xc7},
         3},
        /* TEST on words: the operands zero-extended from 16 bits (MOVZX) */
        {"test %cx,%cx", {0x66, 0x85, 0xc9}, 3, {0x0f, 0xb7}, {0xff, 0xff}, 2},
        {"test $0x8001,%r10w", {0x66, 0x41, 0xf7, 0xc2, 0x01, 0x80}, 6, {0x0f, 0xb7},
         {0xff, 0xff}, 2},
    };
    static const uint64_t offs[] = {0x100, 0x7ff, 0xfff, 0xffe, 0xffc, 0xff9};
    int fails = 0;
    for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]) && fails < 5; i++)
        for (unsigned o = 0; o < sizeof(offs) / sizeof(offs[0]) && fails < 5; o++)
            for (int tlb = 0; tlb < 2 && fails < 5; tlb++)
                for (int k = 0; k < 4 && fails < 5; k++) /* random states, lazy ones too */
                    fails += directed_case(&forms[i], offs[o], tlb);
    return fails;
}

int main(void)
{
    int status;
    if (!emu_jit_test_start(&status))
        return status;
    page_high();
    section = "paged blocks";
    struct tally p = {0};
    if (random_blocks(PAGED_CASES, &p) == 0) {
        if (p.call_gp < PAGED_CASES / 50) {
            printf("FAIL: emu JIT: paged blocks: only %u CALLs to a non-canonical target\n",
                   p.call_gp);
            test_failures++;
        } else {
            printf("PASS: emu JIT: %u random blocks at %#llx under 4-level paging, the same as "
                   "the interpreter (%u CALLs to a non-canonical target)\n",
                   PAGED_CASES, (unsigned long long)HIGH, p.call_gp);
        }
    }
    uint64_t rng_kept = rng; /* the sections after see the same cases either way */
    section = "native memory forms";
    if (directed_forms() == 0)
        printf("PASS: emu JIT: INC/DEC [mem] after any lazy state, byte ALU [mem], r8 / imm8, "
               "MOV of words to and from memory and TEST on words compiled natively, the same "
               "as the interpreter from a warm and an empty TLB and across a page (%u "
               "faulted)\n", directed_faults);
    else
        test_failures++;
    rng = rng_kept;
    /* The data page read-only: its stores must fault, compiled or not. */
    data_page_read_only(true);
    section = "blocks on a read-only data page";
    struct tally r = {0};
    if (random_blocks(PAGED_CASES, &r) == 0) {
        if (r.stops < PAGED_CASES / 4 || r.atomic_pf < PAGED_CASES / 50 ||
            r.atomic_pf_w != r.atomic_pf) {
            printf("FAIL: emu JIT: read-only data: only %u of %u stopped, %u at SETcc, XCHG or "
                   "CMPXCHG by #PF (%u with W)\n",
                   r.stops, PAGED_CASES, r.atomic_pf, r.atomic_pf_w);
            test_failures++;
        } else {
            printf("PASS: emu JIT: %u random blocks with the data page read-only, the same as "
                   "the interpreter (%u faulted or exited, %u at SETcc, XCHG or CMPXCHG by #PF "
                   "with W)\n",
                   PAGED_CASES, r.stops, r.atomic_pf);
        }
    }
    if (directed_forms() == 0)
        printf("PASS: emu JIT: the native memory forms on the read-only data page, the same as "
               "the interpreter (%u faulted)\n", directed_faults);
    else
        test_failures++;
    data_page_read_only(false);
    /* CPL 3, the low 2 MiB (the data page and the stack) supervisor-only
     * and its translations filled by supervisor reads first: each access
     * there must fault, compiled or not (a TLB tag without the user bit
     * would let compiled code through); with CR0.AM, a misaligned one
     * when RFLAGS.AC is set (#AC), on the user stack too. */
    set_entry(PML4 + 0x2000, 0, 0x83);
    keep_tables();
    emu_tlb_flush(&cpu);
    cpu.cr0 |= 1u << 18; /* AM: with RFLAGS.AC, #AC for what is misaligned */
    user_mode = true;
    section = "user blocks";
    struct tally u = {0};
    if (random_blocks(PAGED_CASES, &u) == 0) {
        if (u.stops < PAGED_CASES / 2) {
            printf("FAIL: emu JIT: user blocks: only %u of %u stopped\n", u.stops, PAGED_CASES);
            test_failures++;
        } else {
            printf("PASS: emu JIT: %u random blocks at CPL 3 over supervisor pages the TLB "
                   "holds, the same as the interpreter (%u faulted or exited)\n",
                   PAGED_CASES, u.stops);
        }
    }
    if (directed_forms() == 0)
        printf("PASS: emu JIT: the native memory forms at CPL 3 over supervisor pages, the same "
               "as the interpreter (%u faulted)\n", directed_faults);
    else
        test_failures++;
    user_mode = false;
    cpu.cpl = 0;
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
