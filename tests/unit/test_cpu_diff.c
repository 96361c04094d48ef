/*
 * The host CPU as the oracle for the emu engine: every instruction form the
 * emu decoder's tables claim runs natively and in the emulator from the
 * same registers, flags and memory, and every architected result is
 * compared (the parts are the headers in tests/cpu).
 *
 *   test_cpu_diff                 the bounded run of the test suite
 *   test_cpu_diff --long          100000 cases a form, seed from the clock
 *   test_cpu_diff --seed N --count N --form TEXT --verbose
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

struct cd_options {
    uint64_t seed;
    unsigned count;
    const char *form;
    int details;   /* mismatches printed in full per form */
};

struct cd_run {
    struct cd_emu emu;
    struct cd_options opt;
    unsigned forms, cases, failed;
};

/* Run one case both ways; true when they agree. */
static bool cd_one(struct cd_run *run, const struct cd_case *c, int *shown)
{
    struct cd_state nat, emu;
    struct emu_insn in;
    cd_native_set_insn(c->bytes, c->len);
    cd_emu_run(&run->emu, &c->in, c->data, &emu);
    cd_native_run(&c->in, c->data, &nat);
    uint64_t undef = 0;
    if (emu_decode(run->emu.cpu, c->bytes, 15, &in) > 0)
        undef = cd_undefined_flags(&in, &c->in);
    const uint8_t *nat_mem = (const uint8_t *)CD_DATA;
    const char *why = cd_differs(&nat, &emu, nat_mem, run->emu.data, undef);
    if (!*why)
        return true;
    if (*shown < run->opt.details) {
        printf("    -- %s differs\n", why);
        cd_report(c, &nat, &emu, nat_mem, run->emu.data, undef);
    }
    ++*shown;
    return false;
}

static void cd_test_form(struct cd_run *run, const struct cd_form *f, uint64_t seed)
{
    char name[64];
    cd_form_name(f, name, sizeof(name));
    if (run->opt.form && !strstr(name, run->opt.form))
        return;
    struct cd_rng rng = {seed};
    static struct cd_case c;
    unsigned bad = 0, done = 0;
    int shown = 0;
    char first[96] = "";
    for (unsigned tries = 0; done < run->opt.count && tries < run->opt.count * 4; tries++) {
        if (!cd_gen(f, &rng, &c))
            continue;
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
    for (int i = 0; i < n; i++) {
        const struct cd_form *f = &forms[i];
        if (!cd_implemented(f) || cd_untested_why(f))
            continue;
        /* Each form gets its own stream, so --form reproduces a full run. */
        cd_test_form(run, f, run->opt.seed * 0x100000001b3ull + (uint64_t)i);
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
    if (cd_native_init(ro_page) || cd_emu_init(&run->emu, ro_page)) {
        printf("FAIL: cpu diff setup: cannot map the fixed test pages at %#llx\n",
               (unsigned long long)CD_BASE);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct cd_run run;
    run.opt = (struct cd_options){.seed = 1, .count = 1500, .details = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--coverage"))
            return cd_coverage();
        if (!strcmp(a, "--bench"))
            return cd_bench();
        if (!strcmp(a, "--long")) {
            run.opt.count = 100000;
            run.opt.seed = (uint64_t)time(NULL);
        } else if (!strcmp(a, "--verbose")) {
            run.opt.details = 5;
        } else if (v && !strcmp(a, "--seed")) {
            run.opt.seed = strtoull(v, NULL, 0), i++;
        } else if (v && !strcmp(a, "--count")) {
            run.opt.count = (unsigned)strtoul(v, NULL, 0), i++;
        } else if (v && !strcmp(a, "--form")) {
            run.opt.form = v, i++;
        } else {
            fprintf(stderr, "usage: %s [--long] [--seed N] [--count N] [--form TEXT] [--verbose]"
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
