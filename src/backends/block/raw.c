/*
 * Raw images: the guest's bytes are the file's bytes. The size is the
 * file's, rounded down to whole 512-byte sectors (a partial last sector
 * is not visible to the guest).
 */
#include <stdlib.h>

#include "backends/block/blk_priv.h"

static struct blk_file *file_of(struct blk *b)
{
    return b->priv;
}

static int raw_preadv(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return blk_file_preadv(file_of(b), iov, iovcnt, off);
}

static int raw_pwritev(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return blk_file_pwritev(file_of(b), iov, iovcnt, off);
}

/* A hint: a file system that cannot punch holes keeps the data. */
static int raw_discard(struct blk *b, uint64_t off, uint64_t len)
{
    int r = blk_file_punch(file_of(b), off, len);
    return r == HK_ENOTSUP ? 0 : r;
}

/* Punching reads back zeros too, and frees the space when allowed;
 * otherwise ZERO_RANGE keeps the blocks allocated; plain zeros last. */
static int raw_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap)
{
    struct blk_file *f = file_of(b);
    int r = HK_ENOTSUP;
    if (may_unmap)
        r = blk_file_punch(f, off, len);
    if (r == HK_ENOTSUP)
        r = blk_file_zero_range(f, off, len);
    if (r == HK_ENOTSUP)
        r = blk_file_write_zeros(f, off, len);
    return r;
}

static int raw_flush(struct blk *b)
{
    return blk_file_sync(file_of(b));
}

static void raw_close(struct blk *b)
{
    blk_file_close(file_of(b));
    free(b->priv);
}

static const struct blk_ops raw_ops = {
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .flush = raw_flush,
    .close = raw_close,
};

int raw_open(struct blk *b, const char *path, const struct blk_opts *opts, char *err,
             size_t errlen)
{
    struct blk_file *f = calloc(1, sizeof(*f));
    if (!f)
        return blk_fail(err, errlen, HK_ENOMEM, "%s: out of memory", path);
    int r = blk_file_open(path, opts, f, err, errlen);
    if (r < 0) {
        free(f);
        return r;
    }
    b->ops = &raw_ops;
    b->priv = f;
    b->size = f->length & ~(uint64_t)511;
    return 0;
}
