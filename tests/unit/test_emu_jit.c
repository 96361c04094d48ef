/*
 * The JIT against the interpreter (issue 12's lockstep gate): random
 * blocks of the native forms (MOV, ALU, TEST, INC/DEC, LEA, SHL/SHR/SAR
 * by a constant, IMUL on registers, MOV to and from memory with the TLB
 * probe inline, ALU/CMP/TEST/INC/DEC/MOV-immediate and byte MOVs on memory, the
 * data TLB sometimes empty) mixed with called ones (ADC/SBB,
 * rotates, shifts by CL, 8/16-bit forms, SETcc,
 * CMOVcc, loads and stores, PUSH/POP, a store into the block's own page,
 * a faulting load, an OUT that exits, HLT and Jcc as the last), each run
 * from the same random CPU state, lazy flags included, through run_block
 * (emu_run_block) and through its compiled code. Every GPR, RIP, the
 * materialised RFLAGS, the lazy-flag state, the instruction count, the
 * status, the fault, the held instruction, the exit and the memory the
 * block can reach must be the same.
 */
#include <inttypes.h>

#include "accel/emu/exec.h"
#include "accel/emu/jit/jit.h"
#include "accel/emu/jit/jit_int.h"
#include "emu_fixture.h"
#include "test.h"
#include "xorshift.h"

#define RAM 0x40000ull
#define CODE 0x10000ull
#define DATA 0x20000ull   /* r15 points here */
#define STACK 0x2f800ull  /* RSP: pushes stay in page 0x2f000 */
#define SMC (CODE + 0x800) /* the self-modifying store's target */
#define CASES 10000

static struct emu_fixture fx;
static struct emu_cpu cpu;
static bool calm; /* no faults or exits: the loop programs run to their HLT */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    return xorshift64(&rng);
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static uint64_t operand(void)
{
    static const uint64_t edges[] = {0,          1,          0x7f,       0x80,
                                     0xff,       0x7fffffff, 0x80000000, 0xffffffff,
                                     0x100000000ull, 0x7fffffffffffffffull,
                                     0x8000000000000000ull, 0xffffffffffffffffull};
    uint64_t r = rnd();
    return (r & 3) ? edges[(r >> 2) % (sizeof(edges) / sizeof(edges[0]))] + ((r >> 8) & 3) - 1
                   : rnd();
}

/* Registers the random forms may write: not RSP, R13 (a non-canonical
 * address, for the faulting load) or R15 (the data page). */
static unsigned reg(void)
{
    static const unsigned ok[] = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 14};
    return ok[pick(sizeof(ok) / sizeof(ok[0]))];
}

struct code {
    uint8_t b[1024];
    unsigned n, insns;
};

static void put(struct code *c, unsigned v)
{
    c->b[c->n++] = (uint8_t)v;
}

static void put32(struct code *c, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put(c, (v >> (8 * i)) & 0xff);
}

/* [REX] opcode ModRM(register form). */
static void op_rr(struct code *c, bool w, unsigned opc, unsigned r, unsigned m)
{
    unsigned rex = 0x40 | (w ? 8 : 0) | (r >> 3) << 2 | (m >> 3);
    if (rex != 0x40 || pick(2))
        put(c, rex);
    if (opc > 0xff)
        put(c, opc >> 8);
    put(c, opc & 0xff);
    put(c, 0xc0 | (r & 7) << 3 | (m & 7));
}

/* An integer form on memory (jit_native_alu_mem.c's, and their called
 * neighbours): the operand in the data page at r15 + d8 (maybe FS:, maybe
 * 32-bit addressing), at an absolute address in it (no REX: AH..BH), or
 * rarely at r13 (non-canonical: #GP through the slow path). Before a
 * Jcc: a form that sets the flags the Jcc then reads. */
static void gen_alu_mem(struct code *c, bool before_jcc)
{
    static const unsigned flag_forms[] = {0, 1, 3, 4, 5, 8, 9};
    bool w = pick(2), byte = pick(3) == 0;
    unsigned op = pick(8), r = reg(), opc, sub = r, imm = 0; /* imm: its bytes */
    switch (before_jcc ? flag_forms[pick(7)] : pick(10)) {
    case 0: opc = op * 8 + 3; break;             /* ALU r, [m] (ADC, SBB called) */
    case 1: opc = 0x39; break;                   /* CMP [m], r */
    case 2: opc = op * 8 + 1; break;             /* ALU [m], r */
    case 3: opc = 0x81; sub = op; imm = 4; break; /* ALU [m], imm32 */
    case 4: opc = 0x83; sub = op; imm = 1; break; /* ALU [m], imm8 */
    case 5: opc = 0xf7; sub = 0; imm = 4; break; /* TEST [m], imm */
    case 6: opc = 0xc7; sub = 0; imm = 4; break; /* MOV [m], imm */
    case 8: opc = 0x85; break;                   /* TEST [m], r */
    case 9: opc = 0xff; sub = pick(2); break;    /* INC, DEC [m] */
    default: opc = pick(2) ? 0x8b : 0x89; break; /* MOV r, [m] / [m], r */
    }
    if (byte) { /* 0x83 has no byte form: 0x80 */
        opc = opc == 0x83 ? 0x80 : opc - 1;
        imm = imm ? 1 : 0;
    }
    if (!byte && !(opc & 0xc0) && pick(16) == 0 && opc != 0x39 && (opc & 7) == 1)
        put(c, 0xf0); /* LOCK: the general executor */
    if (!calm && pick(24) == 0) { /* [r13 + d8]: #GP */
        put(c, 0x49 | (r >> 3) << 2);
        put(c, opc);
        put(c, 0x45 | (sub & 7) << 3);
        put(c, pick(16) * 8);
    } else if (pick(3) == 0) { /* [DATA + d32], no base: byte registers 4-7 are AH..BH */
        if (byte)
            sub &= 7;
        if (w && !byte)
            put(c, 0x48 | (sub >> 3) << 2);
        else if (sub >= 8)
            put(c, 0x44);
        put(c, opc);
        put(c, 0x04 | (sub & 7) << 3);
        put(c, 0x25);
        put32(c, (uint32_t)DATA + 0x200 + pick(0xdf8)); /* not the loops' counter */
    } else {
        if (pick(4) == 0)
            put(c, 0x64); /* FS base 0 in the fixture: the same address */
        if (pick(4) == 0)
            put(c, 0x67); /* r15d: the same address */
        put(c, (w && !byte ? 0x49 : 0x41) | (sub >> 3) << 2);
        put(c, opc);
        put(c, 0x40 | (sub & 7) << 3 | 7);
        put(c, pick(128)); /* unaligned too; stays in the data page */
    }
    if (imm == 1)
        put(c, (unsigned)operand() & 0xff);
    else if (imm == 4)
        put32(c, (uint32_t)operand());
}

/* A native form. */
static void gen_native(struct code *c)
{
    bool w = pick(2);
    unsigned op = pick(8);
    switch (pick(11)) {
    case 9:
    case 10: gen_alu_mem(c, false); break;
    case 0: op_rr(c, w, pick(2) ? 0x89 : 0x8b, reg(), reg()); break;
    case 1: { /* MOV r, imm32 / r64, imm64 */
        unsigned r = reg();
        put(c, 0x40 | (w ? 8 : 0) | (r >> 3));
        put(c, 0xb8 + (r & 7));
        uint64_t v = operand();
        put32(c, (uint32_t)v);
        if (w)
            put32(c, (uint32_t)(v >> 32));
        break;
    }
    case 2: op_rr(c, w, (op == 2 || op == 3 ? 0 : op) * 8 + (pick(2) ? 1 : 3), reg(), reg()); break;
    case 3: /* ALU r, imm32 / imm8 */
        op_rr(c, w, pick(2) ? 0x81 : 0x83, op == 2 || op == 3 ? 7 : op, reg());
        if (c->b[c->n - 2] == 0x81)
            put32(c, (uint32_t)operand());
        else
            put(c, pick(256));
        break;
    case 4: /* ALU eAX, imm32 */
        if (w)
            put(c, 0x48);
        put(c, (op == 2 || op == 3 ? 5 : op) * 8 + 5);
        put32(c, (uint32_t)operand());
        break;
    case 5: op_rr(c, w, 0x85, reg(), reg()); break;
    case 6:
        op_rr(c, w, 0xf7, 0, reg());
        put32(c, (uint32_t)operand());
        break;
    case 7: op_rr(c, w, 0xff, pick(2), reg()); break;
    case 8: { /* LEA: base + index * scale + disp32, RIP-relative, 32-bit addressing */
        unsigned r = reg();
        if (pick(3) == 0)
            put(c, 0x67);
        if (pick(4) == 0) {
            put(c, 0x40 | (w ? 8 : 0) | (r >> 3) << 2);
            put(c, 0x8d);
            put(c, (r & 7) << 3 | 5);
        } else {
            unsigned base = pick(16), index = pick(16);
            if (index == 4)
                index = pick(2) ? 4 : 12; /* 4: none */
            put(c, 0x40 | (w ? 8 : 0) | (r >> 3) << 2 | (index >> 3) << 1 | (base >> 3));
            put(c, 0x8d);
            put(c, 0x80 | (r & 7) << 3 | 4);
            put(c, pick(4) << 6 | (index & 7) << 3 | (base & 7));
        }
        put32(c, (uint32_t)operand());
        break;
    }
    }
}

/* A form run by calling its executor. */
static void gen_called(struct code *c)
{
    bool w = pick(2);
    unsigned r = reg();
    switch (pick(13)) {
    case 0: op_rr(c, w, pick(2) ? 0x11 : 0x19, reg(), r); break; /* ADC, SBB */
    case 1: { /* shifts and rotates by an immediate, 1 or CL */
        static const unsigned sub[] = {0, 1, 4, 5, 7};
        static const unsigned opc[] = {0xc1, 0xd1, 0xd3};
        unsigned o = opc[pick(3)];
        op_rr(c, w, o, sub[pick(5)], r);
        if (o == 0xc1)
            put(c, pick(70));
        break;
    }
    case 2: /* IMUL r, r / r, r, imm32 / r, r, imm8 */
        switch (pick(3)) {
        case 0: op_rr(c, w, 0x0faf, r, reg()); break;
        case 1: op_rr(c, w, 0x69, r, reg()); put32(c, (uint32_t)operand()); break;
        default: op_rr(c, w, 0x6b, r, reg()); put(c, pick(256)); break;
        }
        break;
    case 3: op_rr(c, w, 0xf7, 2 + pick(2), r); break; /* NOT, NEG */
    case 4: op_rr(c, false, 0x0fb6, r, reg()); break;
    case 5:
        put(c, 0x66);
        op_rr(c, false, pick(8) * 8 + 1, reg(), r);
        break;
    case 6: op_rr(c, false, pick(8) * 8, reg(), r); break; /* 8-bit, AH..BH without REX */
    case 7: op_rr(c, false, 0x0f90 + pick(16), 0, r); break;
    case 8: op_rr(c, w, 0x0f40 + pick(16), r, reg()); break;
    case 9: /* MOV r, [r15 + d8] / MOV [r15 + d8], r: 32 or 64 bits, maybe FS: */
        if (pick(4) == 0)
            put(c, 0x64); /* FS base 0 in the fixture: the same address */
        put(c, (w ? 0x49 : 0x41) | (r >> 3) << 2);
        put(c, pick(2) ? 0x8b : 0x89);
        put(c, 0x40 | (r & 7) << 3 | 7);
        put(c, pick(16) * 8); /* 0..0x78: stays in the data page */
        break;
    case 10: /* PUSH r / POP r */
        if (r >= 8)
            put(c, 0x41);
        put(c, (pick(2) ? 0x50 : 0x58) + (r & 7));
        break;
    case 11: /* MOV r, imm32 sign-extended: C7 on a register is not specialised */
        op_rr(c, true, 0xc7, 0, r);
        put32(c, (uint32_t)operand());
        break;
    case 12: /* rarer ways out (a third of the time: blocks get long too) */
        switch (pick(3) || calm ? 4 : pick(4)) {
        case 0: /* MOV [SMC], eax: writes the block's own page */
            put(c, 0x89);
            put(c, 0x04);
            put(c, 0x25);
            put32(c, (uint32_t)SMC);
            break;
        case 1: /* MOV eax, [r13]: #GP, r13 non-canonical */
            put(c, 0x41);
            put(c, 0x8b);
            put(c, 0x45);
            put(c, 0x00);
            break;
        case 2: /* OUT 0x80, al: a device exit */
            put(c, 0xe6);
            put(c, 0x80);
            break;
        case 3: /* UD2 */
            put(c, 0x0f);
            put(c, 0x0b);
            break;
        default: /* MOVSXD */
            op_rr(c, true, 0x63, r, reg());
            break;
        }
        break;
    }
}

static void gen_body(struct code *c, unsigned n)
{
    unsigned native_share = pick(5); /* some blocks all native, some mostly called */
    for (unsigned i = 0; i < n; i++, c->insns++) {
        if (pick(4) < native_share)
            gen_native(c);
        else
            gen_called(c);
    }
}

static void gen_block(struct code *c)
{
    c->n = c->insns = 0;
    gen_body(c, 1 + pick(40));
    if (pick(2)) {
        if (pick(3) == 0) {
            gen_alu_mem(c, true);
            c->insns++;
        }
        put(c, 0x70 + pick(16)); /* Jcc: ends the block, reads the flags */
        put(c, pick(256));
    } else {
        put(c, 0xf4); /* HLT: EMU_END_BLOCK */
    }
}

static void random_state(struct emu_cpu *cpu)
{
    for (int r = 0; r < 16; r++)
        cpu->gpr[r] = operand();
    cpu->gpr[4] = STACK;
    cpu->gpr[13] = 0x8000000000000000ull;
    cpu->gpr[15] = DATA;
    cpu->rip = CODE;
    emu_set_rflags(cpu, 2 | (rnd() & RFLAGS_ARITH));
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
    }
    cpu->insn_count = rnd() & 0xffff;
    cpu->exc.vector = -1;
    cpu->exc_pending = cpu->halted = cpu->shadow = cpu->held_valid = false;
    cpu->xlog_n = cpu->xlog_pos = cpu->held_pos = 0;
}

/* What a run leaves that the comparison looks at. */
struct outcome {
    int st;
    uint64_t gpr[16], rip, rflags, insn_count;
    struct emu_lazy_flags lf;
    int vector;
    uint32_t error;
    bool held_valid;
    uint64_t held_rip;
    int xlog_n;
    struct accel_exit exit;
    uint8_t code[4096], data[4096], stack[4096];
};

static struct emu_cpu start;
static uint8_t start_code[4096], start_data[4096], start_stack[4096];
static struct outcome ref, got;

static void restore(void)
{
    cpu = start;
    memcpy(fx.ram + CODE, start_code, 4096);
    memcpy(fx.ram + DATA, start_data, 4096);
    memcpy(fx.ram + (STACK & ~0xfffull), start_stack, 4096);
}

static void record(struct outcome *o, int st, const struct accel_exit *exit)
{
    o->st = st;
    memcpy(o->gpr, cpu.gpr, sizeof(o->gpr));
    o->rip = cpu.rip;
    o->lf = cpu.lf;
    o->insn_count = cpu.insn_count;
    o->vector = cpu.exc.vector;
    o->error = cpu.exc.error;
    o->held_valid = cpu.held_valid;
    o->held_rip = cpu.held_rip;
    o->xlog_n = cpu.xlog_n;
    o->exit = *exit;
    memcpy(o->code, fx.ram + CODE, 4096);
    memcpy(o->data, fx.ram + DATA, 4096);
    memcpy(o->stack, fx.ram + (STACK & ~0xfffull), 4096);
    o->rflags = emu_rflags(&cpu); /* last: it materialises (changes lf) */
}

static int report(const struct code *c, const char *what, uint64_t a, uint64_t b)
{
    printf("FAIL: JIT differs from the interpreter in %s: interpreter %#" PRIx64 ", JIT %#" PRIx64
           "; block:",
           what, a, b);
    for (unsigned i = 0; i < c->n; i++)
        printf(" %02x", c->b[i]);
    printf("\n");
    return 1;
}

static int compare(const struct code *c)
{
    static const char *const names[16] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                                          "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
    if (ref.st != got.st)
        return report(c, "status", (uint64_t)ref.st, (uint64_t)got.st);
    for (int r = 0; r < 16; r++)
        if (ref.gpr[r] != got.gpr[r])
            return report(c, names[r], ref.gpr[r], got.gpr[r]);
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
    if (memcmp(ref.code, got.code, 4096) || memcmp(ref.data, got.data, 4096) ||
        memcmp(ref.stack, got.stack, 4096))
        return report(c, "memory", 0, 0);
    return 0;
}

/* Loop programs through emu_cpu_run: blocks compiled at their first run,
 * with code memory so small that it is dropped again and again (and the
 * store into the code page drops blocks too); the end state must be the
 * interpreter's. */
#define LOOPS 40
static int loop_programs(void)
{
    struct accel_exit exit;
    struct code c;
    static uint8_t mem0[RAM - DATA], mem_ref[RAM - DATA];
    uint64_t compiled = 0, resets = 0;
    calm = true;
    for (unsigned k = 0; k < LOOPS; k++) {
        c.n = c.insns = 0;
        for (unsigned m = 1 + pick(6); m > 0; m--) {
            gen_body(&c, 1 + pick(20));
            put(&c, 0x70 + pick(16)); /* Jcc +0: a block boundary */
            put(&c, 0);
        }
        static const uint8_t dec_count[] = {0x49, 0xff, 0x8f, 0x00, 0x01, 0x00, 0x00};
        memcpy(c.b + c.n, dec_count, sizeof(dec_count)); /* dec qword [r15 + 0x100] */
        c.n += sizeof(dec_count);
        put(&c, 0x0f); /* jnz CODE */
        put(&c, 0x85);
        put32(&c, (uint32_t)(CODE - (CODE + c.n + 4)));
        put(&c, 0xf4);
        memset(fx.ram + CODE, 0, 4096);
        memcpy(fx.ram + CODE, c.b, c.n);
        for (uint64_t i = DATA; i < RAM; i++)
            fx.ram[i] = (uint8_t)rnd();
        uint64_t iterations = 20 + pick(40);
        memcpy(fx.ram + DATA + 0x100, &iterations, 8);
        memcpy(mem0, fx.ram + DATA, sizeof(mem0));
        random_state(&cpu);
        start = cpu;
        memcpy(start_code, fx.ram + CODE, 4096);
        for (int jit = 0; jit < 2; jit++) {
            cpu = start;
            memcpy(fx.ram + CODE, start_code, 4096);
            memcpy(fx.ram + DATA, mem0, sizeof(mem0));
            emu_code_invalidate(&fx.evm, CODE, 4096);
            emu_blocks_free_dead(&fx.evm);
            fx.evm.jit_hot = 0;
            if (jit)
                emu_jit_set_hot(&fx.evm, 1);
            memset(&exit, 0, sizeof(exit));
            emu_fixture_run_to_hlt(&cpu, &exit, 100000);
            record(jit ? &got : &ref, exit.reason, &exit);
            if (!jit)
                memcpy(mem_ref, fx.ram + DATA, sizeof(mem_ref));
        }
        if (ref.st != ACCEL_EXIT_HLT || ref.insn_count - start.insn_count < 3 * iterations) {
            printf("FAIL: emu JIT: loop program %u did not run to its HLT (exit %d, %" PRIu64
                   " instructions)\n", k, ref.st, ref.insn_count - start.insn_count);
            return 1;
        }
        if (compare(&c))
            return 1;
        if (memcmp(mem_ref, fx.ram + DATA, sizeof(mem_ref)))
            return report(&c, "memory (data and stack)", 0, 0);
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

int main(void)
{
    setenv("HYPERKIT_EMU_JIT", "1", 1);
    unsetenv("HYPERKIT_EMU_JIT_HOT");
    if (emu_fixture_init(&fx, &cpu, RAM, "emu JIT"))
        return 1;
    if (!fx.evm.jit) { /* emu_fixture_init took HYPERKIT_EMU_JIT=1 */
        printf("SKIP: emu JIT: no JIT on this host\n");
        return 0;
    }
    emu_fixture_long64(&cpu, fx.ram, CODE, STACK);
    emu_update_mode(&cpu);
    struct accel_exit exit;
    unsigned failed = 0, insns = 0, native = 0, alu_mem = 0, stops = 0, ended = 0;
    struct code c;
    for (unsigned k = 0; k < CASES && failed < 5; k++) {
        gen_block(&c);
        memset(fx.ram + CODE, 0, 4096);
        memcpy(fx.ram + CODE, c.b, c.n);
        for (unsigned i = 0; i < 4096; i += 8) { /* edge values: carries out of 32 bits */
            uint64_t v = operand();
            memcpy(fx.ram + DATA + i, &v, 8);
        }
        emu_code_invalidate(&fx.evm, CODE, 4096);
        emu_blocks_free_dead(&fx.evm);
        random_state(&cpu);
        memset(&exit, 0, sizeof(exit));
        cpu.exit = &exit;
        cpu.xlog_n = cpu.xlog_pos = cpu.held_pos = 0;
        cpu.held_valid = false;
        int st;
        struct emu_block *b = emu_block_get(&cpu, &st);
        if (!b) {
            printf("FAIL: emu JIT: case %u: no block (status %d)\n", k, st);
            failed++;
            test_failures++;
            continue;
        }
        if (pick(3) == 0) { /* the data TLB empty: the memory forms' slow path */
            memset(cpu.tlb_read, 0, sizeof(cpu.tlb_read));
            memset(cpu.tlb_write, 0, sizeof(cpu.tlb_write));
        }
        start = cpu;
        memcpy(start_code, fx.ram + CODE, 4096);
        memcpy(start_data, fx.ram + DATA, 4096);
        memcpy(start_stack, fx.ram + (STACK & ~0xfffull), 4096);
        st = emu_run_block(&cpu, b);
        record(&ref, st, &exit);
        /* The same block decoded afresh (the run may have dropped it:
         * the store into its page), from the same state. */
        restore();
        memset(&exit, 0, sizeof(exit));
        emu_code_invalidate(&fx.evm, CODE, 4096);
        if (!(b = emu_block_get(&cpu, &st))) {
            printf("FAIL: emu JIT: case %u: no block the second time\n", k);
            failed++;
            test_failures++;
            continue;
        }
        emu_jit_compile(&fx.evm, b);
        if (!b->jit_code) {
            printf("FAIL: emu JIT: case %u: block not compiled\n", k);
            failed++;
            test_failures++;
            continue;
        }
        st = b->jit_code(&cpu, b);
        record(&got, st, &exit);
        if (compare(&c)) {
            failed++;
            test_failures++;
        }
        insns += b->n;
        for (unsigned i = 0; i < b->n; i++) {
            alu_mem += jit_alu_mem_form(&b->insns[i]);
            native += jit_native_form(&b->insns[i]) || jit_mem_form(&b->insns[i]) ||
                      jit_alu_mem_form(&b->insns[i]);
        }
        stops += ref.st != EMU_OK && ref.st != EMU_END_BLOCK;
        ended += ref.st == EMU_END_BLOCK && ref.insn_count - start.insn_count < b->n;
    }
    /* The test must see every way out, and native code in quantity. */
    if (!failed && (native < insns / 4 || alu_mem < insns / 40 || stops < CASES / 50 ||
                    ended < CASES / 50)) {
        printf("FAIL: emu JIT: the cases miss a path (%u native of %u, %u ALU on memory, %u stops, "
               "%u ended early)\n",
               native, insns, alu_mem, stops, ended);
        failed++;
        test_failures++;
    }
    if (!failed)
        printf("PASS: emu JIT: %u random blocks, %u instructions (%u native, %u of them ALU, CMP, "
               "TEST or MOV on memory), the same as the interpreter (%u faults or exits, %u blocks "
               "ended early)\n",
               CASES, insns, native, alu_mem, stops, ended);
    emu_jit_set_arena_limit(&fx.evm, 4096);
    if (loop_programs())
        test_failures++;
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
