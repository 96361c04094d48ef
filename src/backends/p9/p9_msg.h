/*
 * 9P2000.L wire format: a bounds-checked little-endian reader and writer.
 * Pure (no I/O, no allocation): every read past the end of the message,
 * or write past the end of the reply buffer, sets `err` and yields zeros,
 * so a handler checks err once after decoding all its fields.
 */
#ifndef HK_BACKENDS_P9_P9_MSG_H
#define HK_BACKENDS_P9_P9_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Message types (9P2000 + the .L extensions). T is even, R = T + 1. */
enum {
    P9_RLERROR = 7,
    P9_TSTATFS = 8,
    P9_TLOPEN = 12,
    P9_TLCREATE = 14,
    P9_TSYMLINK = 16,
    P9_TMKNOD = 18,
    P9_TRENAME = 20,
    P9_TREADLINK = 22,
    P9_TGETATTR = 24,
    P9_TSETATTR = 26,
    P9_TXATTRWALK = 30,
    P9_TXATTRCREATE = 32,
    P9_TREADDIR = 40,
    P9_TFSYNC = 50,
    P9_TLOCK = 52,
    P9_TGETLOCK = 54,
    P9_TLINK = 70,
    P9_TMKDIR = 72,
    P9_TRENAMEAT = 74,
    P9_TUNLINKAT = 76,
    P9_TVERSION = 100,
    P9_TAUTH = 102,
    P9_TATTACH = 104,
    P9_TFLUSH = 108,
    P9_TWALK = 110,
    P9_TREAD = 116,
    P9_TWRITE = 118,
    P9_TCLUNK = 120,
    P9_TREMOVE = 122,
};

#define P9_HDR_SIZE 7           /* size[4] type[1] tag[2] */
#define P9_QID_SIZE 13          /* type[1] version[4] path[8] */
#define P9_NOTAG 0xffff
#define P9_NOFID 0xffffffffu
#define P9_MAX_WELEM 16         /* Twalk names per message */

/* Qid types. */
#define P9_QTDIR 0x80
#define P9_QTSYMLINK 0x02
#define P9_QTFILE 0x00

struct p9_qid {
    uint8_t type;
    uint32_t version;
    uint64_t path;
};

/* A string inside the message: not NUL-terminated, may hold anything. */
struct p9_str {
    const char *s;
    uint16_t len;
};

struct p9_in {
    const uint8_t *p;
    size_t len, off;
    bool err;
};

struct p9_out {
    uint8_t *p;
    size_t cap, off;
    bool err;
};

/* The header of msg[0..len): 0 with *type, *tag and the body reader, or
 * -1 if len is under the header or the size field disagrees with len
 * (the size field must equal len: the transport hands whole messages). */
int p9_parse_hdr(const uint8_t *msg, size_t len, uint8_t *type, uint16_t *tag,
                 struct p9_in *body);

uint8_t p9_get8(struct p9_in *in);
uint16_t p9_get16(struct p9_in *in);
uint32_t p9_get32(struct p9_in *in);
uint64_t p9_get64(struct p9_in *in);
struct p9_str p9_getstr(struct p9_in *in);
/* n raw bytes: a pointer into the message, NULL (and err) if short. */
const uint8_t *p9_getbytes(struct p9_in *in, size_t n);

/* Start a reply of `type` for `tag` (size filled by p9_finish). */
void p9_begin(struct p9_out *o, uint8_t type, uint16_t tag);
void p9_put8(struct p9_out *o, uint8_t v);
void p9_put16(struct p9_out *o, uint16_t v);
void p9_put32(struct p9_out *o, uint32_t v);
void p9_put64(struct p9_out *o, uint64_t v);
void p9_putstr(struct p9_out *o, const char *s, size_t len);
void p9_putqid(struct p9_out *o, const struct p9_qid *q);
/* Reserve n bytes and return where they go (NULL and err if no room). */
uint8_t *p9_reserve(struct p9_out *o, size_t n);
/* Write the size field: the reply's length, or 0 if it overflowed. */
size_t p9_finish(struct p9_out *o);

/* A complete Rlerror(ecode) for tag in buf[0..cap): its length (11), or
 * 0 if cap is under 11. */
size_t p9_lerror(uint8_t *buf, size_t cap, uint16_t tag, uint32_t ecode);

#endif
