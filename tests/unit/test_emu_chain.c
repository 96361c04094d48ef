/*
 * Compiled blocks going on into each other (jit_chain.c, jit_shared.c)
 * keep the run loop's promises: an interrupt that becomes pending while
 * the guest spins in one compiled loop is taken within the run loop's
 * budget of blocks, as the interpreter takes it, and the instruction
 * count and registers come out as interpreted. The guest counts ECX
 * down in a two-instruction loop, then halts; the interrupt controller
 * stub offers vector 0x40 once the vCPU has run RAISE instructions, and
 * the handler records the count it interrupted. And a loop that remaps
 * its own code page and INVLPGs it goes on in the new page: INVLPG ends
 * the block, so neither the block's rest nor a link runs the old code.
 */
#include <inttypes.h>

#include "accel/emu/jit/jit.h"
#include "emu_fixture.h"
#include "test.h"

__asm__(".pushsection .rodata\n"
        ".globl chain_guest, chain_guest_end, chain_h40\n"
        ".code64\n"
        "chain_guest:\n"
        "  mov $2000000, %ecx\n"
        "  sti\n"
        "1:\n"
        "  dec %ecx\n"
        "  jnz 1b\n"
        "  hlt\n"
        "chain_h40:\n"
        "  mov %rcx, 0x8000\n"
        "  incq 0x8008\n"
        "  iretq\n"
        "chain_guest_end:\n"
        ".popsection\n");

/* Remap the running code page, INVLPG it, jump back into it: the code
 * there now is the other page's. */
__asm__(".pushsection .rodata\n"
        ".globl remap_a, remap_a_end, remap_b, remap_b_end\n"
        ".code64\n"
        "remap_a:\n"
        "1:\n"
        "  mov %rbx, (%rdi)\n"
        "  invlpg (%rsi)\n"
        "  dec %ecx\n"
        "  jnz 1b\n"
        "  mov $0xaa, %eax\n"
        "  hlt\n"
        "remap_a_end:\n"
        "remap_b:\n"
        "  mov $0xbb, %eax\n"
        "  hlt\n"
        "remap_b_end:\n"
        ".popsection\n");

/* Two address spaces that map the page at 0x40000 to different code,
 * and a shared loop that switches between them and calls into it: each
 * call must run the current space's code, however links were made. */
__asm__(".pushsection .rodata\n"
        ".globl spaces_loop, spaces_loop_end, spaces_a, spaces_a_end, spaces_b, spaces_b_end\n"
        ".code64\n"
        "spaces_loop:\n"
        "1:\n"
        "  xchg %r8, %r9\n"
        "  mov %r8, %cr3\n"
        "  call *%r10\n"
        "  dec %ecx\n"
        "  jnz 1b\n"
        "  hlt\n"
        "spaces_loop_end:\n"
        "spaces_a:\n"
        "  add $1, %ebx\n"
        "  jmp 2f\n"
        "2:\n"
        "  ret\n"
        "spaces_a_end:\n"
        "spaces_b:\n"
        "  add $0x10000, %ebx\n"
        "  jmp 3f\n"
        "3:\n"
        "  ret\n"
        "spaces_b_end:\n"
        ".popsection\n");

/* The same loop as two blocks of one page (a JMP, a TEST and JNZ): they
 * go on into each other by direct jumps (jit_direct_exit), which must make
 * run_chain's checks between blocks too. Found in review. */
__asm__(".pushsection .rodata\n"
        ".globl chain_guest2, chain_guest2_end, chain_h40_2\n"
        ".code64\n"
        "chain_guest2:\n"
        "  mov $2000000, %ecx\n"
        "  sti\n"
        "1:\n"
        "  dec %ecx\n"
        "  jmp 2f\n"
        "2:\n"
        "  test %ecx, %ecx\n"
        "  jnz 1b\n"
        "  hlt\n"
        "chain_h40_2:\n"
        "  mov %rcx, 0x8000\n"
        "  incq 0x8008\n"
        "  iretq\n"
        "chain_guest2_end:\n"
        ".popsection\n");
extern const uint8_t chain_guest2[], chain_guest2_end[], chain_h40_2[];
extern const uint8_t chain_guest[], chain_guest_end[], chain_h40[];
extern const uint8_t spaces_loop[], spaces_loop_end[], spaces_a[], spaces_a_end[], spaces_b[],
    spaces_b_end[];
extern const uint8_t remap_a[], remap_a_end[], remap_b[], remap_b_end[];

#define RAM (1u << 20)
#define LOAD 0x10000ull
#define IDT 0x1000ull
#define STACK 0x7000ull
#define RAISE 100000u
/* The run loop looks for interrupts at least every 1024 blocks (run.c's
 * budget), compiled chaining every 1024 * EMU_CHAIN_INSNS instructions;
 * each block here is the two-instruction loop. */
#define LATENCY (1024u * EMU_CHAIN_INSNS + 16u)

static struct emu_fixture fx;
static struct emu_cpu cpu;
static bool taken;

static int stub_pending(void *opaque, uint64_t now)
{
    return !taken && cpu.insn_count >= RAISE ? 0x40 : -1;
}

static void stub_accept(void *opaque, int vector)
{
    taken = true;
}

static int stub_msr(void *opaque, uint32_t index, uint64_t *value)
{
    return 1;
}

static int stub_msr_write(void *opaque, uint32_t index, uint64_t value)
{
    return 1;
}

static bool stub_nmi(void *opaque)
{
    return false;
}

static uint32_t stub_tpr_read(void *opaque)
{
    return 0;
}

static void stub_tpr_write(void *opaque, uint32_t v)
{
}

static const struct accel_irq_ops stub = {.pending = stub_pending, .accept = stub_accept,
                                          .msr_read = stub_msr, .msr_write = stub_msr_write,
                                          .nmi = stub_nmi, .tpr_read = stub_tpr_read,
                                          .tpr_write = stub_tpr_write};

/* RAM cleared, no decoded code, the JIT compiling at a block's first run
 * or not at all. */
static void fresh(bool jit)
{
    memset(fx.ram, 0, RAM);
    emu_blocks_free_all(&fx.evm);
    fx.evm.jit_hot = 0;
    if (jit)
        emu_jit_set_hot(&fx.evm, 1);
}

struct outcome {
    uint64_t rcx_at_irq, irqs, insns, rcx;
    int reason;
};

static struct outcome run_guest(bool jit, const uint8_t *guest, const uint8_t *guest_end,
                                const uint8_t *handler)
{
    fresh(jit);
    emu_fixture_load(&fx, LOAD, guest, guest_end);
    emu_fixture_set_gate(fx.ram, IDT, 0x40, emu_fixture_at(&fx, handler));
    emu_fixture_long64(&cpu, fx.ram, LOAD, STACK);
    cpu.idtr = (struct accel_dtable){IDT, 16 * 0x41 - 1};
    cpu.irq = &stub;
    emu_update_mode(&cpu);
    taken = false;
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 100);
    struct outcome o = {.insns = cpu.insn_count, .rcx = cpu.gpr[1], .reason = (int)exit.reason};
    memcpy(&o.rcx_at_irq, fx.ram + 0x8000, 8);
    memcpy(&o.irqs, fx.ram + 0x8008, 8);
    return o;
}

static struct outcome run(bool jit)
{
    return run_guest(jit, chain_guest, chain_guest_end, chain_h40);
}

/* 4-level paging, the first 2 MiB mapped 4 KiB pages one to one, but
 * the code page CODE_LIN starts out on A and the guest moves it to B. */
#define PML4 0x20000ull
#define PT (PML4 + 0x3000)
#define CODE_A 0x30000ull
#define CODE_B 0x31000ull
static void tables(uint64_t base, uint64_t lin, uint64_t target)
{
    emu_fixture_tables_4k(fx.ram, base, lin, target);
}

/* 64-bit paging from cr3, at rip. */
static void paged64(uint64_t cr3, uint64_t rip)
{
    emu_fixture_long64(&cpu, fx.ram, rip, STACK);
    cpu.cr0 |= 0x80000000ull;
    cpu.cr4 |= 0x20; /* PAE */
    cpu.cr3 = cr3;
}

/* The guest as set up, from a TLB flush, run until HLT (at most runs
 * times through the run loop; with count, the run loop's lookup and
 * compiled-code figures counted from 0): whether it halted. */
static bool run_paged(int runs, bool count)
{
    emu_update_mode(&cpu);
    emu_tlb_flush(&cpu);
    if (count)
        cpu.lookups = cpu.jit_runs = 0;
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, runs);
    return exit.reason == ACCEL_EXIT_HLT;
}

static uint64_t remap(bool jit)
{
    fresh(jit);
    tables(PML4, CODE_A, CODE_A);
    memcpy(fx.ram + CODE_A, remap_a, (size_t)(remap_a_end - remap_a));
    memcpy(fx.ram + CODE_B, remap_b, (size_t)(remap_b_end - remap_b));
    paged64(PML4, CODE_A);
    cpu.gpr[3] = CODE_B + 3;             /* RBX: the new entry */
    cpu.gpr[7] = PT + (CODE_A >> 12) * 8; /* RDI: the code page's entry */
    cpu.gpr[6] = CODE_A;                 /* RSI: its linear address */
    cpu.gpr[1] = 10;
    return run_paged(100, false) ? cpu.gpr[0] : ~0ull;
}

/* Two 4-level tables (at PML4 and PML4 + 0x4000), one to one but for
 * the page at SPACE_LIN: A's code there, or B's. The loop (loop, len
 * bytes at CODE_A) switches between them, calling SPACE_LIN: ebx after
 * 2 * rounds rounds, or ~0 if the guest did not halt. */
#define SPACE_LIN 0x40000ull
static uint64_t run_spaces(bool jit, const uint8_t *loop, size_t len, unsigned rounds)
{
    fresh(jit);
    tables(PML4, SPACE_LIN, SPACE_LIN);
    tables(PML4 + 0x4000, SPACE_LIN, SPACE_LIN + 0x1000);
    memcpy(fx.ram + CODE_A, loop, len);
    memcpy(fx.ram + SPACE_LIN, spaces_a, (size_t)(spaces_a_end - spaces_a));
    memcpy(fx.ram + SPACE_LIN + 0x1000, spaces_b, (size_t)(spaces_b_end - spaces_b));
    paged64(PML4, CODE_A);
    cpu.gpr[8] = PML4 + 0x4000; /* the other table: the first round runs B's code */
    cpu.gpr[9] = PML4;
    cpu.gpr[10] = SPACE_LIN;
    cpu.gpr[1] = 2 * rounds;
    cpu.gpr[3] = 0;
    return run_paged(1000000, false) ? cpu.gpr[3] : ~0ull;
}

/* Each round calls SPACE_LIN once, through CALL r10. */
static uint64_t spaces(bool jit, unsigned rounds)
{
    return run_spaces(jit, spaces_loop, (size_t)(spaces_loop_end - spaces_loop), rounds);
}

/* As spaces, but the loop's CALL is a CALL rel32, three times in each
 * space: a way out whose RIP the compiler knows, into another page,
 * where compiled code jumps straight to the block its link led to,
 * guarded by that link's RIP and context (jit_far_exit: patched at the
 * second call, taken at the third). Each CR3 switch must send the call
 * to that space's own code. */
static uint64_t spaces_static(bool jit, unsigned rounds)
{
    static const uint8_t loop[] = {
        0x4d, 0x87, 0xc8,             /* 0x30000: xchg r8, r9 */
        0x41, 0x0f, 0x22, 0xd8,       /* mov cr3, r8 */
        0xba, 0x03, 0x00, 0x00, 0x00, /* mov edx, 3 */
        0xe8, 0xef, 0xff, 0x00, 0x00, /* 0x3000c: call 0x40000 */
        0xff, 0xca,                   /* dec edx */
        0x75, 0xf7,                   /* jnz 0x3000c */
        0xff, 0xc9,                   /* dec ecx */
        0x75, 0xe7,                   /* jnz 0x30000 */
        0xf4,                         /* hlt */
    };
    return run_spaces(jit, loop, sizeof(loop), rounds);
}

/* One code page P at two linear addresses (0x50000, and 0x60000 too),
 * its block a CALL rel32 0x8000 on: from 0x50000 into 0x58000 (add ebx,
 * 1), from 0x60000 into 0x68000 (add ebx, 0x10000). The loop calls P at
 * both in turns, in one context: the call's patched jump (jit_far_exit)
 * must be taken only from the linear address it was patched for. */
static uint64_t alias_far(bool jit, unsigned rounds)
{
    static const uint8_t loop[] = {
        0xb9, 0x00, 0x00, 0x00, 0x00, /* 0x30000: mov ecx, rounds */
        0x41, 0xff, 0xd2,             /* 0x30005: call r10 */
        0x41, 0xff, 0xd3,             /* call r11 */
        0xff, 0xc9,                   /* dec ecx */
        0x75, 0xf6,                   /* jnz 0x30005 */
        0xf4,                         /* hlt */
    };
    static const uint8_t p[] = {0xe8, 0xfb, 0x7f, 0x00, 0x00, 0xc3}; /* call .+0x8000; ret */
    static const uint8_t a[] = {0x81, 0xc3, 0x01, 0x00, 0x00, 0x00, 0xc3};
    static const uint8_t b[] = {0x81, 0xc3, 0x00, 0x00, 0x01, 0x00, 0xc3};
    fresh(jit);
    tables(PML4, 0x60000, 0x50000);
    memcpy(fx.ram + CODE_A, loop, sizeof(loop));
    memcpy(fx.ram + CODE_A + 1, &rounds, 4);
    memcpy(fx.ram + 0x50000, p, sizeof(p));
    memcpy(fx.ram + 0x58000, a, sizeof(a));
    memcpy(fx.ram + 0x68000, b, sizeof(b));
    paged64(PML4, CODE_A);
    cpu.gpr[10] = 0x50000;
    cpu.gpr[11] = 0x60000;
    cpu.gpr[3] = 0;
    return run_paged(1000000, false) ? cpu.gpr[3] : ~0ull;
}

/* Found in review. A block at linear 0x100 jumping to 0 the first time
 * it runs, in a VM that never dropped code: its zeroed link[1] (lin 0,
 * code_gen 0, no block) must not be taken for a link. */
static bool jump_to_zero(bool jit)
{
    emu_fixture_fini(&fx); /* a new VM: no code dropped yet, code_gen 0 */
    memset(&fx, 0, sizeof(fx));
    if (emu_fixture_init(&fx, &cpu, RAM, "emu chain"))
        return false;
    fresh(jit);
    fx.ram[0] = 0xf4; /* hlt */
    fx.ram[0x100] = 0xe9; /* jmp 0 */
    int32_t rel = -0x105;
    memcpy(fx.ram + 0x101, &rel, 4);
    emu_fixture_long64(&cpu, fx.ram, 0x100, STACK);
    emu_update_mode(&cpu);
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 10);
    return exit.reason == ACCEL_EXIT_HLT && cpu.rip == 1;
}

/* Found in review. A descriptor read through a GDT reaching past the
 * canonical boundary walks a non-canonical page; a load from that page
 * must still raise #GP, compiled or not (RAX stays 0x55). */
__asm__(".pushsection .rodata\n"
        ".globl noncanon, noncanon_end\n"
        ".code64\n"
        "noncanon:\n"
        "  mov $0x1008, %eax\n"
        "  mov %eax, %ds\n"
        "  movabs $0x800000000100, %rsi\n"
        "  mov $0x55, %eax\n"
        "  mov (%rsi), %rax\n"
        "  hlt\n"
        "noncanon_end:\n"
        ".popsection\n");
extern const uint8_t noncanon[], noncanon_end[];

static uint64_t noncanonical_load(bool jit)
{
    fresh(jit);
    tables(PML4, 0, 0);
    uint64_t e256 = PML4 + 0x1000 + 3; /* PML4[256]: the same tables again */
    memcpy(fx.ram + PML4 + 256 * 8, &e256, 8);
    uint64_t data = 0x00cf92000000ffffull, mark = 0x1234;
    memcpy(fx.ram + 0x8, &data, 8);   /* the descriptor, at 0x800000000008 */
    memcpy(fx.ram + 0x100, &mark, 8); /* what the load must not see */
    memcpy(fx.ram + CODE_A, noncanon, (size_t)(noncanon_end - noncanon));
    paged64(PML4, CODE_A);
    cpu.gdtr = (struct accel_dtable){0x7ffffffff000ull, 0xffff};
    emu_update_mode(&cpu);
    emu_tlb_flush(&cpu);
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 10);
    return cpu.gpr[0];
}

/* A ring of RING blocks, block i adding i + 1 to EBX and going on to the
 * next, directly (a link) or, every other one, through one shared block
 * that jumps to RDX (so it has many targets: the jump cache's); the last
 * one counts ECX down to
 * go round again. With code memory that holds only a few blocks' code, it
 * is reset over and over while blocks chain into each other, and no link
 * or jump cache entry may still lead into code memory from before a
 * reset. Returns EBX. */
#define RING 48
#define RING_JMP (LOAD + 16 * RING) /* JMP RDX */
#define RING_SIDE (RING_JMP + 0x100) /* JMP to block 0 */
static uint64_t ring(bool jit, unsigned rounds)
{
    fresh(jit);
    for (unsigned i = 0; i < RING; i++) {
        uint8_t *p = fx.ram + LOAD + 16 * i;
        uint32_t add = i + 1, next = (uint32_t)(LOAD + 16 * (i + 1));
        int32_t rel;
        p[0] = 0x81; /* ADD EBX, imm32 */
        p[1] = 0xc3;
        memcpy(p + 2, &add, 4);
        if (i + 1 < RING && (i & 1)) { /* JMP rel32 next: a link */
            p[6] = 0xe9;
            rel = (int32_t)(next - (LOAD + 16 * i + 11));
            memcpy(p + 7, &rel, 4);
        } else if (i + 1 < RING) {
            p[6] = 0xba; /* MOV EDX, next */
            memcpy(p + 7, &next, 4);
            p[11] = 0xe9; /* JMP rel32 RING_JMP */
            rel = (int32_t)(RING_JMP - (LOAD + 16 * i + 16));
            memcpy(p + 12, &rel, 4);
        } else {
            p[6] = 0xff; /* DEC ECX */
            p[7] = 0xc9;
            p[8] = 0x0f; /* JNZ rel32 to block 0 */
            p[9] = 0x85;
            rel = -(16 * (int32_t)i + 14);
            memcpy(p + 10, &rel, 4);
            p[14] = 0xf4; /* HLT */
        }
    }
    fx.ram[RING_JMP] = 0xff;
    fx.ram[RING_JMP + 1] = 0xe2;
    fx.ram[RING_SIDE] = 0xe9; /* JMP rel32 to block 0 */
    int32_t back = -(int32_t)(RING_SIDE + 5 - LOAD);
    memcpy(fx.ram + RING_SIDE + 1, &back, 4);
    emu_fixture_long64(&cpu, fx.ram, LOAD, STACK);
    emu_update_mode(&cpu);
    cpu.gpr[1] = rounds;
    cpu.gpr[3] = 0;
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 100000);
    return cpu.gpr[3];
}

/* The ring run with room for all its code (so links lead into compiled
 * code), then entered again through a block never run before, with code
 * memory full: compiling that one resets it, and the ring's blocks
 * compiled afresh must not follow their old links' code. Returns EBX of
 * the second run. */
static uint64_t ring_after_reset(unsigned rounds)
{
    ring(true, rounds);
    emu_jit_set_arena_limit(&fx.evm, emu_jit_code_used(&fx.evm) + 64);
    cpu.halted = false;
    cpu.rip = RING_SIDE;
    cpu.gpr[1] = rounds;
    cpu.gpr[3] = 0;
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 100000);
    return cpu.gpr[3];
}

/* Found in review. Compiled code going on into the next block keeps
 * that block's linear start (RBP) and leaves it in cpu->chain_lin on the
 * way out, with the block in cpu->chain_block: run_chain follows the
 * next link from there, and a link made in another address space is
 * taken only within that block's own page (emu_link_same_page). A loop
 * between two pages, run three times so that the last run goes from block
 * to block through links only (the first makes them, the second finds the
 * blocks they lead to compiled), up to the HLT after it (in a third page, so
 * that the last way out goes through its link and sets R12 itself, not
 * the entered block's prefix): whether the block left there is the
 * HLT's, at its own address. */
static bool chain_lin_left(void)
{
    static const uint8_t a[] = {
        0xb9, 0x32, 0x00, 0x00, 0x00, /* 0x10000: mov ecx, 50 */
        0xff, 0xc9,                   /* 0x10005: dec ecx */
        0xe9, 0xf4, 0x0f, 0x00, 0x00, /* jmp 0x11000 */
    };
    static const uint8_t b[] = {
        0x0f, 0x85, 0xff, 0xef, 0xff, 0xff, /* 0x11000: jnz 0x10005 */
        0xe9, 0xf5, 0x0f, 0x00, 0x00,       /* 0x11006: jmp 0x12000 */
    };
    fresh(true);
    memcpy(fx.ram + LOAD, a, sizeof(a));
    memcpy(fx.ram + LOAD + 0x1000, b, sizeof(b));
    fx.ram[LOAD + 0x2000] = 0xf4; /* hlt: the last run goes on into it through the
                                   * JMP's link, patching its jump (jit_far_exit) */
    bool ok = true;
    emu_fixture_long64(&cpu, fx.ram, LOAD, STACK);
    emu_update_mode(&cpu);
    for (int run = 0; run < 3; run++) {
        cpu.rip = LOAD;
        cpu.halted = false;
        struct accel_exit exit = {0};
        emu_fixture_run_to_hlt(&cpu, &exit, 10);
        ok = exit.reason == ACCEL_EXIT_HLT && cpu.gpr[1] == 0 && cpu.rip == LOAD + 0x2001;
    }
    return ok && cpu.chain_block && cpu.chain_block->gpa == LOAD + 0x2000 &&
           cpu.chain_lin == LOAD + 0x2000;
}


/* Found in review. A direct jump (jit_direct_exit) is patched once
 * link[k] leads to compiled code, but that link need not lead into the
 * block's own page: the guest rewrote the PTE of the page A was entered
 * at (no INVLPG), A entered through a link made before (a stale
 * translation, as a TLB may keep), and the block at A's target looked up
 * afresh through the new PTE (the exec TLB slot evicted by a page 1 MiB
 * up). Then A, entered at an alias of its own page whose mapping never
 * changed, must go on into its own page's block, as interpreted: EBX
 * counts the other page's block (0x1000 each). With write_q, the guest
 * then writes to Q, so that the block there is dropped and freed before
 * A is entered at the alias: a jump into a freed block's code. */
#define ALIAS_V 0x40000ull  /* A's page: P at first, then Q */
#define ALIAS_Q 0x41000ull
#define ALIAS_V2 0x50000ull /* P always */
#define ALIAS_EVICT 0x140000ull /* the same exec TLB slot as ALIAS_V */
#define ALIAS_RET 0x60000ull
__asm__(".pushsection .rodata\n"
        ".globl alias_z, alias_z_end, alias_a, alias_a_end\n"
        ".code64\n"
        "alias_z:\n"
        "  xor %edx, %edx\n"
        "  mov $3, %ecx\n"
        "1:\n"
        "  call 9f\n"
        "  dec %ecx\n"
        "  jnz 1b\n"
        "  mov %r13, (%rdi)\n"
        "  call *%r11\n"
        "  mov $1, %edx\n"
        "  mov $4, %ecx\n"
        "2:\n"
        "  call 9f\n"
        "  dec %ecx\n"
        "  jnz 2b\n"
        "  test %r8, %r8\n"
        "  jz 4f\n"
        "  movb $0x90, (%r8)\n"
        "4:\n"
        "  call *%r9\n"
        "  hlt\n"
        "9:\n"
        "  call *%r10\n"
        "  ret\n"
        "alias_z_end:\n"
        "alias_a:\n"
        "  test %edx, %edx\n"
        "  jnz 3f\n"
        "  ret\n"
        "  .fill 0x100 - (. - alias_a), 1, 0x90\n"
        "3:\n"
        "alias_a_end:\n"
        ".popsection\n");
extern const uint8_t alias_z[], alias_z_end[], alias_a[], alias_a_end[];

static uint64_t alias_stale(bool jit, bool write_q)
{
    static const uint8_t b[] = {0xc3}; /* P + 0x100: ret */
    /* Q + 0x100: add ebx, 0x1000; ret */
    static const uint8_t c[] = {0x81, 0xc3, 0x00, 0x10, 0x00, 0x00, 0xc3};
    size_t a_len = (size_t)(alias_a_end - alias_a);
    fresh(jit);
    tables(PML4, ALIAS_V, ALIAS_V);
    uint64_t e = ALIAS_V + 3; /* V2 -> P */
    memcpy(fx.ram + PT + (ALIAS_V2 >> 12) * 8, &e, 8);
    e = ALIAS_RET + 3;
    memcpy(fx.ram + PT + (ALIAS_EVICT >> 12) * 8, &e, 8);
    memcpy(fx.ram + LOAD, alias_z, (size_t)(alias_z_end - alias_z));
    memcpy(fx.ram + ALIAS_V, alias_a, a_len);
    memcpy(fx.ram + ALIAS_V + a_len, b, sizeof(b));
    memcpy(fx.ram + ALIAS_Q, alias_a, a_len);
    memcpy(fx.ram + ALIAS_Q + a_len, c, sizeof(c));
    fx.ram[ALIAS_RET] = 0xc3;
    paged64(PML4, LOAD);
    cpu.gpr[3] = 0;
    cpu.gpr[7] = PT + (ALIAS_V >> 12) * 8; /* RDI: V's PTE */
    cpu.gpr[13] = ALIAS_Q + 3;            /* R13: V -> Q */
    cpu.gpr[10] = ALIAS_V;
    cpu.gpr[11] = ALIAS_EVICT;
    cpu.gpr[9] = ALIAS_V2;
    cpu.gpr[8] = write_q ? ALIAS_V + 0x300 : 0; /* R8: a write to Q, dropping its blocks */
    return run_paged(1000, false) ? cpu.gpr[3] : ~0ull;
}

/* Links into global pages (emu.h) outlive MOV CR3, and nothing else
 * that may change them. Two 4-level tables map everything one to one;
 * the loop's page and G are global. The loop switches CR3 and calls G
 * (add ebx, 1) rounds times; then G is remapped to G2 (add ebx, 0x100)
 * in both tables and INVLPGed; G2's immediate is overwritten (0x10000:
 * its decoded code dropped); G is mapped back and CR4.PGE turned off
 * and on. Each new G runs twice, before and after a CR3 switch: EBX
 * shows which ran. *lookups and *jit_runs: the run loop's figures. */
#define GLOBAL_G 0x40000ull
#define GLOBAL_G2 0x41000ull
#define PTE_G 0x100ull
/* After the loop (CALL: how G is called): G remapped to G2 and INVLPGed,
 * G2's immediate overwritten, G mapped back with a CR4.PGE toggle, each
 * new G called twice, before and after a CR3 switch. */
#define GLOBAL_PHASES(CALL)                                                                \
    "  mov %r11, (%rdi)\n" /* G -> G2 in both tables */                                   \
    "  mov %r11, (%rsi)\n"                                                                 \
    "  invlpg (%r10)\n" CALL "  mov %r8, %cr3\n" CALL                                      \
    "  movl $0x10000, 2(%r10)\n" /* G2: add ebx, 0x10000 */                                \
    CALL "  mov %r9, %cr3\n" CALL                                                          \
    "  mov %r12, (%rdi)\n" /* back to G: only a CR4.PGE toggle */                          \
    "  mov %r12, (%rsi)\n"                                                                 \
    "  mov %cr4, %rax\n"                                                                   \
    "  and $~0x80, %eax\n"                                                                 \
    "  mov %rax, %cr4\n"                                                                   \
    "  or $0x80, %eax\n"                                                                   \
    "  mov %rax, %cr4\n" CALL "  mov %r8, %cr3\n" CALL "  hlt\n"
__asm__(".pushsection .rodata\n"
        ".globl global_loop, global_loop_end\n"
        ".code64\n"
        "global_loop:\n"
        "1:\n"
        "  mov %r8, %cr3\n"
        "  xchg %r8, %r9\n"
        "  call *%r10\n"
        "  dec %ecx\n"
        "  jnz 1b\n"
        GLOBAL_PHASES("  call *%r10\n")
        "global_loop_end:\n"
        ".popsection\n");
extern const uint8_t global_loop[], global_loop_end[];


/* Found in review (a check): global_loop with each CALL a CALL rel32
 * (jit_far_exit's patched jump, guarded by the link's context). */
__asm__(".pushsection .rodata\n"
        ".globl global_loop_rel, global_loop_rel_end\n"
        ".code64\n"
        ".macro callg\n"
        "  .byte 0xe8\n"
        "  .long 0x40000 - 0x10000 - (. + 4 - global_loop_rel)\n"
        ".endm\n"
        "global_loop_rel:\n"
        "1:\n"
        "  mov %r8, %cr3\n"
        "  xchg %r8, %r9\n"
        "  callg\n"
        "  callg\n"
        "  dec %ecx\n"
        "  jnz 1b\n"
        GLOBAL_PHASES("  callg\n")
        "global_loop_rel_end:\n"
        ".purgem callg\n"
        ".popsection\n");
extern const uint8_t global_loop_rel[], global_loop_rel_end[];
static const uint8_t *global_guest = global_loop, *global_guest_end = global_loop_end;

static uint64_t global_links(bool jit, bool global, unsigned rounds, uint64_t *lookups,
                             uint64_t *jit_runs)
{
    static const uint8_t add1[] = {0x81, 0xc3, 0x01, 0x00, 0x00, 0x00, 0xc3};
    static const uint8_t add100[] = {0x81, 0xc3, 0x00, 0x01, 0x00, 0x00, 0xc3};
    fresh(jit);
    uint64_t other = PML4 + 0x4000, g = global ? PTE_G : 0;
    tables(PML4, GLOBAL_G, GLOBAL_G);
    tables(other, GLOBAL_G, GLOBAL_G);
    for (int t = 0; t < 2; t++) {
        uint64_t pt = (t ? other : PML4) + 0x3000;
        for (uint64_t lin = LOAD; lin < LOAD + 0x1000 * 16; lin += 0x1000) {
            uint64_t e = lin + 3 + g; /* the loop's pages (the code is 1 page) */
            memcpy(fx.ram + pt + (lin >> 12) * 8, &e, 8);
        }
        uint64_t e = GLOBAL_G + 3 + g;
        memcpy(fx.ram + pt + (GLOBAL_G >> 12) * 8, &e, 8);
    }
    memcpy(fx.ram + LOAD, global_guest, (size_t)(global_guest_end - global_guest));
    memcpy(fx.ram + GLOBAL_G, add1, sizeof(add1));
    memcpy(fx.ram + GLOBAL_G2, add100, sizeof(add100));
    paged64(PML4, LOAD);
    cpu.cr4 |= 0x80; /* PGE */
    cpu.gpr[1] = rounds;
    cpu.gpr[3] = 0;
    cpu.gpr[8] = other;
    cpu.gpr[9] = PML4;
    cpu.gpr[10] = GLOBAL_G;
    cpu.gpr[11] = GLOBAL_G2 + 3 + g;
    cpu.gpr[12] = GLOBAL_G + 3 + g;
    cpu.gpr[7] = PML4 + 0x3000 + (GLOBAL_G >> 12) * 8;
    cpu.gpr[6] = other + 0x3000 + (GLOBAL_G >> 12) * 8;
    bool halted = run_paged(100000, true);
    *lookups = cpu.lookups;
    *jit_runs = cpu.jit_runs;
    return halted ? cpu.gpr[3] : ~0ull;
}


static void global_rel_checks(void)
{
    uint64_t lookups, jit_runs, ref, got;
    unsigned rounds = 500;
    global_guest = global_loop_rel;
    global_guest_end = global_loop_rel_end;
    for (int g = 0; g < 2; g++) {
        ref = global_links(false, g, rounds, &lookups, &jit_runs);
        got = global_links(true, g, rounds, &lookups, &jit_runs);
        printf("emu chain: CALL rel32 loop, G %d: %" PRIu64 " lookups, %" PRIu64
               " JIT entries for %u CR3 switches\n",
               g, lookups, jit_runs, rounds);
        if (g)
            CHECK(lookups < rounds + 100 && jit_runs < rounds + 100,
                  "emu chain: compiled CALL rel32s into a global page go on after CR3 switches");
        CHECK(got == ref && ref == 2 * rounds + 2 * 0x100 + 2 * 0x10000 + 2,
              g ? "emu chain: CALL rel32 into a global page across CR3 switches, INVLPG, a write "
                  "to it and a CR4.PGE toggle, as interpreted (JIT)"
                : "emu chain: CALL rel32 into a page across CR3 switches, INVLPG, a write to it "
                  "and a CR4.PGE toggle, as interpreted (JIT)");
    }
    global_guest = global_loop;
    global_guest_end = global_loop_end;
}

static void global_checks(bool jit)
{
    const char *who = jit ? "JIT" : "interpreter";
    unsigned rounds = 1000;
    uint64_t want = rounds + 2 * 0x100 + 2 * 0x10000 + 2, lookups, jit_runs;
    uint64_t got = global_links(jit, true, rounds, &lookups, &jit_runs);
    char name[200];
    snprintf(name, sizeof(name),
             "emu chain: global code runs as mapped after %u CR3 switches, INVLPG, a write "
             "to it and a CR4.PGE toggle (EBX %#" PRIx64 ") (%s)",
             rounds, got, who);
    CHECK_EQ(got, want, name);
    snprintf(name, sizeof(name),
             "emu chain: links into global pages outlive CR3 switches: %" PRIu64
             " lookups for %u switches (%s)",
             lookups, rounds, who);
    CHECK(lookups < rounds + 100, name); /* one after each MOV CR3: it ends the run */
    if (jit) {
        snprintf(name, sizeof(name),
                 "emu chain: compiled code follows links into global pages after a CR3 "
                 "switch: entered %" PRIu64 " times for %u switches (JIT)",
                 jit_runs, rounds);
        CHECK(jit_runs < rounds + 100, name);
    }
    got = global_links(jit, false, rounds, &lookups, &jit_runs);
    snprintf(name, sizeof(name),
             "emu chain: without G, the same code looks up the next block after each CR3 "
             "switch: %" PRIu64 " lookups, EBX %#" PRIx64 " (%s)",
             lookups, got, who);
    CHECK(got == want && lookups >= 2 * rounds, name); /* the call and the return too */
}


/* Found in review. Two blocks of one page going on into each other: A
 * (dec ecx; jmp over a NOP) and B (test ecx, ecx; jnz A). Their ways out
 * stay in the page, so each becomes a jump patched straight into the
 * other's code (jit_direct_exit) the first time its link leads there. In
 * a global page (G, CR4.PGE: kernel code) the links carry the global
 * context, and the direct exit must still be patched. Whether A's code
 * holds a JMP rel32 to B's code start (jit_body), and B's to A's. */
__asm__(".pushsection .rodata\n"
        ".globl direct_loop, direct_loop_end\n"
        ".code64\n"
        "direct_loop:\n"
        "1:\n"
        "  dec %ecx\n"
        "  jmp 2f\n"
        "  nop\n" /* B is not right after A: A's link to it is link[0] */
        "2:\n"
        "  test %ecx, %ecx\n"
        "  jnz 1b\n"
        "  hlt\n"
        "direct_loop_end:\n"
        ".popsection\n");
extern const uint8_t direct_loop[], direct_loop_end[];

static struct emu_block *block_at(uint64_t gpa)
{
    for (struct emu_block *b = fx.evm.page_blocks[gpa >> 12]; b; b = b->page_next)
        if (b->gpa == gpa)
            return b;
    return NULL;
}

/* A JMP rel32 in from's code (its first 1 KiB) to to's code start. */
static bool jumps_to(const struct emu_block *from, const struct emu_block *to)
{
    const uint8_t *p = from->jit_body, *target = to->jit_body;
    for (unsigned i = 0; p && target && i + 5 <= 1024; i++) {
        int32_t rel;
        memcpy(&rel, p + i + 1, 4);
        if (p[i] == 0xe9 && p + i + 5 + rel == target)
            return true;
    }
    return false;
}

static bool direct_patched(bool global)
{
    fresh(true);
    tables(PML4, LOAD, LOAD);
    uint64_t e = LOAD + 3 + (global ? PTE_G : 0);
    memcpy(fx.ram + PT + (LOAD >> 12) * 8, &e, 8);
    memcpy(fx.ram + LOAD, direct_loop, (size_t)(direct_loop_end - direct_loop));
    paged64(PML4, LOAD);
    cpu.cr4 |= 0x80; /* PGE */
    cpu.gpr[1] = 1000;
    emu_update_mode(&cpu);
    emu_tlb_flush(&cpu);
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 1000);
    struct emu_block *a = block_at(LOAD), *b = block_at(LOAD + 2 + 2 + 1);
    return exit.reason == ACCEL_EXIT_HLT && a && b && jumps_to(a, b) && jumps_to(b, a);
}


/* Found in review (checks, passing or not). A ring of FAR_N blocks, each
 * in a page of its own at offset 0x100 + 8 * i: block i adds i + 1 to
 * EBX and jumps (JMP rel32) into the next page's block, the last one
 * counts ECX down and goes back to block 0 (JNZ rel32). Every way out
 * but the HLT leaves its page: jit_far_exit's patched jumps. With
 * self_write, the last block also writes ECX into block 3's immediate
 * each round (its code dropped while the ring runs compiled). */
#define FAR_N 8
static uint64_t far_block(unsigned i)
{
    return LOAD + 0x1000ull * i + 0x100 + 8 * i;
}

static uint64_t far_ring(bool jit, unsigned rounds, bool self_write, uint32_t three)
{
    fresh(jit);
    for (unsigned i = 0; i < FAR_N; i++) {
        uint8_t *p = fx.ram + far_block(i);
        uint32_t add = i == 3 ? three : i + 1;
        p[0] = 0x81; /* add ebx, imm32 */
        p[1] = 0xc3;
        memcpy(p + 2, &add, 4);
        p += 6;
        if (i + 1 < FAR_N) {
            p[0] = 0xe9;
            int32_t rel = (int32_t)(far_block(i + 1) - (far_block(i) + 11));
            memcpy(p + 1, &rel, 4);
            continue;
        }
        if (self_write) { /* mov [far_block(3) + 2], ecx (absolute disp32) */
            static const uint8_t mov[] = {0x89, 0x0c, 0x25};
            memcpy(p, mov, 3);
            uint32_t at = (uint32_t)far_block(3) + 2;
            memcpy(p + 3, &at, 4);
            p += 7;
        }
        p[0] = 0xff; /* dec ecx */
        p[1] = 0xc9;
        p[2] = 0x0f; /* jnz rel32 */
        p[3] = 0x85;
        int32_t rel = (int32_t)(far_block(0) - (uint64_t)(p + 8 - fx.ram));
        memcpy(p + 4, &rel, 4);
        p[8] = 0xf4;
    }
    emu_fixture_long64(&cpu, fx.ram, far_block(0), STACK);
    emu_update_mode(&cpu);
    cpu.gpr[1] = rounds;
    cpu.gpr[3] = 0;
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 100000);
    return exit.reason == ACCEL_EXIT_HLT ? cpu.gpr[3] : ~0ull;
}

/* The ring run, then block 3's immediate changed from outside (the vCPU
 * not running: its code dropped, code_gen new), then run again from
 * block 0: the patched jumps must not lead into the dropped code. */
static uint64_t far_ring_dropped(bool jit, unsigned rounds)
{
    far_ring(jit, rounds, false, 4);
    uint32_t add = 0x1000;
    memcpy(fx.ram + far_block(3) + 2, &add, 4);
    emu_code_invalidate(&fx.evm, far_block(3), 6);
    cpu.halted = false;
    cpu.rip = far_block(0);
    cpu.gpr[1] = rounds;
    cpu.gpr[3] = 0;
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 100000);
    return exit.reason == ACCEL_EXIT_HLT ? cpu.gpr[3] : ~0ull;
}


/* Found in review. A block at the end of linear page 0x50000 (add ebx,
 * 1) falls through into the next linear page, whose block (dec ecx; jnz
 * back) ends the round. Its way out is jit_far_exit's with link[1] (the
 * block right after), but emu_block_link files the link under [1] only
 * when the next block is physically right after: with the two pages
 * physically apart (as a process's pages are), it goes to [0] and the
 * patched jump is never made. Whether the first block's code holds it,
 * with the pages physically together or apart. */
static bool fallthrough_patched(bool together)
{
    const uint64_t l0 = 0x50000, l1 = 0x51000, p0 = 0x60000, p1 = together ? 0x61000 : 0x58000;
    fresh(true);
    tables(PML4, l0, p0);
    uint64_t e = p1 + 3;
    memcpy(fx.ram + PT + (l1 >> 12) * 8, &e, 8);
    static const uint8_t end0[] = {0x81, 0xc3, 0x01, 0x00, 0x00, 0x00}; /* add ebx, 1 */
    memcpy(fx.ram + p0 + 0x1000 - sizeof(end0), end0, sizeof(end0));
    uint8_t start1[] = {0xff, 0xc9, 0x0f, 0x85, 0, 0, 0, 0, 0xf4}; /* dec ecx; jnz; hlt */
    int32_t rel = -(int32_t)(sizeof(end0) + 8);
    memcpy(start1 + 4, &rel, 4);
    memcpy(fx.ram + p1, start1, sizeof(start1));
    paged64(PML4, l0 + 0x1000 - sizeof(end0));
    cpu.gpr[1] = 100;
    cpu.gpr[3] = 0;
    emu_update_mode(&cpu);
    emu_tlb_flush(&cpu);
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 1000);
    struct emu_block *a = block_at(p0 + 0x1000 - sizeof(end0)), *b = block_at(p1);
    return exit.reason == ACCEL_EXIT_HLT && cpu.gpr[3] == 100 && a && b && jumps_to(a, b);
}

static void far_checks(void)
{
    uint64_t want = 300ull * FAR_N * (FAR_N + 1) / 2;
    far_ring(false, 300, false, 4);
    uint64_t ref_insns = cpu.insn_count, ref_rip = cpu.rip;
    far_ring(true, 300, false, 4);
    CHECK(cpu.insn_count == ref_insns && cpu.rip == ref_rip,
          "emu chain: the 8-page ring counts its instructions and ends as interpreted (JIT)");
    CHECK_EQ(far_ring(true, 300, false, 4), want,
             "emu chain: a ring of blocks in 8 pages, each going on into the next page by a "
             "patched jump (JIT)");
    bool patched = true;
    for (unsigned i = 0; i + 1 < FAR_N; i++)
        patched = patched && jumps_to(block_at(far_block(i)), block_at(far_block(i + 1)));
    CHECK(patched && jumps_to(block_at(far_block(FAR_N - 1)), block_at(far_block(0))),
          "emu chain: each way out of the 8-page ring is a jump patched into the next block "
          "(jit_far_exit)");
    emu_jit_set_arena_limit(&fx.evm, 3 * 1024);
    uint64_t resets_before, resets, compiled;
    emu_jit_stats(&fx.evm, &compiled, &resets_before);
    uint64_t got = far_ring(true, 300, false, 4);
    emu_jit_stats(&fx.evm, &compiled, &resets);
    emu_jit_set_arena_limit(&fx.evm, EMU_JIT_ARENA);
    CHECK(got == want && resets > resets_before + 10,
          "emu chain: the ring of 8 pages while code memory is reset runs each block's own "
          "code (JIT)");
    uint64_t ref = far_ring(false, 300, true, 4);
    CHECK_EQ(far_ring(true, 300, true, 4), ref,
             "emu chain: the ring of 8 pages rewriting a block's immediate each round, as "
             "interpreted (JIT)");
    ref = far_ring_dropped(false, 50);
    CHECK(far_ring_dropped(true, 50) == ref && ref == 50ull * (FAR_N * (FAR_N + 1) / 2 - 4 + 0x1000),
          "emu chain: the ring of 8 pages after a block's code was dropped from outside runs "
          "its new code (JIT)");
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu chain"))
        return 1;
    CHECK_EQ(remap(false), 0xbb, "emu chain: after INVLPG of its own remapped page, a loop "
                                 "goes on in the new page (interpreter)");
    CHECK_EQ(spaces(false, 1000), 1000 * 0x10001ull,
             "emu chain: 2000 CR3 switches, each call runs its own space's code (interpreter)");
    CHECK(jump_to_zero(false), "emu chain: a first jump to 0 from page 0 (interpreter)");
    global_checks(false);
    CHECK_EQ(noncanonical_load(false), 0x55,
             "emu chain: a load from a non-canonical page a descriptor read walked faults "
             "(interpreter)");
    if (!fx.evm.jit) {
        printf("SKIP: emu chain: the JIT is off (HYPERKIT_EMU_JIT=0 or not an x86-64 host)\n");
        emu_fixture_fini(&fx);
        TEST_EXIT();
    }
    struct outcome ref = run(false), got = run(true);
    uint64_t compiled, resets;
    emu_jit_stats(&fx.evm, &compiled, &resets);
    CHECK(compiled > 0, "emu chain: the loop was compiled");
    for (int k = 0; k < 2; k++) {
        const struct outcome *o = k ? &got : &ref;
        const char *who = k ? "JIT" : "interpreter";
        uint64_t at = 2 + 2 * (2000000 - o->rcx_at_irq); /* instructions before it */
        printf("%s: emu chain: %s: the interrupt taken after %" PRIu64
               " instructions (raised at %u)\n",
               o->irqs == 1 && at >= RAISE && at <= RAISE + LATENCY ? "PASS" : "FAIL", who, at,
               RAISE);
        if (!(o->irqs == 1 && at >= RAISE && at <= RAISE + LATENCY))
            test_failures++;
        CHECK_EQ(o->reason, ACCEL_EXIT_HLT, "emu chain: the guest reaches HLT");
        CHECK_EQ(o->rcx, 0, "emu chain: the loop ran to its end");
    }
    CHECK_EQ(got.insns, ref.insns, "emu chain: the JIT's instruction count is the interpreter's");
    /* The two-block loop (4 instructions a round): the interrupt within
     * the budget of blocks, as interpreted. */
    struct outcome ref2 = run_guest(false, chain_guest2, chain_guest2_end, chain_h40_2),
                   got2 = run_guest(true, chain_guest2, chain_guest2_end, chain_h40_2);
    for (int k = 0; k < 2; k++) {
        const struct outcome *o = k ? &got2 : &ref2;
        uint64_t at = 2 + 4 * (2000000 - o->rcx_at_irq);
        CHECK(o->irqs == 1 && at >= RAISE && at <= RAISE + LATENCY,
              k ? "emu chain: two blocks of one page going on into each other directly take the "
                  "interrupt within the budget (JIT)"
                : "emu chain: the two-block loop takes the interrupt within the budget "
                  "(interpreter)");
    }
    CHECK_EQ(got2.insns, ref2.insns,
             "emu chain: the two-block loop's instruction count is the interpreter's (JIT)");
    CHECK_EQ(spaces(true, 1000), 1000 * 0x10001ull,
             "emu chain: 2000 CR3 switches, each call runs its own space's code (JIT)");
    for (int k = 0; k < 2; k++) { /* the way out to a CALL rel32's target (jit_far_exit) */
        const char *who = k ? "JIT" : "interpreter";
        char name[160];
        snprintf(name, sizeof(name),
                 "emu chain: 2000 CR3 switches, each CALL rel32 into another page runs its own "
                 "space's code (%s)", who);
        CHECK_EQ(spaces_static(k, 1000), 3000 * 0x10001ull, name);
        snprintf(name, sizeof(name),
                 "emu chain: a CALL rel32 in a page entered at two linear addresses goes to "
                 "each one's own target (%s)", who);
        CHECK_EQ(alias_far(k, 1000), 1000 * 0x10001ull, name);
    }
    CHECK(jump_to_zero(true), "emu chain: a first jump to 0 from page 0 (JIT)");
    far_checks();
    CHECK(fallthrough_patched(true), "emu chain: a fall-through into the next page, physically "
                                     "right after, is a patched jump (jit_far_exit)");
    CHECK(fallthrough_patched(false), "emu chain: a fall-through into the next page, physically "
                                      "elsewhere, is a patched jump too (jit_far_exit, "
                                      "emu_block_link's link[1]). Found in review");
    CHECK(direct_patched(false), "emu chain: two blocks of one page jump straight into each "
                                 "other (jit_direct_exit patched)");
    CHECK(direct_patched(true), "emu chain: two blocks of one global page jump straight into "
                                "each other too (jit_direct_exit patched for links in the "
                                "global context). Found in review");
    global_checks(true);
    global_rel_checks();
    uint64_t alias_ref = alias_stale(false, false), alias_jit = alias_stale(true, false);
    printf("emu chain: alias: interpreter EBX %#" PRIx64 ", JIT %#" PRIx64 "\n", alias_ref,
           alias_jit);
    CHECK_EQ(alias_jit, alias_ref,
             "emu chain: a block entered at an alias of its page goes on into its own page's "
             "block, whatever page its link led to (JIT)");
    alias_ref = alias_stale(false, true);
    alias_jit = alias_stale(true, true);
    CHECK_EQ(alias_jit, alias_ref,
             "emu chain: a block entered at an alias of its page goes on into its own page's "
             "block after the block its link led to was dropped (JIT)");
    CHECK(chain_lin_left(), "emu chain: a chain of compiled blocks ending in a HLT block leaves "
                            "that block and its linear start for run_chain");
    CHECK_EQ(noncanonical_load(true), 0x55,
             "emu chain: a load from a non-canonical page a descriptor read walked faults (JIT)");
    CHECK_EQ(remap(true), 0xbb, "emu chain: after INVLPG of its own remapped page, a loop "
                                "goes on in the new page (JIT)");
    /* Blocks in one page go on into each other by direct jumps
     * (jit_chain.c, jit_direct_exit): the count and the last block run as
     * interpreted, the HLT block entered so included. */
    ring(false, 50);
    uint64_t ring_insns = cpu.insn_count, ring_rip = cpu.rip;
    ring(true, 50);
    CHECK(cpu.insn_count == ring_insns && cpu.rip == ring_rip,
          "emu chain: a ring of blocks in one page, going on into each other directly, "
          "counts its instructions and ends as interpreted (JIT)");
    uint64_t resets_before;
    emu_jit_stats(&fx.evm, &compiled, &resets_before);
    emu_jit_set_arena_limit(&fx.evm, 6 * 1024);
    uint64_t sum = ring(true, 300);
    emu_jit_set_arena_limit(&fx.evm, EMU_JIT_ARENA);
    emu_jit_stats(&fx.evm, &compiled, &resets);
    CHECK_EQ(sum, 300ull * RING * (RING + 1) / 2,
             "emu chain: a ring of blocks chaining into each other while code memory is "
             "reset runs each block's own code (JIT)");
    printf("%s: emu chain: code memory was reset %" PRIu64 " times in the ring\n",
           resets - resets_before > 100 ? "PASS" : "FAIL", resets - resets_before);
    if (resets - resets_before <= 100)
        test_failures++;
    emu_jit_set_arena_limit(&fx.evm, EMU_JIT_ARENA);
    emu_jit_stats(&fx.evm, &compiled, &resets_before);
    sum = ring_after_reset(20);
    emu_jit_stats(&fx.evm, &compiled, &resets);
    emu_jit_set_arena_limit(&fx.evm, EMU_JIT_ARENA);
    CHECK(sum == 20ull * RING * (RING + 1) / 2 && resets > resets_before,
          "emu chain: a ring whose links led into compiled code, entered again after code "
          "memory was reset, runs each block's own code (JIT)");
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
