/*
 * Rotates whose CF and OF no one sees leave the flags alone inside a block
 * (flags_live.c). Random runs of register instructions, rotates, flag
 * readers, a memory load and Jcc go through the block cache (emu_cpu_run,
 * where the pass runs) and through emu_decode one instruction at a time
 * (exact executors, no pass) from the same state: every register and
 * every arithmetic flag must agree at HLT, or, where a load through a
 * non-canonical RSI raises #GP, in the exception frame.
 */
#include "accel/emu/exec.h"
#include "accel/emu/exec_fast.h"
#include "emu_fixture.h"
#include "test.h"
#include "xorshift.h"

#define RAM 0x20000ull
#define CODE 0x1000ull
#define STACK 0x8000ull
#define IDT 0x4000ull
#define GP_STUB 0x3000ull /* #GP's handler: HLT */

static struct emu_fixture fx;
static struct emu_cpu cpu;

static const struct {
    uint8_t bytes[5];
    unsigned len;
} forms[] = {
    {{0xc1, 0xc8, 0x05}, 3},       /* ror eax,5 */
    {{0x48, 0xd1, 0xc3}, 3},       /* rol rbx,1 */
    {{0xd3, 0xc9}, 2},             /* ror ecx,cl */
    {{0xc1, 0xc2, 0x0d}, 3},       /* rol edx,13 */
    {{0x48, 0xc1, 0xc8, 0x3f}, 4}, /* ror rax,63 */
    {{0xc1, 0xc0, 0x00}, 3},       /* rol eax,0: no flag changes */
    {{0xc1, 0xc8, 0x20}, 3},       /* ror eax,32: count masked to 0 */
    {{0x31, 0xd8}, 2},             /* xor eax,ebx */
    {{0x48, 0x01, 0xcb}, 3},       /* add rbx,rcx */
    {{0xff, 0xc2}, 2},             /* inc edx */
    {{0xf7, 0xd1}, 2},             /* not ecx */
    {{0x89, 0xd0}, 2},             /* mov eax,edx */
    {{0x8d, 0x0c, 0x18}, 3},       /* lea ecx,[rax+rbx] */
    {{0x11, 0xd8}, 2},             /* adc eax,ebx */
    {{0x48, 0x19, 0xca}, 3},       /* sbb rdx,rcx */
    {{0xd3, 0xe2}, 2},             /* shl edx,cl */
    {{0xc1, 0xe8, 0x03}, 3},       /* shr eax,3 */
    {{0x85, 0xdb}, 2},             /* test ebx,ebx */
    {{0x48, 0xf7, 0xdb}, 3},       /* neg rbx */
    {{0x0f, 0x92, 0xc1}, 3},       /* setc cl */
    {{0x0f, 0x90, 0xc2}, 3},       /* seto dl */
    {{0x8b, 0x04, 0x24}, 3},       /* mov eax,[rsp] */
    {{0x8b, 0x06}, 2},             /* mov eax,[rsi]: #GP half the time */
    {{0x48, 0x0f, 0xc9}, 3},       /* bswap rcx */
    {{0x72, 0x00}, 2},             /* jc +0: ends a block */
    {{0x71, 0x00}, 2},             /* jno +0 */
    {{0xd1, 0xd0}, 2},             /* rcl eax,1: reads CF */
};
#define NFORMS (sizeof(forms) / sizeof(forms[0]))

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next_rand(void)
{
    return xorshift64(&rng);
}

/* A random run of forms then HLT, at CODE or ending where CODE's page
 * ends (so a block ends after its last form without a HLT in it, as at
 * any page end); returns where it starts, *hlt the HLT's address. */
static uint64_t write_run(unsigned n, bool at_page_end, uint64_t *hlt)
{
    uint8_t run[8 * 5];
    unsigned len = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned f = (unsigned)(next_rand() % NFORMS);
        memcpy(run + len, forms[f].bytes, forms[f].len);
        len += forms[f].len;
    }
    uint64_t at = at_page_end ? CODE + 0x1000 - len : CODE;
    memcpy(fx.ram + at, run, len);
    *hlt = at + len;
    fx.ram[*hlt] = 0xf4;
    return at;
}

static void random_state(uint64_t start)
{
    emu_fixture_long64(&cpu, fx.ram, start, STACK);
    emu_update_mode(&cpu);
    for (int r = 0; r < 16; r++)
        if (r != 4)
            cpu.gpr[r] = next_rand() >> (next_rand() & 63);
    cpu.gpr[6] = next_rand() & 1 ? STACK : 0x8000000000000000ull;
    cpu.idtr = (struct accel_dtable){IDT, 16 * 14 - 1};
    emu_set_rflags(&cpu, 2 | (next_rand() & RFLAGS_ARITH));
    uint64_t v = next_rand();
    memcpy(fx.ram + STACK, &v, 8);
}

/* The reference: each instruction decoded afresh, its exact executor,
 * up to the HLT or an instruction that faults (*faulted). */
static bool step_to(uint64_t hlt, bool *faulted)
{
    *faulted = false;
    for (int i = 0; i < 64 && cpu.rip != hlt; i++) {
        struct emu_insn in;
        if (emu_decode(&cpu, fx.ram + cpu.rip, 15, &in) <= 0)
            return false;
        int st = in.fn(&cpu, &in);
        if (st == EMU_FAULT && cpu.exc.vector == 13) {
            *faulted = true;
            return true;
        }
        if (st != EMU_OK)
            return false;
    }
    return cpu.rip == hlt;
}

/* Through the block cache, until the HLT or the #GP handler's. */
static bool run_blocks(uint64_t hlt)
{
    struct accel_exit exit = {0};
    emu_blocks_free_all(&fx.evm);
    emu_fixture_run_to_hlt(&cpu, &exit, 64);
    return exit.reason == ACCEL_EXIT_HLT && (cpu.rip == hlt + 1 || cpu.rip == GP_STUB + 1);
}

/* What the block run left next to the reference's want. After a #GP its
 * frame (error code, RIP, CS, RFLAGS) holds the faulting instruction's
 * address and the flags the handler sees. */
static bool same_state(const struct emu_cpu *want, bool faulted)
{
    uint64_t flags = emu_rflags(&cpu), rip = cpu.rip - 1;
    if (faulted) {
        if (cpu.rip != GP_STUB + 1)
            return false;
        memcpy(&rip, fx.ram + cpu.gpr[4] + 8, 8);
        memcpy(&flags, fx.ram + cpu.gpr[4] + 24, 8);
        cpu.gpr[4] += 48; /* the frame, as an IRET would pop it */
    }
    return rip == want->rip && memcmp(cpu.gpr, want->gpr, sizeof(cpu.gpr)) == 0 &&
           (flags & RFLAGS_ARITH) == (emu_rflags((struct emu_cpu *)want) & RFLAGS_ARITH);
}

/* How many rotates in the block at start took their flag-less form. */
static unsigned quiet_rotates(uint64_t start)
{
    int st = EMU_OK;
    cpu.rip = start;
    struct emu_block *b = emu_block_get(&cpu, &st);
    unsigned quiet = 0;
    for (unsigned i = 0; b && i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        /* The exact fast rotates have a quiet form; the quiet ones none. */
        quiet += emu_general_fn(in->fn) == ex_shift && in->sub < 2 && in->fn != ex_shift &&
                 !emu_fast_without_cfof(in->fn);
    }
    return quiet;
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu flags live"))
        return 1;
    emu_fixture_set_gate(fx.ram, IDT, 13, GP_STUB);
    fx.ram[GP_STUB] = 0xf4;
    unsigned bad = 0, quiet = 0, faults = 0, runs = 20000;
    char first[200] = "";
    for (unsigned r = 0; r < runs; r++) {
        uint64_t hlt, at = write_run(1 + (unsigned)(next_rand() % 8), r & 1, &hlt);
        random_state(at);
        struct emu_cpu start = cpu;
        bool faulted;
        bool ok = step_to(hlt, &faulted);
        struct emu_cpu want = cpu;
        faults += faulted;
        cpu = start;
        ok = ok && run_blocks(hlt);
        bool same = ok && same_state(&want, faulted);
        if (!same && !bad++)
            snprintf(first, sizeof(first), "run %u (%llu bytes at %#llx) differs", r,
                     (unsigned long long)(hlt - at), (unsigned long long)at);
        quiet += quiet_rotates(at);
    }
    char name[300];
    snprintf(name, sizeof(name),
             "emu flags live: %u random runs (%u to a #GP) agree with the exact executors%s%s",
             runs, faults, bad ? ": " : "", first);
    CHECK(bad == 0, name);
    snprintf(name, sizeof(name), "emu flags live: rotates took the flag-less form (%u times)",
             quiet);
    CHECK(quiet > 0, name);
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
