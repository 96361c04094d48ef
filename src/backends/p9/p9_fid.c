/* The 9P server's fid table: a chained hash on the guest's fid number. */
#include "backends/p9/p9_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned bucket(uint32_t num)
{
    return (num * 2654435761u) >> 24;
}

struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t num)
{
    for (struct p9_fid *f = s->fids[bucket(num)]; f; f = f->next)
        if (f->num == num)
            return f;
    return NULL;
}

int p9_fid_req(struct p9_server *s, const struct p9_in *in, uint32_t num, struct p9_fid **out)
{
    if (in->err)
        return EPROTO;
    *out = p9_fid_get(s, num);
    return *out ? 0 : EBADF;
}

static void fid_release(struct p9_fid *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->pfd >= 0)
        close(f->pfd);
    if (f->iofd >= 0)
        close(f->iofd);
    free(f->name);
    free(f);
}

struct p9_fid *p9_fid_add(struct p9_server *s, uint32_t num, int fd, int pfd, char *name,
                          int *err)
{
    struct p9_fid *f = NULL;
    if (num == P9_NOFID || p9_fid_get(s, num))
        *err = EBADF;
    else if (s->nfids >= P9_MAX_FIDS)
        *err = ENFILE;
    else if (!(f = calloc(1, sizeof(*f))))
        *err = ENOMEM;
    if (!f) {
        if (fd >= 0)
            close(fd);
        if (pfd >= 0)
            close(pfd);
        free(name);
        return NULL;
    }
    struct stat st;
    f->num = num;
    f->fd = fd;
    f->pfd = pfd;
    f->name = name;
    f->iofd = -1;
    f->isdir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    f->next = s->fids[bucket(num)];
    s->fids[bucket(num)] = f;
    s->nfids++;
    return f;
}

void p9_fid_del(struct p9_server *s, uint32_t num)
{
    for (struct p9_fid **pp = &s->fids[bucket(num)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->num == num) {
            struct p9_fid *f = *pp;
            *pp = f->next;
            fid_release(f);
            s->nfids--;
            return;
        }
    }
}

void p9_fid_clear(struct p9_server *s)
{
    for (unsigned i = 0; i < P9_FID_BUCKETS; i++) {
        while (s->fids[i]) {
            struct p9_fid *f = s->fids[i];
            s->fids[i] = f->next;
            fid_release(f);
        }
    }
    s->nfids = 0;
}
