/*
 * The host CPU as the oracle for the emu engine: every instruction form the
 * emu decoder's tables claim runs natively and in the emulator from the
 * same registers, flags and memory, and every architected result is
 * compared (the parts are the headers in tests/cpu). Each form runs in
 * 64-bit code, then in 32-bit (compatibility-mode) and 16-bit code, where
 * 66h/67h select the other operand and address sizes and the forms 64-bit
 * code dropped (BCD, PUSHA, LES, far pointers...) are valid.
 *
 *   test_cpu_diff                 the bounded run of the test suite
 *   test_cpu_diff --long          100000 cases a form, seed from the clock
 *   test_cpu_diff --seed N --count N --form TEXT --mode 64|32|16 --verbose
 *   test_cpu_diff --coverage      opcode maps as markdown (docs/cpu-coverage.md)
 *   test_cpu_diff --bench         emulator speed against the host
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../cpu/compare.h"
#include "../cpu/emu_side.h"
#include "../cpu/gen.h"
#include "../cpu/native.h"
#include "../cpu/coverage.h"
#include "../cpu/bench.h"
#include "../cpu/traps.h"
#include "../cpu/host_quirks.h"

struct cd_options {
    uint64_t seed;
    unsigned count;
    unsigned legacy_count; /* in 32-bit and 16-bit code */
    const char *form;
    int details;   /* mismatches printed in full per form */
    int bits;      /* only this code width; 0: all */
};

struct cd_run {
    struct cd_emu emu;
    struct cd_options opt;
    bool have_ldt; /* 16-bit code needs LDT segments */
    unsigned forms, cases, failed;
};

/* Run one case both ways; true when they agree. */
static bool cd_one(struct cd_run *run, const struct cd_case *c, int *shown)
{
    struct cd_state nat, emu;
    struct emu_insn in;
    cd_native_set_insn(c->bytes, c->len);
    cd_emu_run(&run->emu, c->mode, &c->in, c->data, &emu, &in);
    if (c->in.rflags & 0x100) /* TF: entered through IRETQ (traps.h) */
        cd_native_run_tf(&cd_modes[c->mode], &c->in, c->data, &nat);
    else
        cd_native_run(&cd_modes[c->mode], &c->in, c->data, &nat);
    cd_sys_mask(&in, &nat, &emu);
    uint64_t undef = in.fn ? cd_undefined_flags(&in, &c->in) : 0;
    const uint8_t *nat_mem = (const uint8_t *)CD_DATA;
    /* Leaving 64-bit code (a far transfer to 0x23 or an LDT segment) makes
     * the registers' upper halves undefined too. */
    int bits = c->mode == CD_M64 && nat.sreg[1] == cd_modes[CD_M64].sel[1] ? 64 : 32;
    const char *why = cd_differs(&nat, &emu, nat_mem, run->emu.data, undef, bits);
    if (!*why)
        return true;
    if (*shown < run->opt.details) {
        printf("    -- %s differs\n", why);
        cd_report(c, &nat, &emu, nat_mem, run->emu.data, undef);
    }
    ++*shown;
    return false;
}

static void cd_test_form(struct cd_run *run, const struct cd_form *f, int mode, uint64_t seed)
{
    char name[80];
    int k = mode == CD_M64 ? 0 : snprintf(name, sizeof(name), "%s: ", cd_modes[mode].name);
    cd_form_name_in(f, mode != CD_M64, name + k, sizeof(name) - (size_t)k);
    if (run->opt.form && !strstr(name, run->opt.form))
        return;
    const char *quirk = hq_skip_why(name, hq_cpu_diff_forms);
    if (quirk) {
        printf("SKIP: cpu diff %s: %s\n", name, quirk);
        return;
    }
    struct cd_rng rng = {seed};
    static struct cd_case c;
    unsigned bad = 0, done = 0;
    int shown = 0;
    char first[96] = "";
    unsigned count = mode == CD_M64 ? run->opt.count : run->opt.legacy_count;
    for (unsigned tries = 0; done < count && tries < count * 4; tries++) {
        if (!cd_gen(f, mode, &rng, &c))
            continue;
        /* a share of the cases with TF or AC set (traps.h) */
        cd_trap_apply(&c.in, cd_trap_kind_of(done, cd_modes[mode].bits, f->op->fn));
        if ((c.in.rflags & 0x100) && cd_modes[mode].bits == 16)
            /* IRETQ to a 16-bit stack segment loads only SP: ESP[31:16]
             * keep those of the IRETQ's own RSP (the quirk Linux's ESPFIX
             * hides on its own returns), so both sides start from that. */
            c.in.gpr[4] = (c.in.gpr[4] & 0xffff) | (CD_IRET_FRAME & 0xffff0000);
        done++;
        if (cd_one(run, &c, &shown))
            continue;
        if (!bad++) {
            int k = snprintf(first, sizeof(first), "bytes ");
            for (int i = 0; i < c.len && k < (int)sizeof(first) - 4; i++)
                k += snprintf(first + k, sizeof(first) - (size_t)k, "%02x ", c.bytes[i]);
        }
    }
    run->forms++;
    run->cases += done;
    if (bad) {
        run->failed++;
        printf("FAIL: cpu diff %s: %u of %u cases differ, first %s\n", name, bad, done, first);
    } else {
        printf("PASS: cpu diff %s (%u cases)\n", name, done);
    }
    fflush(stdout);
}

static int cd_diff_all(struct cd_run *run)
{
    static struct cd_form forms[CD_MAX_FORMS];
    int n = cd_enumerate(forms);
    for (int m = 0; m < CD_NMODES; m++) {
        if (run->opt.bits && run->opt.bits != cd_modes[m].bits)
            continue;
        if (m == CD_M16 && !run->have_ldt) {
            printf("SKIP: cpu diff 16-bit code: modify_ldt(2) refused, no 16-bit segments\n");
            continue;
        }
        unsigned forms0 = run->forms, cases0 = run->cases;
        for (int i = 0; i < n; i++) {
            const struct cd_form *f = &forms[i];
            if (!cd_implemented(f) || (m == CD_M64 ? cd_untested_why(f) : cd_untested_legacy_why(f)))
                continue;
            /* Each form gets its own stream, so --form reproduces a full run. */
            uint64_t seed = run->opt.seed * 0x100000001b3ull + (uint64_t)i + ((uint64_t)m << 32);
            cd_test_form(run, f, m, seed);
        }
        printf("cpu diff %s code: %u forms, %u cases\n", cd_modes[m].name, run->forms - forms0,
               run->cases - cases0);
    }
    printf("cpu diff: seed %llu, %u forms, %u cases, %u forms with mismatches\n",
           (unsigned long long)run->opt.seed, run->forms, run->cases, run->failed);
    return run->failed ? 1 : 0;
}

static int cd_setup(struct cd_run *run)
{
    static uint8_t ro_page[4096];
    struct cd_rng r = {12345};
    for (unsigned i = 0; i < sizeof(ro_page); i++)
        ro_page[i] = (uint8_t)cd_rand(&r);
    run->have_ldt = cd_ldt_install() == 0;
    if (!run->have_ldt)
        cd_modes_no_ldt();
    if (cd_native_init(ro_page) || cd_emu_init(&run->emu, ro_page, run->have_ldt)) {
        printf("FAIL: cpu diff setup: cannot map the fixed test pages at %#llx\n",
               (unsigned long long)CD_BASE);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct cd_run run;
    /* The bounded run gives 32-bit and 16-bit code a third of the cases:
     * most forms there share their executors with 64-bit code. */
    run.opt = (struct cd_options){.seed = 1, .count = 1500, .legacy_count = 500, .details = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--coverage"))
            return cd_coverage();
        if (!strcmp(a, "--bench"))
            return cd_bench();
        if (!strcmp(a, "--long")) {
            run.opt.count = run.opt.legacy_count = 100000;
            run.opt.seed = (uint64_t)time(NULL);
        } else if (!strcmp(a, "--verbose")) {
            run.opt.details = 5;
        } else if (v && !strcmp(a, "--seed")) {
            run.opt.seed = strtoull(v, NULL, 0), i++;
        } else if (v && !strcmp(a, "--count")) {
            run.opt.count = run.opt.legacy_count = (unsigned)strtoul(v, NULL, 0), i++;
        } else if (v && !strcmp(a, "--form")) {
            run.opt.form = v, i++;
        } else if (v && !strcmp(a, "--mode")) {
            run.opt.bits = atoi(v), i++;
        } else {
            fprintf(stderr, "usage: %s [--long] [--seed N] [--count N] [--form TEXT]"
                            " [--mode 64|32|16] [--verbose]"
                            " | --coverage | --bench\n", argv[0]);
            return 2;
        }
    }
    if (cd_setup(&run))
        return 1;
    int rc = cd_diff_all(&run);
    cd_emu_fini(&run.emu);
    return rc;
}
