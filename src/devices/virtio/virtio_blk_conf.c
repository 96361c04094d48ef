/*
 * virtio-blk's option string, as moby/hyperkit's block_if.c reads it
 * (PATH then comma-separated words) and as its Go package writes it
 * (a file:// URL with mirage-block's query, format=qcow, qcow-config=).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_blk.h"
#include "hyperkit.h"

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

static bool parse_u32(const char *s, const char *end, uint32_t *out)
{
    char *e;
    if (s == end || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &e, 10);
    if (errno || e != end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

/* sectorsize=L or L/P: L a power of two from 512 to 64 KiB, P a power of
 * two at least L. */
static int parse_sectorsize(const char *v, struct vblk_conf *c, char *err, size_t errlen)
{
    const char *slash = strchr(v, '/');
    const char *lend = slash ? slash : v + strlen(v);
    uint32_t l, p;
    if (!parse_u32(v, lend, &l) || (slash && !parse_u32(slash + 1, slash + 1 + strlen(slash + 1), &p)))
        return fail(err, errlen, HK_EINVAL, "virtio-blk: invalid sectorsize '%s'", v);
    if (!slash)
        p = l;
    if (!pow2(l) || l < 512 || l > 65536 || !pow2(p) || p < l || p > 65536)
        return fail(err, errlen, HK_EINVAL,
                    "virtio-blk: sectorsize '%s': sizes must be powers of two from 512 to 65536, "
                    "physical at least logical", v);
    c->sector_size = l;
    c->phys_sector_size = p;
    return HK_OK;
}

/* mirage-block's qcow configuration: KEY=VALUE;...; only discard acts. */
static int parse_qcow_config(const char *v, struct vblk_conf *c, char *err, size_t errlen)
{
    for (const char *p = v; *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq || eq == p)
            return fail(err, errlen, HK_EINVAL, "virtio-blk: qcow-config: expected KEY=VALUE, got '%.*s'",
                        (int)n, p);
        size_t vl = n - (size_t)(eq + 1 - p);
        if ((size_t)(eq - p) == 7 && strncmp(p, "discard", 7) == 0) {
            if (vl == 4 && strncmp(eq + 1, "true", 4) == 0)
                c->opts.discard = true;
            else if (vl == 5 && strncmp(eq + 1, "false", 5) == 0)
                c->opts.discard = false;
            else
                return fail(err, errlen, HK_EINVAL,
                            "virtio-blk: qcow-config: discard must be true or false");
        }
        p += n + (semi ? 1 : 0);
    }
    return HK_OK;
}

/* file://PATH?KEY=VALUE&...: sync (none, os, full, drive or empty: the
 * guest's flushes are always honoured) and buffered (0: O_DIRECT). */
static int parse_url(const char *url, struct vblk_conf *c, char *err, size_t errlen)
{
    const char *q = strchr(url, '?');
    size_t plen = q ? (size_t)(q - url) : strlen(url);
    if (plen == 0)
        return fail(err, errlen, HK_EINVAL, "virtio-blk: file:// URL without a path");
    if (!(c->path = strndup(url, plen)))
        return fail(err, errlen, HK_ENOMEM, "virtio-blk: out of memory");
    for (const char *p = q ? q + 1 : ""; *p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n >= 5 && strncmp(p, "sync=", 5) == 0) {
            static const char *const modes[] = {"", "none", "os", "full", "drive"};
            bool ok = false;
            for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
                ok |= n - 5 == strlen(modes[i]) && strncmp(p + 5, modes[i], n - 5) == 0;
            if (!ok)
                return fail(err, errlen, HK_EINVAL, "virtio-blk: unknown sync mode '%.*s'",
                            (int)(n - 5), p + 5);
        } else if (n == 10 && strncmp(p, "buffered=1", 10) == 0) {
            c->opts.direct = false;
        } else if (n == 10 && strncmp(p, "buffered=0", 10) == 0) {
            c->opts.direct = true;
        } else if (n > 0) {
            return fail(err, errlen, HK_EINVAL, "virtio-blk: unknown file:// parameter '%.*s'",
                        (int)n, p);
        }
        p += n + (amp ? 1 : 0);
    }
    return HK_OK;
}

static int parse_word(const char *w, struct vblk_conf *c, char *err, size_t errlen)
{
    if (strcmp(w, "ro") == 0)
        c->opts.readonly = true;
    else if (strcmp(w, "sync") == 0)
        c->opts.sync = true;
    else if (strcmp(w, "direct") == 0)
        c->opts.sync = c->opts.direct = true;    /* hyperkit: direct implies sync */
    else if (strcmp(w, "nocache") == 0)
        return fail(err, errlen, HK_ENOTSUP, "virtio-blk: 'nocache' is not supported (use 'direct')");
    else if (strcmp(w, "format=qcow") == 0 || strcmp(w, "format=qcow2") == 0)
        c->opts.format = BLK_FORMAT_QCOW2;
    else if (strcmp(w, "format=raw") == 0)
        c->opts.format = BLK_FORMAT_RAW;
    else if (strncmp(w, "qcow-config=", 12) == 0)
        return parse_qcow_config(w + 12, c, err, errlen);
    else if (strncmp(w, "sectorsize=", 11) == 0)
        return parse_sectorsize(w + 11, c, err, errlen);
    else
        return fail(err, errlen, HK_EINVAL, "virtio-blk: invalid option '%s'", w);
    return HK_OK;
}

int vblk_conf_parse(const char *conf, struct vblk_conf *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->opts = (struct blk_opts){.format = BLK_FORMAT_AUTO, .discard = true};
    c->sector_size = c->phys_sector_size = 512;
    if (!conf || !*conf || *conf == ',')
        return fail(err, errlen, HK_EINVAL, "virtio-blk: a disk image path is required");
    char *s = strdup(conf);
    if (!s)
        return fail(err, errlen, HK_ENOMEM, "virtio-blk: out of memory");
    char *save = NULL, *w = strtok_r(s, ",", &save);
    int r;
    if (strncmp(w, "file://", 7) == 0)
        r = parse_url(w + 7, c, err, errlen);
    else if (!(c->path = strdup(w)))
        r = fail(err, errlen, HK_ENOMEM, "virtio-blk: out of memory");
    else
        r = HK_OK;
    while (r == HK_OK && (w = strtok_r(NULL, ",", &save)) != NULL)
        r = parse_word(w, c, err, errlen);
    free(s);
    if (r != HK_OK)
        vblk_conf_free(c);
    return r;
}

void vblk_conf_free(struct vblk_conf *c)
{
    free(c->path);
    c->path = NULL;
}
