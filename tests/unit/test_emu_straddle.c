/*
 * An instruction whose bytes run from one page into the next is cached
 * as a block of its own (block.c: a straddling block), and stays right
 * as the second page changes under it. The hot instruction is at S =
 * 0x40ffd: three bytes in the first page, the rest at linear 0x41000,
 * which maps to physical T_A or T_B. Either an ADD EBX, imm32 (the
 * immediate's upper bytes there: 00 00 00 adds 1, 01 00 00 adds 0x101),
 * followed by RET; or a JMP rel32 (its upper bytes there: to code that
 * adds 1, or 0x101, then returns), so that no other code is decoded
 * from the second page. A loop calls S ROUNDS times and at the middle
 * round (ECX = ROUNDS / 2) does an action: writes a byte of the
 * instruction, remaps or unmaps its second page and flushes. EBX tells
 * which bytes ran each time. Each case runs interpreted and compiled.
 */
#include <inttypes.h>

#include "accel/emu/jit/jit.h"
#include "emu_fixture.h"
#include "test.h"

#define RAM (1u << 20)
#define PML4 0x20000ull       /* 4-level tables, one to one but for TAIL_LIN */
#define PML4_B 0x24000ull     /* the same, TAIL_LIN mapped to T_B */
#define PT (PML4 + 0x3000)
#define LOOP 0x30000ull
#define PF_HANDLER 0x38000ull
#define S 0x40ffdull          /* the straddling ADD EBX, imm32 */
#define TAIL_LIN 0x41000ull
#define T_A 0x51000ull
#define T_B 0x52000ull
#define IDT 0x1000ull
#define STACK 0x7000ull
#define DATA 0x8000ull        /* the #PF handler's CR2, error code */
#define ROUNDS 1000u
#define HALF (ROUNDS / 2)
/* The JMP's targets: T_A's, T_B's, and with its first-page byte written. */
#define ADD_1 0x40800ull
#define ADD_101 0x30800ull
#define ADD_2 0x40700ull
#define NOPS (S - 13)         /* NOPs that run on into S */

/* Which instruction straddles: ADD EBX, imm32 or JMP rel32. */
static bool jmp_kind;
/* Its second page's first byte as T_B has it, and a first-page byte
 * (at S + 2) that makes it add 2. */
#define TAIL_B_BYTE (jmp_kind ? 0xfe : 0x01)
#define HEAD_2_BYTE (jmp_kind ? 0xf6 : 0x02)

static struct emu_fixture fx;
static struct emu_cpu cpu;
static uint64_t at; /* where emit writes */

static void emit(const void *bytes, unsigned n)
{
    emu_fixture_emit(fx.ram, &at, bytes, n);
}

static void emit_op_imm32(const void *op, unsigned n, uint32_t imm)
{
    emit(op, n);
    emit(&imm, 4);
}

/* The first 2 MiB one to one but TAIL_LIN to tail. */
static void tables(uint64_t base, uint64_t tail)
{
    emu_fixture_tables_4k(fx.ram, base, TAIL_LIN, tail);
}

/* The straddling instruction and both tails; the #PF handler (CR2 and
 * the error code to DATA, then HLT) behind gate 14. */
static void code(void)
{
    static const uint8_t add_head[] = {0x81, 0xc3, 0x01};       /* add ebx, imm32 (low byte 1) */
    static const uint8_t add_tail_a[] = {0x00, 0x00, 0x00, 0xc3}; /* ... ret */
    static const uint8_t add_tail_b[] = {0x01, 0x00, 0x00, 0xc3};
    /* jmp rel32 from 0x41002: -0x802 (ADD_1), -0x10802 (ADD_101) */
    static const uint8_t jmp_head[] = {0xe9, 0xfe, 0xf7};
    static const uint8_t jmp_tail_a[] = {0xff, 0xff}, jmp_tail_b[] = {0xfe, 0xff};
    static const uint8_t add_ret[] = {0x81, 0xc3, 0x01, 0x00, 0x00, 0x00, 0xc3};
    const uint8_t *head = jmp_kind ? jmp_head : add_head;
    const uint8_t *tail_a = jmp_kind ? jmp_tail_a : add_tail_a;
    const uint8_t *tail_b = jmp_kind ? jmp_tail_b : add_tail_b;
    unsigned tail_len = jmp_kind ? 2 : 4;
    static const uint8_t handler[] = {
        0x0f, 0x20, 0xd0,                               /* mov rax, cr2 */
        0x48, 0x89, 0x04, 0x25, 0x00, 0x80, 0x00, 0x00, /* mov [DATA], rax */
        0x5a,                                           /* pop rdx: the error code */
        0x48, 0x89, 0x14, 0x25, 0x08, 0x80, 0x00, 0x00, /* mov [DATA + 8], rdx */
        0xf4,                                           /* hlt */
    };
    memcpy(fx.ram + S, head, 3);
    memcpy(fx.ram + T_A, tail_a, tail_len);
    memcpy(fx.ram + T_B, tail_b, tail_len);
    memcpy(fx.ram + ADD_1, add_ret, sizeof(add_ret));
    memcpy(fx.ram + ADD_101, add_ret, sizeof(add_ret));
    fx.ram[ADD_101 + 3] = 0x01;
    memcpy(fx.ram + ADD_2, add_ret, sizeof(add_ret));
    fx.ram[ADD_2 + 2] = 0x02;
    memcpy(fx.ram + PF_HANDLER, handler, sizeof(handler));
    memset(fx.ram + NOPS, 0x90, S - NOPS);
    emu_fixture_set_gate(fx.ram, IDT, 14, PF_HANDLER);
}

/* The loop at LOOP: ECX = ROUNDS down to 1, each round a CALL to entry
 * (S, or NOPs before it), then action (n bytes) in the round where ECX =
 * HALF; HLT at the end. First the prelude (np bytes). */
static void loop_after(const uint8_t *prelude, unsigned np, const uint8_t *action, unsigned n,
                       uint64_t entry)
{
    static const uint8_t mov_ecx = 0xb9, call = 0xe8, cmp_ecx[] = {0x81, 0xf9},
                         dec_ecx[] = {0xff, 0xc9}, hlt = 0xf4;
    at = LOOP;
    if (np)
        emit(prelude, np);
    emit_op_imm32(&mov_ecx, 1, ROUNDS);
    uint64_t top = at;
    emit_op_imm32(&call, 1, (uint32_t)(entry - (at + 5)));
    emit_op_imm32(cmp_ecx, 2, HALF);
    uint8_t jne[] = {0x75, (uint8_t)n};
    emit(jne, 2);
    emit(action, n);
    emit(dec_ecx, 2);
    uint8_t jnz[] = {0x75, (uint8_t)(top - (at + 2))};
    emit(jnz, 2);
    emit(&hlt, 1);
}

static void loop(const uint8_t *action, unsigned n)
{
    loop_after(NULL, 0, action, n, S);
}

struct outcome {
    bool halted;
    uint64_t ebx, ecx, uncached, lookups, cr2, err;
};

/* The guest set up at LOOP, from cr3 (CR4.PAE, EFER.NXE), with RSI,
 * RDI, R8 and R9 as given, the JIT compiling at a block's first run or
 * not at all; run until HLT. With keep, the code decoded before stays. */
static struct outcome run_keep(bool jit, uint64_t cr3, const uint64_t regs[4], bool keep)
{
    if (!keep)
        emu_blocks_free_all(&fx.evm);
    fx.evm.jit_hot = 0;
    if (jit)
        emu_jit_set_hot(&fx.evm, 1);
    memset(fx.ram + DATA, 0xff, 16);
    emu_fixture_long64(&cpu, fx.ram, LOOP, STACK);
    cpu.cr0 |= 0x80000000ull;
    cpu.cr4 |= 0x20;
    cpu.efer |= EFER_NXE;
    cpu.cr3 = cr3;
    cpu.idtr = (struct accel_dtable){IDT, 16 * 15 - 1};
    cpu.gpr[6] = regs[0];
    cpu.gpr[7] = regs[1];
    cpu.gpr[8] = regs[2];
    cpu.gpr[9] = regs[3];
    emu_update_mode(&cpu);
    emu_tlb_flush(&cpu);
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 1000000);
    struct outcome o = {exit.reason == ACCEL_EXIT_HLT, cpu.gpr[3] & 0xffffffff,
                        cpu.gpr[1] & 0xffffffff, cpu.uncached_fetches, cpu.lookups, 0, 0};
    memcpy(&o.cr2, fx.ram + DATA, 8);
    memcpy(&o.err, fx.ram + DATA + 8, 8);
    return o;
}

static struct outcome run(bool jit, uint64_t cr3, const uint64_t regs[4])
{
    return run_keep(jit, cr3, regs, false);
}

/* Fresh tables and code: TAIL_LIN on T_A in PML4's, on T_B in PML4_B's. */
static void fresh(void)
{
    memset(fx.ram, 0, RAM);
    tables(PML4, T_A);
    tables(PML4_B, T_B);
    code();
}

static void name_of(char *name, size_t size, const char *what, bool jit)
{
    snprintf(name, size, "emu straddle: %s: %s (%s)", jmp_kind ? "JMP rel32" : "ADD imm32", what,
             jit ? "JIT" : "interpreter");
}

/* (a), (b): the loop with no action runs the instruction ROUNDS times,
 * each time from its block: nothing fetched uncached. */
static void plain(bool jit)
{
    char name[200];
    fresh();
    static const uint8_t nop = 0x90;
    loop(&nop, 1);
    uint64_t regs[4] = {0};
    struct outcome o = run(jit, PML4, regs);
    printf("emu straddle: plain (%s, %s): %" PRIu64 " uncached fetches, %" PRIu64 " lookups\n",
           jmp_kind ? "JMP" : "ADD", jit ? "JIT" : "interpreter", o.uncached, o.lookups);
    name_of(name, sizeof(name), "a hot instruction across a page boundary adds its bytes' "
            "immediate each round", jit);
    CHECK(o.halted && o.ebx == ROUNDS, name);
    name_of(name, sizeof(name), "it is cached: no instruction fetched without a block", jit);
    CHECK_EQ(o.uncached, 0, name);
}

/* (c): the guest writes value to the instruction's byte at lin (RDI) in
 * the middle round; the next round runs the new bytes. Before the loop
 * it writes that byte as it is: the page's write translation is cached
 * before the instruction is decoded (then it must go). The instruction
 * is reached through NOPs before it: its first page lists another block
 * (decoded first) after it. */
static void smc(bool jit, uint64_t lin, uint8_t value, uint64_t want, const char *what)
{
    char name[200];
    fresh();
    static const uint8_t mov_sil[] = {0x40, 0x88, 0x37}; /* mov [rdi], sil */
    static const uint8_t rewrite[] = {0x8a, 0x07, 0x88, 0x07}; /* mov al, [rdi]; mov [rdi], al */
    loop_after(rewrite, sizeof(rewrite), mov_sil, sizeof(mov_sil), NOPS);
    uint64_t regs[4] = {value, lin, 0, 0};
    struct outcome o = run(jit, PML4, regs);
    name_of(name, sizeof(name), what, jit);
    CHECK(o.halted && o.ebx == want, name);
    if (!(o.halted && o.ebx == want))
        printf("  ebx %#" PRIx64 ", want %#" PRIx64 "\n", o.ebx, want);
}

/* A device (another thread) writes the second page's bytes between two
 * runs: emu_code_notify drops the block, the next run adds 0x101. */
static void device_write(bool jit)
{
    char name[200];
    fresh();
    static const uint8_t nop = 0x90;
    loop_after(NULL, 0, &nop, 1, NOPS);
    uint64_t regs[4] = {0};
    struct outcome o = run(jit, PML4, regs);
    fx.ram[T_A] = TAIL_B_BYTE;
    emu_code_notify(&fx.evm, T_A, 1);
    struct outcome o2 = run_keep(jit, PML4, regs, true);
    name_of(name, sizeof(name), "a device writes its bytes in the second page: the next run "
            "runs the new ones", jit);
    CHECK(o.halted && o.ebx == ROUNDS && o2.halted && o2.ebx == ROUNDS * 0x101ull, name);
}

/* (d), (e): the guest stores pte to TAIL_LIN's entry (RDI), then
 * flush (INVLPG [R8] or a CR3 reload), in the middle round. */
static struct outcome remap(bool jit, uint64_t pte, bool invlpg)
{
    fresh();
    static const uint8_t by_invlpg[] = {0x48, 0x89, 0x37,        /* mov [rdi], rsi */
                                        0x41, 0x0f, 0x01, 0x38}; /* invlpg [r8] */
    static const uint8_t by_cr3[] = {0x48, 0x89, 0x37,           /* mov [rdi], rsi */
                                     0x0f, 0x20, 0xd8,           /* mov rax, cr3 */
                                     0x0f, 0x22, 0xd8};          /* mov cr3, rax */
    if (invlpg)
        loop(by_invlpg, sizeof(by_invlpg));
    else
        loop(by_cr3, sizeof(by_cr3));
    uint64_t regs[4] = {pte, PT + (TAIL_LIN >> 12) * 8, TAIL_LIN, 0};
    return run(jit, PML4, regs);
}

static void remaps(bool jit)
{
    char name[200];
    uint64_t want = (HALF + 1) + (HALF - 1) * 0x101ull;
    for (int k = 0; k < 2; k++) {
        struct outcome o = remap(jit, T_B | 3, k);
        name_of(name, sizeof(name),
                k ? "its second page remapped to other bytes, INVLPG: the new bytes run"
                  : "its second page remapped to other bytes, CR3 reloaded: the new bytes run",
                jit);
        CHECK(o.halted && o.ebx == want, name);
    }
    /* Not present: #PF at the fetch of the second page, I/D set (NXE). */
    struct outcome o = remap(jit, 0, true);
    name_of(name, sizeof(name), "its second page made not present: #PF, CR2 the second page, "
            "error code I/D", jit);
    CHECK(o.halted && o.cr2 == TAIL_LIN && o.err == 0x10 && o.ecx == HALF - 1 &&
              o.ebx == HALF + 1, name);
    if (!(o.cr2 == TAIL_LIN && o.err == 0x10))
        printf("  cr2 %#" PRIx64 " err %#" PRIx64 " ecx %" PRIu64 " ebx %#" PRIx64 "\n", o.cr2,
               o.err, o.ecx, o.ebx);
    /* Execute-disable: #PF, present, I/D. */
    o = remap(jit, T_A | 3 | (1ull << 63), true);
    name_of(name, sizeof(name), "its second page made execute-disable: #PF, CR2 the second "
            "page, error code P, I/D", jit);
    CHECK(o.halted && o.cr2 == TAIL_LIN && o.err == 0x11 && o.ecx == HALF - 1, name);
}

/* Two address spaces share the first page and map the second to T_A or
 * T_B: the loop switches CR3 each round (R8, R9) before it calls entry,
 * S or NOPs that run on into S (a block in S's first page: a link from
 * it would pass a link's same-page rule, and compiled code's direct
 * jump within its page); the two instructions alternate, one block
 * each. */
static void spaces(bool jit, uint64_t entry, const char *what)
{
    char name[200];
    fresh();
    static const uint8_t mov_ecx = 0xb9, call = 0xe8, xchg_mov_cr3[] = {
        0x4d, 0x87, 0xc8,       /* xchg r8, r9 */
        0x41, 0x0f, 0x22, 0xd8, /* mov cr3, r8 */
    };
    static const uint8_t dec_jnz_hlt[] = {0xff, 0xc9, 0x75, 0xf0, 0xf4};
    at = LOOP;
    emit_op_imm32(&mov_ecx, 1, ROUNDS);
    emit(xchg_mov_cr3, sizeof(xchg_mov_cr3));
    emit_op_imm32(&call, 1, (uint32_t)(entry - (at + 5)));
    emit(dec_jnz_hlt, sizeof(dec_jnz_hlt));
    uint64_t regs[4] = {0, 0, PML4_B, PML4};
    struct outcome o = run(jit, PML4, regs);
    name_of(name, sizeof(name), what, jit);
    CHECK(o.halted && o.ebx == HALF * 0x102ull, name);
    if (o.ebx != HALF * 0x102ull)
        printf("  ebx %#" PRIx64 "\n", o.ebx);
    name_of(name, sizeof(name), "both are cached", jit);
    CHECK_EQ(o.uncached, 0, name);
}

/* 32-bit paging (PD at PML4, its table after it): the first 4 MiB one
 * to one but TAIL_LIN, on T_A; the loop remaps it to T_B and INVLPGs
 * it in the middle round. The instruction is cached in this mode too
 * (its own mode key) and the remap is honoured. */
static void paged32(bool jit)
{
    char name[200];
    fresh();
    uint32_t pde = (uint32_t)(PML4 + 0x1000) | 3;
    memcpy(fx.ram + PML4, &pde, 4);
    for (uint32_t p = 0; p < 1024; p++) {
        uint32_t pte = (p == TAIL_LIN >> 12 ? (uint32_t)T_A : p << 12) | 3;
        memcpy(fx.ram + PML4 + 0x1000 + 4 * p, &pte, 4);
    }
    static const uint8_t remap32[] = {0x89, 0x37,        /* mov [edi], esi */
                                      0x0f, 0x01, 0x38}; /* invlpg [eax] */
    loop(remap32, sizeof(remap32));
    emu_blocks_free_all(&fx.evm);
    fx.evm.jit_hot = 0;
    if (jit)
        emu_jit_set_hot(&fx.evm, 1);
    emu_fixture_paged32(&cpu, PML4, 0, LOOP, STACK);
    cpu.gpr[0] = TAIL_LIN;
    cpu.gpr[6] = T_B | 3;
    cpu.gpr[7] = PML4 + 0x1000 + (TAIL_LIN >> 12) * 4;
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 1000000);
    uint64_t want = (HALF + 1) + (HALF - 1) * 0x101ull;
    name_of(name, sizeof(name), "32-bit paging: cached, and its second page remapped, INVLPG: "
            "the new bytes run", jit);
    CHECK(exit.reason == ACCEL_EXIT_HLT && (cpu.gpr[3] & 0xffffffff) == want &&
              cpu.uncached_fetches == 0, name);
    if ((cpu.gpr[3] & 0xffffffff) != want || cpu.uncached_fetches)
        printf("  ebx %#" PRIx64 ", %" PRIu64 " uncached fetches\n", cpu.gpr[3],
               cpu.uncached_fetches);
    /* Compiled 32-bit code does not chain: each block goes back to
     * run_chain, which counts what it took from the budget. */
    static uint64_t interpreted;
    if (!jit) {
        interpreted = cpu.insn_count;
        return;
    }
    name_of(name, sizeof(name), "32-bit paging: the instruction count is the interpreter's", jit);
    CHECK_EQ(cpu.insn_count, interpreted, name);
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu straddle"))
        return 1;
    for (int k = 0; k < 4; k++) {
        bool jit = k & 1;
        jmp_kind = k >> 1;
        if (jit && !fx.evm.jit) {
            SKIP("emu straddle: the JIT", "HYPERKIT_EMU_JIT=0 or no JIT here");
            continue;
        }
        plain(jit);
        smc(jit, TAIL_LIN, TAIL_B_BYTE, (HALF + 1) + (HALF - 1) * 0x101ull,
            "the guest writes the instruction's bytes in its second page: the new ones run");
        smc(jit, S + 2, HEAD_2_BYTE, (HALF + 1) + (HALF - 1) * 2ull,
            "the guest writes the instruction's byte in its first page: the new one runs");
        device_write(jit);
        remaps(jit);
        spaces(jit, S, "CR3 switches between two second pages behind one first page: each "
                       "space runs its own bytes");
        paged32(jit);
        spaces(jit, NOPS, "CR3 switches, the instruction reached from a block before it in "
                            "its first page: each space runs its own bytes");
    }
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
