/* The 9P server: setup, dispatch, and the session and walk operations
 * (p9_server.h). Files and metadata are in p9_file.c and p9_meta.c. */
#include "backends/p9/p9_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hyperkit.h"

#define P9_VERSION "9P2000.L"
/* ".." checks walk up at most this far before calling it outside. */
#define P9_MAX_DEPTH 4096

int p9_open_beneath(int dirfd, const char *name, int flags, unsigned mode)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode & 07777 : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
    };
    long fd;
    do
        fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : (int)fd;
}

int p9_reopen(int fd, int flags)
{
    char path[40];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int r = open(path, flags | O_CLOEXEC | O_NOCTTY);
    return r < 0 ? -errno : r;
}

void p9_qid_from_stat(const struct stat *st, struct p9_qid *q)
{
    q->type = S_ISDIR(st->st_mode) ? P9_QTDIR : S_ISLNK(st->st_mode) ? P9_QTSYMLINK : P9_QTFILE;
    q->version = 0;
    q->path = (uint64_t)st->st_ino;
}

int p9_qid_of(int fd, struct p9_qid *q, struct stat *st)
{
    struct stat tmp;
    if (!st)
        st = &tmp;
    if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return errno;
    p9_qid_from_stat(st, q);
    return 0;
}

int p9_check_name(struct p9_str n, char *buf)
{
    if (n.len == 0 || n.len > NAME_MAX || memchr(n.s, '/', n.len) || memchr(n.s, 0, n.len))
        return EINVAL;
    memcpy(buf, n.s, n.len);
    buf[n.len] = 0;
    if (!strcmp(buf, ".") || !strcmp(buf, ".."))
        return EINVAL;
    return 0;
}

int p9_server_new(const char *path, bool readonly, struct p9_server **out)
{
    *out = NULL;
    struct p9_server *s = calloc(1, sizeof(*s));
    if (!s)
        return HK_ENOMEM;
    s->root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (s->root < 0 || fstat(s->root, &st) < 0) {
        if (s->root >= 0)
            close(s->root);
        free(s);
        return HK_ENOENT;
    }
    s->root_dev = st.st_dev;
    s->root_ino = st.st_ino;
    s->ro = readonly;
    s->msize = P9_MAX_MSIZE;
    *out = s;
    return HK_OK;
}

void p9_server_free(struct p9_server *s)
{
    if (!s)
        return;
    p9_fid_clear(s);
    close(s->root);
    free(s);
}

uint32_t p9_server_msize(const struct p9_server *s)
{
    return s->msize;
}

static bool is_root(struct p9_server *s, const struct stat *st)
{
    return st->st_dev == s->root_dev && st->st_ino == s->root_ino;
}

static int op_version(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t msize = p9_get32(in);
    struct p9_str v = p9_getstr(in);
    if (in->err)
        return EPROTO;
    if (msize < P9_MIN_MSIZE)
        return EINVAL;
    p9_fid_clear(s);
    s->msize = msize < P9_MAX_MSIZE ? msize : P9_MAX_MSIZE;
    bool ok = v.len >= strlen(P9_VERSION) && !memcmp(v.s, P9_VERSION, strlen(P9_VERSION));
    p9_put32(o, s->msize);
    const char *ans = ok ? P9_VERSION : "unknown";
    p9_putstr(o, ans, strlen(ans));
    return 0;
}

static int op_attach(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fid = p9_get32(in);
    p9_get32(in);                               /* afid: no authentication */
    p9_getstr(in);                              /* uname */
    p9_getstr(in);                              /* aname: the one share */
    p9_get32(in);                               /* n_uname */
    if (in->err)
        return EPROTO;
    int fd = fcntl(s->root, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int err;
    struct p9_fid *f = p9_fid_add(s, fid, fd, -1, NULL, &err);
    if (!f)
        return err;
    struct p9_qid q;
    if ((err = p9_qid_of(f->fd, &q, NULL)) != 0) {
        p9_fid_del(s, fid);
        return err;
    }
    p9_putqid(o, &q);
    return 0;
}

/* ".." from dirfd: the parent, or the root itself when dirfd is the root
 * (or, were the tree moved, anything not below the root). fd or -errno. */
static int walk_up(struct p9_server *s, int dirfd)
{
    struct stat st;
    if (fstat(dirfd, &st) < 0)
        return -errno;
    if (is_root(s, &st))
        return fcntl(s->root, F_DUPFD_CLOEXEC, 0);
    int up = openat(dirfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (up < 0)
        return -errno;
    /* Confirm the root is an ancestor: the host may have moved the
     * directory out of the share since the guest walked into it. */
    int cur = fcntl(up, F_DUPFD_CLOEXEC, 0);
    for (int depth = 0; cur >= 0 && depth < P9_MAX_DEPTH; depth++) {
        struct stat cs, ps;
        if (fstat(cur, &cs) < 0)
            break;
        if (is_root(s, &cs)) {
            close(cur);
            return up;
        }
        int next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        close(cur);
        cur = -1;
        if (next < 0 || fstat(next, &ps) < 0 || (ps.st_dev == cs.st_dev && ps.st_ino == cs.st_ino)) {
            if (next >= 0)
                close(next);
            break;
        }
        cur = next;
    }
    if (cur >= 0)
        close(cur);
    close(up);
    return -EACCES;
}

static int op_walk(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fidn = p9_get32(in), newfidn = p9_get32(in);
    uint16_t n = p9_get16(in);
    struct p9_str names[P9_MAX_WELEM];
    if (n > P9_MAX_WELEM)
        return EINVAL;
    for (unsigned i = 0; i < n; i++)
        names[i] = p9_getstr(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fidn, &f);
    if (err)
        return err;
    if (newfidn != fidn && p9_fid_get(s, newfidn))
        return EBADF;
    if (f->iofd >= 0)
        return EBUSY;                           /* a walk from an opened fid */
    int cur = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
    int par = f->pfd >= 0 ? fcntl(f->pfd, F_DUPFD_CLOEXEC, 0) : -1;
    char *name = f->name ? strdup(f->name) : NULL;
    unsigned done = 0;
    if (cur < 0 || (f->pfd >= 0 && par < 0) || (f->name && !name))
        err = cur < 0 || par < 0 ? errno : ENOMEM;
    uint8_t *nq = p9_reserve(o, 2);
    for (; !err && done < n; done++) {
        char buf[NAME_MAX + 1];
        struct p9_str w = names[done];
        int next;
        bool dotdot = w.len == 2 && w.s[0] == '.' && w.s[1] == '.';
        if (dotdot)
            next = walk_up(s, cur);
        else if ((err = p9_check_name(w, buf)) != 0)
            break;
        else
            next = p9_open_beneath(cur, buf, O_PATH, 0);
        if (next < 0) {
            err = -next;
            break;
        }
        struct p9_qid q;
        if ((err = p9_qid_of(next, &q, NULL)) != 0) {
            close(next);
            break;
        }
        p9_putqid(o, &q);
        if (par >= 0)
            close(par);
        free(name);
        if (dotdot) {
            /* Its own directory and name are not known: Tremove and
             * Trename on it are refused (Linux uses the *at forms). */
            close(cur);
            par = -1;
            name = NULL;
        } else {
            par = cur;
            name = strdup(buf);
            if (!name) {
                close(next);
                cur = -1;
                err = ENOMEM;
                break;
            }
        }
        cur = next;
    }
    if (err && done == 0) {
        if (cur >= 0)
            close(cur);
        if (par >= 0)
            close(par);
        free(name);
        return err;
    }
    if (nq)
        nq[0] = (uint8_t)done, nq[1] = 0;
    if (done < n) {                             /* partial: newfid not made */
        if (cur >= 0)
            close(cur);
        if (par >= 0)
            close(par);
        free(name);
        return 0;
    }
    if (newfidn == fidn) {
        close(f->fd);
        if (f->pfd >= 0)
            close(f->pfd);
        free(f->name);
        f->fd = cur, f->pfd = par, f->name = name;
        struct stat st;
        f->isdir = fstat(cur, &st) == 0 && S_ISDIR(st.st_mode);
        return 0;
    }
    return p9_fid_add(s, newfidn, cur, par, name, &err) ? 0 : err;
}

static int op_clunk(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fid = p9_get32(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fid, &f);
    if (!err)
        p9_fid_del(s, fid);
    return err;
}

static int op_flush(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    p9_get16(in);           /* requests finish in order: nothing to cancel */
    return in->err ? EPROTO : 0;
}

/* Locks are advisory and the guest kernel's own: always granted. */
static int op_lock(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fid = p9_get32(in);
    p9_get8(in);
    p9_get32(in);
    p9_get64(in);
    p9_get64(in);
    p9_get32(in);
    p9_getstr(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fid, &f);
    if (err)
        return err;
    p9_put8(o, 0);                              /* P9_LOCK_SUCCESS */
    return 0;
}

static int op_getlock(struct p9_server *s, struct p9_in *in, struct p9_out *o)
{
    uint32_t fid = p9_get32(in);
    p9_get8(in);
    uint64_t start = p9_get64(in), length = p9_get64(in);
    uint32_t proc = p9_get32(in);
    struct p9_str client = p9_getstr(in);
    struct p9_fid *f;
    int err = p9_fid_req(s, in, fid, &f);
    if (err)
        return err;
    p9_put8(o, 2);                              /* P9_LOCK_TYPE_UNLCK */
    p9_put64(o, start);
    p9_put64(o, length);
    p9_put32(o, proc);
    p9_putstr(o, client.s, client.len);
    return 0;
}

typedef int (*p9_op)(struct p9_server *, struct p9_in *, struct p9_out *);

static p9_op op_for(uint8_t type)
{
    switch (type) {
    case P9_TVERSION: return op_version;
    case P9_TATTACH: return op_attach;
    case P9_TWALK: return op_walk;
    case P9_TCLUNK: return op_clunk;
    case P9_TFLUSH: return op_flush;
    case P9_TLOCK: return op_lock;
    case P9_TGETLOCK: return op_getlock;
    case P9_TLOPEN: return p9_op_lopen;
    case P9_TLCREATE: return p9_op_lcreate;
    case P9_TREAD: return p9_op_read;
    case P9_TWRITE: return p9_op_write;
    case P9_TREADDIR: return p9_op_readdir;
    case P9_TFSYNC: return p9_op_fsync;
    case P9_TGETATTR: return p9_op_getattr;
    case P9_TSETATTR: return p9_op_setattr;
    case P9_TMKDIR: return p9_op_mkdir;
    case P9_TSYMLINK: return p9_op_symlink;
    case P9_TMKNOD: return p9_op_mknod;
    case P9_TLINK: return p9_op_link;
    case P9_TREADLINK: return p9_op_readlink;
    case P9_TRENAME: return p9_op_rename;
    case P9_TRENAMEAT: return p9_op_renameat;
    case P9_TUNLINKAT: return p9_op_unlinkat;
    case P9_TREMOVE: return p9_op_remove;
    case P9_TSTATFS: return p9_op_statfs;
    default: return NULL;                       /* xattrs, auth, 9P2000 ops */
    }
}

size_t p9_server_handle(struct p9_server *s, const uint8_t *msg, size_t len, uint8_t *reply,
                        size_t cap)
{
    uint8_t type;
    uint16_t tag;
    struct p9_in in;
    if (cap > s->msize)
        cap = s->msize;
    if (p9_parse_hdr(msg, len, &type, &tag, &in) < 0)
        return len >= P9_HDR_SIZE ? p9_lerror(reply, cap, (uint16_t)(msg[5] | msg[6] << 8), EPROTO) : 0;
    p9_op op = (type & 1) ? NULL : op_for(type);
    if (!op)
        return p9_lerror(reply, cap, tag, EOPNOTSUPP);
    struct p9_out o = {.p = reply, .cap = cap};
    p9_begin(&o, type + 1, tag);
    int err = op(s, &in, &o);
    size_t n = err ? 0 : p9_finish(&o);
    if (!err && !n)
        err = EMSGSIZE;                         /* the reply did not fit */
    return err ? p9_lerror(reply, cap, tag, (uint32_t)err) : n;
}
