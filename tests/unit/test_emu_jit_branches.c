/*
 * The JIT's branches against the SDM, not only the interpreter, at the
 * top of the lower canonical half under 4-level paging (page_high, in
 * emu_jit_harness.h): JMP or CALL through a register and CALL rel32 to a
 * non-canonical target, a fetch there; JMP and CALL through memory each
 * way they can go, on the native path and the slow one.
 */
#include "emu_jit_harness.h"

/* Non-canonical targets against the SDM, not only the interpreter: JMP
 * or CALL through a register and CALL rel32 (at HIGH's end) to
 * 0x800000000000 are #GP(0) at the branch, RSP and the stack untouched,
 * interpreted and compiled; and a fetch there (sequential execution off
 * the canonical end, an instruction straddling into it) is #GP(0), never
 * a walk of the address's low 48 bits (#PF, or another page's code). */
#define NONCANON 0x0000800000000000ull
static int noncanonical_case(const char *what, const uint8_t *code, unsigned n, unsigned at,
                             bool jit)
{
    struct accel_exit exit;
    memset(fx.ram + CODE, 0x90, 4096);
    memcpy(fx.ram + CODE + at, code, n);
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    cpu.rip = HIGH + at;
    cpu.gpr[0] = NONCANON;
    cpu.gpr[4] = STACK;
    emu_set_rflags(&cpu, 2);
    uint64_t slot;
    memcpy(&slot, fx.ram + STACK - 8, 8);
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    /* The slot in the write TLB: a CALL's probe hits, so only the target
     * check keeps its fast path from pushing */
    if (emu_write(&cpu, SEG_SS, STACK - 8, 8, slot) != EMU_OK) {
        printf("FAIL: emu JIT: %s: the stack slot not writable\n", what);
        return 1;
    }
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    if (!b) {
        printf("FAIL: emu JIT: %s: no block (status %d)\n", what, st);
        return 1;
    }
    if (jit) {
        emu_jit_compile(&fx.evm, b);
        if (!b->jit_code) {
            printf("FAIL: emu JIT: %s: not compiled\n", what);
            return 1;
        }
        cpu.chain_left = 0;
        cpu.chain_lin = cpu.rip;
        st = b->jit_code(&cpu, b);
    } else {
        st = emu_run_block(&cpu, b);
    }
    uint64_t slot_after;
    memcpy(&slot_after, fx.ram + STACK - 8, 8);
    uint64_t branch = HIGH + at; /* code is the branch alone */
    if (st != EMU_FAULT || cpu.exc.vector != EXC_GP || cpu.exc.error != 0 || cpu.rip != branch ||
        cpu.gpr[4] != STACK || slot_after != slot) {
        printf("FAIL: emu JIT: %s (%s): status %d, vector %d, error %u, RIP %#llx (the branch: "
               "%#llx), RSP %#llx (was %#llx), stack slot %s\n",
               what, jit ? "compiled" : "interpreted", st, cpu.exc.vector, cpu.exc.error,
               (unsigned long long)cpu.rip, (unsigned long long)branch,
               (unsigned long long)cpu.gpr[4], (unsigned long long)STACK,
               slot_after == slot ? "untouched" : "written");
        return 1;
    }
    return 0;
}

/* A fetch at lin (RIP there, the block cache's lookup; then one step,
 * which fetches afresh): #GP(0), RIP unmoved. */
static int noncanonical_fetch(const char *what, uint64_t rip)
{
    struct accel_exit exit;
    random_state(&cpu);
    cpu.rip = rip;
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    emu_code_invalidate(&fx.evm, CODE, 4096);
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    bool got_gp = !b && st == EMU_FAULT && cpu.exc.vector == EXC_GP && cpu.exc.error == 0;
    if (!b && st == EMU_OK) { /* left to the uncached fetch: as one step takes it */
        got_gp = emu_fixture_step_fault(&cpu, EXC_GP, 0, &st);
    }
    if (!got_gp || cpu.rip != rip) {
        printf("FAIL: emu JIT: %s: block %p, status %d, vector %d, error %u, RIP %#llx, CR2 "
               "%#llx (expected #GP(0) at %#llx)\n",
               what, (void *)b, st, cpu.exc.vector, cpu.exc.error, (unsigned long long)cpu.rip,
               (unsigned long long)cpu.cr2, (unsigned long long)rip);
        return 1;
    }
    return 0;
}

static int noncanonical(void)
{
    static const uint8_t jmp_rax[] = {0xff, 0xe0}, call_rax[] = {0xff, 0xd0},
                         call_rel[] = {0xe8, 0, 0, 0, 0};
    static const struct {
        const char *what;
        const uint8_t *code;
        unsigned n, at;
    } cases[] = {
        {"JMP RAX to a non-canonical target", jmp_rax, 2, 0x100},
        {"CALL RAX to a non-canonical target", call_rax, 2, 0x100},
        {"CALL rel32 to a non-canonical target", call_rel, 5, 0x1000 - 5},
    };
    int fails = 0;
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        for (int jit = 0; jit < 2; jit++)
            fails += noncanonical_case(cases[k].what, cases[k].code, cases[k].n, cases[k].at,
                                       jit);
    /* PML4[256] (what 0x800000000000's low 48 bits walk) mapped to the
     * code too: a fetch that walked it would run that code. */
    set_entry(PML4, 256, (PML4 + 0x1000) | 7);
    keep_tables();
    emu_tlb_flush(&cpu);
    fails += noncanonical_fetch("a fetch at 0x800000000000 (mapped if walked)", NONCANON);
    set_entry(PML4, 256, 0);
    keep_tables();
    emu_tlb_flush(&cpu);
    fails += noncanonical_fetch("a fetch at 0x800000000000 (not mapped if walked)", NONCANON);
    /* MOV RAX, imm64 at the last canonical bytes: it runs on into 0x800000000000 */
    memset(fx.ram + CODE, 0x90, 4096);
    fx.ram[CODE + 0xffe] = 0x48;
    fx.ram[CODE + 0xfff] = 0xb8;
    fails += noncanonical_fetch("an instruction straddling into 0x800000000000", HIGH + 0xffe);
    /* A walk that aliased decoded a block elsewhere: none left for the
     * sections after (a store there would end their interpreted runs) */
    emu_code_invalidate(&fx.evm, 0, RAM);
    emu_blocks_free_dead(&fx.evm);
    if (!fails)
        printf("PASS: emu JIT: JMP/CALL through a register and CALL rel32 to a non-canonical "
               "target are #GP(0) at the branch with the stack untouched (interpreted and "
               "compiled); a fetch at or into a non-canonical address is #GP(0)\n");
    return fails;
}

/* JMP and CALL through memory, each way they can go, at HIGH under
 * page_high's paging: compiled the same as interpreted, and as the SDM
 * has it (RIP = the pointer, the return address pushed; #GP(0) for a
 * non-canonical target, #PF for the pointer's or the push's page not
 * present, at the branch with RSP and the stack untouched). After
 * compiling, the decoded instruction's displacement is moved 8 bytes on,
 * to a second pointer that only the handler would read (rm_read takes
 * it from the instruction at run time, compiled code from the
 * displacement compiled in): a case on the native path (the pointer and
 * the stack slot in the TLB) must still go to the first target, one on
 * the slow path (a miss, a pointer across a page) to the second. */
enum branch_path { BP_NATIVE, BP_SLOW, BP_EITHER };
struct branch_case {
    const char *what;
    uint8_t code[8];
    unsigned n;
    uint64_t ptr;              /* the pointer's linear address */
    uint64_t target, rsp, fs;  /* the pointer, RSP, FS's base */
    bool read_tlb, write_tlb;  /* the pointer's page, the stack slot's in the TLB */
    enum branch_path path;     /* BP_EITHER: not moved (the faulting cases) */
    int vector;                /* -1: runs to the target */
    uint32_t error;
    uint64_t cr2;
};

#define BRANCH_AT (HIGH + 0x100)
#define BRANCH_TO (HIGH + 0x40)
#define BRANCH_TO2 (HIGH + 0x80) /* the second pointer's */
static const struct branch_case branch_cases[] = {
    {"JMP [RIP + disp32] (a PLT slot)", {0xff, 0x25, 0xfa, 0x06, 0, 0}, 6, HIGH + 0x800,
     BRANCH_TO, STACK, 0, true, true, BP_NATIVE, -1, 0, 0},
    {"CALL [RIP + disp32]", {0xff, 0x15, 0xfa, 0x06, 0, 0}, 6, HIGH + 0x800, BRANCH_TO, STACK,
     0, true, true, BP_NATIVE, -1, 0, 0},
    {"JMP [R15 + 8]", {0x41, 0xff, 0x67, 0x08}, 4, DATA + 8, BRANCH_TO, STACK, 0, true, true,
     BP_NATIVE, -1, 0, 0},
    {"CALL [RAX + 8]", {0xff, 0x50, 0x08}, 3, DATA + 8, BRANCH_TO, STACK, 0, true, true,
     BP_NATIVE, -1, 0, 0},
    {"CALL [RBP + 0x38]", {0xff, 0x55, 0x38}, 3, DATA + 0x38, BRANCH_TO, STACK, 0, true, true,
     BP_NATIVE, -1, 0, 0},
    {"JMP [R15 + RCX * 8 + 0x10]", {0x41, 0xff, 0x64, 0xcf, 0x10}, 5, DATA + 0x28, BRANCH_TO,
     STACK, 0, true, true, BP_NATIVE, -1, 0, 0},
    {"JMP [R15D + 8] (32-bit addressing)", {0x67, 0x41, 0xff, 0x67, 0x08}, 5, DATA + 8,
     BRANCH_TO, STACK, 0, true, true, BP_NATIVE, -1, 0, 0},
    {"CALL FS:[R15 + 8] (FS's base 0x100)", {0x64, 0x41, 0xff, 0x57, 0x08}, 5, DATA + 0x108,
     BRANCH_TO, STACK, 0x100, true, true, BP_NATIVE, -1, 0, 0},
    {"CALL [RSP - 8] (pushing over its pointer)", {0xff, 0x54, 0x24, 0xf8}, 4, STACK - 8,
     BRANCH_TO, STACK, 0, true, true, BP_NATIVE, -1, 0, 0},
    {"CALL [RSP]", {0xff, 0x14, 0x24}, 3, STACK, BRANCH_TO, STACK, 0, true, true, BP_NATIVE,
     -1, 0, 0},
    {"JMP [R15 + 8], the TLB empty", {0x41, 0xff, 0x67, 0x08}, 4, DATA + 8, BRANCH_TO, STACK, 0,
     false, false, BP_SLOW, -1, 0, 0},
    {"CALL [R15 + 8], the stack slot not in the TLB", {0x41, 0xff, 0x57, 0x08}, 4, DATA + 8,
     BRANCH_TO, STACK, 0, true, false, BP_SLOW, -1, 0, 0},
    {"JMP [R15 + 0xffc], the pointer across a page", {0x41, 0xff, 0xa7, 0xfc, 0x0f, 0, 0}, 7,
     DATA + 0xffc, BRANCH_TO, STACK, 0, true, true, BP_SLOW, -1, 0, 0},
    {"JMP [R15 + 8] to a non-canonical target", {0x41, 0xff, 0x67, 0x08}, 4, DATA + 8, NONCANON,
     STACK, 0, true, true, BP_EITHER, EXC_GP, 0, 0},
    {"CALL [R15 + 8] to a non-canonical target", {0x41, 0xff, 0x57, 0x08}, 4, DATA + 8,
     NONCANON, STACK, 0, true, true, BP_EITHER, EXC_GP, 0, 0},
    {"JMP [RDX], its page not present", {0xff, 0x22}, 2, HIGH - 0x2000 + 0x10, BRANCH_TO, STACK,
     0, false, true, BP_EITHER, EXC_PF, 0, HIGH - 0x2000 + 0x10},
    {"CALL [R15 + 8], the push's page not present", {0x41, 0xff, 0x57, 0x08}, 4, DATA + 8,
     BRANCH_TO, HIGH - 0x1000, 0, true, false, BP_EITHER, EXC_PF, 2, HIGH - 0x1008},
};

/* The case's state: the branch alone at BRANCH_AT, the pointers written
 * (through the paging), the TLB holding what the case says. */
static void branch_case_state(const struct branch_case *k)
{
    memset(fx.ram + CODE, 0x90, 4096);
    memcpy(fx.ram + CODE + (BRANCH_AT - HIGH), k->code, k->n);
    for (uint64_t a = DATA; a < STACK_HI; a++) /* no pointer left by an earlier case */
        fx.ram[a] = (uint8_t)rnd();
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    cpu.rip = BRANCH_AT;
    cpu.gpr[0] = DATA;
    cpu.gpr[1] = 3;
    cpu.gpr[2] = k->ptr;
    cpu.gpr[4] = k->rsp;
    cpu.gpr[5] = DATA;
    cpu.seg[SEG_FS].base = k->fs;
    emu_set_rflags(&cpu, 2);
    emu_tlb_flush(&cpu);
    if (!(k->ptr >> 12 == (HIGH - 0x2000) >> 12)) {
        emu_write(&cpu, SEG_DS, k->ptr, 8, k->target);
        emu_write(&cpu, SEG_DS, k->ptr + 8, 8, BRANCH_TO2);
    }
    emu_tlb_flush(&cpu);
    uint64_t v;
    if (k->read_tlb)
        emu_read(&cpu, SEG_DS, k->ptr, 8, &v);
    if (k->write_tlb && emu_read(&cpu, SEG_SS, k->rsp - 8, 8, &v) == EMU_OK)
        emu_write(&cpu, SEG_SS, k->rsp - 8, 8, v);
}

/* The case run interpreted into ref, then compiled (the displacement
 * moved unless BP_EITHER) into got: 0 when both are as they must be. */
static int branch_case(const struct branch_case *k)
{
    struct accel_exit exit;
    struct code c;
    memcpy(c.b, k->code, k->n);
    c.n = k->n;
    branch_case_state(k);
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    int st;
    uint64_t cr2[2] = {0, 0};
    bool call = false;
    for (int jit = 0; jit < 2; jit++) {
        restore();
        memset(&exit, 0, sizeof(exit));
        cpu.exit = &exit;
        emu_code_invalidate(&fx.evm, CODE, 4096);
        struct emu_block *b = emu_block_get(&cpu, &st);
        if (!b || b->n != 1) {
            printf("FAIL: emu JIT: %s: no block of the branch alone (status %d)\n", k->what, st);
            return 1;
        }
        struct emu_insn *in = (struct emu_insn *)&b->insns[0];
        call = in->fn == ex_call_rm;
        if (jit) {
            emu_jit_compile(&fx.evm, b);
            if (!b->jit_code) {
                printf("FAIL: emu JIT: %s: not compiled\n", k->what);
                return 1;
            }
            if (k->path != BP_EITHER)
                in->disp += 8;
            cpu.chain_lin = cpu.rip;
            st = run_compiled(b, 0, NULL);
            if (k->path != BP_EITHER)
                in->disp -= 8;
        } else {
            st = emu_run_block(&cpu, b);
        }
        cr2[jit] = cpu.cr2;
        record(jit ? &got : &ref, st, &exit);
    }
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    cpu.seg[SEG_FS].base = 0;
    if (k->path == BP_SLOW)
        ref.rip = BRANCH_TO2; /* the handler read the second pointer */
    if (compare(&c)) {
        printf("FAIL: emu JIT: %s: compiled not as interpreted%s\n", k->what,
               k->path == BP_NATIVE ? " on the native path" : "");
        return 1;
    }
    /* And as the SDM has it. */
    uint64_t slot = 0, slot_was = 0;
    if (k->rsp == STACK) {
        memcpy(&slot, got.ram + STACK - 8, 8);
        memcpy(&slot_was, start_ram + STACK - 8, 8);
    }
    bool runs = k->vector < 0;
    uint64_t rip = !runs ? BRANCH_AT : k->path == BP_SLOW ? BRANCH_TO2 : BRANCH_TO;
    uint64_t rsp = k->rsp - (runs && call ? 8 : 0);
    uint64_t pushed = runs && call ? BRANCH_AT + k->n : slot_was;
    if (got.st != (runs ? EMU_OK : EMU_FAULT) || got.vector != k->vector ||
        (!runs && got.error != k->error) || got.rip != rip || got.gpr[4] != rsp ||
        slot != pushed || (k->vector == EXC_PF && (cr2[0] != k->cr2 || cr2[1] != k->cr2))) {
        printf("FAIL: emu JIT: %s: status %d, vector %d, error %u, RIP %#llx (expected %#llx), "
               "RSP %#llx (expected %#llx), slot %#llx (expected %#llx), CR2 %#llx\n",
               k->what, got.st, got.vector, got.error, (unsigned long long)got.rip,
               (unsigned long long)rip, (unsigned long long)got.gpr[4],
               (unsigned long long)rsp, (unsigned long long)slot, (unsigned long long)pushed,
               (unsigned long long)cr2[1]);
        return 1;
    }
    return 0;
}

static int mem_branches(void)
{
    int fails = 0;
    section = "JMP/CALL through memory";
    for (unsigned k = 0; k < sizeof(branch_cases) / sizeof(branch_cases[0]); k++)
        fails += branch_case(&branch_cases[k]);
    if (!fails)
        printf("PASS: emu JIT: JMP/CALL through memory (RIP-relative, base + index, 32-bit "
               "addressing, FS:, over their own stack slot) run natively when the TLB holds "
               "the pointer and the slot, through their handler on a miss or a pointer across "
               "a page; non-canonical targets #GP(0), the pointer's or the push's page not "
               "present #PF, at the branch with RSP and the stack untouched\n");
    return fails;
}

int main(void)
{
    int status;
    if (!emu_jit_test_start(&status))
        return status;
    page_high();
    if (noncanonical())
        test_failures++;
    if (mem_branches())
        test_failures++;
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
