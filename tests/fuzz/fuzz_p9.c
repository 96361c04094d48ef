/*
 * libFuzzer target for the 9P server (src/backends/p9): the message
 * parser and every operation behind it, over a small scratch tree.
 * Input: byte 0 bit 0 picks the read-only server (the read-write one
 * mutates its own scratch tree, never anything else), byte 1 the reply
 * room (so short replies are reached); then messages, each cut at its
 * own size field (clamped to what is left). Every input starts with
 * Tversion + Tattach(fid 0), which also drops the previous input's fids.
 * Checked: every reply fits the room and is a well-formed R-message (or
 * nothing), whose tag is the request's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/p9/p9_msg.h"
#include "backends/p9/p9_server.h"
#include "core/bytes.h"

static struct p9_server *srv[2];
static char scratch[] = "/tmp/hk-fuzz-p9-XXXXXX";
static uint8_t reply[P9_MAX_MSIZE];

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_p9: %s\n", why);
    abort();
}

static void cleanup(void)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_p9: could not remove %s\n", scratch);
}

static void setup(void)
{
    char *dir = scratch, cmd[512];
    if (!mkdtemp(dir))
        fail("mkdtemp");
    atexit(cleanup);
    snprintf(cmd, sizeof(cmd),
             "cd %s && mkdir -p ro/d rw && echo hi >ro/f && ln -s /etc ro/abs && "
             "ln -s ../rw ro/rel && echo hi >rw/f && mkdir rw/d",
             dir);
    if (system(cmd) != 0)
        fail("setup");
    snprintf(cmd, sizeof(cmd), "%s/ro", dir);
    if (p9_server_new(cmd, true, &srv[1]))
        fail("ro server");
    snprintf(cmd, sizeof(cmd), "%s/rw", dir);
    if (p9_server_new(cmd, false, &srv[0]))
        fail("rw server");
}

static size_t send(struct p9_server *s, const uint8_t *m, size_t n, size_t room)
{
    size_t r = p9_server_handle(s, m, n, reply, room);
    if (r > room)
        fail("reply larger than the room");
    if (r) {
        uint8_t type;
        uint16_t tag;
        struct p9_in in;
        if (p9_parse_hdr(reply, r, &type, &tag, &in) < 0 || !(type & 1))
            fail("malformed reply");
        if (n >= P9_HDR_SIZE && tag != le16(m + 5))
            fail("reply tag is not the request's");
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv[0])
        setup();
    if (size < 2)
        return 0;
    struct p9_server *s = srv[data[0] & 1];
    size_t room = data[1] < 8 ? (size_t)data[1] : data[1] < 128 ? (size_t)data[1] * 64
                                                                 : P9_MAX_MSIZE;
    uint8_t start[64];
    struct p9_out o = {.p = start, .cap = sizeof(start)};
    p9_begin(&o, P9_TVERSION, P9_NOTAG);
    p9_put32(&o, 65536);
    p9_putstr(&o, "9P2000.L", 8);
    send(s, start, p9_finish(&o), sizeof(reply));
    p9_begin(&o, P9_TATTACH, 1);
    p9_put32(&o, 0);
    p9_put32(&o, P9_NOFID);
    p9_putstr(&o, "", 0);
    p9_putstr(&o, "", 0);
    p9_put32(&o, 0);
    send(s, start, p9_finish(&o), sizeof(reply));
    data += 2, size -= 2;
    while (size > 0) {
        size_t n = size >= 4 ? le32(data) : size;
        if (n == 0 || n > size)
            n = size;
        uint8_t *m = malloc(n);          /* its own buffer: ASan sees overruns */
        if (!m)
            return 0;
        memcpy(m, data, n);
        send(s, m, n, room);
        free(m);
        data += n, size -= n;
    }
    return 0;
}
