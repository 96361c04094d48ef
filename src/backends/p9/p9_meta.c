/* 9P operations on names and attributes (p9_priv.h): every name is one
 * checked component used with a *at() call on a fid's descriptor, and
 * none of those calls follows a symlink in that last component. */
#include "backends/p9/p9_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define P9_GETATTR_BASIC 0x7ffull

#define P9_SETATTR_MODE 0x1
#define P9_SETATTR_UID 0x2
#define P9_SETATTR_GID 0x4
#define P9_SETATTR_SIZE 0x8
#define P9_SETATTR_ATIME 0x10
#define P9_SETATTR_MTIME 0x20
#define P9_SETATTR_ATIME_SET 0x80
#define P9_SETATTR_MTIME_SET 0x100

#define P9_AT_REMOVEDIR 0x200

static void proc_path(char *buf, size_t len, int fd)
{
    snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* The fid `num`, which must be a directory, for a name operation. */
static int dir_fid(struct p9_server *s, uint32_t num, struct p9_fid **out)
{
    struct p9_fid *f = p9_fid_get(s, num);
    if (!f)
        return EBADF;
    if (!f->isdir)
        return ENOTDIR;
    *out = f;
    return 0;
}

/* For a request read from in: the directory fid `num` and n checked as
 * one component of it (into buf). */
static int dir_name(struct p9_server *s, const struct p9_in *in, uint32_t num, struct p9_str n,
                    struct p9_fid **out, char *buf)
{
    if (in->err)
        return EPROTO;
    int err = dir_fid(s, num, out);
    return err ? err : p9_check_name(n, buf);
}

/* dir_name for a request that also names the fid `fidn` (Tlink, Trename). */
static int fid_dir_name(struct p9_server *s, const struct p9_in *in, uint32_t fidn,
                        uint32_t num, struct p9_str n, struct p9_fid **f, struct p9_fid **out,
                        char *buf)
{
    int err = dir_name(s, in, num, n, out, buf);
    if (err)
        return err;
    *f = p9_fid_get(s, fidn);
    return *f ? 0 : EBADF;
}

/* dir_name for a request that changes the share, so not a read-only one. */
static int dir_name_rw(struct p9_server *s, const struct p9_in *in, uint32_t num,
                       struct p9_str n, struct p9_fid **out, char *buf)
{
    int err = dir_name(s, in, num, n, out, buf);
    return err ? err : s->ro ? EROFS : 0;
}

/* Reply with the qid of name (just made) in dirfd. */
static int put_new_qid(int dirfd, const char *name, struct p9_out *o)
{
    int fd = p9_open_beneath(dirfd, name, O_PATH, 0);
    if (fd < 0)
        return -fd;
    struct p9_qid q;
    int err = p9_qid_of(fd, &q, NULL);
    close(fd);
    if (!err)
        p9_putqid(o, &q);
    return err;
}

int p9_op_getattr(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in);
    p9_get64(in);                               /* request mask: we give the basics */
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    struct stat st;
    struct p9_qid q;
    err = p9_qid_of(f->fd, &q, &st);
    if (err)
        return err;
    p9_put64(o, P9_GETATTR_BASIC);
    p9_putqid(o, &q);
    p9_put32(o, st.st_mode);
    p9_put32(o, st.st_uid);
    p9_put32(o, st.st_gid);
    p9_put64(o, st.st_nlink);
    p9_put64(o, st.st_rdev);
    p9_put64(o, (uint64_t)st.st_size);
    p9_put64(o, (uint64_t)st.st_blksize);
    p9_put64(o, (uint64_t)st.st_blocks);
    p9_put64(o, (uint64_t)st.st_atim.tv_sec);
    p9_put64(o, (uint64_t)st.st_atim.tv_nsec);
    p9_put64(o, (uint64_t)st.st_mtim.tv_sec);
    p9_put64(o, (uint64_t)st.st_mtim.tv_nsec);
    p9_put64(o, (uint64_t)st.st_ctim.tv_sec);
    p9_put64(o, (uint64_t)st.st_ctim.tv_nsec);
    for (int i = 0; i < 4; i++)
        p9_put64(o, 0);                         /* btime, gen, data_version */
    return 0;
}

static struct timespec set_time(uint32_t valid, uint32_t bit, uint32_t setbit, uint64_t sec,
                                uint64_t nsec)
{
    if (!(valid & bit))
        return (struct timespec){.tv_nsec = UTIME_OMIT};
    if (!(valid & setbit))
        return (struct timespec){.tv_nsec = UTIME_NOW};
    return (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = (long)nsec};
}

int p9_op_setattr(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in), valid = p9_get32(in), mode = p9_get32(in);
    uint32_t uid = p9_get32(in), gid = p9_get32(in);
    uint64_t size = p9_get64(in);
    uint64_t as = p9_get64(in), ans = p9_get64(in), ms = p9_get64(in), mns = p9_get64(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    if (s->ro)
        return EROFS;
    if (((valid & P9_SETATTR_ATIME_SET) && (ans >= 1000000000 || as > INT64_MAX)) ||
        ((valid & P9_SETATTR_MTIME_SET) && (mns >= 1000000000 || ms > INT64_MAX)) ||
        size > INT64_MAX)
        return EINVAL;
    struct stat st;
    if (fstatat(f->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return errno;
    char path[40];
    proc_path(path, sizeof(path), f->fd);
    if (valid & P9_SETATTR_MODE) {
        if (S_ISLNK(st.st_mode))
            return EOPNOTSUPP;
        if (chmod(path, mode & 07777) < 0)
            return errno;
    }
    if (valid & (P9_SETATTR_UID | P9_SETATTR_GID)) {
        uid_t u = (valid & P9_SETATTR_UID) ? uid : (uid_t)-1;
        gid_t g = (valid & P9_SETATTR_GID) ? gid : (gid_t)-1;
        if (fchownat(f->fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return errno;
    }
    if (valid & P9_SETATTR_SIZE) {
        if (!S_ISREG(st.st_mode))
            return S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        if (truncate(path, (off_t)size) < 0)
            return errno;
    }
    if (valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)) {
        struct timespec ts[2] = {
            set_time(valid, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET, as, ans),
            set_time(valid, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET, ms, mns),
        };
        if (utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return errno;
    }
    return 0;
}

int p9_op_mkdir(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t dfid = p9_get32(in);
    struct p9_str n = p9_getstr(in);
    uint32_t mode = p9_get32(in);
    p9_get32(in);
    struct p9_fid *d;
    char name[NAME_MAX + 1];
    int err = dir_name_rw(s, in, dfid, n, &d, name);
    if (err)
        return err;
    if (mkdirat(d->fd, name, mode & 07777) < 0)
        return errno;
    return put_new_qid(d->fd, name, o);
}

int p9_op_symlink(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t dfid = p9_get32(in);
    struct p9_str n = p9_getstr(in), t = p9_getstr(in);
    p9_get32(in);
    struct p9_fid *d;
    char name[NAME_MAX + 1];
    int err = dir_name_rw(s, in, dfid, n, &d, name);
    if (err)
        return err;
    /* The target is only text stored in the link: the server never
     * follows it, and the guest resolves it in its own namespace. */
    if (t.len == 0 || memchr(t.s, 0, t.len))
        return EINVAL;
    char *target = strndup(t.s, t.len);
    if (!target)
        return ENOMEM;
    int r = symlinkat(target, d->fd, name);
    free(target);
    if (r < 0)
        return errno;
    return put_new_qid(d->fd, name, o);
}

int p9_op_mknod(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t dfid = p9_get32(in);
    struct p9_str n = p9_getstr(in);
    uint32_t mode = p9_get32(in), major = p9_get32(in), minor = p9_get32(in);
    p9_get32(in);
    struct p9_fid *d;
    char name[NAME_MAX + 1];
    int err = dir_name_rw(s, in, dfid, n, &d, name);
    if (err)
        return err;
    if (mknodat(d->fd, name, mode & (S_IFMT | 07777), makedev(major, minor)) < 0)
        return errno;
    return put_new_qid(d->fd, name, o);
}

int p9_op_link(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t dfid = p9_get32(in), fidn = p9_get32(in);
    struct p9_str n = p9_getstr(in);
    struct p9_fid *d, *f;
    char name[NAME_MAX + 1];
    int err = fid_dir_name(s, in, fidn, dfid, n, &f, &d, name);
    if (err)
        return err;
    if (f->isdir)
        return EPERM;
    if (s->ro)
        return EROFS;
    /* linkat(fd, "", AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the fid's
     * /proc link names the same inode without it. */
    char path[40];
    proc_path(path, sizeof(path), f->fd);
    if (linkat(AT_FDCWD, path, d->fd, name, AT_SYMLINK_FOLLOW) < 0)
        return errno;
    return 0;
}

int p9_op_readlink(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    char buf[PATH_MAX];
    ssize_t n = readlinkat(f->fd, "", buf, sizeof(buf));
    if (n < 0)
        return errno;
    if ((size_t)n >= sizeof(buf))
        return ENAMETOOLONG;
    p9_putstr(o, buf, (size_t)n);
    return 0;
}

int p9_op_rename(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in), dfid = p9_get32(in);
    struct p9_str n = p9_getstr(in);
    struct p9_fid *d, *f;
    char name[NAME_MAX + 1];
    int err = fid_dir_name(s, in, fidn, dfid, n, &f, &d, name);
    if (err)
        return err;
    if (f->pfd < 0 || !f->name)
        return EINVAL;                          /* the root, or reached by ".." */
    if (s->ro)
        return EROFS;
    int np = fcntl(d->fd, F_DUPFD_CLOEXEC, 0);
    char *nn = strdup(name);
    if (np < 0 || !nn || renameat(f->pfd, f->name, d->fd, name) < 0) {
        err = np < 0 ? EMFILE : !nn ? ENOMEM : errno;
        if (np >= 0)
            close(np);
        free(nn);
        return err;
    }
    close(f->pfd);
    free(f->name);
    f->pfd = np;
    f->name = nn;
    return 0;
}

int p9_op_renameat(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t ofid = p9_get32(in);
    struct p9_str on = p9_getstr(in);
    uint32_t nfid = p9_get32(in);
    struct p9_str nn = p9_getstr(in);
    if (in->err)
        return EPROTO;
    struct p9_fid *od, *nd;
    char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
    int err;
    if ((err = dir_fid(s, ofid, &od)) || (err = dir_fid(s, nfid, &nd)) ||
        (err = p9_check_name(on, oname)) || (err = p9_check_name(nn, nname)))
        return err;
    if (s->ro)
        return EROFS;
    return renameat(od->fd, oname, nd->fd, nname) < 0 ? errno : 0;
}

int p9_op_unlinkat(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t dfid = p9_get32(in);
    struct p9_str n = p9_getstr(in);
    uint32_t flags = p9_get32(in);
    struct p9_fid *d;
    char name[NAME_MAX + 1];
    int err = dir_name_rw(s, in, dfid, n, &d, name);
    if (err)
        return err;
    int fl = (flags & P9_AT_REMOVEDIR) ? AT_REMOVEDIR : 0;
    return unlinkat(d->fd, name, fl) < 0 ? errno : 0;
}

int p9_op_remove(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    /* Tremove clunks the fid whether or not the removal worked. */
    if (s->ro)
        err = EROFS;
    else if (f->pfd < 0 || !f->name)
        err = EINVAL;
    else if (unlinkat(f->pfd, f->name, f->isdir ? AT_REMOVEDIR : 0) < 0)
        err = errno;
    p9_fid_del(s, fidn);
    return err;
}

int p9_op_statfs(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    struct statfs sf;
    if (fstatfs(f->fd, &sf) < 0)
        return errno;
    uint64_t fsid;
    memcpy(&fsid, &sf.f_fsid, sizeof(fsid));
    p9_put32(o, (uint32_t)sf.f_type);
    p9_put32(o, (uint32_t)sf.f_bsize);
    p9_put64(o, sf.f_blocks);
    p9_put64(o, sf.f_bfree);
    p9_put64(o, sf.f_bavail);
    p9_put64(o, sf.f_files);
    p9_put64(o, sf.f_ffree);
    p9_put64(o, fsid);
    p9_put32(o, (uint32_t)sf.f_namelen);
    return 0;
}
