/*
 * The block layer's front: pick the format, check every range once, and
 * hand the request to the format's operations.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/block/blk_priv.h"
#include "backends/block/qcow2.h"

static int probe_format(const char *path, enum blk_format *fmt, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return blk_fail(err, errlen, errno == ENOENT || errno == ENOTDIR ? HK_ENOENT : HK_EIO,
                        "%s: %s", path, strerror(errno));
    uint8_t magic[4] = {0};
    ssize_t n;
    do
        n = pread(fd, magic, sizeof(magic), 0);
    while (n < 0 && errno == EINTR);
    close(fd);
    *fmt = n == 4 && qcow2_has_magic(magic) ? BLK_FORMAT_QCOW2 : BLK_FORMAT_RAW;
    return 0;
}

int blk_open_depth(const char *path, const struct blk_opts *opts, int depth, bool no_backing,
                   struct blk **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path)
        return blk_fail(err, errlen, HK_EINVAL, "no disk image path");
    if (depth > BLK_MAX_DEPTH)
        return blk_fail(err, errlen, HK_EINVAL, "%s: backing chain deeper than %d", path,
                        BLK_MAX_DEPTH);
    enum blk_format fmt = opts->format;
    if (fmt == BLK_FORMAT_AUTO) {
        int r = probe_format(path, &fmt, err, errlen);
        if (r < 0)
            return r;
    }
    struct blk *b = calloc(1, sizeof(*b));
    if (!b)
        return blk_fail(err, errlen, HK_ENOMEM, "%s: out of memory", path);
    b->readonly = opts->readonly;
    b->discard = opts->discard && !opts->readonly;
    b->probed_raw = opts->format == BLK_FORMAT_AUTO && fmt == BLK_FORMAT_RAW;
    int r = fmt == BLK_FORMAT_QCOW2 ? qcow2_open(b, path, opts, depth, no_backing, err, errlen)
                                    : raw_open(b, path, opts, err, errlen);
    if (r < 0) {
        free(b);
        return r;
    }
    *out = b;
    return 0;
}

int blk_open(const char *path, const struct blk_opts *opts, struct blk **out, char *err,
             size_t errlen)
{
    static const struct blk_opts defaults;
    return blk_open_depth(path, opts ? opts : &defaults, 0, false, out, err, errlen);
}

void blk_close(struct blk *b)
{
    if (!b)
        return;
    b->ops->close(b);
    free(b);
}

uint64_t blk_size(const struct blk *b)
{
    return b->size;
}

bool blk_readonly(const struct blk *b)
{
    return b->readonly;
}

bool blk_can_discard(const struct blk *b)
{
    return b->discard;
}

static bool range_ok(const struct blk *b, uint64_t off, uint64_t len)
{
    return off % 512 == 0 && len % 512 == 0 && off <= b->size && len <= b->size - off;
}

int blk_preadv(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
    size_t len = iov_total(iov, iovcnt);
    if (iovcnt < 0 || len == SIZE_MAX || !range_ok(b, off, len))
        return HK_EINVAL;
    return len ? b->ops->preadv(b, iov, iovcnt, off) : 0;
}

/* A raw image opened by detection must not start to look like qcow2:
 * the next detected open would read the guest's header (and a host file
 * it names as backing file). As QEMU does for probed raw images, a write
 * that would put the magic at offset 0 is refused. */
static bool writes_qcow2_magic(const struct iovec *iov, int iovcnt, uint64_t off)
{
    if (off != 0)
        return false;
    uint8_t head[4];
    size_t got = 0;
    for (int i = 0; i < iovcnt && got < sizeof(head); i++) {
        size_t n = iov[i].iov_len < sizeof(head) - got ? iov[i].iov_len : sizeof(head) - got;
        memcpy(head + got, iov[i].iov_base, n);
        got += n;
    }
    return got == sizeof(head) && qcow2_has_magic(head);
}

int blk_pwritev(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
    size_t len = iov_total(iov, iovcnt);
    if (b->readonly || iovcnt < 0 || len == SIZE_MAX || !range_ok(b, off, len))
        return HK_EINVAL;
    if (b->probed_raw && writes_qcow2_magic(iov, iovcnt, off))
        return HK_EIO;
    return len ? b->ops->pwritev(b, iov, iovcnt, off) : 0;
}

/* Discard is a hint: with discard off it does nothing. */
int blk_discard(struct blk *b, uint64_t off, uint64_t len)
{
    if (b->readonly || !range_ok(b, off, len))
        return HK_EINVAL;
    return b->discard && len ? b->ops->discard(b, off, len) : 0;
}

int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap)
{
    if (b->readonly || !range_ok(b, off, len))
        return HK_EINVAL;
    return len ? b->ops->write_zeroes(b, off, len, may_unmap && b->discard) : 0;
}

int blk_flush(struct blk *b)
{
    return b->readonly ? 0 : b->ops->flush(b);
}

int blk_backing_preadv(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
    size_t len = iov_total(iov, iovcnt);
    size_t inside = off >= b->size ? 0 : b->size - off < len ? (size_t)(b->size - off) : len;
    if (inside < len)
        iov_memset(iov, iovcnt, inside, 0, len - inside);
    if (!inside)
        return 0;
    if (inside == len)
        return b->ops->preadv(b, iov, iovcnt, off);
    struct iovec stackv[16], *v = stackv;
    if (iovcnt > 16 && !(v = malloc(sizeof(*v) * (size_t)iovcnt)))
        return HK_ENOMEM;
    int n = iov_slice(iov, iovcnt, 0, inside, v);
    int r = b->ops->preadv(b, v, n, off);
    if (v != stackv)
        free(v);
    return r;
}
