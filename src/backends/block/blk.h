/*
 * Disk images behind a block device: raw files and qcow2 images, opened
 * with a one-line error for anything wrong, locked so two VMs cannot use
 * one image for writing, and accessed with scatter-gather calls that are
 * safe from several threads at once.
 */
#ifndef HK_BACKENDS_BLOCK_BLK_H
#define HK_BACKENDS_BLOCK_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum blk_format { BLK_FORMAT_AUTO, BLK_FORMAT_RAW, BLK_FORMAT_QCOW2 };

struct blk_opts {
    enum blk_format format;     /* AUTO: qcow2 if the file has its magic, else raw */
    bool readonly;
    bool sync;                  /* O_SYNC: every write is on disk when it completes */
    bool direct;                /* O_DIRECT where the file system allows it */
    bool discard;               /* guest discards free space (punch hole / free clusters) */
};

struct blk;

/* Open path. 0, or a negative HK_E* code with one line in err naming what
 * is wrong (missing file, locked by another process, bad or unsupported
 * qcow2 feature...). */
int blk_open(const char *path, const struct blk_opts *opts, struct blk **out, char *err,
             size_t errlen);
void blk_close(struct blk *b);

uint64_t blk_size(const struct blk *b);         /* guest-visible bytes */
bool blk_readonly(const struct blk *b);
bool blk_can_discard(const struct blk *b);

/* All four: 0, or HK_EIO / HK_EINVAL (range past the end). off and the
 * total length are multiples of 512. Thread-safe. */
int blk_preadv(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off);
int blk_pwritev(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off);
int blk_discard(struct blk *b, uint64_t off, uint64_t len);
int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap);
/* Everything written before the call is on stable storage when it
 * returns 0 (metadata included). */
int blk_flush(struct blk *b);

#endif
