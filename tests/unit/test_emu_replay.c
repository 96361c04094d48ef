/*
 * The emu run loop's replay of device accesses (src/accel/emu/run.c): an
 * instruction that exits to the VMM is executed again once the VMM has
 * answered, and that re-execution must make the same accesses in the same
 * order. Here each instruction writes over its own bytes before one of
 * its exits, in RAM, so decoding it again at the re-execution would run
 * another instruction: REP INSW rewritten as REP INSB by an iteration (in
 * both directions), REP MOVSW copying MMIO over itself, and ENTER whose
 * push of RBP lands on its own bytes before it reads the outer frame from
 * MMIO. The fuzzer found the first (tests/fuzz/corpus/emu/
 * regress_rep_ins_replay).
 */
#include "emu_fixture.h"
#include "test.h"

#define RAM (1u << 20)
#define CODE 0x10000ull
#define STACK 0x7000ull
#define MMIO 0x200000ull /* past RAM */
#define PORT 0x1f0

static struct emu_fixture fx;
static struct emu_cpu cpu;
static uint8_t *ram;

/* 64-bit mode at CPL 0 without paging (the emu allows it); the code at
 * CODE, HLTs after it. */
static void setup(const uint8_t *code, unsigned len)
{
    emu_blocks_free_all(&fx.evm);
    memset(ram, 0, RAM);
    memset(ram + CODE, 0xf4, 64);
    memcpy(ram + CODE, code, len);
    emu_fixture_long64(&cpu, ram, CODE, STACK);
    cpu.gpr[2] = PORT;
    emu_update_mode(&cpu);
}

/* Run to HLT, answering reads with answers[] in turn. Returns whether
 * every exit was a read of size `size` (port PORT, or MMIO from `gpa` on,
 * one step further each time) and the n answers were all used. */
static bool run(const uint64_t *answers, unsigned n, unsigned size, bool io, uint64_t gpa,
                int64_t step)
{
    struct accel_exit exit;
    memset(&exit, 0, sizeof(exit));
    unsigned k = 0;
    bool ok = true;
    for (int i = 0; i < 64; i++) {
        emu_cpu_run(&cpu, &exit);
        if (exit.reason == ACCEL_EXIT_HLT)
            return ok && k == n;
        if (exit.reason == ACCEL_EXIT_IO && io && k < n && exit.io.port == PORT &&
            exit.io.size == size && !exit.io.is_write) {
            exit.io.data = (uint32_t)answers[k++];
            continue;
        }
        if (exit.reason == ACCEL_EXIT_MMIO && !io && k < n && exit.mmio.size == size &&
            exit.mmio.gpa == gpa + (uint64_t)(step * k) && !exit.mmio.is_write) {
            exit.mmio.data = answers[k++];
            continue;
        }
        printf("    exit %d after %u answers%s%s\n", exit.reason, k,
               exit.reason == ACCEL_EXIT_INTERNAL ? ": " : "",
               exit.reason == ACCEL_EXIT_INTERNAL ? exit.internal.why : "");
        return false;
    }
    return false;
}

static uint16_t word_at(uint64_t gpa)
{
    uint16_t w;
    memcpy(&w, ram + gpa, 2);
    return w;
}

/* F3 66 6D at CODE, four iterations from CODE - 2 upwards: the second
 * writes F3 6C over F3 66 (REP INSB), the others NOPs; after it come
 * the NOPs it wrote and a HLT. */
static void rep_insw_up(void)
{
    static const uint8_t code[] = {0xf3, 0x66, 0x6d};
    const uint64_t answers[] = {0x9090, 0x6cf3, 0x9090, 0x9090};
    setup(code, sizeof(code));
    cpu.gpr[7] = CODE - 2;
    cpu.gpr[1] = 4;
    bool ok = run(answers, 4, 2, true, 0, 0);
    CHECK(ok, "emu replay: REP INSW that rewrites itself as REP INSB: 4 word reads, then HLT");
    CHECK(cpu.gpr[1] == 0 && cpu.gpr[7] == CODE + 6 && word_at(CODE - 2) == 0x9090 &&
              word_at(CODE) == 0x6cf3 && word_at(CODE + 2) == 0x9090 &&
              word_at(CODE + 4) == 0x9090 && cpu.rip == CODE + 7,
          "emu replay: REP INSW upwards stored every word, RCX 0, RDI past them");
}

/* The same downwards (DF): from CODE + 4; the second iteration turns the
 * 6D at CODE + 2 into 6C. */
static void rep_insw_down(void)
{
    static const uint8_t code[] = {0xf3, 0x66, 0x6d};
    const uint64_t answers[] = {0x9090, 0x906c, 0x9090, 0x9090};
    setup(code, sizeof(code));
    cpu.rflags |= RFLAGS_DF;
    cpu.gpr[7] = CODE + 4;
    cpu.gpr[1] = 4;
    bool ok = run(answers, 4, 2, true, 0, 0);
    CHECK(ok, "emu replay: REP INSW with DF that rewrites itself: 4 word reads, then HLT");
    CHECK(cpu.gpr[1] == 0 && cpu.gpr[7] == CODE - 4 && word_at(CODE + 4) == 0x9090 &&
              word_at(CODE + 2) == 0x906c && word_at(CODE) == 0x9090 &&
              word_at(CODE - 2) == 0x9090,
          "emu replay: REP INSW downwards stored every word, RCX 0, RDI below them");
}

/* REP MOVSW from MMIO over itself (F3 66 A5 rewritten as F3 A4, MOVSB). */
static void rep_movsw_mmio(void)
{
    static const uint8_t code[] = {0xf3, 0x66, 0xa5};
    const uint64_t answers[] = {0x9090, 0xa4f3, 0x9090, 0x9090};
    setup(code, sizeof(code));
    cpu.gpr[6] = MMIO;
    cpu.gpr[7] = CODE - 2;
    cpu.gpr[1] = 4;
    bool ok = run(answers, 4, 2, false, MMIO, 2);
    CHECK(ok, "emu replay: REP MOVSW from MMIO over itself: 4 word reads in order, then HLT");
    CHECK(cpu.gpr[1] == 0 && cpu.gpr[6] == MMIO + 8 && word_at(CODE) == 0xa4f3,
          "emu replay: REP MOVSW from MMIO copied every word");
}

/* ENTER 0, 2 with RSP just past it: the push of RBP overwrites the ENTER
 * (uncommitted) before the outer frame pointer is read from MMIO. */
static void enter_mmio(void)
{
    static const uint8_t code[] = {0xc8, 0x00, 0x00, 0x02};
    const uint64_t answers[] = {0x1122334455667788ull};
    setup(code, sizeof(code));
    cpu.gpr[4] = CODE + 8;
    cpu.gpr[5] = MMIO + 0x100;
    bool ok = run(answers, 1, 8, false, MMIO + 0xf8, 0);
    uint64_t outer, frame;
    memcpy(&outer, ram + CODE - 8, 8);
    memcpy(&frame, ram + CODE - 16, 8);
    CHECK(ok, "emu replay: ENTER that pushes over itself before an MMIO read: 1 read, HLT");
    CHECK(cpu.gpr[5] == CODE && cpu.gpr[4] == CODE - 16 && outer == answers[0] &&
              frame == CODE,
          "emu replay: ENTER built its frame from the MMIO answer");
}

/* REP INSB fetched from MMIO: the fetch replays through the log before
 * the first iteration's port read; once an iteration has committed, the
 * next one's read is the log's first entry. Answers: the 15 code bytes
 * one by one, a byte per iteration, then the 15 bytes at the HLT. */
static void rep_insb_mmio_code(void)
{
    static const uint8_t code[15] = {0xf3, 0x6c, 0xf4};
    setup(code, 0);
    cpu.rip = MMIO;
    cpu.gpr[7] = 0x9000;
    cpu.gpr[1] = 2;
    struct accel_exit exit;
    memset(&exit, 0, sizeof(exit));
    unsigned fetches = 0, ports = 0;
    for (int i = 0; i < 64; i++) {
        emu_cpu_run(&cpu, &exit);
        if (exit.reason == ACCEL_EXIT_MMIO && exit.mmio.size == 1 && !exit.mmio.is_write &&
            exit.mmio.gpa >= MMIO && exit.mmio.gpa < MMIO + 17) {
            unsigned off = (unsigned)(exit.mmio.gpa - MMIO);
            exit.mmio.data = off < 15 ? code[off] : 0xf4;
            fetches++;
        } else if (exit.reason == ACCEL_EXIT_IO && exit.io.size == 1 && !exit.io.is_write) {
            exit.io.data = 0x40 + ports++;
        } else {
            break;
        }
    }
    CHECK(exit.reason == ACCEL_EXIT_HLT && fetches == 30 && ports == 2 && cpu.gpr[1] == 0 &&
              ram[0x9000] == 0x40 && ram[0x9001] == 0x41,
          "emu replay: REP INSB fetched from MMIO: 2 port reads between its fetch and HLT's");
    if (exit.reason != ACCEL_EXIT_HLT)
        printf("    exit %d after %u fetches, %u port reads%s%s\n", exit.reason, fetches, ports,
               exit.reason == ACCEL_EXIT_INTERNAL ? ": " : "",
               exit.reason == ACCEL_EXIT_INTERNAL ? exit.internal.why : "");
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu replay"))
        return 1;
    ram = fx.ram;
    rep_insw_up();
    rep_insw_down();
    rep_movsw_mmio();
    enter_mmio();
    rep_insb_mmio_code();
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
