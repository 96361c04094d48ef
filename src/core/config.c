/*
 * VM configuration: the hk_config_* calls of the public API. Each setter
 * takes the same text as the hyperkit option it stands for, validates it
 * fully, and on failure leaves cfg unchanged and one line in cfg->error.
 *
 * LPC parsing lives in config_devices.c, -f parsing in config_boot.c, and
 * -s parsing in board/config_pci.c (it needs the device-type table).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/config_copy.h"
#include "core/config_priv.h"
#include "core/vm.h"

#define MIB (1024ull * 1024)
#define MEM_DEFAULT (256 * MIB)
#define MEM_MAX (1ull << 40) /* 1 TiB: far beyond any sane guest on one host */
#define MEM_ALIGN 4096ull    /* guest RAM is mapped in whole pages */

/* --- Shared helpers -------------------------------------------------------- */

int config_fail(struct hk_config *cfg, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
    va_end(ap);
    /* The message quotes user text; keep it to one line whatever that is. */
    for (char *p = cfg->error; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    return err;
}

int config_ok(struct hk_config *cfg)
{
    cfg->error[0] = '\0';
    return HK_OK;
}

bool config_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

int config_check_file(struct hk_config *cfg, const char *opt, const char *what,
                      const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return config_fail(cfg, HK_ENOENT, "%s: %s '%s' does not exist", opt, what, path);
        return config_fail(cfg, HK_EIO, "%s: %s '%s': %s", opt, what, path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return config_fail(cfg, HK_EINVAL, "%s: %s '%s' is a directory", opt, what, path);
    return HK_OK;
}

char *config_strdup(const char *s, bool *failed)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *failed = true;
    return d;
}

/* --- Life cycle ----------------------------------------------------------- */

int hk_config_new(hk_config **out)
{
    if (out == NULL)
        return HK_EINVAL;
    struct hk_config *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return HK_ENOMEM;
    cfg->memory_bytes = MEM_DEFAULT;
    cfg->vcpus = 1;
    strcpy(cfg->accel, "auto");
    cfg->log_level = HK_LOG_WARN;
    for (int i = 0; i < HK_MAX_COM; i++) {
        cfg->com[i].in_fd = -1;
        cfg->com[i].out_fd = -1;
    }
    *out = cfg;
    return HK_OK;
}

void hk_config_free(hk_config *cfg)
{
    if (cfg == NULL)
        return;
    config_release(cfg);
    free(cfg);
}

const char *hk_config_error(const hk_config *cfg)
{
    return cfg ? cfg->error : "";
}

/* --- -m ------------------------------------------------------------------- */

/* The binary shift a size suffix stands for, or -1 if it is not one. */
static int size_shift(char c)
{
    switch (tolower((unsigned char)c)) {
    case 'k': return 10;
    case 'm': return 20;
    case 'g': return 30;
    case 't': return 40;
    case 'p': return 50;
    case 'e': return 60;
    default: return -1;
    }
}

/*
 * hyperkit's rules: a bare number below 1 MiB is MiB (bhyve's backward
 * compatibility), any other bare number is bytes, and K/M/G/T/P/E scale by
 * powers of 1024. We also take a trailing B ("512MB"), and "B" alone means
 * bytes as in hyperkit. Returns 0, -1 for junk, or -2 for overflow.
 */
static int parse_size(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0]))
        return -1;
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, hex ? 16 : 10);
    if (errno == ERANGE)
        return -2;
    if (end == s || (hex && end == s + 2))
        return -1;
    if (*end == '\0') {
        *out = n < MIB ? n * MIB : n;
        return 0;
    }
    int shift = size_shift(*end);
    if (shift < 0) {
        shift = 0;
        if (tolower((unsigned char)*end) != 'b')
            return -1;
    } else if (tolower((unsigned char)end[1]) == 'b') {
        end++;
    }
    if (end[1] != '\0')
        return -1;
    if (n > (UINT64_MAX >> shift))
        return -2;
    *out = (uint64_t)n << shift;
    return 0;
}

int hk_config_set_memory(hk_config *cfg, const char *size)
{
    if (cfg == NULL)
        return HK_EINVAL;
    if (size == NULL)
        return config_fail(cfg, HK_EINVAL, "-m: missing memory size");
    uint64_t bytes = 0;
    int rc = parse_size(size, &bytes);
    if (rc == -1)
        return config_fail(cfg, HK_EINVAL,
                           "-m %s: invalid memory size (expected a number with an optional "
                           "K, M, G or T suffix)", size);
    if (rc == -2 || bytes > MEM_MAX)
        return config_fail(cfg, HK_EINVAL, "-m %s: memory size is above the limit of 1 TiB",
                           size);
    if (bytes < MIB)
        return config_fail(cfg, HK_EINVAL, "-m %s: memory size must be at least 1 MiB", size);
    if (bytes % MEM_ALIGN != 0)
        return config_fail(cfg, HK_EINVAL, "-m %s: memory size must be a multiple of 4 KiB",
                           size);
    cfg->memory_bytes = bytes;
    return config_ok(cfg);
}

/* --- -c ------------------------------------------------------------------- */

int hk_config_set_vcpus(hk_config *cfg, const char *count)
{
    if (cfg == NULL)
        return HK_EINVAL;
    uint64_t n;
    if (!config_parse_uint(count, INT_MAX, &n))
        return config_fail(cfg, HK_EINVAL, "-c %s: invalid vCPU count (expected a positive number)",
                           count ? count : "");
    if (n < 1)
        return config_fail(cfg, HK_EINVAL, "-c %s: vCPU count must be at least 1", count);
    if (n > VM_MAX_VCPUS)
        return config_fail(cfg, HK_ENOTSUP,
                           "-c %s: SMP is not implemented yet (at most %d vCPU)", count,
                           VM_MAX_VCPUS);
    cfg->vcpus = (int)n;
    return config_ok(cfg);
}

/* --- -U ------------------------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * The 8-4-4-4-12 text form, stored byte for byte in text order (RFC 4122
 * network order); whoever writes SMBIOS swaps the first three fields.
 */
int hk_config_set_uuid(hk_config *cfg, const char *uuid)
{
    if (cfg == NULL)
        return HK_EINVAL;
    uint8_t bytes[16];
    int nibbles = 0;
    size_t len = uuid ? strlen(uuid) : 0;
    for (size_t i = 0; i < len && len == 36; i++) {
        bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
        int v = dash_pos ? -1 : hex_digit(uuid[i]);
        if (dash_pos ? uuid[i] != '-' : v < 0)
            break;
        if (dash_pos)
            continue;
        if (nibbles % 2 == 0)
            bytes[nibbles / 2] = (uint8_t)(v << 4);
        else
            bytes[nibbles / 2] |= (uint8_t)v;
        nibbles++;
    }
    if (nibbles != 32)
        return config_fail(cfg, HK_EINVAL,
                           "-U %s: invalid UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                           uuid ? uuid : "");
    memcpy(cfg->uuid, bytes, sizeof(bytes));
    cfg->has_uuid = true;
    return config_ok(cfg);
}

/* --- -g ------------------------------------------------------------------- */

int hk_config_set_gdb_port(hk_config *cfg, const char *port)
{
    if (cfg == NULL)
        return HK_EINVAL;
    uint64_t n;
    if (!config_parse_uint(port, 65535, &n) || n == 0)
        return config_fail(cfg, HK_EINVAL, "-g %s: invalid port (expected 1-65535)",
                           port ? port : "");
    /* Parsed so a bad value is still reported as such; flip when the stub lands. */
    return config_fail(cfg, HK_ENOTSUP, "-g %s: the GDB stub is not implemented yet", port);
}

/* --- Flags ---------------------------------------------------------------- */

static const struct flag_info {
    char letter;
    const char *what;   /* for "-X: <what> is not implemented yet" */
    bool implemented;   /* can it be turned on in this build? */
} flag_info[HK_FLAG_COUNT] = {
    [HK_FLAG_ACPI] = {'A', "ACPI table generation", true},
    [HK_FLAG_CORE_GUESTMEM] = {'C', "guest memory in core dumps", true},
    [HK_FLAG_EXIT_ON_UNHANDLED_IO] = {'e', "exit on unhandled I/O", true},
    [HK_FLAG_EXIT_ON_HLT] = {'H', "vmexit on HLT", true},
    [HK_FLAG_EXIT_ON_PAUSE] = {'P', "vmexit on PAUSE", true},
    [HK_FLAG_RTC_UTC] = {'u', "the RTC (keeping UTC)", true},
    [HK_FLAG_IGNORE_BAD_MSR] = {'w', "ignoring unimplemented MSRs", true},
    [HK_FLAG_VIRTIO_MSIX_OFF] = {'W', "single-vector MSI for virtio", true},
    [HK_FLAG_X2APIC] = {'x', "x2APIC mode", false},
    [HK_FLAG_NO_MPTABLE] = {'Y', "disabling the MP table", true},
};

int hk_config_set_flag(hk_config *cfg, enum hk_flag flag, bool on)
{
    if (cfg == NULL)
        return HK_EINVAL;
    if ((unsigned)flag >= HK_FLAG_COUNT)
        return config_fail(cfg, HK_EINVAL, "unknown flag %d", (int)flag);
    const struct flag_info *fi = &flag_info[flag];
    /* Turning an unimplemented feature off is fine: off is what we do. */
    if (on && !fi->implemented)
        return config_fail(cfg, HK_ENOTSUP, "-%c: %s is not implemented yet", fi->letter,
                           fi->what);
    cfg->flags[flag] = on;
    return config_ok(cfg);
}

/* --- Engine, debug exit, logging ------------------------------------------ */

int hk_config_set_accel(hk_config *cfg, const char *name)
{
    static const char *const names[] = {"auto", "emu", "kvm"};
    if (cfg == NULL)
        return HK_EINVAL;
    for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            snprintf(cfg->accel, sizeof(cfg->accel), "%s", names[i]);
            return config_ok(cfg);
        }
    }
    return config_fail(cfg, HK_EINVAL, "unknown accelerator '%s' (expected auto, emu or kvm)",
                       name ? name : "");
}

int hk_config_set_debug_exit(hk_config *cfg, uint16_t port)
{
    if (cfg == NULL)
        return HK_EINVAL;
    cfg->debug_exit_port = port;
    return config_ok(cfg);
}

int hk_config_set_trace(hk_config *cfg, const char *path)
{
    if (cfg == NULL)
        return HK_EINVAL;
    char *copy = NULL;
    if (path && !(copy = strdup(path)))
        return config_fail(cfg, HK_ENOMEM, "out of memory");
    free(cfg->trace_path);
    cfg->trace_path = copy;
    return config_ok(cfg);
}

void hk_config_set_log(hk_config *cfg, hk_log_fn fn, void *opaque, enum hk_log_level max_level)
{
    if (cfg == NULL)
        return;
    cfg->log_fn = fn;
    cfg->log_opaque = opaque;
    cfg->log_level = max_level;
    config_ok(cfg);
}

/* --- Copies, for the VM core ---------------------------------------------- */

/* Every string field of dst becomes a copy of src's (or NULL): none is
 * left pointing into src, so dst can always be released. */
int config_copy(struct hk_config *dst, const struct hk_config *src)
{
    bool failed = false;
    *dst = *src;
    for (int i = 0; i < src->npci; i++)
        dst->pci[i].conf = config_strdup(src->pci[i].conf, &failed);
    for (int i = 0; i < HK_MAX_COM; i++)
        dst->com[i].path = config_strdup(src->com[i].path, &failed);
    dst->trace_path = config_strdup(src->trace_path, &failed);
    dst->boot.kernel = config_strdup(src->boot.kernel, &failed);
    dst->boot.initrd = config_strdup(src->boot.initrd, &failed);
    dst->boot.cmdline = config_strdup(src->boot.cmdline, &failed);
    for (int i = 0; i < src->boot.nmodules; i++) {
        dst->boot.modules[i].path = config_strdup(src->boot.modules[i].path, &failed);
        dst->boot.modules[i].cmdline = config_strdup(src->boot.modules[i].cmdline, &failed);
    }
    if (failed) {
        config_release(dst);
        return HK_ENOMEM;
    }
    return HK_OK;
}

void config_release(struct hk_config *cfg)
{
    for (int i = 0; i < cfg->npci; i++) {
        free(cfg->pci[i].conf);
        cfg->pci[i].conf = NULL;
    }
    for (int i = 0; i < HK_MAX_COM; i++) {
        free(cfg->com[i].path);
        cfg->com[i].path = NULL;
    }
    free(cfg->trace_path);
    cfg->trace_path = NULL;
    free(cfg->boot.kernel);
    free(cfg->boot.initrd);
    free(cfg->boot.cmdline);
    cfg->boot.kernel = cfg->boot.initrd = cfg->boot.cmdline = NULL;
    for (int i = 0; i < cfg->boot.nmodules; i++) {
        free(cfg->boot.modules[i].path);
        free(cfg->boot.modules[i].cmdline);
        cfg->boot.modules[i].path = cfg->boot.modules[i].cmdline = NULL;
    }
}
