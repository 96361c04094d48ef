/*
 * Inside the block layer: the table of operations each image format fills
 * in, and the locked host file under it.
 */
#ifndef HK_BACKENDS_BLOCK_BLK_PRIV_H
#define HK_BACKENDS_BLOCK_BLK_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/block/blk.h"
#include "core/iov.h"
#include "hyperkit.h"

/* Backing chains longer than this are refused (and loops end here). */
#define BLK_MAX_DEPTH 16

struct blk_ops {
    /* Ranges are checked by blk.c (inside blk->size, 512-byte multiples)
     * except for reads of a backing file, which may end past its size:
     * the format returns zeros there. */
    int (*preadv)(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off);
    int (*pwritev)(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off);
    int (*discard)(struct blk *b, uint64_t off, uint64_t len);
    int (*write_zeroes)(struct blk *b, uint64_t off, uint64_t len, bool may_unmap);
    int (*flush)(struct blk *b);
    void (*close)(struct blk *b);
};

struct blk {
    const struct blk_ops *ops;
    void *priv;
    uint64_t size;          /* guest-visible bytes, a multiple of 512 */
    bool readonly;
    bool discard;           /* opts->discard and writable */
    bool probed_raw;        /* raw by detection: no write may make it look like qcow2 */
};

/* Open with the options of blk_open, at depth in a backing chain; a
 * caller that must not follow backing files (the fuzzer) sets no_backing. */
int blk_open_depth(const char *path, const struct blk_opts *opts, int depth, bool no_backing,
                   struct blk **out, char *err, size_t errlen);

/* Read [off, off+len) of b as a backing file: zeros past its end. */
int blk_backing_preadv(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off);

/* --- The host file (blk_file.c) -------------------------------------- */

struct blk_file {
    int fd;                 /* buffered (or O_DSYNC with opts->sync) */
    int dfd;                /* the same file with O_DIRECT, or -1 */
    uint64_t length;        /* bytes at open time */
    bool is_bdev;
};

/* Open path read-only or read-write, take the OFD lock (a write lock for
 * read-write, a read lock for read-only) and learn the length. */
int blk_file_open(const char *path, const struct blk_opts *opts, struct blk_file *f, char *err,
                  size_t errlen);
void blk_file_close(struct blk_file *f);

/* Whole transfers: short reads and writes loop, EINTR retries. Reads
 * past the end of the file give zeros. Data requests use the O_DIRECT
 * descriptor when buffers, offset and length suit it. 0 or HK_EIO. */
int blk_file_preadv(struct blk_file *f, const struct iovec *iov, int iovcnt, uint64_t off);
int blk_file_pwritev(struct blk_file *f, const struct iovec *iov, int iovcnt, uint64_t off);
int blk_file_pread(struct blk_file *f, void *buf, size_t len, uint64_t off);
int blk_file_pwrite(struct blk_file *f, const void *buf, size_t len, uint64_t off);
int blk_file_sync(struct blk_file *f);
/* Deallocate (reads give zeros afterwards) or zero a range; HK_ENOTSUP
 * when the file system cannot. */
int blk_file_punch(struct blk_file *f, uint64_t off, uint64_t len);
int blk_file_zero_range(struct blk_file *f, uint64_t off, uint64_t len);
/* Write zeros with plain writes. */
int blk_file_write_zeros(struct blk_file *f, uint64_t off, uint64_t len);

/* One line into err; returns code. */
int blk_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* --- Formats --------------------------------------------------------- */

int raw_open(struct blk *b, const char *path, const struct blk_opts *opts, char *err,
             size_t errlen);
int qcow2_open(struct blk *b, const char *path, const struct blk_opts *opts, int depth,
               bool no_backing, char *err, size_t errlen);

#endif
