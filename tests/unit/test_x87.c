/*
 * The emu engine's x87 FPU, FXSAVE/FXRSTOR and group 15 held up against
 * the host CPU. Each case is a short machine-code sequence that ends in
 * RET and addresses its data through RBX. It runs natively (FXRSTOR of the
 * starting state, the code, FXSAVE of the result) and in an emu CPU in
 * 64-bit mode from the same state, one emu_step_one() at a time; then the
 * x87 registers, FCW/FSW/FTW, MXCSR and XMM, RAX, the arithmetic flags and
 * the whole data page must agree. Edge values cover zeros, denormals,
 * pseudo-denormals, unnormals, infinities, NaNs, huge and tiny numbers,
 * every rounding mode and precision control, masked and unmasked.
 * Exceptions (#MF, #NM, #GP) are checked against the SDM, and a few known
 * answers keep the comparison from being circular.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "accel/emu/decode_tables.h"
#include "accel/emu/emu.h"
#include "accel/emu/exec.h"
#include "accel/emu/step.h"
#include "accel/emu/x87.h"
#include "core/guest_mem.h"
#include "test.h"

#define DATA_SIZE 0x1000
#define OFF_CW 0x3f0  /* FLDCW source */
#define OFF_A 0x400   /* 80-bit operand loaded into ST(0) */
#define OFF_B 0x410   /* 80-bit operand loaded into ST(1) */
#define OFF_M 0x420   /* m16/m32/m64/m80 operand */
#define OFF_DST 0x500 /* store destination */
#define OFF_FX 0x600  /* 512-byte save areas */
#define OFF_FX2 0x800

/* --- Native side ---------------------------------------------------------- */

struct nat {
    uint8_t fx_in[512], fx_out[512], host[512];
    uint64_t rax, rbx, rflags_in, rax_out, rflags_out, code;
};
_Static_assert(offsetof(struct nat, rax) == 1536 && offsetof(struct nat, code) == 1576,
               "nat_run offsets");

__asm__(".text\n.p2align 4\n.type x87t_nat_run, @function\nx87t_nat_run:\n"
        "push %rbx; push %r12; mov %rdi, %r12\n"
        "fxsave64 1024(%r12); fxrstor64 (%r12)\n"          /* host state out, start in */
        "mov 1536(%r12), %rax; mov 1544(%r12), %rbx; pushq 1552(%r12); popfq\n"
        "call *1576(%r12)\n"
        "pushfq; popq 1568(%r12); mov %rax, 1560(%r12)\n"
        "fxsave64 512(%r12); fxrstor64 1024(%r12)\n"       /* result out, host state in */
        "pop %r12; pop %rbx; ret\n"
        ".size x87t_nat_run, . - x87t_nat_run\n");
void x87t_nat_run(struct nat *n);

static struct nat nat __attribute__((aligned(64)));
static uint8_t *nat_code;
static uint8_t nat_data[DATA_SIZE] __attribute__((aligned(4096)));

/* --- Emulator side --------------------------------------------------------- */

#define G_PML4 0x1000ull
#define G_PDPT 0x2000ull
#define G_PD 0x3000ull
#define G_CODE 0x10000ull
#define G_DATA 0x20000ull
#define G_RAM 0x400000ull

static struct guest_mem gmem;
static struct emu_vm evm;
static struct emu_cpu *cpu;

static int emu_setup(void)
{
    if (gmem_init(&gmem, G_RAM))
        return -1;
    evm.mem = &gmem;
    cpu = calloc(1, sizeof(*cpu));
    if (!cpu)
        return -1;
    cpu->vm = &evm;
    uint64_t *pml4 = gmem_ptr_for_write(&gmem, G_PML4, 4096);
    uint64_t *pdpt = gmem_ptr_for_write(&gmem, G_PDPT, 4096);
    uint64_t *pd = gmem_ptr_for_write(&gmem, G_PD, 4096);
    pml4[0] = G_PDPT | 3;
    pdpt[0] = G_PD | 3;
    pd[0] = 0x83; /* 2 MiB identity page */
    return 0;
}

static void emu_long_mode(void)
{
    emu_cpu_reset(cpu);
    cpu->cr0 = 0x80000033; /* PG NE ET MP PE */
    cpu->cr3 = G_PML4;
    cpu->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    cpu->efer = EFER_LME | EFER_LMA;
    cpu->seg[SEG_CS] = (struct emu_segment){0, 0xffffffff, 0x08, 0xa09b};
    for (int s = 0; s < 6; s++)
        if (s != SEG_CS)
            cpu->seg[s] = (struct emu_segment){0, 0xffffffff, 0x10, 0xc093};
    emu_update_mode(cpu);
    emu_tlb_flush(cpu);
}

/* --- Cases ------------------------------------------------------------------ */

struct prog {
    uint8_t b[160];
    int n;
};

static void emit(struct prog *p, const uint8_t *b, int n)
{
    memcpy(p->b + p->n, b, (size_t)n);
    p->n += n;
}
#define EMIT(p, ...) \
    emit(p, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

/* opcode bytes, then ModRM mod=10 reg rm=RBX and disp32. */
static void emit_m(struct prog *p, const uint8_t *ops, int nops, unsigned reg, int32_t disp)
{
    emit(p, ops, nops);
    EMIT(p, (uint8_t)(0x83 | reg << 3));
    emit(p, (const uint8_t *)&disp, 4);
}
#define M(p, opc, reg, disp) emit_m(p, (const uint8_t[]){opc}, 1, reg, disp)
#define PROG(p, ...) ((p)->n = 0, EMIT(p, __VA_ARGS__))

struct start {
    uint16_t fcw;
    uint64_t rflags, rax;
};

struct result {
    uint8_t fx[512];
    uint64_t rax, rflags;
    uint8_t data[DATA_SIZE];
    int vector;
};

static uint8_t case_data[DATA_SIZE];

static void start_image(uint8_t *fx, const struct start *s)
{
    memset(fx, 0, 512);
    memcpy(fx, &s->fcw, 2);
    uint32_t mxcsr = 0x1f80;
    memcpy(fx + 24, &mxcsr, 4);
    for (int i = 0; i < 256; i++)
        fx[160 + i] = (uint8_t)(i * 7 + 1); /* recognisable XMM contents */
}

static void run_native(const struct prog *p, const struct start *s, struct result *r)
{
    memcpy(nat_code, p->b, (size_t)p->n);
    nat_code[p->n] = 0xc3;
    memcpy(nat_data, case_data, DATA_SIZE);
    start_image(nat.fx_in, s);
    nat.rax = s->rax;
    nat.rbx = (uint64_t)(uintptr_t)nat_data;
    nat.rflags_in = (s->rflags & RFLAGS_ARITH) | 0x202;
    nat.code = (uint64_t)(uintptr_t)nat_code;
    x87t_nat_run(&nat);
    memcpy(r->fx, nat.fx_out, 512);
    r->rax = nat.rax_out;
    r->rflags = nat.rflags_out;
    memcpy(r->data, nat_data, DATA_SIZE);
    r->vector = -1;
}

/* Set up the emu CPU like the native start; the caller may adjust it. */
static void emu_prepare(const struct prog *p, const struct start *s)
{
    emu_long_mode();
    uint8_t *code = gmem_ptr_for_write(&gmem, G_CODE, 4096);
    memcpy(code, p->b, (size_t)p->n);
    code[p->n] = 0xc3;
    memcpy(gmem_ptr_for_write(&gmem, G_DATA, DATA_SIZE), case_data, DATA_SIZE);
    cpu->gpr[0] = s->rax;
    cpu->gpr[3] = G_DATA;
    cpu->rip = G_CODE;
    emu_set_rflags(cpu, (s->rflags & RFLAGS_ARITH) | 0x202);
    uint8_t fx[512];
    start_image(fx, s);
    x87_init_state(&cpu->fpu);
    cpu->fpu.fcw = s->fcw;
    memset(cpu->fpu.st_raw, 0, sizeof(cpu->fpu.st_raw));
    memcpy(cpu->fpu.xmm, fx + 160, 256);
}

/* Step until the RET (or a fault: its vector). */
static void emu_finish(const struct prog *p, struct result *r)
{
    struct accel_exit exit;
    r->vector = -1;
    for (int i = 0; i < 64 && cpu->rip != G_CODE + (uint64_t)p->n; i++) {
        int st = emu_step_one(cpu, &exit);
        if (st != EMU_OK) {
            r->vector = st == EMU_FAULT ? cpu->exc.vector : 100 + st;
            break;
        }
    }
    const struct emu_fpu *f = &cpu->fpu;
    memset(r->fx, 0, 512);
    memcpy(r->fx, &f->fcw, 2);
    memcpy(r->fx + 2, &f->fsw, 2);
    r->fx[4] = f->ftw;
    memcpy(r->fx + 24, &f->mxcsr, 4);
    for (unsigned k = 0; k < 8; k++)
        memcpy(r->fx + 32 + 16 * k, f->st_raw[(x87_top(f) + k) & 7], 10);
    memcpy(r->fx + 160, f->xmm, 256);
    r->rax = cpu->gpr[0];
    r->rflags = emu_rflags(cpu);
    memcpy(r->data, gmem_ptr(&gmem, G_DATA, DATA_SIZE), DATA_SIZE);
}

static void run_emu(const struct prog *p, const struct start *s, struct result *r)
{
    emu_prepare(p, s);
    emu_finish(p, r);
}

/* Byte ranges of the data page a case does not compare (the instruction
 * and data pointers inside saved images: host addresses, vendor quirks). */
struct skip {
    int n;
    uint16_t off[4], len[4];
};

static bool skipped(const struct skip *k, int i)
{
    for (int j = 0; k && j < k->n; j++)
        if (i >= k->off[j] && i < k->off[j] + k->len[j])
            return true;
    return false;
}

/* First difference as text, or NULL. */
static const char *differ(const struct result *a, const struct result *b, const struct skip *k)
{
    static char why[160];
    const uint16_t *x = (const uint16_t *)a->fx, *y = (const uint16_t *)b->fx;
    if (a->vector != b->vector)
        snprintf(why, sizeof(why), "vector %d vs %d", a->vector, b->vector);
    else if (memcmp(a->fx, b->fx, 5))
        snprintf(why, sizeof(why), "fcw/fsw/ftw %04x/%04x/%02x vs %04x/%04x/%02x", x[0], x[1],
                 a->fx[4], y[0], y[1], b->fx[4]);
    else if (memcmp(a->fx + 24, b->fx + 24, 4) || memcmp(a->fx + 160, b->fx + 160, 256))
        snprintf(why, sizeof(why), "MXCSR or XMM");
    else if ((a->rflags ^ b->rflags) & RFLAGS_ARITH || a->rax != b->rax)
        snprintf(why, sizeof(why), "rflags/rax %#llx/%#llx vs %#llx/%#llx",
                 (unsigned long long)a->rflags, (unsigned long long)a->rax,
                 (unsigned long long)b->rflags, (unsigned long long)b->rax);
    else {
        for (unsigned i = 0; i < 8; i++)
            if (memcmp(a->fx + 32 + 16 * i, b->fx + 32 + 16 * i, 10)) {
                x = (const uint16_t *)(a->fx + 32 + 16 * i);
                y = (const uint16_t *)(b->fx + 32 + 16 * i);
                snprintf(why, sizeof(why), "ST(%u) %04x:%04x%04x%04x%04x vs %04x:%04x%04x%04x%04x",
                         i, x[4], x[3], x[2], x[1], x[0], y[4], y[3], y[2], y[1], y[0]);
                return why;
            }
        for (int i = 0; i < DATA_SIZE; i++)
            if (a->data[i] != b->data[i] && !skipped(k, i)) {
                snprintf(why, sizeof(why), "data[%#x] %02x vs %02x", i, a->data[i], b->data[i]);
                return why;
            }
        return NULL;
    }
    return why;
}

/* A group of cases: one PASS/FAIL line, the first few differences shown. */
struct group {
    const char *name;
    int cases, failed;
};

static struct result res_nat, res_emu;

static void diff_case(struct group *g, const struct prog *p, const struct start *s,
                      const struct skip *k, const char *fmt, ...)
{
    run_native(p, s, &res_nat);
    run_emu(p, s, &res_emu);
    g->cases++;
    const char *why = differ(&res_emu, &res_nat, k);
    if (!why)
        return;
    if (g->failed++ < 3) {
        char what[120];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        printf("  %s: %s (fcw %04x): emu vs host: %s\n", g->name, what, s->fcw, why);
    }
}

static void group_end(const struct group *g)
{
    char name[160];
    snprintf(name, sizeof(name), "x87 %s: %d cases match the host (%d differ)", g->name,
             g->cases, g->failed);
    CHECK(g->cases > 0 && g->failed == 0, name);
}

/* --- Values ------------------------------------------------------------------ */

struct f80 {
    uint64_t m;
    uint16_t se;
};

/* Specials by their bits; ordinary numbers come from host long doubles. */
static const struct f80 raw_edge[] = {
    {0, 0}, {0, 0x8000},                                /* +0, -0 */
    {1, 0}, {0x8000000000000000ull, 0x8000},            /* denormal, pseudo-denormal */
    {0x4000000000000000ull, 0x3fff},                    /* unnormal */
    {1ull << 63, 0x0001},                               /* smallest normal */
    {0xffffffffffffffffull, 0x7ffe},                    /* largest */
    {1ull << 63, 0x43fe}, {1ull << 63, 0xbb00},         /* past double range, tiny */
    {0x8000000000000001ull, 0x3fff},                    /* 1 + ulp */
    {1ull << 63, 0x7fff}, {1ull << 63, 0xffff},         /* +inf, -inf */
    {0xc000000000000001ull, 0x7fff},                    /* QNaN */
    {0xa000000000000000ull, 0xffff},                    /* SNaN */
    {0, 0x7fff},                                        /* pseudo-infinity */
};
static const long double num_edge[] = {
    1.0L, -1.5L, 0.5L, 2.5L, -2.5L, 6.0L, -10.0L, 3.14159265358979323846L, 1.0L / 3.0L,
    12345.5L, -32768.5L, 32767.5L, 2147483647.5L, -2147483648.0L, 9.2233720368547758075e18L,
    999999999999999999.0L, 1e18L, 1e-5L, 1e300L, 1e-300L, 1.0e4000L,
};
#define NRAW (int)(sizeof(raw_edge) / sizeof(raw_edge[0]))
#define NEDGE (NRAW + (int)(sizeof(num_edge) / sizeof(num_edge[0])))

static void edge_value(int i, uint8_t out[10])
{
    if (i < NRAW) {
        memcpy(out, &raw_edge[i].m, 8);
        memcpy(out + 8, &raw_edge[i].se, 2);
    } else {
        long double v = num_edge[i - NRAW];
        memcpy(out, &v, 10);
    }
}

static const uint32_t m32_vals[] = {0, 0x80000000, 0x3f800000, 0xc0490fdb, 1, 0x80400000,
                                    0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00000,
                                    0x7f7fffff, 0x00800000, 0x4b000001};
static const uint64_t m64_vals[] = {0, 0x8000000000000000ull, 0x3ff0000000000000ull,
                                    0x400921fb54442d18ull, 1, 0x7ff0000000000000ull,
                                    0xfff8000000000000ull, 0x7ff4000000000000ull,
                                    0x7fefffffffffffffull, 0x0010000000000000ull,
                                    0xc1e0000000000000ull};
static const int32_t int_vals[] = {0, 1, -1, 7, 32767, -32768, 12345, 2147483647,
                                   (int32_t)0x80000000u, 1000000};
static const int64_t m64i_vals[] = {0, -1, 123456789012345678ll, INT64_MIN, INT64_MAX,
                                    (int64_t)1 << 53 | 1};
static const uint8_t bcd_vals[][10] = {
    {0x45, 0x23, 0x01},                                               /* 12345 */
    {0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x80},     /* -999..9 */
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80},                                /* -0 */
    {0x1a, 0xb0, 0, 0, 0, 0, 0, 0, 0, 0x7f},                          /* bad digits */
    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},     /* indefinite */
};
#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Round to nearest / down / up / chop at 64 bits, 24- and 53-bit precision,
 * all unmasked, all but precision unmasked. */
static const uint16_t fcws[] = {0x037f, 0x077f, 0x0b7f, 0x0f7f, 0x007f, 0x027f, 0x0340, 0x0360};
static const uint16_t fcws_few[] = {0x037f, 0x0f7f, 0x007f, 0x0340};

static void put_f80(int off, int i)
{
    edge_value(i, case_data + off);
}

static void reset_data(void)
{
    for (int i = 0; i < DATA_SIZE; i++)
        case_data[i] = (uint8_t)(0x5a ^ i);
}

/* ST(0) = A, ST(1) = B, from 80-bit memory (which raises nothing). */
static void load_ab(struct prog *p)
{
    M(p, 0xdb, 5, OFF_B);
    M(p, 0xdb, 5, OFF_A);
}

/* --- Register forms ------------------------------------------------------------ */

static const uint8_t binops[][2] = {
    {0xd8, 0xc1}, {0xd8, 0xc9}, {0xd8, 0xe1}, {0xd8, 0xe9}, {0xd8, 0xf1}, {0xd8, 0xf9},
    {0xdc, 0xc1}, {0xdc, 0xc9}, {0xdc, 0xe1}, {0xdc, 0xe9}, {0xdc, 0xf1}, {0xdc, 0xf9},
    {0xde, 0xc1}, {0xde, 0xc9}, {0xde, 0xe1}, {0xde, 0xe9}, {0xde, 0xf1}, {0xde, 0xf9},
    {0xd8, 0xc0}, {0xd8, 0xe0},
};
static const uint8_t binops2[][2] = {
    {0xd9, 0xf8}, {0xd9, 0xf5}, {0xd9, 0xfd}, {0xd9, 0xf3}, {0xd9, 0xf1}, {0xd9, 0xf9},
    {0xd8, 0xd1}, {0xd8, 0xd9}, {0xde, 0xd9}, {0xdd, 0xe1}, {0xdd, 0xe9}, {0xda, 0xe9},
    {0xdb, 0xf1}, {0xdf, 0xf1}, {0xdb, 0xe9}, {0xdf, 0xe9}, {0xd9, 0xc9}, {0xdd, 0xd9},
    {0xdd, 0xd1}, {0xd9, 0xc1}, {0xdc, 0xd1}, {0xdd, 0xc9}, {0xde, 0xd1}, {0xdf, 0xc1},
    {0xdf, 0xc9}, {0xdf, 0xd1}, {0xd9, 0xd9}, {0xdd, 0xc1},
};

static void binary_group(const char *name, const uint8_t (*ops)[2], int nops, const uint16_t *cw,
                         int ncw)
{
    struct group g = {name, 0, 0};
    reset_data();
    for (int o = 0; o < nops; o++)
        for (int c = 0; c < ncw; c++)
            for (int a = 0; a < NEDGE; a++)
                for (int b = 0; b < NEDGE; b++) {
                    struct prog p = {.n = 0};
                    struct start s = {cw[c], 0x8d5, 0};
                    put_f80(OFF_A, a);
                    put_f80(OFF_B, b);
                    load_ab(&p);
                    emit(&p, ops[o], 2);
                    diff_case(&g, &p, &s, NULL, "%02x %02x, A#%d B#%d", ops[o][0], ops[o][1], a,
                              b);
                }
    group_end(&g);
}

static const uint8_t unops[] = {0xe0, 0xe1, 0xe4, 0xe5, 0xfa, 0xfc, 0xf4, 0xf0, 0xfe,
                                0xff, 0xfb, 0xf2, 0xf6, 0xf7, 0xd0, 0xe8, 0xe9, 0xea,
                                0xeb, 0xec, 0xed, 0xee};

/* D9 xx with ST(0) = A over ST(1) = 1, and on an empty / full stack. */
static void unary_group(void)
{
    struct group g = {"unary, constants, stack faults", 0, 0};
    reset_data();
    put_f80(OFF_B, NRAW);
    for (int o = 0; o < COUNT(unops); o++)
        for (int c = 0; c < COUNT(fcws); c++) {
            struct start s = {fcws[c], 0, 0};
            for (int a = 0; a < NEDGE; a++) {
                struct prog p = {.n = 0};
                put_f80(OFF_A, a);
                load_ab(&p);
                EMIT(&p, 0xd9, unops[o]);
                diff_case(&g, &p, &s, NULL, "d9 %02x A#%d", unops[o], a);
            }
            struct prog e = {.n = 0}, full = {.n = 0};
            EMIT(&e, 0xd9, unops[o]);
            diff_case(&g, &e, &s, NULL, "d9 %02x on empty stack", unops[o]);
            for (int i = 0; i < 8; i++)
                M(&full, 0xdb, 5, OFF_A);
            EMIT(&full, 0xd9, unops[o]);
            diff_case(&g, &full, &s, NULL, "d9 %02x on full stack", unops[o]);
        }
    group_end(&g);
}

/* FCMOVcc under every flag pattern that matters, with ST(1) valid and empty. */
static void fcmov_group(void)
{
    static const uint64_t flags[] = {0, RFLAGS_CF, RFLAGS_ZF, RFLAGS_PF,
                                     RFLAGS_CF | RFLAGS_ZF, RFLAGS_ARITH};
    struct group g = {"FCMOVcc", 0, 0};
    reset_data();
    put_f80(OFF_A, NRAW + 1);
    put_f80(OFF_B, NRAW + 5);
    for (int op = 0; op < 2; op++)
        for (int cc = 0; cc < 4; cc++)
            for (int f = 0; f < COUNT(flags); f++)
                for (int empty = 0; empty < 2; empty++) {
                    struct prog p = {.n = 0};
                    struct start s = {0x037f, flags[f], 0};
                    if (empty)
                        M(&p, 0xdb, 5, OFF_A);
                    else
                        load_ab(&p);
                    EMIT(&p, (uint8_t)(0xda + op), (uint8_t)(0xc1 + 8 * cc));
                    diff_case(&g, &p, &s, NULL, "%02x %02x flags %#llx%s", 0xda + op,
                              0xc1 + 8 * cc, (unsigned long long)flags[f],
                              empty ? " empty" : "");
                }
    group_end(&g);
}

/* --- Memory forms -------------------------------------------------------------- */

/* D8/DC/DA/DE /0-/7 against ST(0) = A: arithmetic and FCOM/FICOM. */
static void mem_arith_group(void)
{
    static const uint8_t escs[] = {0xd8, 0xdc, 0xda, 0xde};
    struct group g = {"memory arithmetic and compares", 0, 0};
    reset_data();
    for (int e = 0; e < 4; e++) {
        int nv = e == 0 ? COUNT(m32_vals) : e == 1 ? COUNT(m64_vals) : COUNT(int_vals);
        for (int reg = 0; reg < 8; reg++)
            for (int c = 0; c < COUNT(fcws_few); c++)
                for (int a = 0; a < NEDGE; a++)
                    for (int v = 0; v < nv; v++) {
                        struct prog p = {.n = 0};
                        struct start s = {fcws_few[c], 0, 0};
                        put_f80(OFF_A, a);
                        put_f80(OFF_B, NRAW);
                        if (e == 0)
                            memcpy(case_data + OFF_M, &m32_vals[v], 4);
                        else if (e == 1)
                            memcpy(case_data + OFF_M, &m64_vals[v], 8);
                        else
                            memcpy(case_data + OFF_M, &int_vals[v], 4);
                        load_ab(&p);
                        M(&p, escs[e], (unsigned)reg, OFF_M);
                        diff_case(&g, &p, &s, NULL, "%02x /%d A#%d v#%d", escs[e], reg, a, v);
                    }
    }
    group_end(&g);
}

/* Every load format from memory, masked and unmasked, onto a stack with
 * one free slot left and onto a full one. */
static void load_group(void)
{
    static const struct { uint8_t op, reg, size; } loads[] = {
        {0xd9, 0, 4}, {0xdd, 0, 8}, {0xdb, 5, 10}, {0xdb, 0, 4}, {0xdf, 0, 2}, {0xdf, 5, 8},
        {0xdf, 4, 10},
    };
    struct group g = {"loads (FLD, FILD, FBLD)", 0, 0};
    reset_data();
    for (int l = 0; l < COUNT(loads); l++)
        for (int c = 0; c < COUNT(fcws_few); c++)
            for (int v = 0; v < 24; v++)
                for (int full = 0; full < 2; full++) {
                    struct prog p = {.n = 0};
                    struct start s = {fcws_few[c], 0, 0};
                    uint8_t *m = case_data + OFF_M;
                    memset(m, 0, 16);
                    if (loads[l].op == 0xd9)
                        memcpy(m, &m32_vals[v % COUNT(m32_vals)], 4);
                    else if (loads[l].op == 0xdd)
                        memcpy(m, &m64_vals[v % COUNT(m64_vals)], 8);
                    else if (loads[l].reg == 5 && loads[l].op == 0xdb)
                        edge_value(v % NEDGE, m);
                    else if (loads[l].reg == 4)
                        memcpy(m, bcd_vals[v % COUNT(bcd_vals)], 10);
                    else if (loads[l].size == 8)
                        memcpy(m, &m64i_vals[v % COUNT(m64i_vals)], 8);
                    else
                        memcpy(m, &int_vals[v % COUNT(int_vals)], loads[l].size);
                    put_f80(OFF_A, NRAW + 7);
                    for (int i = 0; i < (full ? 8 : 7); i++)
                        M(&p, 0xdb, 5, OFF_A);
                    M(&p, loads[l].op, loads[l].reg, OFF_M);
                    diff_case(&g, &p, &s, NULL, "%02x /%d v#%d%s", loads[l].op, loads[l].reg, v,
                              full ? " full" : "");
                }
    group_end(&g);
}

/* Every store format of every edge value in every rounding mode. */
static void store_group(void)
{
    static const uint8_t stores[][2] = {
        {0xd9, 2}, {0xd9, 3}, {0xdd, 2}, {0xdd, 3}, {0xdb, 7}, {0xdf, 2}, {0xdf, 3},
        {0xdb, 2}, {0xdb, 3}, {0xdf, 7}, {0xdf, 1}, {0xdb, 1}, {0xdd, 1}, {0xdf, 6},
    };
    struct group g = {"stores (FST, FIST, FISTTP, FBSTP)", 0, 0};
    reset_data();
    for (int o = 0; o < COUNT(stores); o++)
        for (int c = 0; c < COUNT(fcws); c++)
            for (int a = 0; a < NEDGE; a++)
                for (int empty = 0; empty < 2; empty++) {
                    struct prog p = {.n = 0};
                    struct start s = {fcws[c], 0, 0};
                    put_f80(OFF_A, a);
                    put_f80(OFF_B, NRAW);
                    if (!empty)
                        load_ab(&p);
                    M(&p, stores[o][0], stores[o][1], OFF_DST);
                    diff_case(&g, &p, &s, NULL, "%02x /%d A#%d%s", stores[o][0], stores[o][1], a,
                              empty ? " empty" : "");
                }
    group_end(&g);
}

/* --- Control, environment and save images -------------------------------------- */

static const struct skip skip_env32 = {1, {OFF_DST + 12}, {16}};
static const struct skip skip_env16 = {1, {OFF_DST + 6}, {8}};
static const struct skip skip_fx = {4, {OFF_FX + 6, OFF_FX + 28, OFF_FX2 + 6, OFF_FX2 + 28},
                                    {18, 4, 18, 4}};

/* A state with every kind of register, tag and flag in it. */
static void mixed_state(struct prog *p)
{
    M(p, 0xdb, 5, OFF_A);            /* fld tword A (special) */
    EMIT(p, 0xd9, 0xee, 0xd9, 0xe8); /* fldz, fld1 */
    M(p, 0xdb, 5, OFF_B);            /* fld tword B (denormal) */
    EMIT(p, 0xd9, 0xf7, 0xd9, 0xf7); /* fincstp x2: TOP moves, registers stay */
    EMIT(p, 0xd8, 0xf1);             /* fdiv st0, st1 */
}

static void env_case(struct group *g, const char *what, const uint8_t *tail, int n,
                     uint16_t fcw, const struct skip *k)
{
    struct prog p = {.n = 0};
    struct start s = {fcw, 0, 0};
    mixed_state(&p);
    emit(&p, tail, n);
    diff_case(g, &p, &s, k, "%s", what);
}
#define ENV(g, what, fcw, k, ...) \
    env_case(g, what, (const uint8_t[]){__VA_ARGS__}, \
             sizeof((const uint8_t[]){__VA_ARGS__}), fcw, k)
#define D32(x) (uint8_t)(x), (uint8_t)((x) >> 8), (uint8_t)((x) >> 16), (uint8_t)((x) >> 24)
#define RBX(reg) (uint8_t)(0x83 | (reg) << 3)

static void control_group(void)
{
    struct group g = {"control, FNSTENV/FLDENV, FNSAVE/FRSTOR, FXSAVE/FXRSTOR", 0, 0};
    for (int v = 0; v < 2; v++) {
        reset_data();
        edge_value(v ? 13 : 4, case_data + OFF_A);  /* SNaN or unnormal */
        edge_value(v ? 2 : 3, case_data + OFF_B);   /* denormal or pseudo-denormal */
        uint16_t cws[] = {0x037f, 0x0b72, 0x0000, 0xffff, 0x1234};
        memcpy(case_data + OFF_CW, &cws[v + 2], 2);
        uint32_t mx = v ? 0x7f8a : 0x1fa0; /* RC up, PE; or DAZ-free defaults */
        memcpy(case_data + OFF_CW + 4, &mx, 4);
        for (int c = 0; c < 2; c++) {
            uint16_t fcw = cws[c];
            ENV(&g, "fnstsw ax", fcw, NULL, 0xdf, 0xe0);
            ENV(&g, "fnstsw m16, fnstcw m16", fcw, NULL, 0xdd, RBX(7), D32(OFF_DST), 0xd9,
                RBX(7), D32(OFF_DST + 2));
            ENV(&g, "fnclex", fcw, NULL, 0xdb, 0xe2);
            ENV(&g, "fninit", fcw, NULL, 0xdb, 0xe3);
            if (c == 0) { /* waiting: natively a pending unmasked exception would trap */
                ENV(&g, "fldcw odd, fnstcw", fcw, NULL, 0xd9, RBX(5), D32(OFF_CW), 0xd9, RBX(7),
                    D32(OFF_DST));
                ENV(&g, "ffree, fdecstp", fcw, NULL, 0xdd, 0xc2, 0xd9, 0xf6, 0xd9, 0xf6);
                ENV(&g, "stmxcsr, ldmxcsr, emms", fcw, NULL, 0x0f, 0xae, RBX(3), D32(OFF_DST),
                    0x0f, 0xae, RBX(2), D32(OFF_CW + 4), 0x0f, 0x77);
            }
            ENV(&g, "fnstenv", fcw, &skip_env32, 0xd9, RBX(6), D32(OFF_DST));
            ENV(&g, "fnstenv 16", fcw, &skip_env16, 0x66, 0xd9, RBX(6), D32(OFF_DST));
            ENV(&g, "fnsave", fcw, &skip_env32, 0xdd, RBX(6), D32(OFF_DST));
            ENV(&g, "fnsave 16", fcw, &skip_env16, 0x66, 0xdd, RBX(6), D32(OFF_DST));
            ENV(&g, "fnstenv, fninit, fldenv", fcw, &skip_env32, 0xd9, RBX(6), D32(OFF_DST),
                0xdb, 0xe3, 0xd9, RBX(4), D32(OFF_DST));
            ENV(&g, "fnstenv 16, fldenv 16", fcw, &skip_env16, 0x66, 0xd9, RBX(6), D32(OFF_DST),
                0xdb, 0xe3, 0x66, 0xd9, RBX(4), D32(OFF_DST));
            ENV(&g, "fnsave, fld1, frstor", fcw, &skip_env32, 0xdd, RBX(6), D32(OFF_DST), 0xd9,
                0xe8, 0xdd, RBX(4), D32(OFF_DST));
            ENV(&g, "fnsave 16, frstor 16", fcw, &skip_env16, 0x66, 0xdd, RBX(6), D32(OFF_DST),
                0x66, 0xdd, RBX(4), D32(OFF_DST));
            ENV(&g, "fxsave", fcw, &skip_fx, 0x0f, 0xae, RBX(0), D32(OFF_FX));
            ENV(&g, "fxsave64", fcw, &skip_fx, 0x48, 0x0f, 0xae, RBX(0), D32(OFF_FX));
            ENV(&g, "fxsave64, fninit, fxrstor64, fxsave", fcw, &skip_fx, 0x48, 0x0f, 0xae,
                RBX(0), D32(OFF_FX), 0xdb, 0xe3, 0x48, 0x0f, 0xae, RBX(1), D32(OFF_FX), 0x0f,
                0xae, RBX(0), D32(OFF_FX2));
        }
    }
    group_end(&g);
}

/* FXRSTOR / FLDENV / FRSTOR of crafted images: odd tags over every kind
 * of register contents, TOP, C0-C3, pending flags; read back with FXSAVE
 * and FNSTENV (whose tag word the CPU recomputes). */
static void crafted_group(void)
{
    struct group g = {"crafted FXRSTOR/FLDENV/FRSTOR images", 0, 0};
    for (int t = 0; t < 48; t++) {
        reset_data();
        uint8_t *fx = case_data + OFF_FX, *env = case_data + OFF_FX2;
        memset(fx, 0, 512);
        uint16_t fcw = (uint16_t)(0x0040 | (t * 0x1b3) % 0x1000), fsw = (uint16_t)(t * 0x9e1);
        uint32_t mxcsr = 0x1f80 | (uint32_t)(t & 0x3f);
        memcpy(fx, &fcw, 2);
        memcpy(fx + 2, &fsw, 2);
        fx[4] = (uint8_t)(t * 37 + 5);
        memcpy(fx + 24, &mxcsr, 4);
        for (int k = 0; k < 8; k++)
            edge_value((t + k * 5) % NEDGE, fx + 32 + 16 * k);
        for (int i = 160; i < 416; i++)
            fx[i] = (uint8_t)(i ^ t);
        /* The same state as a 28-byte environment and 108-byte save image. */
        uint32_t tw = 0;
        for (int k = 0; k < 8; k++)
            tw |= (uint32_t)((t >> (k % 5)) & 1 ? k % 3 : 3) << (2 * k);
        uint32_t w[7] = {0xffff0000u | fcw, 0xffff0000u | fsw, 0xffff0000u | tw, 0, 0, 0, 0};
        memcpy(env, w, 28);
        for (int k = 0; k < 8; k++)
            memcpy(env + 28 + 10 * k, fx + 32 + 16 * k, 10);
        struct start s = {0x037f, 0, 0};
        struct prog p = {.n = 0};
        EMIT(&p, 0x48, 0x0f, 0xae, RBX(1), D32(OFF_FX), 0xd9, RBX(6), D32(OFF_DST));
        diff_case(&g, &p, &s, &skip_env32, "fxrstor64 image %d", t);
        PROG(&p, 0x0f, 0xae, RBX(1), D32(OFF_FX), 0x0f, 0xae, RBX(0), D32(OFF_FX2));
        diff_case(&g, &p, &s, &skip_fx, "fxrstor/fxsave image %d", t);
        PROG(&p, 0xd9, RBX(4), D32(OFF_FX2), 0xd9, RBX(6), D32(OFF_DST));
        diff_case(&g, &p, &s, &skip_env32, "fldenv image %d", t);
        PROG(&p, 0xdd, RBX(4), D32(OFF_FX2), 0xd9, RBX(6), D32(OFF_DST));
        diff_case(&g, &p, &s, &skip_env32, "frstor image %d", t);
    }
    group_end(&g);
}

/* --- Exceptions the host cannot show without a signal: checked on the emu ------ */

/* Run p on the emu with cr0/cr4 adjusted; the vector and the RIP offset
 * where it stopped. */
static int emu_fault(const struct prog *p, uint64_t cr0_clear, uint64_t cr0_set,
                     uint64_t cr4_clear, uint64_t *at)
{
    struct start s = {0x037f, 0, 0};
    emu_prepare(p, &s);
    cpu->cr0 = (cpu->cr0 & ~cr0_clear) | cr0_set;
    cpu->cr4 &= ~cr4_clear;
    emu_finish(p, &res_emu);
    *at = cpu->rip - G_CODE;
    return res_emu.vector;
}

#define EXPECT_FAULT(p, clr, set, cr4clr, vec, off, name)                          \
    do {                                                                           \
        uint64_t at_;                                                              \
        int v_ = emu_fault(p, clr, set, cr4clr, &at_);                             \
        CHECK(v_ == (vec) && at_ == (uint64_t)(off), name);                        \
        if (v_ != (vec) || at_ != (uint64_t)(off))                                 \
            printf("  got vector %d at +%llu\n", v_, (unsigned long long)at_);     \
    } while (0)

static void exception_checks(void)
{
    reset_data();
    uint16_t zm = 0x037b; /* ZE unmasked */
    memcpy(case_data + OFF_CW, &zm, 2);
    struct prog p = {.n = 0};
    EMIT(&p, 0xd9, RBX(5), D32(OFF_CW), 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9); /* 1/0 */
    int raise_end = p.n;
    struct prog q = p;
    EMIT(&q, 0xdf, 0xe0, 0xd9, RBX(7), D32(OFF_DST), 0xdb, 0xe2, 0xd9, 0xd0);
    EXPECT_FAULT(&q, 0, 0, 0, -1, q.n, "x87 #MF: FNSTSW, FNSTCW, FNCLEX do not wait");
    /* Unmasked: no result and no pop, so TOP stays 6. */
    CHECK((res_emu.rax & 0xffff) == 0xb084, "x87 #MF: FNSTSW AX shows ES, B, ZE after 1/0");
    q = p;
    EMIT(&q, 0xd9, 0xd0);
    EXPECT_FAULT(&q, 0, 0, 0, EXC_MF, raise_end, "x87 #MF at the next FNOP (CR0.NE)");
    CHECK(*(uint16_t *)(res_emu.fx + 2) == 0xb084, "x87 #MF: FSW keeps ES|B|ZE, no result");
    EXPECT_FAULT(&q, X87_CR0_NE, 0, 0, -1, q.n, "x87 no #MF with CR0.NE clear");
    q = p;
    EMIT(&q, 0x9b);
    EXPECT_FAULT(&q, 0, 0, 0, EXC_MF, raise_end, "x87 #MF at FWAIT");
    q = p;
    EMIT(&q, 0xd9, RBX(5), D32(OFF_CW));
    EXPECT_FAULT(&q, 0, 0, 0, EXC_MF, raise_end, "x87 #MF at FLDCW (a waiting instruction)");
    q = p;
    EMIT(&q, 0x0f, 0xae, RBX(0), D32(OFF_FX), 0xdb, 0xe3, 0xd9, 0xd0);
    EXPECT_FAULT(&q, 0, 0, 0, -1, q.n, "x87 FXSAVE and FNINIT do not wait");

    PROG(&p, 0xd9, 0xe8);
    EXPECT_FAULT(&p, 0, CR0_TS, 0, EXC_NM, 0, "x87 #NM under CR0.TS");
    EXPECT_FAULT(&p, 0, CR0_EM, 0, EXC_NM, 0, "x87 #NM under CR0.EM");
    PROG(&p, 0xdf, 0xe0);
    EXPECT_FAULT(&p, 0, CR0_TS, 0, EXC_NM, 0, "x87 #NM for FNSTSW under CR0.TS");
    PROG(&p, 0x9b);
    EXPECT_FAULT(&p, CR0_MP, CR0_TS, 0, -1, 1, "x87 FWAIT runs under CR0.TS without MP");
    EXPECT_FAULT(&p, 0, CR0_TS, 0, EXC_NM, 0, "x87 FWAIT #NM under CR0.TS with MP");
    PROG(&p, 0x0f, 0xae, RBX(0), D32(OFF_FX));
    EXPECT_FAULT(&p, 0, CR0_TS, 0, EXC_NM, 0, "FXSAVE #NM under CR0.TS");
    PROG(&p, 0x0f, 0xae, RBX(0), D32(OFF_FX + 8));
    EXPECT_FAULT(&p, 0, 0, 0, EXC_GP, 0, "FXSAVE #GP on a misaligned operand");
    PROG(&p, 0x48, 0x0f, 0xae, RBX(1), D32(OFF_FX + 4));
    EXPECT_FAULT(&p, 0, 0, 0, EXC_GP, 0, "FXRSTOR64 #GP on a misaligned operand");
    PROG(&p, 0x0f, 0x77);
    EXPECT_FAULT(&p, 0, CR0_EM, 0, EXC_UD, 0, "EMMS #UD under CR0.EM");
    PROG(&p, 0xdb, 0xe4);
    EXPECT_FAULT(&p, 0, 0, 0, EXC_UD, 0, "x87 FSETPM (DB E4) is #UD");

    /* MXCSR reserved bits: FXRSTOR and LDMXCSR #GP(0), by EMU_MXCSR_MASK. */
    uint32_t bad = 0x11f80, good = 0xffff;
    memset(case_data + OFF_FX, 0, 512);
    memcpy(case_data + OFF_FX + 24, &bad, 4);
    memcpy(case_data + OFF_DST, &bad, 4);
    memcpy(case_data + OFF_DST + 4, &good, 4);
    PROG(&p, 0x0f, 0xae, RBX(1), D32(OFF_FX));
    EXPECT_FAULT(&p, 0, 0, 0, EXC_GP, 0, "FXRSTOR #GP on MXCSR reserved bits");
    PROG(&p, 0x0f, 0xae, RBX(2), D32(OFF_DST));
    EXPECT_FAULT(&p, 0, 0, 0, EXC_GP, 0, "LDMXCSR #GP on MXCSR reserved bits");
    PROG(&p, 0x0f, 0xae, RBX(2), D32(OFF_DST + 4), 0x0f, 0xae, 0xe8, 0x0f, 0xae, 0xf0, 0x0f, 0xae,
         0xf8, 0x0f, 0xae, RBX(7), D32(OFF_DST));
    EXPECT_FAULT(&p, 0, 0, 0, -1, p.n, "LDMXCSR 0xffff, fences, CLFLUSH run");
    CHECK(cpu->fpu.mxcsr == 0xffff, "LDMXCSR loads MXCSR");
    EXPECT_FAULT(&p, 0, 0, CR4_OSFXSR, EXC_UD, 0, "LDMXCSR #UD without CR4.OSFXSR");
}

/* Answers known without any FPU, so the comparison is not only host vs host. */
static void known_answers(void)
{
    reset_data();
    struct prog p = {.n = 0};
    int32_t n = 12345;
    memcpy(case_data + OFF_M, &n, 4);
    EMIT(&p, 0xd9, 0xe8, 0xd9, 0xe8, 0xde, 0xc1, 0xdd, RBX(3), D32(OFF_DST)); /* 1+1 -> m64 */
    EMIT(&p, 0xdb, RBX(0), D32(OFF_M), 0xdf, RBX(6), D32(OFF_DST + 16));      /* fbstp 12345 */
    EMIT(&p, 0xd9, 0xeb, 0xdb, RBX(7), D32(OFF_DST + 32));                     /* fldpi */
    EMIT(&p, 0xd9, 0xe8, 0xd9, 0xee, 0xdb, 0xf1, 0xdd, 0xd8, 0xdd, 0xd8);      /* fcomi 0,1 */
    struct start s = {0x037f, 0, 0};
    run_emu(&p, &s, &res_emu);
    const uint8_t *d = res_emu.data;
    static const uint8_t two[8] = {0, 0, 0, 0, 0, 0, 0, 0x40};
    static const uint8_t bcd[10] = {0x45, 0x23, 0x01};
    static const uint8_t pi[10] = {0x35, 0xc2, 0x68, 0x21, 0xa2, 0xda, 0x0f, 0xc9, 0x00, 0x40};
    CHECK(!memcmp(d + OFF_DST, two, 8), "x87 known: 1 + 1 stored as double 2.0");
    CHECK(!memcmp(d + OFF_DST + 16, bcd, 10), "x87 known: FBSTP 12345 packs BCD 45 23 01");
    CHECK(!memcmp(d + OFF_DST + 32, pi, 10), "x87 known: FLDPI is 4000:c90fdaa22168c235");
    CHECK((res_emu.rflags & (RFLAGS_CF | RFLAGS_ZF | RFLAGS_PF)) == RFLAGS_CF,
          "x87 known: FCOMI 0 < 1 sets CF only");
    CHECK(res_emu.fx[4] == 0 && (*(uint16_t *)(res_emu.fx + 2) & FSW_TOP) == 0,
          "x87 known: balanced stack ends empty at TOP 0");

    /* FXSAVE layout: FCW, FSW, abridged tag, MXCSR, MXCSR_MASK, ST0. */
    PROG(&p, 0xd9, 0xe8, 0x0f, 0xae, RBX(0), D32(OFF_FX));
    run_emu(&p, &s, &res_emu);
    d = res_emu.data + OFF_FX;
    CHECK(*(uint16_t *)d == 0x037f && *(uint16_t *)(d + 2) == 0x3800 && d[4] == 0x80,
          "FXSAVE known: FCW 037f, FSW TOP 7, tag bit 7");
    CHECK(*(uint32_t *)(d + 24) == 0x1f80 && *(uint32_t *)(d + 28) == EMU_MXCSR_MASK,
          "FXSAVE known: MXCSR and MXCSR_MASK");
    CHECK(*(uint64_t *)(d + 32) == 1ull << 63 && *(uint16_t *)(d + 40) == 0x3fff,
          "FXSAVE known: ST0 = 1.0 at byte 32");

    /* FOP, FIP, FDP: the last non-control instruction; FNCLEX is control. */
    p.n = 0;
    M(&p, 0xd9, 0, OFF_M);
    EMIT(&p, 0xd9, 0xe8, 0xdb, 0xe2, 0x48, 0x0f, 0xae, RBX(0), D32(OFF_FX));
    run_emu(&p, &s, &res_emu);
    d = res_emu.data + OFF_FX;
    CHECK(*(uint16_t *)(d + 6) == 0x1e8 && *(uint64_t *)(d + 8) == G_CODE + 6 &&
              *(uint64_t *)(d + 16) == G_DATA + OFF_M,
          "FXSAVE64 known: FOP D9 E8, FIP of FLD1, FDP of the FLD m32 operand");

    uint32_t r[4];
    emu_cpuid(NULL, 1, 0, r);
    CHECK((r[3] & 1) && (r[3] & (1u << 24)), "x87 CPUID.1:EDX advertises FPU and FXSR");
}

/* --- Every implemented form, read from the decoder's own tables ------------- */

#define OFF_STACK 0xc00 /* eight 80-bit values for the stack, 16 bytes apart */

static bool x87_implemented(const struct op *e)
{
    return e->fn && e->fn != ex_ud;
}

/* A stack of n distinct values (n = 8: full, fewer: empty registers below). */
static void load_stack(struct prog *p, int n, int seed)
{
    for (int k = 0; k < n; k++) {
        put_f80(OFF_STACK + 16 * k, (seed + 5 * k) % NEDGE);
        M(p, 0xdb, 5, OFF_STACK + 16 * k);
    }
}

/* Memory operand contents for form esc /reg: valid BCD for FBLD (invalid
 * digits give an undefined result), else edge bits of every width. */
static void put_operand(int esc, int reg, int v)
{
    memset(case_data + OFF_M, 0, 112);
    if (esc == 7 && reg == 4)
        memcpy(case_data + OFF_M, bcd_vals[v % 3], 10);
    else if (v % 3 == 0)
        put_f80(OFF_M, v % NEDGE);
    else if (v % 3 == 1)
        memcpy(case_data + OFF_M, &m64_vals[v % COUNT(m64_vals)], 8);
    else
        memcpy(case_data + OFF_M, &m32_vals[v % COUNT(m32_vals)], 4);
}

/* Every register form (each ST(i)) and memory form emu_x87_reg/emu_x87_mem
 * implement, over full, partly empty and nearly full stacks: the coverage
 * table counts x87 forms as compared because this sweeps the same tables. */
static void sweep_group(void)
{
    static const int depths[] = {8, 7, 3};
    static const struct skip skip_image = {1, {OFF_M + 12}, {16}};
    struct group g = {"every implemented form (decoder tables)", 0, 0};
    for (int esc = 0; esc < 8; esc++)
        for (int m = 0; m < 64 + 8; m++) {
            bool mem = m >= 64;
            const struct op *e = mem ? &emu_x87_mem[esc][m - 64] : &emu_x87_reg[esc][m];
            if (!x87_implemented(e))
                continue;
            for (int c = 0; c < COUNT(fcws_few); c++)
                for (int v = 0; v < 6; v++) {
                    struct prog p = {.n = 0};
                    struct start s = {fcws_few[c], (uint64_t)v * 0x45 & RFLAGS_ARITH, 0};
                    reset_data();
                    load_stack(&p, depths[v % 3], v * 3 + c);
                    if (mem) {
                        put_operand(esc, m - 64, v + c);
                        M(&p, (uint8_t)(0xd8 + esc), (unsigned)(m - 64), OFF_M);
                    } else {
                        EMIT(&p, (uint8_t)(0xd8 + esc), (uint8_t)(0xc0 + m));
                    }
                    diff_case(&g, &p, &s, mem ? &skip_image : NULL, "%02x %s%02x v#%d",
                              0xd8 + esc, mem ? "/" : "", mem ? m - 64 : 0xc0 + m, v);
                }
        }
    group_end(&g);
}

/* The comparison must notice a difference, or every group above would
 * pass vacuously. */
static void self_check(void)
{
    reset_data();
    struct prog p = {.n = 0};
    EMIT(&p, 0xd9, 0xeb, 0xd9, 0xe8, 0xde, 0xc1);
    struct start s = {0x037f, 0, 0};
    run_native(&p, &s, &res_nat);
    run_emu(&p, &s, &res_emu);
    bool same = differ(&res_emu, &res_nat, NULL) == NULL;
    res_emu.fx[32] ^= 1;
    bool reg = differ(&res_emu, &res_nat, NULL) != NULL;
    res_emu.fx[32] ^= 1;
    res_emu.data[77] ^= 1;
    bool mem = differ(&res_emu, &res_nat, NULL) != NULL;
    CHECK(same && reg && mem, "x87 harness: equal runs match, a flipped bit is caught");
}

static void run_all_cases(void)
{
    self_check();
    known_answers();
    exception_checks();
    control_group();
    crafted_group();
    fcmov_group();
    unary_group();
    load_group();
    store_group();
    mem_arith_group();
    binary_group("arithmetic, register forms", binops, COUNT(binops), fcws, COUNT(fcws));
    binary_group("compares, FPREM, FSCALE, FPATAN, FYL2X, FXCH, FST", binops2, COUNT(binops2),
                 fcws_few, COUNT(fcws_few));
    sweep_group();
}

int main(void)
{
    nat_code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
    if (nat_code == MAP_FAILED || emu_setup()) {
        printf("FAIL: x87 test setup\n");
        return 1;
    }
    run_all_cases();
    TEST_EXIT();
}
