/* 9P wire format (p9_msg.h). */
#include "backends/p9/p9_msg.h"

#include <string.h>

#include "core/bytes.h"

int p9_parse_hdr(const uint8_t *msg, size_t len, uint8_t *type, uint16_t *tag,
                 struct p9_in *body)
{
    if (!msg || len < P9_HDR_SIZE || le32(msg) != len)
        return -1;
    *type = msg[4];
    *tag = le16(msg + 5);
    *body = (struct p9_in){.p = msg, .len = len, .off = P9_HDR_SIZE};
    return 0;
}

const uint8_t *p9_getbytes(struct p9_in *in, size_t n)
{
    if (in->err || n > in->len - in->off) {
        in->err = true;
        return NULL;
    }
    const uint8_t *p = in->p + in->off;
    in->off += n;
    return p;
}

uint8_t p9_get8(struct p9_in *in)
{
    const uint8_t *p = p9_getbytes(in, 1);
    return p ? p[0] : 0;
}

uint16_t p9_get16(struct p9_in *in)
{
    const uint8_t *p = p9_getbytes(in, 2);
    return p ? le16(p) : 0;
}

uint32_t p9_get32(struct p9_in *in)
{
    const uint8_t *p = p9_getbytes(in, 4);
    return p ? le32(p) : 0;
}

uint64_t p9_get64(struct p9_in *in)
{
    const uint8_t *p = p9_getbytes(in, 8);
    return p ? le64(p) : 0;
}

struct p9_str p9_getstr(struct p9_in *in)
{
    uint16_t n = p9_get16(in);
    const uint8_t *p = p9_getbytes(in, n);
    if (!p)
        return (struct p9_str){"", 0};
    return (struct p9_str){(const char *)p, n};
}

uint8_t *p9_reserve(struct p9_out *o, size_t n)
{
    if (o->err || n > o->cap - o->off) {
        o->err = true;
        return NULL;
    }
    uint8_t *p = o->p + o->off;
    o->off += n;
    return p;
}

void p9_put8(struct p9_out *o, uint8_t v)
{
    uint8_t *p = p9_reserve(o, 1);
    if (p)
        p[0] = v;
}

void p9_put16(struct p9_out *o, uint16_t v)
{
    uint8_t *p = p9_reserve(o, 2);
    if (p)
        put16(p, v);
}

void p9_put32(struct p9_out *o, uint32_t v)
{
    uint8_t *p = p9_reserve(o, 4);
    if (p)
        put32(p, v);
}

void p9_put64(struct p9_out *o, uint64_t v)
{
    uint8_t *p = p9_reserve(o, 8);
    if (p)
        put64(p, v);
}

void p9_putstr(struct p9_out *o, const char *s, size_t len)
{
    if (len > UINT16_MAX) {
        o->err = true;
        return;
    }
    p9_put16(o, (uint16_t)len);
    uint8_t *p = p9_reserve(o, len);
    if (p && len)
        memcpy(p, s, len);
}

void p9_putqid(struct p9_out *o, const struct p9_qid *q)
{
    p9_put8(o, q->type);
    p9_put32(o, q->version);
    p9_put64(o, q->path);
}

void p9_begin(struct p9_out *o, uint8_t type, uint16_t tag)
{
    o->off = 0;
    o->err = false;
    p9_put32(o, 0);
    p9_put8(o, type);
    p9_put16(o, tag);
}

size_t p9_finish(struct p9_out *o)
{
    if (o->err || o->off < P9_HDR_SIZE || o->off > UINT32_MAX)
        return 0;
    put32(o->p, (uint32_t)o->off);
    return o->off;
}

size_t p9_lerror(uint8_t *buf, size_t cap, uint16_t tag, uint32_t ecode)
{
    struct p9_out o = {.p = buf, .cap = cap};
    p9_begin(&o, P9_RLERROR, tag);
    p9_put32(&o, ecode);
    return p9_finish(&o);
}
