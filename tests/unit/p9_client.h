/* A tiny 9P2000.L client for the 9P server's unit tests and fuzz seeds:
 * builds requests with the server's own encoder, returns the reply type. */
#ifndef HK_TESTS_P9_CLIENT_H
#define HK_TESTS_P9_CLIENT_H

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

#include "backends/p9/p9_msg.h"
#include "backends/p9/p9_server.h"
#include "core/bytes.h"

struct pc {
    struct p9_server *s;
    uint8_t req[P9_MAX_MSIZE], rep[P9_MAX_MSIZE];
    struct p9_out o;
    size_t replen;
    struct p9_in in;            /* the reply's body after pc_call */
};

static inline void pc_begin(struct pc *c, uint8_t type)
{
    c->o = (struct p9_out){.p = c->req, .cap = sizeof(c->req)};
    p9_begin(&c->o, type, 1);
}

static inline void pc_s(struct pc *c, const char *s)
{
    p9_putstr(&c->o, s, strlen(s));
}

/* Send; the reply type (or 0 if none), body in c->in. */
static inline int pc_call(struct pc *c)
{
    size_t n = p9_finish(&c->o);
    c->replen = p9_server_handle(c->s, c->req, n, c->rep, sizeof(c->rep));
    uint8_t type;
    uint16_t tag;
    if (p9_parse_hdr(c->rep, c->replen, &type, &tag, &c->in) < 0)
        return 0;
    return type;
}

/* The errno of an Rlerror reply, 0 for any other reply. */
static inline uint32_t pc_err(struct pc *c, int type)
{
    if (type != P9_RLERROR)
        return 0;
    struct p9_in in = c->in;
    return p9_get32(&in);
}

static inline int pc_version(struct pc *c, uint32_t msize)
{
    pc_begin(c, P9_TVERSION);
    p9_put32(&c->o, msize);
    pc_s(c, "9P2000.L");
    return pc_call(c);
}

static inline int pc_attach(struct pc *c, uint32_t fid)
{
    pc_begin(c, P9_TATTACH);
    p9_put32(&c->o, fid);
    p9_put32(&c->o, P9_NOFID);
    pc_s(c, "root");
    pc_s(c, "");
    p9_put32(&c->o, 0);
    return pc_call(c);
}

/* Walk fid to newfid through n names; the error, or 0 with *nq qids. */
static inline uint32_t pc_walk(struct pc *c, uint32_t fid, uint32_t newfid, int *nq, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    pc_begin(c, P9_TWALK);
    p9_put32(&c->o, fid);
    p9_put32(&c->o, newfid);
    p9_put16(&c->o, (uint16_t)n);
    for (int i = 0; i < n; i++)
        pc_s(c, va_arg(ap, const char *));
    va_end(ap);
    int t = pc_call(c);
    if (t != P9_TWALK + 1)
        return t == P9_RLERROR ? pc_err(c, t) : 9999;
    if (nq)
        *nq = p9_get16(&c->in);
    return 0;
}

static inline uint32_t pc_simple(struct pc *c, uint8_t type, uint32_t fid)
{
    pc_begin(c, type);
    p9_put32(&c->o, fid);
    int t = pc_call(c);
    return t == type + 1 ? 0 : t == P9_RLERROR ? pc_err(c, t) : 9999;
}

static inline uint32_t pc_lopen(struct pc *c, uint32_t fid, uint32_t flags)
{
    pc_begin(c, P9_TLOPEN);
    p9_put32(&c->o, fid);
    p9_put32(&c->o, flags);
    int t = pc_call(c);
    return t == P9_TLOPEN + 1 ? 0 : pc_err(c, t);
}

/* Read up to count bytes at off into buf: bytes read, or -errno. */
static inline long pc_read(struct pc *c, uint32_t fid, uint64_t off, uint32_t count, void *buf)
{
    pc_begin(c, P9_TREAD);
    p9_put32(&c->o, fid);
    p9_put64(&c->o, off);
    p9_put32(&c->o, count);
    int t = pc_call(c);
    if (t != P9_TREAD + 1)
        return -(long)pc_err(c, t);
    uint32_t n = p9_get32(&c->in);
    const uint8_t *d = p9_getbytes(&c->in, n);
    if (!d)
        return -1000;
    memcpy(buf, d, n);
    return n;
}

#endif
