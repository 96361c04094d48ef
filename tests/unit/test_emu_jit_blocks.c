/*
 * The JIT against the interpreter (issue 12's lockstep gate): random
 * blocks of the native forms mixed with called ones (emu_jit_gen_*.h),
 * each run from the same random CPU state, lazy flags and XMM registers
 * included, through run_block (emu_run_block) and through its compiled
 * code, and compared whole (emu_jit_harness.h). RSP is sometimes at a
 * page edge, non-canonical, past RAM, or moved by POP RSP, and the data
 * TLB sometimes empty or RFLAGS.AC set, so the stack forms take their
 * slow paths too; SSE operands are aligned or not, across a page, with
 * CR0.TS, CR0.EM or no CR4.OSFXSR now and then. Then crowded blocks
 * (more guest registers than the JIT's pool holds, memory forms from an
 * empty data TLB), every string compare with every imm8, and the bit
 * forms at their edges. Floors fail the test when a path stops being
 * exercised. The other lockstep tests: test_emu_jit_loops.c (loops),
 * _atomic.c (SETcc, XCHG, CMPXCHG in directed cases), _paged.c (blocks
 * under paging, read-only, at CPL 3) and _branches.c (non-canonical
 * targets, JMP/CALL through memory).
 */
#include "emu_jit_random.h"

#define CASES 10000

/* The names of emu_jit_random.h's register-form kinds, for the floors. */
static const char *const kind_names[K_KINDS] = {
    "rotates setting CF/OF", "quiet rotates", "AH..BH forms", "MOVZX/MOVSX/MOVSXD",
    "CMOVcc/SETcc", "NOT/NEG", "NEGs whose flags are read",
    "32/64-bit flag setters whose lazy state is dead", "CBW/CWDE/CDQE", "MULs on registers"};

/* The SSE forms the random blocks must have compiled natively and run
 * into each of their faults. */
static void sse_floors(const struct tally *t)
{
    if (t->sse < t->insns / 50 || t->sse_mem < t->sse / 4 || t->sse_direct < t->sse / 8 ||
        t->sse_nm < CASES / 400 || t->sse_ud < CASES / 400 || t->sse_gp < CASES / 100 ||
        sse_crossing < CASES / 40 || t->shufb < CASES / 20 || t->str < CASES / 20 ||
        t->str_ud < CASES / 1000) {
        printf("FAIL: emu JIT: the random blocks miss SSE paths (%u native SSE forms of %u "
               "instructions, %u on memory, %u with no call; blocks stopped at one by #NM %u, "
               "#UD %u, #GP %u; %u operands across a page; %u PSHUFB, %u string compares as "
               "the host's, %u #UD with SSE4.2 off)\n",
               t->sse, t->insns, t->sse_mem, t->sse_direct, t->sse_nm, t->sse_ud, t->sse_gp,
               sse_crossing, t->shufb, t->str, t->str_ud);
        test_failures++;
        return;
    }
    printf("PASS: emu JIT: the random blocks' SSE forms: %u native (%u on memory, %u on "
           "registers with no call of their handler compiled), blocks stopped at one by #NM %u, "
           "#UD %u, #GP %u times, %u operands across a page; %u PSHUFB and %u string compares "
           "as the host's instruction (%u #UD with SSE4.2 off)\n",
           t->sse, t->sse_mem, t->sse_direct, t->sse_nm, t->sse_ud, t->sse_gp, sse_crossing,
           t->shufb, t->str, t->str_ud);
}

/* The bit forms the random blocks must have compiled natively. */
static void bits_floors(const struct tally *t)
{
    static const char *const names[4] = {"SHL/SHR/SAR r, CL", "BSF/BSR r, r", "BT r, imm8",
                                         "BT [m], imm8"};
    for (unsigned k = 0; k < 4; k++) {
        if (t->bits[k] < CASES / 50) {
            printf("FAIL: emu JIT: only %u %s compiled natively\n", t->bits[k], names[k]);
            test_failures++;
            return;
        }
    }
    printf("PASS: emu JIT: the random blocks' bit forms: %u SHL/SHR/SAR r, CL, %u BSF/BSR, %u BT "
           "r, imm8 with no call of their handler compiled, %u BT [m], imm8 native\n",
           t->bits[0], t->bits[1], t->bits[2], t->bits[3]);
}

/* Blocks of the bit forms at their edges, each from many random states
 * (lazy states of every kind, LF_NONE among them; the data TLB empty now
 * and then): counts of 0 (CL 0, 32, 64) keeping the flags and still
 * zero-extending a 32-bit register, in place (the state dead) or not;
 * BSF/BSR of 0 leaving the destination whole; BT's immediate past the
 * width; BT on the stack as glibc has it; the flags read after each. */
static void bit_edges(void)
{
    static const struct {
        uint8_t n, b[12];
    } blocks[] = {
        {5, {0xb1, 0x00, 0xd3, 0xe0, 0xf4}},                   /* mov cl, 0; shl eax, cl */
        {5, {0xb1, 0x20, 0xd3, 0xf8, 0xf4}},                   /* mov cl, 32; sar eax, cl */
        {6, {0xb1, 0x40, 0x48, 0xd3, 0xe8, 0xf4}},             /* mov cl, 64; shr rax, cl */
        {6, {0xb1, 0x3f, 0x48, 0xd3, 0xe0, 0xf4}},             /* mov cl, 63; shl rax, cl */
        {7, {0xb1, 0x00, 0xd3, 0xe0, 0x85, 0xc0, 0xf4}},       /* ...; test eax, eax: dead */
        {8, {0xb1, 0x21, 0x41, 0xd3, 0xe1, 0x01, 0xc0, 0xf4}}, /* shl r9d, cl; add: dead */
        {6, {0x48, 0xd3, 0xea, 0x72, 0x00, 0xf4}},             /* shr rdx, cl; jc */
        {5, {0xd3, 0xf8, 0xff, 0xc1, 0xf4}},                   /* sar eax, cl; inc ecx */
        {6, {0x31, 0xd2, 0x0f, 0xbc, 0xc2, 0xf4}},             /* xor edx, edx; bsf eax, edx */
        {7, {0x31, 0xc0, 0x48, 0x0f, 0xbd, 0xc0, 0xf4}},       /* xor eax, eax; bsr rax, rax */
        {5, {0x48, 0x0f, 0xbc, 0xc0, 0xf4}},                   /* bsf rax, rax */
        {5, {0xf3, 0x0f, 0xbc, 0xc2, 0xf4}},                   /* tzcnt (bsf) eax, edx */
        {5, {0x45, 0x0f, 0xbd, 0xd3, 0xf4}},                   /* bsr r10d, r11d */
        {6, {0x0f, 0xbc, 0xc2, 0x74, 0x00, 0xf4}},             /* bsf eax, edx; jz */
        {7, {0x0f, 0xba, 0xe0, 0x1f, 0x72, 0x00, 0xf4}},       /* bt eax, 31; jc */
        {6, {0x48, 0x0f, 0xba, 0xe0, 0xff, 0xf4}},             /* bt rax, 255 */
        {7, {0x0f, 0xba, 0x64, 0x24, 0x0c, 0x0a, 0xf4}},       /* bt dword [rsp + 12], 10 */
        {7, {0x49, 0x0f, 0xba, 0x67, 0x10, 0x45, 0xf4}},       /* bt qword [r15 + 16], 69 */
        {11, {0x0f, 0xba, 0xe0, 0x03, 0x0f, 0xbc, 0xc2, 0x0f, 0x92, 0xc1, 0xf4}}, /* bt; bsf; setc */
    };
    struct tally t = {0};
    section = "bit form edges";
    unsigned failed = 0;
    for (unsigned k = 0; k < sizeof(blocks) / sizeof(blocks[0]) && !failed; k++) {
        struct code c = {.n = blocks[k].n, .insns = 1};
        memcpy(c.b, blocks[k].b, blocks[k].n);
        given = &c;
        failed += random_blocks(300, &t);
    }
    given = NULL;
    if (!failed)
        printf("PASS: emu JIT: %u blocks of bit forms at their edges from 300 random states each, "
               "the same as the interpreter (%u SHx r, CL, %u BSF/BSR, %u BT r, %u BT [m] "
               "native)\n",
               (unsigned)(sizeof(blocks) / sizeof(blocks[0])), t.bits[0], t.bits[1], t.bits[2],
               t.bits[3]);
}

/* The SETcc, XCHG and CMPXCHG forms the random blocks must have
 * compiled natively. */
static void atomic_floors(const struct tally *t)
{
    for (int k = 0; k < 4; k++) {
        if (t->atomic[k] < CASES / 20 || t->atomic_called < CASES / 1000) {
            printf("FAIL: emu JIT: only %u %s compiled natively (%u SETcc [m] called)\n",
                   t->atomic[k], atomic_names[k], t->atomic_called);
            test_failures++;
            return;
        }
    }
    printf("PASS: emu JIT: the random blocks' atomic forms as the host's instruction: %u SETcc "
           "[m] (%u called: parity after an unknown state), %u XCHG [m], %u XCHG r, r, %u "
           "CMPXCHG [m]\n",
           t->atomic[A_SETCC], t->atomic_called, t->atomic[A_XCHG], t->atomic[A_XCHG_RR],
           t->atomic[A_CMPXCHG]);
}

/* Every string compare with every imm8, on registers and on memory
 * (misaligned, across a page, faulting), its flags and ECX or XMM0 read
 * after it; then random blocks on a JIT told the host lacks SSSE3 and
 * SSE4.2, whose PSHUFB and string compares must call their handler. */
static void string_compares(void)
{
    struct tally t = {0};
    section = "string compares";
    unsigned failed = 0;
    for (str_opc = 0x60; str_opc <= 0x63 && !failed; str_opc++)
        for (str_imm = 0; str_imm < 256 && !failed; str_imm++)
            failed += random_blocks(4, &t);
    str_opc = 0;
    if (!failed && (t.str < 4 * 256 * 4 * 3 / 4 || t.str_jcc < t.str / 8)) {
        printf("FAIL: emu JIT: only %u string compares as the host's instruction, %u closed "
               "by a native Jcc\n", t.str, t.str_jcc);
        failed = 1;
        test_failures++;
    }
    if (!failed)
        printf("PASS: emu JIT: PCMPESTRM/ESTRI/ISTRM/ISTRI with every imm8, %u as the host's "
               "instruction (%u closed by a native Jcc on their flags), the same as the "
               "interpreter (%u #UD with SSE4.2 off)\n",
               t.str, t.str_jcc, t.str_ud);
    unsigned isa = fx.evm.jit->host_isa;
    fx.evm.jit->host_isa = 0;
    section = "blocks without the host's SSSE3 and SSE4.2";
    struct tally n = {0};
    if (random_blocks(2000, &n) == 0)
        printf("PASS: emu JIT: 2000 random blocks on a JIT without the host's SSSE3 and SSE4.2 "
               "(PSHUFB and the string compares called), the same as the interpreter\n");
    fx.evm.jit->host_isa = isa;
}

/* Crowded random blocks (gen_crowded_block), each from an empty data
 * TLB, against the interpreter; most must crowd the register pool with
 * memory forms among the held registers. */
#define CROWDED_CASES 2000
static void crowded_blocks(void)
{
    struct tally t = {0};
    section = "crowded blocks";
    calm = crowded = true;
    unsigned failed = random_blocks(CROWDED_CASES, &t);
    calm = crowded = false;
    if (failed)
        return;
    if (t.crowded < CROWDED_CASES / 2 || t.kinds[K_NOT_NEG] < CROWDED_CASES / 2) {
        printf("FAIL: emu JIT: crowded blocks: only %u of %u crowd the register pool before a "
               "memory form, %u NOT/NEG\n", t.crowded, CROWDED_CASES, t.kinds[K_NOT_NEG]);
        test_failures++;
        return;
    }
    printf("PASS: emu JIT: %u blocks of native forms on 13 registers and memory forms from an "
           "empty data TLB, the same as the interpreter (%u with more than %u registers held "
           "before a memory form, %u ALU/MOV on memory, %u NOT/NEG)\n",
           CROWDED_CASES, t.crowded, JIT_POOL + 1, t.alu_mem, t.kinds[K_NOT_NEG]);
}

int main(void)
{
    int status;
    if (!emu_jit_test_start(&status))
        return status;
    struct tally t = {0};
    /* The test must see every way out, and native code in quantity. */
    if (random_blocks(CASES, &t) == 0) {
        unsigned others = t.insns - t.sse; /* the shares of the forms but SSE's */
        if (t.native < others / 4 || t.stops < CASES / 50 || t.ended < CASES / 50 ||
            t.stack < others / 25 || t.stack_ends < CASES / 10 || t.stack_odd < CASES / 20 ||
            t.alu_mem < others / 40 || t.looped < CASES / 50 || t.words < CASES / 20 ||
            t.byte_rmw < CASES / 20 || t.branch_mem < CASES / 20 ||
            t.branch_mem_ok < CASES / 50) {
            printf("FAIL: emu JIT: the cases miss a path (%u native of %u, %u stops, %u ended "
                   "early, %u stack forms, %u CALL/RET ends, %u blocks with them off STACK, "
                   "%u ALU on memory, %u self loops run again, %u word MOVs on memory and "
                   "TESTs, %u byte ALU [mem] native, %u JMP/CALL through memory "
                   "ending a block, %u of them run)\n",
                   t.native, t.insns, t.stops, t.ended, t.stack, t.stack_ends, t.stack_odd,
                   t.alu_mem, t.looped, t.words, t.byte_rmw, t.branch_mem, t.branch_mem_ok);
            test_failures++;
        } else {
            printf("PASS: emu JIT: %u random blocks, %u instructions (%u native, %u stack forms, "
                   "%u CALL/RET ends, %u JMP/CALL through memory ends, %u of them run, %u ALU, "
                   "CMP, TEST or MOV on memory, %u word MOVs on memory and TESTs, %u byte ALU "
                   "[mem]), the same as the interpreter (%u faults or exits, %u blocks ended "
                   "early, %u with an odd RSP or AC, %u self loops run again)\n",
                   CASES, t.insns, t.native, t.stack, t.stack_ends, t.branch_mem,
                   t.branch_mem_ok, t.alu_mem, t.words, t.byte_rmw, t.stops, t.ended,
                   t.stack_odd, t.looped);
        }
    }
    for (int k = 0; k < K_KINDS && !test_failures; k++) {
        if (t.kinds[k] < CASES / 20) {
            printf("FAIL: emu JIT: only %u %s compiled natively\n", t.kinds[k], kind_names[k]);
            test_failures++;
        }
    }
    if (!test_failures)
        sse_floors(&t);
    if (!test_failures)
        bits_floors(&t);
    if (!test_failures)
        atomic_floors(&t);
    if (!test_failures && t.jcc_kept < CASES / 50) {
        printf("FAIL: emu JIT: only %u closing Jccs on the host's flags kept across MOVs, LEA "
               "and the like after their setter\n", t.jcc_kept);
        test_failures++;
    } else if (!test_failures) {
        printf("PASS: emu JIT: %u closing Jccs on the host's flags kept across MOVs, LEA and "
               "the like after their setter\n", t.jcc_kept);
    }
    if (!test_failures)
        printf("PASS: emu JIT: the random blocks' native register forms: %u rotates setting "
               "CF/OF, %u quiet, %u on AH..BH, %u MOVZX/MOVSX/MOVSXD, %u CMOVcc/SETcc, %u NOT/NEG "
               "(%u NEGs whose flags are read), %u flag setters as one host instruction (lazy "
               "state dead), %u CBW/CWDE/CDQE and %u MULs with no call of their handler\n",
               t.kinds[K_ROT_FLAGS], t.kinds[K_ROT_QUIET], t.kinds[K_HIGH8], t.kinds[K_MOVX],
               t.kinds[K_COND], t.kinds[K_NOT_NEG], t.kinds[K_NEG_LIVE], t.kinds[K_DEAD_LF],
               t.kinds[K_CBW], t.kinds[K_MUL]);
    crowded_blocks();
    string_compares();
    bit_edges();
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
