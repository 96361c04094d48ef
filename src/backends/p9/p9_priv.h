/* Shared between the 9P server's files: the fid table and the handlers. */
#ifndef HK_BACKENDS_P9_P9_PRIV_H
#define HK_BACKENDS_P9_P9_PRIV_H

#include <limits.h>
#include <sys/stat.h>

#include "backends/p9/p9_msg.h"
#include "backends/p9/p9_server.h"

#define P9_FID_BUCKETS 256

struct p9_fid {
    uint32_t num;
    int fd;                     /* O_PATH|O_NOFOLLOW of the file itself */
    int pfd;                    /* O_PATH of its directory, -1 for the root */
    char *name;                 /* its name in pfd (NULL for the root) */
    int iofd;                   /* after Tlopen / Tlcreate, else -1 */
    bool isdir;
    struct p9_fid *next;
};

struct p9_server {
    int root;                   /* O_PATH of the shared directory */
    dev_t root_dev;
    ino_t root_ino;
    bool ro;
    uint32_t msize;
    struct p9_fid *fids[P9_FID_BUCKETS];
    unsigned nfids;
};

/* Fid table (p9_fid.c). */
struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t num);
/* The fid `num` of a request read from in: EPROTO if the request did not
 * parse, EBADF if there is no such fid, else 0 with *out set. */
int p9_fid_req(struct p9_server *s, const struct p9_in *in, uint32_t num, struct p9_fid **out);
/* A new fid taking ownership of fd / pfd / name (closed or freed on
 * failure): NULL with *err set (EBADF: the number is in use or NOFID,
 * ENFILE: too many). */
struct p9_fid *p9_fid_add(struct p9_server *s, uint32_t num, int fd, int pfd, char *name,
                          int *err);
void p9_fid_del(struct p9_server *s, uint32_t num);
void p9_fid_clear(struct p9_server *s);

/* Helpers (p9_server.c). */
int p9_qid_of(int fd, struct p9_qid *q, struct stat *st);
void p9_qid_from_stat(const struct stat *st, struct p9_qid *q);
/* 0 if name is one plain component (no '/', NUL, ".", ".."), else EINVAL. */
int p9_check_name(struct p9_str n, char *buf);
/* openat2 one component beneath dirfd: fd or -errno. */
int p9_open_beneath(int dirfd, const char *name, int flags, unsigned mode);
/* Reopen fid's O_PATH descriptor with flags: fd or -errno. */
int p9_reopen(int fd, int flags);

/* Handlers: each writes its reply into o (after p9_begin) and returns 0,
 * or returns a positive errno for an Rlerror. */
int p9_op_lopen(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_lcreate(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_read(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_write(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_readdir(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_fsync(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_getattr(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_setattr(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_mkdir(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_symlink(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_mknod(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_link(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_readlink(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_rename(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_renameat(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_unlinkat(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_remove(struct p9_server *s, struct p9_in *in, struct p9_out *o);
int p9_op_statfs(struct p9_server *s, struct p9_in *in, struct p9_out *o);

#endif
