/*
 * REP MOVS and REP STOS over guest RAM (exec_string.c's bulk path: whole
 * runs of elements within a page at once) against the host CPU running
 * the same instruction on a copy of the same bytes: every element size,
 * counts across the bulk path's first element and page ends, and
 * source and destination overlapping at every distance in both
 * directions, where REP MOVS copies bytes it wrote itself again.
 */
#include <string.h>

#include "accel/emu/exec.h"
#include "emu_fixture.h"
#include "test.h"
#include "xorshift.h"

#define RAM 0x20000ull
#define CODE 0x1000ull
#define DATA 0x4000ull /* two pages of data: 0x4000-0x5fff */
#define SPAN 0x2000u

static struct emu_fixture fx;
static struct emu_cpu cpu;
static uint8_t host[SPAN];

/* The host's REP MOVS/STOS of element size sz over host[] (DF clear). */
static void host_rep(bool movs, unsigned sz, uint64_t *rcx, uint64_t *rsi, uint64_t *rdi,
                     uint64_t rax)
{
    uint8_t *s = host + *rsi, *d = host + *rdi;
    uint64_t c = *rcx;
#define REP(insn) __asm__ volatile(insn : "+c"(c), "+S"(s), "+D"(d) : "a"(rax) : "memory")
    if (movs) {
        switch (sz) {
        case 1: REP("rep movsb"); break;
        case 2: REP("rep movsw"); break;
        case 4: REP("rep movsl"); break;
        default: REP("rep movsq"); break;
        }
    } else {
        switch (sz) {
        case 1: REP("rep stosb"); break;
        case 2: REP("rep stosw"); break;
        case 4: REP("rep stosl"); break;
        default: REP("rep stosq"); break;
        }
    }
#undef REP
    *rcx = c;
    *rsi = (uint64_t)(s - host);
    *rdi = (uint64_t)(d - host);
}

/* The emu's REP MOVS/STOS (F3 [66|REX.W] A4/A5/AA/AB), run until done. */
static bool emu_rep(bool movs, unsigned sz)
{
    uint8_t bytes[3];
    unsigned n = 0;
    bytes[n++] = 0xf3;
    if (sz == 2)
        bytes[n++] = 0x66;
    if (sz == 8)
        bytes[n++] = 0x48;
    bytes[n++] = (uint8_t)((movs ? 0xa4 : 0xaa) + (sz > 1));
    struct emu_insn in;
    if (emu_decode(&cpu, bytes, (int)n, &in) != (int)n)
        return false;
    for (int guard = 0; guard < 64 && cpu.rip == CODE; guard++) {
        int st = in.fn(&cpu, &in);
        if (st != EMU_OK && st != EMU_END_BLOCK)
            return false;
    }
    return cpu.rip == CODE + n;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

/* One case: source at src, destination at dst (offsets into the data),
 * count elements. Returns whether RAM and rCX, rSI, rDI agree. */
static bool one_case(bool movs, unsigned sz, uint64_t src, uint64_t dst, uint64_t count)
{
    for (unsigned i = 0; i < SPAN; i++)
        host[i] = (uint8_t)xorshift64(&rng);
    memcpy(fx.ram + DATA, host, SPAN);
    uint64_t rax = xorshift64(&rng);
    cpu.gpr[0] = rax;
    cpu.gpr[1] = count;
    cpu.gpr[6] = DATA + src;
    cpu.gpr[7] = DATA + dst;
    cpu.rip = CODE;
    bool ran = emu_rep(movs, sz);
    uint64_t rcx = count, rsi = src, rdi = dst;
    host_rep(movs, sz, &rcx, &rsi, &rdi, rax);
    return ran && memcmp(fx.ram + DATA, host, SPAN) == 0 && cpu.gpr[1] == rcx &&
           cpu.gpr[6] == DATA + rsi && cpu.gpr[7] == DATA + rdi;
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu rep"))
        return 1;
    emu_fixture_long64(&cpu, fx.ram, CODE, 0x8000);
    emu_update_mode(&cpu);
    static const unsigned sizes[] = {1, 2, 4, 8};
    for (unsigned si = 0; si < 4; si++) {
        unsigned sz = sizes[si];
        unsigned bad = 0, cases = 0;
        char first[160] = "";
        /* Overlap at every distance up to 3 elements each way, and apart. */
        for (int dist = -3 * (int)sz - 1; dist <= 3 * (int)sz + 1; dist++) {
            for (uint64_t count = 0; count <= 40; count += (count < 12 ? 1 : 7)) {
                uint64_t src = 0x100 + (xorshift64(&rng) & 0x3f);
                cases++;
                if (!one_case(true, sz, src, src + (uint64_t)dist, count) && !bad++)
                    snprintf(first, sizeof(first), ": src %#llx dist %d count %llu",
                             (unsigned long long)src, dist, (unsigned long long)count);
            }
        }
        /* Up to and across the end of the first page, either operand. */
        for (uint64_t back = 1; back <= 3 * sz; back++) {
            uint64_t end = 0x1000 - back;
            cases += 2;
            if (!one_case(true, sz, end, 0x800, 2 * sz + 1) && !bad++)
                snprintf(first, sizeof(first), ": source %llu bytes before a page end",
                         (unsigned long long)back);
            if (!one_case(true, sz, 0x800, end, 2 * sz + 1) && !bad++)
                snprintf(first, sizeof(first), ": destination %llu bytes before a page end",
                         (unsigned long long)back);
        }
        char name[220];
        snprintf(name, sizeof(name), "emu rep: REP MOVS size %u agrees with the host (%u cases)%s",
                 sz, cases, first);
        CHECK(bad == 0, name);
        bad = cases = 0;
        first[0] = 0;
        for (uint64_t count = 0; count <= 600; count += (count < 20 ? 1 : 97)) {
            for (uint64_t dst = 0xff0 - 2 * sz; dst <= 0xff0 + 2 * sz; dst += sz) {
                cases++;
                if (!one_case(false, sz, 0, dst, count) && !bad++)
                    snprintf(first, sizeof(first), ": dst %#llx count %llu",
                             (unsigned long long)dst, (unsigned long long)count);
            }
        }
        snprintf(name, sizeof(name), "emu rep: REP STOS size %u agrees with the host (%u cases)%s",
                 sz, cases, first);
        CHECK(bad == 0, name);
    }
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
