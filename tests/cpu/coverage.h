/*
 * The coverage table (test_cpu_diff --coverage, saved as
 * docs/cpu-coverage.md): generated from the decoder's own opcode tables, so
 * it shows what is implemented, and from the tester's knowledge, so it
 * shows what is compared against the host.
 */
#ifndef HK_TESTS_CPU_COVERAGE_H
#define HK_TESTS_CPU_COVERAGE_H

#include "forms.h"
#include "mmx_forms.h"
#include "sse4_forms.h"
#include "sse_forms.h"

static struct cd_form cd_cov_forms[CD_MAX_FORMS];
static int cd_cov_n;

/* Which harness compares form f with the host, or NULL. The SSE harnesses
 * list their forms (sse_forms.h, sse4_forms.h); test_x87 sweeps every
 * entry of the x87 tables and runs FXSAVE/FXRSTOR/LDMXCSR/STMXCSR. */
static const char *cd_tested_by(const struct cd_form *f)
{
    static const uint8_t pfx_byte[4] = {0, 0x66, 0xf3, 0xf2};
    if (f->map <= CD_MAP0F) {
        if (f->map == CD_MAP0F && f->opc == 0xae && f->mod == 0 && f->greg >= 0 && f->greg <= 3)
            return "test_x87";
        return cd_untested_why(f) && cd_untested_legacy_why(f) ? NULL : "test_cpu_diff";
    }
    if (f->map == CD_X87_MEM || f->map == CD_X87_REG)
        return "test_x87";
    int map = f->map == CD_MAP0F38 ? 0x38 : f->map == CD_MAP0F3A ? 0x3a : 0;
    uint8_t pfx = f->pfx >= 0 ? pfx_byte[f->pfx] : 0;
    for (size_t i = 0; map == 0 && i < sizeof(sse_forms) / sizeof(sse_forms[0]); i++)
        if (sse_forms[i].pfx == pfx && sse_forms[i].op == f->opc &&
            (sse_forms[i].ext < 0 || sse_forms[i].ext == f->greg))
            return "test_sse";
    for (size_t i = 0; i < sizeof(sse4_forms) / sizeof(sse4_forms[0]); i++)
        if (sse4_forms[i].pfx == pfx && sse4_forms[i].map == map && sse4_forms[i].op == f->opc)
            return "test_sse4";
    for (size_t i = 0; i < sizeof(mmx_forms) / sizeof(mmx_forms[0]); i++)
        if (mmx_forms[i].pfx == pfx && mmx_forms[i].map == (map ? map : 0x0f) &&
            mmx_forms[i].opc == f->opc && (mmx_forms[i].reg < 0 || mmx_forms[i].reg == f->greg))
            return "test_mmx";
    return NULL;
}

/* "T name" tested, "i name" implemented but not tested, "-" neither;
 * "T32 name" compared in 32-bit and 16-bit code only, "T name (#UD64)"
 * there and as #UD in 64-bit code. */
static void cd_cov_cell(const struct cd_form *f, char *buf, size_t n)
{
    if (!cd_implemented(f)) {
        snprintf(buf, n, "-");
        return;
    }
    char mn[24];
    bool legacy = f->map <= CD_MAP0F && !cd_untested_legacy_why(f);
    bool legacy_only = legacy && cd_untested_why(f);
    cd_form_mnemonic_in(f, legacy && cd_no64(f), mn, sizeof(mn));
    snprintf(buf, n, "%s %s%s", !cd_tested_by(f) ? "i" : legacy_only ? "T32" : "T", mn,
             legacy && !legacy_only && cd_no64(f) ? " (#UD64)" : "");
}

/* Mandatory-prefix variants implemented for (map, opc), tested ones first:
 * "T np 66", "T np i f3" (f3 implemented, not compared), or "". A prefix
 * counts as tested when all its forms (every group member) are. */
static void cd_cov_prefixes(int map, int opc, char *buf, size_t n)
{
    static const char *const names[4] = {"np", "66", "f3", "f2"};
    bool have[4] = {false}, untested[4] = {false};
    for (int i = 0; i < cd_cov_n; i++) {
        const struct cd_form *f = &cd_cov_forms[i];
        if (f->map == map && f->opc == opc && f->pfx >= 0 && cd_implemented(f)) {
            have[f->pfx] = true;
            untested[f->pfx] |= !cd_tested_by(f);
        }
    }
    size_t k = 0;
    buf[0] = 0;
    for (int pass = 0; pass < 2; pass++) {
        bool first = true;
        for (int p = 0; p < 4; p++) {
            if (!have[p] || untested[p] != (pass == 1))
                continue;
            k += (size_t)snprintf(buf + k, n - k, "%s%s%s", k ? " " : "",
                                  first ? (pass ? "i " : "T ") : "", names[p]);
            first = false;
        }
    }
}

static const struct cd_form *cd_cov_find(int map, int opc)
{
    for (int i = 0; i < cd_cov_n; i++)
        if (cd_cov_forms[i].map == map && cd_cov_forms[i].opc == opc)
            return &cd_cov_forms[i];
    return NULL;
}

static void cd_cov_cell_at(int map, int opc, char *cell, size_t n)
{
    char pf[24];
    snprintf(cell, n, "-");
    if (map == CD_MAP1 && opc == 0x0f) {
        snprintf(cell, n, "esc");
    } else if (map == CD_MAP1 && opc >= 0xd8 && opc <= 0xdf) {
        snprintf(cell, n, "x87");
    } else if (map == CD_MAP0F && (opc == 0x38 || opc == 0x3a)) {
        snprintf(cell, n, "esc");
    } else if (map <= CD_MAP0F) {
        const struct cd_form *f = cd_cov_find(map, opc);
        if (f && f->greg >= 0)
            snprintf(cell, n, "G");
        else if (f)
            cd_cov_cell(f, cell, n);
        cd_cov_prefixes(CD_MAP0F_SSE, opc, pf, sizeof(pf));
        if (map == CD_MAP0F && pf[0]) {
            size_t k = strlen(cell);
            if (!strcmp(cell, "-"))
                k = 0;
            snprintf(cell + k, n - k, "%ssse: %s", k ? " / " : "", pf);
        }
    } else {
        cd_cov_prefixes(map, opc, pf, sizeof(pf));
        if (pf[0])
            snprintf(cell, n, "%s", pf);
    }
}

static void cd_cov_grid(const char *title, int map)
{
    printf("\n## %s\n\n|    |", title);
    for (int c = 0; c < 16; c++)
        printf(" x%x |", c);
    printf("\n|----|");
    for (int c = 0; c < 16; c++)
        printf("----|");
    printf("\n");
    for (int row = 0; row < 16; row++) {
        printf("| %xx |", row);
        for (int c = 0; c < 16; c++) {
            char cell[64];
            cd_cov_cell_at(map, row * 16 + c, cell, sizeof(cell));
            printf(" %s |", cell);
        }
        printf("\n");
    }
}

static void cd_cov_groups(void)
{
    printf("\n## Groups (ModRM.reg; m: memory forms, r: register forms)\n\n"
           "| opcode | /0 | /1 | /2 | /3 | /4 | /5 | /6 | /7 |\n"
           "|--------|----|----|----|----|----|----|----|----|\n");
    for (int i = 0; i < cd_cov_n; i++) {
        const struct cd_form *f = &cd_cov_forms[i];
        if (f->greg != 0 || f->mod == 3 || f->map > CD_MAP0F)
            continue; /* a group's rows start at its /0 (memory) form */
        bool split = f->mod >= 0;
        for (int half = 0; half < (split ? 2 : 1); half++) {
            printf("| %s%02x%s |", f->map ? "0f " : "", f->opc, split ? (half ? " r" : " m") : "");
            for (int r = 0; r < 8; r++) {
                char cell[32];
                cd_cov_cell(&cd_cov_forms[i + r * (split ? 2 : 1) + half], cell, sizeof(cell));
                printf(" %s |", cell);
            }
            printf("\n");
        }
    }
}

static void cd_cov_x87(void)
{
    printf("\n## x87 (D8-DF)\n\nMemory forms by ModRM.reg; register forms (ModRM C0-FF) counted.\n\n"
           "| opcode | /0 | /1 | /2 | /3 | /4 | /5 | /6 | /7 | register forms |\n"
           "|--------|----|----|----|----|----|----|----|----|----------------|\n");
    for (int esc = 0; esc < 8; esc++) {
        int regs = 0, regs_tested = 0;
        printf("| %02x |", 0xd8 + esc);
        for (int i = 0; i < cd_cov_n; i++) {
            const struct cd_form *f = &cd_cov_forms[i];
            if (f->opc != 0xd8 + esc || f->map != CD_X87_REG || !cd_implemented(f))
                continue;
            regs++;
            regs_tested += cd_tested_by(f) != NULL;
        }
        for (int r = 0; r < 8; r++) {
            const char *cell = "-";
            for (int i = 0; i < cd_cov_n; i++) {
                const struct cd_form *f = &cd_cov_forms[i];
                if (f->map == CD_X87_MEM && f->opc == 0xd8 + esc && f->greg == r &&
                    cd_implemented(f))
                    cell = cd_tested_by(f) ? "T" : "i";
            }
            printf(" %s |", cell);
        }
        printf(" %d of 64 implemented, %d compared |\n", regs, regs_tested);
    }
}

static void cd_cov_untested(void)
{
    printf("\n## Implemented, not compared with the host\n\n");
    int n = 0;
    for (int i = 0; i < cd_cov_n; i++) {
        const struct cd_form *f = &cd_cov_forms[i];
        if (!cd_implemented(f) || cd_tested_by(f))
            continue;
        const char *why = cd_untested_why(f);
        char name[64];
        cd_form_name(f, name, sizeof(name));
        printf("- `%s`: %s\n", name, why ? why : "no harness lists it");
        n++;
    }
    if (!n)
        printf("None.\n");
}

static int cd_coverage(void)
{
    cd_cov_n = cd_enumerate(cd_cov_forms);
    static const char *const harnesses[] = {"test_cpu_diff", "test_sse", "test_sse4",
                                            "test_x87", "test_mmx"};
    int impl = 0, tested = 0, by[5] = {0};
    for (int i = 0; i < cd_cov_n; i++) {
        const char *h = cd_implemented(&cd_cov_forms[i]) ? cd_tested_by(&cd_cov_forms[i]) : NULL;
        impl += cd_implemented(&cd_cov_forms[i]);
        tested += h != NULL;
        for (int k = 0; h && k < 5; k++)
            by[k] += !strcmp(h, harnesses[k]);
    }
    printf("# emu CPU coverage\n\n"
           "Generated from the decoder's opcode tables by `build/tests/test_cpu_diff --coverage`\n"
           "(regenerate: `make && build/tests/test_cpu_diff --coverage > docs/cpu-coverage.md`).\n\n"
           "`T name`: implemented and compared with the host CPU; `i name`: implemented,\n"
           "not compared (reason below); `-`: not implemented (#UD); `G`: a group, see the\n"
           "group table. Prefixed cells list the mandatory prefixes (np: none) after `T`\n"
           "(compared) or `i` (not compared).\n\n"
           "`test_cpu_diff` compares the one-byte and 0F forms in 64-bit, 32-bit\n"
           "(compatibility-mode) and 16-bit code: `T32 name` only in 32-bit and 16-bit\n"
           "code (64-bit code has a prefix or another instruction there), `T name (#UD64)`\n"
           "there and as #UD in 64-bit code.\n\n"
           "%d forms implemented (groups counted by ModRM.reg, x87 register forms by\n"
           "ModRM), %d of them compared with the host:\n\n",
           impl, tested);
    for (int k = 0; k < 5; k++)
        printf("- %d by `%s`\n", by[k], harnesses[k]);
    cd_cov_grid("One-byte map", CD_MAP1);
    cd_cov_grid("0F map (sse: mandatory-prefix SSE entries; np: no prefix)", CD_MAP0F);
    cd_cov_grid("0F 38 map (by mandatory prefix)", CD_MAP0F38);
    cd_cov_grid("0F 3A map (by mandatory prefix)", CD_MAP0F3A);
    cd_cov_groups();
    cd_cov_x87();
    cd_cov_untested();
    return 0;
}

#endif
