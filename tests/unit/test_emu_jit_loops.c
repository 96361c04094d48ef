/*
 * The JIT against the interpreter on loops (emu_jit_harness.h): loop
 * programs through emu_cpu_run with code memory so small that it is
 * dropped again and again; self loops (one block closed by a Jcc or a
 * JMP to its own start), their compiled code also called alone with a
 * budget of runs; pure loops of register forms (calling nothing, their
 * lazy-flag stores sunk), stopped by their budget and by a posted event.
 * Every end state must be the interpreter's; floors fail the test when
 * a path stops being exercised.
 */
#include "emu_jit_random.h"

/* Loop programs through emu_cpu_run: blocks compiled at their first run,
 * with code memory so small that it is dropped again and again (and the
 * store into the code page drops blocks too); the end state must be the
 * interpreter's. */
#define LOOPS 40
static int loop_programs(void)
{
    struct code c;
    uint64_t compiled = 0, resets = 0;
    section = "loop programs";
    calm = true;
    for (unsigned k = 0; k < LOOPS; k++) {
        c.n = c.insns = 0;
        for (unsigned m = 1 + pick(6); m > 0; m--) {
            gen_body(&c, 1 + pick(20));
            if (pick(2)) {
                put(&c, 0x70 + pick(16)); /* Jcc +0: a block boundary */
                put(&c, 0);
            } else { /* CALL 1f; JMP 2f; 1: RET; 2: three blocks */
                static const uint8_t call_ret[] = {0xe8, 2, 0, 0, 0, 0xeb, 1, 0xc3};
                memcpy(c.b + c.n, call_ret, sizeof(call_ret));
                c.n += sizeof(call_ret);
            }
        }
        static const uint8_t dec_count[] = {0x49, 0xff, 0x8f, 0x00, 0x01, 0x00, 0x00};
        memcpy(c.b + c.n, dec_count, sizeof(dec_count)); /* dec qword [r15 + 0x100] */
        c.n += sizeof(dec_count);
        put(&c, 0x0f); /* jnz CODE */
        put(&c, 0x85);
        put32(&c, (uint32_t)(CODE - (CODE + c.n + 4)));
        put(&c, 0xf4);
        uint64_t iterations = 20 + pick(40);
        run_program(&c, 0x100, iterations, false);
        if (ref.st != ACCEL_EXIT_HLT || ref.insn_count - start.insn_count < 3 * iterations) {
            printf("FAIL: emu JIT: loop program %u did not run to its HLT (exit %d, %" PRIu64
                   " instructions)\n", k, ref.st, ref.insn_count - start.insn_count);
            return 1;
        }
        if (compare(&c))
            return 1;
        emu_jit_stats(&fx.evm, &compiled, &resets);
    }
    calm = false;
    if (compiled < LOOPS || resets < LOOPS / 4) {
        printf("FAIL: emu JIT: loop programs compiled %" PRIu64 " blocks, dropped all code %" PRIu64
               " times: too few to test\n", compiled, resets);
        return 1;
    }
    printf("PASS: emu JIT: %u loop programs through emu_cpu_run end as interpreted (%" PRIu64
           " blocks compiled, code memory dropped %" PRIu64 " times)\n", LOOPS, compiled, resets);
    return 0;
}

/* Self loops: one block of random forms closing with a Jcc back to its
 * own start (jit_compile.c compiles it twice, the top loading what the
 * end holds), the Jcc native (jit_loop_tail, from its taken jump) or called
 * after an XCHG (jit_loop_back, from the block's end), through emu_cpu_run
 * with chaining; the end state must be the interpreter's. */
#define SELF_LOOP_PROGRAMS 400
static int self_loop_programs(void)
{
    struct code c;
    unsigned singles = 0; /* compiled as one block, the loop whole */
    calm = true;
    for (unsigned k = 0; k < SELF_LOOP_PROGRAMS; k++) {
        /* Outer: the count of the inner loop set, a few forms, a Jcc +0
         * (a boundary, the link to the loop jit_chain_exit takes the second
         * time round); the self loop; the outer count, jnz CODE. */
        c.n = c.insns = 0;
        uint32_t inner = 2 + pick(40);
        static const uint8_t set_count[] = {0x49, 0xc7, 0x87, 0x00, 0x01, 0x00, 0x00};
        memcpy(c.b + c.n, set_count, sizeof(set_count)); /* mov qword [r15 + 0x100], imm32 */
        c.n += sizeof(set_count);
        put32(&c, inner);
        gen_body(&c, pick(8));
        put(&c, 0x70 + pick(16));
        put(&c, 0);
        unsigned top = c.n;
        bool native = pick(2); /* many registers held across the loop, its Jcc native */
        all_native = native;
        gen_body(&c, 1 + pick(50));
        all_native = false;
        if (native) { /* test eax, eax: a state the compiler knows, so DEC [m] and JNZ native */
            put(&c, 0x85);
            put(&c, 0xc0);
            c.insns++;
        }
        static const uint8_t dec_count[] = {0x49, 0xff, 0x8f, 0x00, 0x01, 0x00, 0x00};
        memcpy(c.b + c.n, dec_count, sizeof(dec_count)); /* dec qword [r15 + 0x100] */
        c.n += sizeof(dec_count);
        bool called_jcc = !native && pick(2);
        if (called_jcc) { /* xchg rbx, rbx: called, the flags left */
            put(&c, 0x48);
            put(&c, 0x87);
            put(&c, 0xdb);
        }
        if (c.n + 2 - top < 128 && pick(2)) { /* jnz top, rel8 or rel32 */
            put(&c, 0x75);
            put(&c, (uint8_t)-(int)(c.n + 1 - top));
        } else {
            put(&c, 0x0f);
            put(&c, 0x85);
            put32(&c, (uint32_t)-(int32_t)(c.n + 4 - top));
        }
        unsigned loop_end = c.n;
        static const uint8_t dec_outer[] = {0x49, 0xff, 0x8f, 0x08, 0x01, 0x00, 0x00};
        memcpy(c.b + c.n, dec_outer, sizeof(dec_outer)); /* dec qword [r15 + 0x108] */
        c.n += sizeof(dec_outer);
        put(&c, 0x0f); /* jnz CODE */
        put(&c, 0x85);
        put32(&c, (uint32_t)-(int32_t)(c.n + 4));
        put(&c, 0xf4);
        uint64_t outer = 1 + pick(4);
        run_program(&c, 0x108, outer, false);
        int st;
        cpu.rip = CODE + top;
        struct emu_block *b = emu_block_get(&cpu, &st);
        singles += b && b->bytes == loop_end - top && b->jit_code;
        if (ref.st != ACCEL_EXIT_HLT) {
            printf("FAIL: emu JIT: self loop %u did not run to its HLT (exit %d)\n", k, ref.st);
            calm = false;
            return 1;
        }
        if (compare(&c)) {
            calm = false;
            return 1;
        }
    }
    calm = false;
    if (singles < SELF_LOOP_PROGRAMS / 2) {
        printf("FAIL: emu JIT: only %u of %u self loops compiled as one block\n", singles,
               SELF_LOOP_PROGRAMS);
        return 1;
    }
    printf("PASS: emu JIT: %u self-looping blocks through emu_cpu_run end as interpreted (%u "
           "compiled whole)\n", SELF_LOOP_PROGRAMS, singles);
    return 0;
}
/* The closing of a self loop: the counter at [r15 + 0x100] counted down
 * by a native flag setter (on memory, or on a register loaded from and
 * stored back to it), then a Jcc to the block's own start (CODE) that
 * the setter's lazy state decides (jit_jcc_flags: jit_loop_tail), or, after
 * DEC on memory, sometimes a JG it does not decide (called: jit_loop_back).
 * Whether the Jcc is the called one. */
static bool gen_loop_close(struct code *c)
{
    static const uint8_t dec_mem[] = {0x49, 0xff, 0x8f, 0x00, 0x01, 0x00, 0x00};
    static const uint8_t sub_mem[] = {0x49, 0x83, 0xaf, 0x00, 0x01, 0x00, 0x00, 0x01};
    static const uint8_t ccs[] = {0x5, 0x7, 0xf}; /* NZ, A, G: all end at 0 */
    unsigned r = reg(), cc = ccs[pick(3)], v = pick(4);
    if (v == 0) {
        memcpy(c->b + c->n, dec_mem, sizeof(dec_mem));
        c->n += sizeof(dec_mem);
        cc = pick(2) ? 5 : 0xf; /* after DEC only ZF and SF are known: JG called */
    } else if (v == 1) {
        memcpy(c->b + c->n, sub_mem, sizeof(sub_mem));
        c->n += sizeof(sub_mem);
    } else {
        put(c, 0x49 | (r >> 3) << 2); /* mov r, [r15 + 0x100] */
        put(c, 0x8b);
        put(c, 0x87 | (r & 7) << 3);
        put32(c, 0x100);
        put(c, 0x48 | (r >> 3));
        if (v == 2) { /* sub r, 1 */
            put(c, 0x83);
            put(c, 0xe8 | (r & 7));
            put(c, 1);
        } else { /* dec r; then test r, r below */
            put(c, 0xff);
            put(c, 0xc8 | (r & 7));
        }
        put(c, 0x49 | (r >> 3) << 2); /* mov [r15 + 0x100], r */
        put(c, 0x89);
        put(c, 0x87 | (r & 7) << 3);
        put32(c, 0x100);
        if (v == 3) {
            put(c, 0x48 | (r >> 3) << 2 | (r >> 3));
            put(c, 0x85);
            put(c, 0xc0 | (r & 7) << 3 | (r & 7));
            cc = pick(2) ? 5 : 0xf;
        }
        c->insns += v == 3 ? 3 : 2;
    }
    c->insns += 2;
    int32_t back = -(int32_t)(c->n + 2);
    if (back >= -128) {
        put(c, 0x70 + cc);
        put(c, (unsigned)back & 0xff);
    } else {
        put(c, 0x0f);
        put(c, 0x80 + cc);
        put32(c, (uint32_t)(back - 4));
    }
    return cc == 0xf && v == 0;
}

/* A loop body's first forms: ALU on two registers (ADD, SUB, XOR: both
 * read), so that what the pool holds at the loop's top is read before a
 * memory form's slow path loads the pool again. */
static void gen_loop_head(struct code *c)
{
    static const unsigned ops[] = {0, 5, 6};
    for (unsigned n = 2 + pick(4); n > 0; n--, c->insns++)
        op_rr(c, pick(2), ops[pick(3)] * 8 + 1, reg(), reg());
}

/* A crowding self loop's body from its start: gen_loop_head, then min
 * to min + 27 forms crowding the register pool, one in called_odds a
 * called one instead. */
static void gen_crowded_loop(struct code *c, unsigned min, unsigned called_odds)
{
    c->n = c->insns = 0;
    gen_loop_head(c);
    for (unsigned n = min + pick(28); n > 0; n--, c->insns++) {
        if (pick(called_odds) == 0)
            gen_called(c);
        else
            gen_crowded(c);
    }
}

/* Self loops through emu_cpu_run: one block, native forms crowding the
 * register pool (held across iterations), memory forms whose first
 * access misses the data TLB, a called form now and then, closed by
 * gen_loop_close; the end state must be the interpreter's. Then the
 * block's compiled code called once, with no link or jump-cache entry
 * to go on by, must run every iteration itself (jit_loop_tail, jit_loop_back)
 * and end in that state too. */
#define SELF_LOOPS 80
static int self_loops(void)
{
    struct accel_exit exit;
    struct code c;
    unsigned crowding = 0, called_jcc = 0;
    uint64_t insns = 0;
    int rc = 0;
    section = "self loops";
    calm = true;
    for (unsigned k = 0; k < SELF_LOOPS && !rc; k++) {
        gen_crowded_loop(&c, 4, 12);
        called_jcc += gen_loop_close(&c);
        unsigned loop_bytes = c.n;
        put(&c, 0xf4);
        uint64_t iterations = 20 + pick(40);
        run_program(&c, 0x100, iterations, true);
        if (ref.st != ACCEL_EXIT_HLT || ref.insn_count - start.insn_count < iterations * c.insns) {
            printf("FAIL: emu JIT: self loop %u did not run to its HLT (exit %d, %" PRIu64
                   " instructions)\n", k, ref.st, ref.insn_count - start.insn_count);
            return 1;
        }
        if (compare(&c))
            return 1;
        /* The compiled block alone, from the start. */
        restore();
        emu_code_invalidate(&fx.evm, CODE, 4096);
        emu_blocks_free_dead(&fx.evm);
        fx.evm.jit_hot = 0;
        memset(&exit, 0, sizeof(exit));
        cpu.exit = &exit;
        int st;
        struct emu_block *b = emu_block_get(&cpu, &st);
        if (!b || b->bytes != loop_bytes) {
            printf("FAIL: emu JIT: self loop %u is not one block (%u of %u bytes)\n", k,
                   b ? b->bytes : 0, loop_bytes);
            return 1;
        }
        emu_jit_compile(&fx.evm, b);
        if (!b->jit_code) {
            printf("FAIL: emu JIT: self loop %u not compiled\n", k);
            return 1;
        }
        crowding += crowds_pool(b);
        insns += b->n;
        memset(cpu.jcache, 0, sizeof(cpu.jcache));
        cpu.chain_lin = code_at;
        st = run_compiled(b, 1000, NULL);
        uint64_t ran = cpu.insn_count - start.insn_count;
        if (st != EMU_OK || ran != iterations * b->n || cpu.rip != code_at + b->bytes) {
            printf("FAIL: emu JIT: self loop %u's code called once: status %d, %" PRIu64
                   " instructions (%" PRIu64 " iterations of %u expected), RIP %#" PRIx64 "\n",
                   k, st, ran, iterations, b->n, cpu.rip);
            return 1;
        }
        for (int r = 0; r < 16 && !rc; r++)
            if (cpu.gpr[r] != ref.gpr[r])
                rc = report(&c, "a register after the loop's code called once", ref.gpr[r],
                            cpu.gpr[r]);
        if (!rc && emu_rflags(&cpu) != ref.rflags)
            rc = report(&c, "RFLAGS after the loop's code called once", ref.rflags,
                        emu_rflags(&cpu));
        if (!rc && memcmp(fx.ram, ref.ram, RAM))
            rc = report(&c, "memory after the loop's code called once", 0, 0);
    }
    calm = false;
    if (rc)
        return rc;
    if (crowding < SELF_LOOPS / 2 || called_jcc < SELF_LOOPS / 20 ||
        called_jcc > SELF_LOOPS / 2) {
        printf("FAIL: emu JIT: only %u of %u self loops crowd the register pool, %u close with a "
               "called Jcc\n", crowding, SELF_LOOPS, called_jcc);
        return 1;
    }
    printf("PASS: emu JIT: %u self loops (%" PRIu64 " instructions, %u crowding the register pool "
           "before a memory form, %u closed by a called Jcc, the rest by a native one) through "
           "emu_cpu_run end as interpreted, and their code called once runs every iteration to "
           "the same state\n", SELF_LOOPS, insns, crowding, called_jcc);
    return 0;
}

/* Whether b's code, just compiled, calls none of its instructions'
 * executors (code_names). */
static bool calls_nothing(const struct emu_block *b)
{
    for (unsigned i = 0; i < b->n; i++)
        if (code_names(b->jit_body, code_size(b), &b->insns[i]))
            return false;
    return true;
}

/* From the state after restore() with RIP at the loop's top and R13 its
 * count: the loop block run by the interpreter runs times (into ref),
 * then by its compiled code called once with a budget of runs and
 * cpu->events as given (into got); the runs left in the budget into
 * pure_left. */
static int32_t pure_left;
static struct emu_block *pure_run(uint64_t top, uint64_t count, unsigned runs, int32_t budget,
                                  uint32_t events)
{
    struct accel_exit exit;
    int st = EMU_OK;
    restore();
    cpu.rip = top;
    cpu.gpr[13] = count;
    start = cpu;
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    fx.evm.jit_hot = 0;
    struct emu_block *b = emu_block_get(&cpu, &st);
    for (unsigned i = 0; i < runs && b && st == EMU_OK; i++)
        st = emu_run_block(&cpu, b);
    record(&ref, st, &exit);
    cpu = start;
    memcpy(fx.ram, start_ram, RAM);
    cpu.exit = &exit;
    memset(&exit, 0, sizeof(exit));
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    if (!(b = emu_block_get(&cpu, &st)))
        return NULL;
    emu_jit_compile(&fx.evm, b);
    if (!b->jit_code)
        return NULL;
    memset(cpu.jcache, 0, sizeof(cpu.jcache));
    cpu.chain_lin = top;
    cpu.events = events;
    st = run_compiled(b, budget, &pure_left);
    cpu.events = 0;
    record(&got, st, &exit);
    return b;
}

/* A register form that writes the lazy state without reading it, on
 * RAX..RBX's first nregs: INC/DEC only where the state before keeps CF
 * (*keeps_cf: after a shift, IMUL, INC or DEC), so a loop of these reads
 * the state nowhere and may sink its stores (jit_sink.c). */
static void gen_flag_writer(struct code *c, unsigned nregs, bool *keeps_cf)
{
    bool w = pick(2);
    unsigned r = pick(nregs), m = pick(nregs);
    static const unsigned alu[] = {0, 1, 4, 5, 6, 7};
    switch (pick(9)) {
    case 0: op_rr(c, w, 0x89, r, m); break;
    case 1:
        put(c, 0xb8 + r);
        put32(c, (uint32_t)operand());
        break;
    case 2:
        op_rr(c, w, alu[pick(6)] * 8 + 1, r, m);
        *keeps_cf = false;
        break;
    case 3:
        op_rr(c, w, 0x83, alu[pick(6)], r);
        put(c, pick(256));
        *keeps_cf = false;
        break;
    case 4:
        op_rr(c, w, 0x85, r, m);
        *keeps_cf = false;
        break;
    case 5: { /* SHL, SHR, SAR by 1 to the width less 1 */
        static const unsigned sub[] = {4, 5, 7};
        op_rr(c, w, 0xc1, sub[pick(3)], r);
        put(c, 1 + pick(w ? 63 : 31));
        *keeps_cf = true;
        break;
    }
    case 6:
        op_rr(c, w, 0x6b, r, m);
        put(c, pick(256));
        *keeps_cf = true;
        break;
    case 7:
        if (*keeps_cf) {
            op_rr(c, w, 0xff, pick(2), r);
        } else {
            op_rr(c, w, 0xf7, 3, r); /* NEG */
            *keeps_cf = false;
        }
        break;
    default: op_rr(c, w, 0xf7, 2, r); break; /* NOT */
    }
}

/* Self loops of register forms only, counted down in R13 (which they
 * never write), closed by DEC or SUB and a native JNZ: the pure loop
 * (jit_compile.c) that calls nothing, holds its registers dirty across
 * iterations and counts them in a host register. Through emu_cpu_run,
 * then its code called once: with a budget smaller than the count it
 * must stop after budget + 1 runs, with an event posted after one run,
 * and otherwise run to the end, each time in the interpreter's state. */
#define PURE_LOOPS 120
static int pure_loops(void)
{
    struct code c;
    unsigned pure = 0, sunk = 0;
    int rc = 0;
    section = "pure loops";
    calm = regs_only = true;
    for (unsigned k = 0; k < PURE_LOOPS && !rc; k++) {
        uint32_t count = 30 + pick(40);
        c.n = c.insns = 0;
        put(&c, 0x41); /* mov r13d, count */
        put(&c, 0xbd);
        put32(&c, count);
        unsigned top = c.n;
        /* Every other loop writes the lazy state and reads it nowhere,
         * on few registers: the pool has spares for its stores, or not
         * for all of them. */
        bool quiet = k & 1, keeps_cf = false;
        unsigned nregs = 1 + pick(4);
        if (!quiet)
            gen_loop_head(&c);
        for (unsigned n = 3 + pick(24); n > 0; n--, c.insns++) {
            if (quiet)
                gen_flag_writer(&c, nregs, &keeps_cf);
            else
                gen_native(&c);
        }
        if (pick(2) && (!quiet || keeps_cf)) { /* dec r13d */
            put(&c, 0x41);
            put(&c, 0xff);
            put(&c, 0xcd);
        } else { /* sub r13, 1 */
            put(&c, 0x49);
            put(&c, 0x83);
            put(&c, 0xed);
            put(&c, 1);
        }
        int32_t back = -(int32_t)(c.n - top + 2);
        if (back >= -128) {
            put(&c, 0x75);
            put(&c, (unsigned)back & 0xff);
        } else {
            put(&c, 0x0f);
            put(&c, 0x85);
            put32(&c, (uint32_t)(back - 4));
        }
        put(&c, 0xf4);
        run_program(&c, 0x100, 0, true);
        if (ref.st != ACCEL_EXIT_HLT) {
            printf("FAIL: emu JIT: pure loop %u did not run to its HLT (exit %d)\n", k, ref.st);
            rc = 1;
            break;
        }
        if ((rc = compare(&c)))
            break;
        uint64_t at = code_at + top;
        unsigned budget = 2 + pick(count - 4);
        uint64_t sunk_before = fx.evm.jit->sunk_loops;
        struct emu_block *b = pure_run(at, count, budget + 1, (int32_t)budget, 0);
        sunk += fx.evm.jit->sunk_loops != sunk_before;
        if (!b) {
            printf("FAIL: emu JIT: pure loop %u not compiled\n", k);
            rc = 1;
            break;
        }
        if (ref.rip != at || ref.insn_count - start.insn_count != (budget + 1) * b->n) {
            printf("FAIL: emu JIT: pure loop %u: the interpreter's %u runs ended elsewhere\n", k,
                   budget + 1);
            rc = 1;
            break;
        }
        if ((rc = compare(&c)))
            break;
        /* Each run that ends is taken from the budget (jit_pure_tail). */
        int32_t left[3] = {pure_left};
        pure += calls_nothing(b);
        unsigned bytes = b->bytes; /* b is dropped by the next runs' invalidation */
        pure_run(at, count, 1, 1000, EMU_EV_KICK);
        left[1] = pure_left;
        if ((rc = compare(&c)))
            break;
        pure_run(at, count, count, 1000, 0);
        left[2] = pure_left;
        if (ref.rip != at + bytes) {
            printf("FAIL: emu JIT: pure loop %u did not end in %u runs\n", k, count);
            rc = 1;
            break;
        }
        if ((rc = compare(&c)))
            break;
        if (left[0] != -1 || left[1] != 999 || left[2] != 1000 - (int32_t)count) {
            printf("FAIL: emu JIT: pure loop %u: runs left in the budget %d, %d, %d; expected "
                   "-1, 999, %d\n", k, left[0], left[1], left[2], 1000 - (int32_t)count);
            rc = 1;
        }
    }
    calm = regs_only = false;
    if (rc)
        return rc;
    if (pure < PURE_LOOPS / 2) {
        printf("FAIL: emu JIT: only %u of %u register-only loops call nothing\n", pure,
               PURE_LOOPS);
        return 1;
    }
    if (sunk < PURE_LOOPS / 2 * 3 / 4) {
        printf("FAIL: emu JIT: only %u of %u loops reading no lazy state sank its stores\n", sunk,
               PURE_LOOPS / 2);
        return 1;
    }
    printf("PASS: emu JIT: %u self loops of register forms (%u calling nothing, %u with their "
           "lazy-flag stores sunk to their ways out), through emu_cpu_run and their code called "
           "once with a budget, with an event posted and to their end, the same as the "
           "interpreter\n", PURE_LOOPS, pure, sunk);
    return 0;
}

/* Self loops closed by JMP (jmp_end, then jit_loop_back with the registers
 * still held), which only chain_left ends: the block's code called once
 * with a budget of k more blocks must run it k + 1 times, as the
 * interpreter's run_block does one after another. */
#define JMP_LOOPS 60
static int jmp_loops(void)
{
    struct accel_exit exit;
    struct code c;
    unsigned crowding = 0;
    uint64_t runs = 0;
    int rc = 0;
    section = "JMP self loops";
    calm = true;
    for (unsigned k = 0; k < JMP_LOOPS && !rc; k++) {
        gen_crowded_loop(&c, 2, 16);
        int32_t back = -(int32_t)(c.n + 2);
        if (back >= -128) {
            put(&c, 0xeb);
            put(&c, (unsigned)back & 0xff);
        } else {
            put(&c, 0xe9);
            put32(&c, (uint32_t)(back - 3));
        }
        c.insns++;
        memset(fx.ram + CODE, 0, 4096);
        memcpy(fx.ram + CODE, c.b, c.n);
        for (uint64_t i = DATA; i < RAM; i++)
            fx.ram[i] = (uint8_t)rnd();
        random_state(&cpu);
        emu_tlb_flush(&cpu);
        memset(&exit, 0, sizeof(exit));
        cpu.exit = &exit;
        start = cpu;
        memcpy(start_ram, fx.ram, RAM);
        unsigned budget = 5 + pick(30);
        emu_code_invalidate(&fx.evm, CODE, 4096);
        emu_blocks_free_dead(&fx.evm);
        fx.evm.jit_hot = 0;
        int st = EMU_OK;
        for (unsigned i = 0; i <= budget && st == EMU_OK; i++) {
            struct emu_block *b = emu_block_get(&cpu, &st);
            if (!b || b->bytes != c.n) {
                printf("FAIL: emu JIT: JMP self loop %u is not one block\n", k);
                return 1;
            }
            st = emu_run_block(&cpu, b);
        }
        record(&ref, st, &exit);
        restore();
        emu_code_invalidate(&fx.evm, CODE, 4096);
        emu_blocks_free_dead(&fx.evm);
        struct emu_block *b = emu_block_get(&cpu, &st);
        emu_jit_compile(&fx.evm, b);
        if (!b->jit_code) {
            printf("FAIL: emu JIT: JMP self loop %u not compiled\n", k);
            return 1;
        }
        crowding += crowds_pool(b);
        memset(cpu.jcache, 0, sizeof(cpu.jcache));
        cpu.chain_lin = code_at;
        st = run_compiled(b, (int32_t)budget, NULL);
        record(&got, st, &exit);
        if (ref.st != EMU_OK || ref.insn_count - start.insn_count != (budget + 1) * b->n) {
            printf("FAIL: emu JIT: JMP self loop %u: the interpreter's runs ended with status %d\n",
                   k, ref.st);
            return 1;
        }
        rc = compare(&c);
        runs += budget + 1;
    }
    calm = false;
    if (rc)
        return rc;
    if (crowding < JMP_LOOPS / 2) {
        printf("FAIL: emu JIT: only %u of %u JMP self loops crowd the register pool\n", crowding,
               JMP_LOOPS);
        return 1;
    }
    printf("PASS: emu JIT: %u self loops closed by JMP (%u crowding the register pool), their "
           "code called once with a budget of blocks, the same as %" PRIu64 " interpreted runs\n",
           JMP_LOOPS, crowding, runs);
    return 0;
}

int main(void)
{
    int status;
    if (!emu_jit_test_start(&status))
        return status;
    emu_jit_set_arena_limit(&fx.evm, 4096);
    if (loop_programs())
        test_failures++;
    emu_jit_set_arena_limit(&fx.evm, EMU_JIT_ARENA);
    if (self_loops())
        test_failures++;
    if (jmp_loops())
        test_failures++;
    if (pure_loops())
        test_failures++;
    if (self_loop_programs())
        test_failures++;
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
