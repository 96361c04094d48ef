/* 9P operations on file contents: open, create, read, write, readdir,
 * fsync (p9_priv.h). */
#include "backends/p9/p9_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Open flags a guest may pass through (Linux's P9_DOTL_* equal the x86
 * O_* values). O_DIRECT is dropped (the guest's buffers are not ours to
 * align), O_NOATIME (EPERM on files of other users), O_CREAT/O_EXCL come
 * only with Tlcreate. */
#define P9_OPEN_MASK (O_ACCMODE | O_TRUNC | O_APPEND | O_DSYNC | O_SYNC)

static bool writes(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* Clamp *count to what fits in o after its 4-byte count field. */
static int fit_count(const struct p9_out *o, uint32_t *count)
{
    size_t room = o->cap - o->off;
    if (room < 4)
        return EMSGSIZE;
    if (*count > room - 4)
        *count = (uint32_t)(room - 4);
    return 0;
}

/* Read a Tread (dir false) or Treaddir (dir true) request, fid[4]
 * offset[8] count[4]: its opened fid, its offset and its count clamped to
 * what fits in the reply o. */
static int read_req(struct p9_server *s, struct p9_in *in, struct p9_out *o, bool dir,
                    struct p9_fid **out, uint64_t *off, uint32_t *count)
{
    uint32_t fidn = p9_get32(in);
    *off = p9_get64(in);
    *count = p9_get32(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    if (f->iofd < 0)
        return EBADF;
    if (f->isdir != dir)
        return dir ? ENOTDIR : EISDIR;
    if (*off > INT64_MAX)
        return EINVAL;
    *out = f;
    return fit_count(o, count);
}

/* Fill in the count field reserved before the data. */
static void put_count(uint8_t *cnt, size_t n)
{
    cnt[0] = (uint8_t)n, cnt[1] = (uint8_t)(n >> 8);
    cnt[2] = (uint8_t)(n >> 16), cnt[3] = (uint8_t)(n >> 24);
}

int p9_op_lopen(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in), flags = p9_get32(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    if (f->iofd >= 0)
        return EBUSY;
    int fl = (int)(flags & P9_OPEN_MASK);
    if ((fl & O_ACCMODE) == O_ACCMODE)
        return EINVAL;
    if (s->ro && writes(fl))
        return EROFS;
    struct stat st;
    struct p9_qid q;
    err = p9_qid_of(f->fd, &q, &st);
    if (err)
        return err;
    int fd;
    if (S_ISDIR(st.st_mode)) {
        if (writes(fl))
            return EISDIR;
        fd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        fd = fd < 0 ? -errno : fd;
    } else if (S_ISREG(st.st_mode)) {
        fd = p9_reopen(f->fd, fl);
    } else if (S_ISLNK(st.st_mode)) {
        return ELOOP;
    } else {
        return EPERM;       /* fifos and devices could block the worker */
    }
    if (fd < 0)
        return -fd;
    f->iofd = fd;
    p9_putqid(o, &q);
    p9_put32(o, 0);                             /* iounit: msize decides */
    return 0;
}

int p9_op_lcreate(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in);
    struct p9_str n = p9_getstr(in);
    uint32_t flags = p9_get32(in), mode = p9_get32(in);
    p9_get32(in);                               /* gid: files are the host user's */
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    if (f->iofd >= 0)
        return EBUSY;
    if (s->ro)
        return EROFS;
    char name[NAME_MAX + 1];
    err = p9_check_name(n, name);
    if (err)
        return err;
    int fl = (int)(flags & (P9_OPEN_MASK | O_EXCL));
    if ((fl & O_ACCMODE) == O_ACCMODE)
        return EINVAL;
    int fd = p9_open_beneath(f->fd, name, fl | O_CREAT, mode & 07777);
    if (fd < 0)
        return -fd;
    int pfd = p9_reopen(fd, O_PATH);
    char *nm = strdup(name);
    struct p9_qid q;
    if (pfd < 0 || !nm || (err = p9_qid_of(fd, &q, NULL)) != 0) {
        err = pfd < 0 ? -pfd : nm ? err : ENOMEM;
        if (pfd >= 0)
            close(pfd);
        free(nm);
        close(fd);
        return err;
    }
    /* The fid now names the new, opened file; its directory is the old. */
    if (f->pfd >= 0)
        close(f->pfd);
    free(f->name);
    f->pfd = f->fd;
    f->fd = pfd;
    f->name = nm;
    f->iofd = fd;
    f->isdir = false;
    p9_putqid(o, &q);
    p9_put32(o, 0);
    return 0;
}

int p9_op_read(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    struct p9_fid *f;
    uint64_t off;
    uint32_t count;
    int err = read_req(s, in, o, false, &f, &off, &count);
    if (err)
        return err;
    uint8_t *cnt = p9_reserve(o, 4);
    uint8_t *data = o->p + o->off;
    size_t got = 0;
    while (got < count) {
        ssize_t r = pread(f->iofd, data + got, count - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            if (got == 0)
                return errno;
            break;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    p9_reserve(o, got);
    put_count(cnt, got);
    return 0;
}

int p9_op_write(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in);
    uint64_t off = p9_get64(in);
    uint32_t count = p9_get32(in);
    const uint8_t *data = p9_getbytes(in, count);
    if (in->err)
        return EPROTO;
    struct p9_fid *f = p9_fid_get(s, fidn);
    if (!f || f->iofd < 0)
        return EBADF;
    if (s->ro)
        return EROFS;
    if (off > INT64_MAX || count > INT64_MAX - off)
        return EINVAL;
    size_t done = 0;
    while (done < count) {
        ssize_t r = pwrite(f->iofd, data + done, count - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (done == 0)
                return r < 0 ? errno : EIO;
            break;
        }
        done += (size_t)r;
    }
    p9_put32(o, (uint32_t)done);
    return 0;
}

struct dent64 {
    uint64_t ino;
    int64_t off;
    uint16_t reclen;
    uint8_t type;
    char name[];
};

static uint8_t qtype_of(uint8_t dtype)
{
    return dtype == DT_DIR ? P9_QTDIR : dtype == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
}

int p9_op_readdir(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    struct p9_fid *f;
    uint64_t off;
    uint32_t count;
    int err = read_req(s, in, o, true, &f, &off, &count);
    if (err)
        return err;
    if (lseek(f->iofd, (off_t)off, SEEK_SET) < 0)
        return errno;
    uint8_t *cnt = p9_reserve(o, 4);
    size_t start = o->off;
    size_t bufsz = count < 65536 ? 65536 : count;
    char *buf = malloc(bufsz);
    if (!buf)
        return ENOMEM;
    bool full = false;
    while (!full) {
        long n = syscall(SYS_getdents64, f->iofd, buf, bufsz);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (long pos = 0; pos < n;) {
            struct dent64 *d = (struct dent64 *)(buf + pos);
            size_t nl = strnlen(d->name, d->reclen - offsetof(struct dent64, name));
            size_t need = P9_QID_SIZE + 8 + 1 + 2 + nl;
            if (o->off - start + need > count) {
                full = true;
                break;
            }
            struct p9_qid q = {.type = qtype_of(d->type), .path = d->ino};
            p9_putqid(o, &q);
            p9_put64(o, (uint64_t)d->off);
            p9_put8(o, d->type);
            p9_putstr(o, d->name, nl);
            pos += d->reclen;
        }
    }
    free(buf);
    put_count(cnt, o->off - start);
    return 0;
}

int p9_op_fsync(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in);
    uint32_t datasync = p9_get32(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    if (f->iofd >= 0 && (datasync ? fdatasync(f->iofd) : fsync(f->iofd)) < 0)
        return errno;
    return 0;
}
