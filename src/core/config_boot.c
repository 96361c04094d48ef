/*
 * -f: what the VM boots, in moby/hyperkit's syntax (hyperkit.c
 * firmware_parse, firmware/multiboot.c):
 *   -f kexec,KERNEL[,INITRD][,"CMDLINE"]
 *   -f multiboot,KERNEL[,MODULE[;CMDLINE][:MODULE[;CMDLINE]]...][,CMDLINE]
 *   -f bootrom,ROM
 * plus our own -f flat64,FILE (a flat binary entered in long mode at
 * 0x100000, for test guests).
 *
 * Like hyperkit, only the first two commas after the kind split fields, so
 * a command line may hold commas; an empty field means "none".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/config_priv.h"

struct boot_kind;
typedef int (*boot_parse_fn)(struct hk_config *cfg, const struct boot_kind *k, char *args,
                             struct hk_boot *b);

static int parse_kexec(struct hk_config *, const struct boot_kind *, char *, struct hk_boot *);
static int parse_multiboot(struct hk_config *, const struct boot_kind *, char *,
                           struct hk_boot *);
static int parse_single_file(struct hk_config *, const struct boot_kind *, char *,
                             struct hk_boot *);

/*
 * Each kind is parsed and validated fully even before its loader exists,
 * so a loader landing only flips `implemented`.
 */
static const struct boot_kind {
    const char *name;
    enum hk_boot_kind kind;
    bool implemented;
    const char *what;     /* "<what> is not implemented yet" */
    const char *syntax;   /* for "expected ..." */
    const char *file;     /* what its first file is called in messages */
    boot_parse_fn parse;
} boot_kinds[] = {
    {"kexec", HK_BOOT_KEXEC, true, "Linux boot", "-f kexec,KERNEL[,INITRD][,\"CMDLINE\"]",
     "kernel", parse_kexec},
    {"multiboot", HK_BOOT_MULTIBOOT, true, "multiboot",
     "-f multiboot,KERNEL[,MODULE[;CMDLINE][:MODULE[;CMDLINE]]...][,CMDLINE]", "kernel",
     parse_multiboot},
    {"bootrom", HK_BOOT_BOOTROM, false, "booting from a ROM", "-f bootrom,ROM", "ROM",
     parse_single_file},
    {"flat64", HK_BOOT_FLAT64, true, "flat64", "-f flat64,FILE", "file", parse_single_file},
};

/* Split s in place at its first n-1 commas; empty fields become NULL. */
static void split_fields(char *s, int n, char **out)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    for (int i = 0; s && i < n; i++) {
        char *comma = i < n - 1 ? strchr(s, ',') : NULL;
        if (comma)
            *comma = '\0';
        out[i] = *s ? s : NULL;
        s = comma ? comma + 1 : NULL;
    }
}

/* Drop one pair of surrounding double quotes; "" becomes NULL. */
static char *unquote(char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s[len - 1] = '\0';
        s++;
    }
    return s && *s ? s : NULL;
}

static int check_file(struct hk_config *cfg, const struct boot_kind *k, const char *what,
                      const char *path)
{
    char opt[32];
    snprintf(opt, sizeof(opt), "-f %s", k->name);
    return config_check_file(cfg, opt, what, path);
}

static int missing(struct hk_config *cfg, const struct boot_kind *k)
{
    return config_fail(cfg, HK_EINVAL, "-f %s: missing %s (expected %s)", k->name, k->file,
                       k->syntax);
}

/* args split into n fields f, the first the kind's file, which must be
 * there and readable. */
static int file_fields(struct hk_config *cfg, const struct boot_kind *k, char *args, int n,
                       char **f)
{
    split_fields(args, n, f);
    if (f[0] == NULL)
        return missing(cfg, k);
    return check_file(cfg, k, k->file, f[0]);
}

static int parse_kexec(struct hk_config *cfg, const struct boot_kind *k, char *args,
                       struct hk_boot *b)
{
    char *f[3];
    int rc = file_fields(cfg, k, args, 3, f);
    if (rc == HK_OK && f[1])
        rc = check_file(cfg, k, "initrd", f[1]);
    if (rc != HK_OK)
        return rc;
    bool failed = false;
    b->kernel = config_strdup(f[0], &failed);
    b->initrd = config_strdup(f[1], &failed);
    b->cmdline = config_strdup(unquote(f[2]), &failed);
    return failed ? HK_ENOMEM : HK_OK;
}

/* One "PATH[;CMDLINE]" entry of a multiboot module list. */
static int parse_module(struct hk_config *cfg, const struct boot_kind *k, char *entry,
                        struct hk_boot *b)
{
    char *semi = strchr(entry, ';');
    if (semi)
        *semi = '\0';
    if (*entry == '\0')
        return config_fail(cfg, HK_EINVAL, "-f multiboot: empty module name (expected %s)",
                           k->syntax);
    if (b->nmodules >= HK_MAX_BOOT_MODULES)
        return config_fail(cfg, HK_EINVAL, "-f multiboot: too many modules (at most %d)",
                           HK_MAX_BOOT_MODULES);
    int rc = check_file(cfg, k, "module", entry);
    if (rc != HK_OK)
        return rc;
    bool failed = false;
    struct hk_boot_module *m = &b->modules[b->nmodules++];
    m->path = config_strdup(entry, &failed);
    m->cmdline = config_strdup(semi && semi[1] ? semi + 1 : NULL, &failed);
    return failed ? HK_ENOMEM : HK_OK;
}

static int parse_multiboot(struct hk_config *cfg, const struct boot_kind *k, char *args,
                           struct hk_boot *b)
{
    char *f[3];
    int rc = file_fields(cfg, k, args, 3, f);
    for (char *list = f[1]; rc == HK_OK && list;) {
        char *colon = strchr(list, ':');
        if (colon)
            *colon = '\0';
        rc = parse_module(cfg, k, list, b);
        list = colon ? colon + 1 : NULL;
    }
    if (rc != HK_OK)
        return rc;
    bool failed = false;
    b->kernel = config_strdup(f[0], &failed);
    b->cmdline = config_strdup(unquote(f[2]), &failed);
    return failed ? HK_ENOMEM : HK_OK;
}

/* bootrom,ROM and flat64,FILE: one file and nothing after it. */
static int parse_single_file(struct hk_config *cfg, const struct boot_kind *k, char *args,
                             struct hk_boot *b)
{
    char *f[2];
    int rc = file_fields(cfg, k, args, 2, f);
    if (rc != HK_OK)
        return rc;
    if (f[1] != NULL)
        return config_fail(cfg, HK_EINVAL, "-f %s: unexpected ',%s' (expected %s)", k->name, f[1],
                           k->syntax);
    bool failed = false;
    b->kernel = config_strdup(f[0], &failed);
    return failed ? HK_ENOMEM : HK_OK;
}

static const struct boot_kind *boot_kind_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(boot_kinds) / sizeof(boot_kinds[0]); i++) {
        if (strlen(boot_kinds[i].name) == len && strncmp(boot_kinds[i].name, name, len) == 0)
            return &boot_kinds[i];
    }
    return NULL;
}

void config_boot_release(struct hk_boot *b)
{
    free(b->kernel);
    free(b->initrd);
    free(b->cmdline);
    for (int i = 0; i < b->nmodules; i++) {
        free(b->modules[i].path);
        free(b->modules[i].cmdline);
    }
    *b = (struct hk_boot){0};
}

static const struct boot_kind *boot_kind_of(enum hk_boot_kind kind)
{
    for (size_t i = 0; i < sizeof(boot_kinds) / sizeof(boot_kinds[0]); i++) {
        if (boot_kinds[i].kind == kind)
            return &boot_kinds[i];
    }
    return NULL;
}

int config_parse_boot(struct hk_config *cfg, const char *spec, struct hk_boot *out)
{
    *out = (struct hk_boot){0};
    if (spec == NULL || *spec == '\0')
        return config_fail(cfg, HK_EINVAL, "-f: missing firmware (expected kexec, multiboot, "
                                           "bootrom or flat64)");
    const char *comma = strchr(spec, ',');
    size_t klen = comma ? (size_t)(comma - spec) : strlen(spec);
    const struct boot_kind *k = boot_kind_find(spec, klen);
    if (k == NULL && klen == 4 && strncmp(spec, "fbsd", 4) == 0)
        return config_fail(cfg, HK_ENOTSUP, "-f fbsd: FreeBSD userboot is not supported on Linux");
    if (k == NULL)
        return config_fail(cfg, HK_EINVAL,
                           "-f: unknown firmware '%.*s' (expected kexec, multiboot, bootrom or "
                           "flat64)", (int)klen, spec);
    char *args = strdup(comma ? comma + 1 : "");
    if (args == NULL)
        return config_fail(cfg, HK_ENOMEM, "-f %s: out of memory", k->name);
    out->kind = k->kind;
    int rc = k->parse(cfg, k, args, out);
    free(args);
    if (rc == HK_ENOMEM)
        config_fail(cfg, rc, "-f %s: out of memory", k->name);
    if (rc != HK_OK) {
        config_boot_release(out);
        return rc;
    }
    return config_ok(cfg);
}

int hk_config_set_boot(hk_config *cfg, const char *spec)
{
    if (cfg == NULL)
        return HK_EINVAL;
    if (cfg->boot.kind != HK_BOOT_NONE)
        return config_fail(cfg, HK_EEXIST, "-f %s: the firmware is already set (-f %s)",
                           spec ? spec : "", boot_kind_of(cfg->boot.kind)->name);
    struct hk_boot b;
    int rc = config_parse_boot(cfg, spec, &b);
    if (rc != HK_OK)
        return rc;
    const struct boot_kind *k = boot_kind_of(b.kind);
    if (!k->implemented) {
        config_boot_release(&b);
        return config_fail(cfg, HK_ENOTSUP, "-f %s: %s is not implemented yet", k->name, k->what);
    }
    cfg->boot = b;
    return config_ok(cfg);
}
