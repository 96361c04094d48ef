/*
 * The Jcc executors specialised at decode time (exec_fast.c) read the
 * lazy flags of the instruction before them directly. test_cpu_diff
 * starts every case from materialised flags, so it never sees that: here
 * each flag-setting form runs from many inputs (general and specialised
 * executors alike), then every Jcc must branch as emu_cond, the reference
 * that materialises the flags (itself compared with the host by
 * test_cpu_diff), says it should.
 */
#include "accel/emu/exec.h"
#include "emu_fixture.h"
#include "test.h"
#include "xorshift.h"

#define RAM 0x10000ull
#define CODE 0x1000ull

static struct emu_fixture fx;
static struct emu_cpu cpu;

/* Flag-setting forms, register operands: rax op rbx (or rcx for shifts). */
static const struct {
    const char *name;
    uint8_t bytes[4];
    unsigned len;
} ops[] = {
    {"cmp eax,ebx", {0x39, 0xd8}, 2},       {"cmp rax,rbx", {0x48, 0x39, 0xd8}, 3},
    {"cmp ax,bx", {0x66, 0x39, 0xd8}, 3},   {"cmp al,bl", {0x38, 0xd8}, 2},
    {"sub rax,rbx", {0x48, 0x29, 0xd8}, 3}, {"add eax,ebx", {0x01, 0xd8}, 2},
    {"add rax,rbx", {0x48, 0x01, 0xd8}, 3}, {"adc eax,ebx", {0x11, 0xd8}, 2},
    {"sbb rax,rbx", {0x48, 0x19, 0xd8}, 3}, {"test eax,ebx", {0x85, 0xd8}, 2},
    {"and rax,rbx", {0x48, 0x21, 0xd8}, 3}, {"or eax,ebx", {0x09, 0xd8}, 2},
    {"xor rax,rbx", {0x48, 0x31, 0xd8}, 3}, {"test al,bl", {0x84, 0xd8}, 2},
    {"inc eax", {0xff, 0xc0}, 2},           {"dec rax", {0x48, 0xff, 0xc8}, 3},
    {"neg eax", {0xf7, 0xd8}, 2},           {"shl eax,cl", {0xd3, 0xe0}, 2},
    {"shr rax,cl", {0x48, 0xd3, 0xe8}, 3},  {"sar eax,cl", {0xd3, 0xf8}, 2},
    {"rol eax,cl", {0xd3, 0xc0}, 2},        {"imul eax,ebx", {0x0f, 0xaf, 0xc3}, 3},
    {"imul rax,rbx", {0x48, 0x0f, 0xaf, 0xc3}, 4},
};

static const uint64_t edges[] = {0,
                                 1,
                                 2,
                                 0x7f,
                                 0x80,
                                 0xff,
                                 0x7fff,
                                 0x8000,
                                 0xffff,
                                 0x7fffffff,
                                 0x80000000,
                                 0xffffffff,
                                 0x7fffffffffffffffull,
                                 0x8000000000000000ull,
                                 0xffffffffffffffffull};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    return xorshift64(&rng);
}

static uint64_t operand(void)
{
    uint64_t r = next_rand();
    return (r & 3) ? edges[(r >> 2) % (sizeof(edges) / sizeof(edges[0]))] ^ ((r >> 8) & 1)
                   : next_rand();
}

static bool run(const uint8_t *bytes, unsigned len)
{
    struct emu_insn in;
    if (emu_decode(&cpu, bytes, (int)len, &in) != (int)len)
        return false;
    return in.fn(&cpu, &in) == EMU_OK;
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu fast"))
        return 1;
    emu_fixture_long64(&cpu, fx.ram, CODE, 0x8000);
    emu_update_mode(&cpu);
    /* What is tested: every Jcc rel8 in 64-bit code has a specialised
     * executor standing for ex_jcc. */
    bool specialised = cpu.mode == MODE_LONG64;
    for (unsigned cc = 0; cc < 16 && specialised; cc++) {
        uint8_t jcc[2] = {(uint8_t)(0x70 + cc), 0x10};
        struct emu_insn in;
        specialised = emu_decode(&cpu, jcc, 2, &in) == 2 && in.fn != ex_jcc &&
                      emu_general_fn(in.fn) == ex_jcc;
    }
    CHECK(specialised, "emu fast: every Jcc rel8 in 64-bit code is specialised");
    for (unsigned o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
        unsigned bad = 0, cases = 0;
        char first[160] = "";
        for (int i = 0; i < 400; i++) {
            uint64_t a = operand(), b = operand();
            emu_set_rflags(&cpu, 2 | (next_rand() & RFLAGS_ARITH));
            cpu.gpr[0] = a;
            cpu.gpr[3] = b;
            cpu.gpr[1] = next_rand() & 0x3f;
            cpu.rip = CODE;
            if (!run(ops[o].bytes, ops[o].len)) {
                bad++;
                snprintf(first, sizeof(first), "the form itself did not run");
                break;
            }
            struct emu_cpu after = cpu;
            for (unsigned cc = 0; cc < 16; cc++) {
                uint8_t jcc[2] = {(uint8_t)(0x70 + cc), 0x10};
                struct emu_cpu ref = after;
                cpu = after;
                cpu.rip = CODE;
                bool taken = emu_cond(&ref, cc);
                uint64_t want = CODE + 2 + (taken ? 0x10 : 0);
                cases++;
                if (!run(jcc, 2) || cpu.rip != want) {
                    if (!bad++)
                        snprintf(first, sizeof(first), "a=%#llx b=%#llx cc=%u: rip %#llx, want %#llx",
                                 (unsigned long long)a, (unsigned long long)b, cc,
                                 (unsigned long long)cpu.rip, (unsigned long long)want);
                }
            }
        }
        char name[200];
        snprintf(name, sizeof(name), "emu fast: Jcc after %s agrees with emu_cond (%u cases)%s%s",
                 ops[o].name, cases, bad ? ": " : "", first);
        CHECK(bad == 0, name);
    }
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
