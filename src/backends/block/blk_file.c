/*
 * The host file under an image: open and lock it, and move whole
 * transfers (short counts loop, EINTR retries).
 *
 * O_DIRECT needs the buffer address, the offset and the length aligned to
 * the device's logical block; guest buffers from a virtqueue are arbitrary.
 * So `direct` opens the file twice: aligned requests (4 KiB, which suits
 * every common device) go through the O_DIRECT descriptor, the rest through
 * the buffered one. Linux keeps the two coherent (a direct transfer writes
 * back and drops the cached pages of its range first). Where the file
 * system refuses O_DIRECT (tmpfs), everything is buffered.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/block/blk_priv.h"

#define DIO_ALIGN 4096u

int blk_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int errno_code(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ENXIO:
        return HK_ENOENT;
    case ENOMEM:
        return HK_ENOMEM;
    default:
        return HK_EIO;
    }
}

/* OFD locks belong to the open file description, so a second open of the
 * same image conflicts even inside this process, and the lock goes away
 * with the last descriptor (no stale lock files after a crash). */
static int lock_file(int fd, bool write, const char *path, char *err, size_t errlen)
{
    struct flock fl = {.l_type = write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    if (errno == EAGAIN || errno == EACCES)
        return blk_fail(err, errlen, HK_EIO, "%s: in use by another process (locked)", path);
    /* A file system without locks (some network ones): use it unlocked. */
    if (errno == EINVAL || errno == ENOLCK || errno == EOPNOTSUPP)
        return 0;
    return blk_fail(err, errlen, HK_EIO, "%s: cannot lock: %s", path, strerror(errno));
}

int blk_file_open(const char *path, const struct blk_opts *opts, struct blk_file *f, char *err,
                  size_t errlen)
{
    int flags = (opts->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY;
    if (opts->sync)
        flags |= O_DSYNC;
    f->fd = f->dfd = -1;
    f->fd = open(path, flags);
    if (f->fd < 0)
        return blk_fail(err, errlen, errno_code(errno), "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(f->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        blk_file_close(f);
        return blk_fail(err, errlen, HK_EINVAL, "%s: not a regular file or block device", path);
    }
    f->is_bdev = S_ISBLK(st.st_mode);
    int r = lock_file(f->fd, !opts->readonly, path, err, errlen);
    if (r < 0) {
        blk_file_close(f);
        return r;
    }
    off_t end = lseek(f->fd, 0, SEEK_END);
    if (end < 0) {
        r = blk_fail(err, errlen, HK_EIO, "%s: cannot find its size: %s", path, strerror(errno));
        blk_file_close(f);
        return r;
    }
    f->length = (uint64_t)end;
    if (opts->direct)
        f->dfd = open(path, flags | O_DIRECT); /* -1: the file system refuses it */
    return 0;
}

void blk_file_close(struct blk_file *f)
{
    if (f->dfd >= 0)
        close(f->dfd);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = f->dfd = -1;
}

static bool dio_ok(const struct blk_file *f, const struct iovec *iov, int iovcnt, uint64_t off)
{
    if (f->dfd < 0 || off % DIO_ALIGN)
        return false;
    for (int i = 0; i < iovcnt; i++)
        if ((uintptr_t)iov[i].iov_base % DIO_ALIGN || iov[i].iov_len % DIO_ALIGN)
            return false;
    return true;
}

/* Drop n transferred bytes from the front of v[0..*cnt). */
static struct iovec *advance(struct iovec *v, int *cnt, size_t n)
{
    while (*cnt > 0 && n >= v->iov_len) {
        n -= v->iov_len;
        v++;
        (*cnt)--;
    }
    if (*cnt > 0 && n) {
        v->iov_base = (char *)v->iov_base + n;
        v->iov_len -= n;
    }
    return v;
}

static int transfer(struct blk_file *f, const struct iovec *iov, int iovcnt, uint64_t off,
                    bool write)
{
    if (iovcnt <= 0)
        return 0;
    int fd = dio_ok(f, iov, iovcnt, off) ? f->dfd : f->fd;
    struct iovec stackv[16], *copy = stackv;
    if (iovcnt > 16 && !(copy = malloc(sizeof(*copy) * (size_t)iovcnt)))
        return HK_ENOMEM;
    memcpy(copy, iov, sizeof(*copy) * (size_t)iovcnt);
    struct iovec *v = copy;
    int cnt = iovcnt, rc = 0;
    while (cnt > 0) {
        if (v->iov_len == 0) {
            v++, cnt--;
            continue;
        }
        int n = cnt < IOV_MAX ? cnt : IOV_MAX;
        ssize_t r = write ? pwritev(fd, v, n, (off_t)off) : preadv(fd, v, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (r == 0 && write)) {
            rc = HK_EIO;
            break;
        }
        if (r == 0) { /* end of file: the rest reads as zeros */
            for (int i = 0; i < cnt; i++)
                memset(v[i].iov_base, 0, v[i].iov_len);
            break;
        }
        off += (uint64_t)r;
        v = advance(v, &cnt, (size_t)r);
    }
    if (copy != stackv)
        free(copy);
    return rc;
}

int blk_file_preadv(struct blk_file *f, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return transfer(f, iov, iovcnt, off, false);
}

int blk_file_pwritev(struct blk_file *f, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return transfer(f, iov, iovcnt, off, true);
}

int blk_file_pread(struct blk_file *f, void *buf, size_t len, uint64_t off)
{
    struct iovec v = {buf, len};
    return transfer(f, &v, 1, off, false);
}

int blk_file_pwrite(struct blk_file *f, const void *buf, size_t len, uint64_t off)
{
    struct iovec v = {(void *)buf, len};
    return transfer(f, &v, 1, off, true);
}

/* fdatasync writes back the inode's data whichever descriptor dirtied it,
 * and the size and block maps needed to read it back. */
int blk_file_sync(struct blk_file *f)
{
    while (fdatasync(f->fd) < 0)
        if (errno != EINTR)
            return HK_EIO;
    return 0;
}

static int falloc(struct blk_file *f, int mode, uint64_t off, uint64_t len)
{
    if (len == 0)
        return 0;
    while (fallocate(f->fd, mode, (off_t)off, (off_t)len) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL || errno == ENODEV)
            return HK_ENOTSUP;
        return HK_EIO;
    }
    return 0;
}

int blk_file_punch(struct blk_file *f, uint64_t off, uint64_t len)
{
    return falloc(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

int blk_file_zero_range(struct blk_file *f, uint64_t off, uint64_t len)
{
    return falloc(f, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
}

int blk_file_write_zeros(struct blk_file *f, uint64_t off, uint64_t len)
{
    static const uint8_t zeros[65536];
    while (len) {
        size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
        int r = blk_file_pwrite(f, zeros, n, off);
        if (r < 0)
            return r;
        off += n;
        len -= n;
    }
    return 0;
}
