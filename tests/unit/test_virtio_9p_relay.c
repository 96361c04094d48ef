/*
 * virtio-9p's relay form against a fake 9P server played by the test
 * itself on a real Unix (and TCP loopback) socket: the request stream the
 * server sees, replies in any order matched by tag, Tversion's msize
 * lowered, kicks asked for with EVENT_IDX, a reply too big for the
 * guest's buffers, the guest's lying sizes and duplicate tags kept off
 * the wire, Tflush, and a server that
 * sends garbage, replies to no request or hangs up: only the share fails
 * (Rlerror EIO) until the next Tversion reconnects; the device never
 * needs a reset and the VMM goes on. A device reset drops the connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/p9/p9_msg.h"
#include "backends/p9/p9_server.h"
#include "devices/virtio/virtio_9p.h"
#include "test.h"
#include "virtio_driver.h"

#define SLOT 6
#define REQ(i) (VD_BUF + 0x10000ull * (i))
#define REP(i) (VD_BUF + 0x10000ull * (i) + 0x8000)

static struct fake_env f;
static struct vd d;
static int lfd = -1, srv = -1;          /* the fake server's listener and connection */

/* --- The fake server's side ---------------------------------------------------------- */

/* Wait for fd to be readable: false if it never is (a hung relay). */
static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 60000) == 1;
}

static bool srv_accept(void)
{
    if (srv >= 0)
        close(srv);
    srv = readable(lfd) ? accept(lfd, NULL, NULL) : -1;
    return srv >= 0;
}

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        if (!readable(fd))
            return false;
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* One request as the server reads it: its size (0 on EOF or error). */
static uint32_t srv_read(uint8_t *msg)
{
    if (!read_full(srv, msg, 4) || le32(msg) < 7 || le32(msg) > 65536 ||
        !read_full(srv, msg + 4, le32(msg) - 4))
        return 0;
    return le32(msg);
}

static void srv_write(const void *p, size_t n)
{
    if (write(srv, p, n) != (ssize_t)n)
        printf("FAIL: relay: the fake server could not write\n");
}

/* A reply: type, tag, then n body bytes of value fill. */
static void srv_reply(uint8_t type, uint16_t tag, size_t n, uint8_t fill)
{
    uint8_t m[512];
    put32(m, (uint32_t)(7 + n));
    m[4] = type;
    put16(m + 5, tag);
    memset(m + 7, fill, n);
    srv_write(m, 7 + n);
}

/* The server sees EOF: the relay closed its end. */
static bool srv_sees_eof(void)
{
    uint8_t b;
    return readable(srv) && read(srv, &b, 1) == 0;
}

/* --- The guest's side ----------------------------------------------------------------- */

/* Request i (type, tag, body of n bytes of 0x55, size field + lie) with
 * room bytes to answer in; returns its head. */
static uint16_t guest_send(int i, uint8_t type, uint16_t tag, size_t n, int lie, uint32_t room)
{
    uint8_t *q = gmem_ptr(&f.mem, REQ(i), 0x8000);
    put32(q, (uint32_t)(7 + n + lie));
    q[4] = type;
    put16(q + 5, tag);
    memset(q + 7, 0x55, n);
    memset(gmem_ptr(&f.mem, REP(i), 0x8000), 0xee, 0x8000);
    /* The header and the body in separate buffers, as Linux's zero copy. */
    struct vd_seg s[3] = {{REQ(i), 7, false}, {REQ(i) + 7, (uint32_t)n, false},
                          {REP(i), room, true}};
    return n ? vd_submit(&d, s, 3) : vd_submit(&d, (struct vd_seg[]){s[0], s[2]}, 2);
}

static uint16_t guest_version(int i, uint32_t msize)
{
    uint8_t *q = gmem_ptr(&f.mem, REQ(i), 64);
    put32(q, 21);
    q[4] = P9_TVERSION;
    put16(q + 5, P9_NOTAG);
    put32(q + 7, msize);
    put16(q + 11, 8);
    memcpy(q + 13, "9P2000.L", 8);
    struct vd_seg s[2] = {{REQ(i), 21, false}, {REP(i), 4096, true}};
    return vd_submit(&d, s, 2);
}

/* Request i posted as Linux does with EVENT_IDX: the kick only when the
 * new avail index passes the device's avail_event (2.7.10). */
static void guest_send_event_idx(int i, uint16_t tag)
{
    uint8_t *q = gmem_ptr(&f.mem, REQ(i), 16);
    put32(q, 11);
    q[4] = P9_TCLUNK;
    put16(q + 5, tag);
    put32(q + 7, 0);
    uint16_t head = d.next_desc;
    uint8_t *e = gmem_ptr(&f.mem, d.desc + 16ull * head, 32);
    put64(e, REQ(i));
    put32(e + 8, 11);
    put16(e + 12, 1);
    put16(e + 14, (uint16_t)((head + 1) % d.qsize));
    put64(e + 16, REP(i));
    put32(e + 24, 4096);
    put16(e + 28, 2);
    d.next_desc = (uint16_t)((head + 2) % d.qsize);
    uint8_t *a = gmem_ptr(&f.mem, d.avail, 6 + 2ull * d.qsize);
    uint16_t old = d.avail_idx;
    put16(a + 4 + 2 * (d.avail_idx % d.qsize), head);
    d.avail_idx++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    put16(a + 2, d.avail_idx);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t event = le16(gmem_ptr(&f.mem, d.used + 4 + 8ull * d.qsize, 2));
    if ((uint16_t)(d.avail_idx - event - 1) < (uint16_t)(d.avail_idx - old))
        vd_kick(&d);
}

/* The next used entry: its head and length. */
static bool guest_used(uint16_t *head, uint32_t *len)
{
    uint32_t l;
    uint16_t seen = d.used_seen;
    if (!vd_wait(&d, &l))
        return false;
    *head = (uint16_t)le32(gmem_ptr(&f.mem, d.used + 4 + 8ull * (seen % d.qsize), 4));
    *len = l;
    return true;
}

static uint8_t *rep(int i)
{
    return gmem_ptr(&f.mem, REP(i), 0x8000);
}

static bool is_lerror(int i, uint32_t len, uint16_t tag, uint32_t ecode)
{
    return len == 11 && rep(i)[4] == P9_RLERROR && le16(rep(i) + 5) == tag &&
           le32(rep(i) + 7) == ecode;
}

static void start_device(const char *conf)
{
    fake_env_init(&f, VD_RAM, false);
    d = (struct vd){.f = &f, .slot = SLOT};
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "relay: bus");
    char err[160] = "";
    void *p = NULL;
    CHECK_EQ(virtio_9p_parse(conf, &p, err, sizeof(err)), 0, "relay: options");
    CHECK_EQ(virtio_9p_create(&f.env, d.bus, SLOT, 0, p, err, sizeof(err)), 0, "relay: created");
    virtio_9p_free(p);
    vd_map(&d, VD_MEM_BASE);
    CHECK(vd_init_modern(&d, ~0ull, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "relay: init");
}

/* A Tversion through the relay, answered by the server (which accepts
 * a new connection first if accept). */
static bool version_round(bool accept)
{
    uint8_t m[65536];
    guest_version(0, 8192);
    if (accept && !srv_accept())
        return false;
    if (srv_read(m) != 21 || m[4] != P9_TVERSION)
        return false;
    srv_reply(P9_TVERSION + 1, P9_NOTAG, 4, 0);
    uint16_t h;
    uint32_t len;
    return guest_used(&h, &len) && len == 11 && rep(0)[4] == P9_TVERSION + 1;
}

static void test_stream(const char *sock)
{
    char conf[200];
    snprintf(conf, sizeof(conf), "path=%s,tag=relayed", sock);
    start_device(conf);
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF, 2), 7, "relay: tag length in config");
    uint8_t m[65536];
    uint16_t h, h1, h2;
    uint32_t len;

    /* Tversion: the server gets it with msize lowered to ours. */
    guest_version(0, 1u << 30);
    CHECK(srv_accept(), "relay: connects on the first Tversion");
    CHECK(srv_read(m) == 21 && m[4] == P9_TVERSION && le16(m + 5) == P9_NOTAG &&
              le32(m + 7) == P9_MAX_MSIZE && !memcmp(m + 13, "9P2000.L", 8),
          "relay: Tversion forwarded, msize lowered to P9_MAX_MSIZE");
    srv_reply(P9_TVERSION + 1, P9_NOTAG, 14, 0);
    CHECK(guest_used(&h, &len) && len == 21 && rep(0)[4] == P9_TVERSION + 1,
          "relay: Rversion back in the guest's buffer");

    /* With EVENT_IDX (negotiated above) the driver kicks only when it
     * passes avail_event: the relay must have asked for this kick. */
    CHECK(vd_features(&d) & (1ull << VIRTIO_F_EVENT_IDX), "relay: EVENT_IDX offered");
    guest_send_event_idx(1, 77);
    CHECK(srv_read(m) == 11 && le16(m + 5) == 77, "relay: a request kicked per avail_event");
    srv_reply(P9_TCLUNK + 1, 77, 0, 0);
    CHECK(guest_used(&h, &len) && len == 7, "relay: and its reply");

    /* Two requests, answered in the opposite order: each gets its own. */
    h1 = guest_send(1, P9_TGETATTR, 1, 12, 0, 4096);
    h2 = guest_send(2, P9_TGETATTR, 2, 300, 0, 4096);
    CHECK(srv_read(m) == 19 && le16(m + 5) == 1 && m[7] == 0x55, "relay: first request");
    CHECK(srv_read(m) == 307 && le16(m + 5) == 2 && m[306] == 0x55,
          "relay: second request, header and body joined");
    srv_reply(P9_TGETATTR + 1, 2, 100, 0xb2);
    srv_reply(P9_TGETATTR + 1, 1, 50, 0xb1);
    CHECK(guest_used(&h, &len) && h == h2 && len == 107 && rep(2)[106] == 0xb2 &&
              rep(2)[107] == 0xee,
          "relay: the second request's reply first, in its own buffer");
    CHECK(guest_used(&h, &len) && h == h1 && len == 57 && rep(1)[56] == 0xb1,
          "relay: then the first's");

    /* A reply larger than the guest's room: Rlerror(EMSGSIZE) instead. */
    guest_send(3, P9_TREAD, 3, 16, 0, 40);
    CHECK(srv_read(m) == 23, "relay: Tread forwarded");
    srv_reply(P9_TREAD + 1, 3, 200, 0xcc);
    CHECK(guest_used(&h, &len) && is_lerror(3, len, 3, EMSGSIZE), "relay: oversized reply refused");

    /* The guest's lying size and a tag already in flight stay off the wire. */
    guest_send(4, P9_TCLUNK, 4, 4, 100, 4096);
    CHECK(guest_used(&h, &len) && is_lerror(4, len, 4, EPROTO), "relay: lying size: EPROTO");
    h1 = guest_send(5, P9_TCLUNK, 5, 4, 0, 4096);
    guest_send(6, P9_TCLUNK, 5, 4, 0, 4096);
    CHECK(guest_used(&h, &len) && is_lerror(6, len, 5, EINVAL), "relay: duplicate tag: EINVAL");
    CHECK(srv_read(m) == 11 && le16(m + 5) == 5, "relay: only the first tag 5 reached the server");
    srv_reply(P9_TCLUNK + 1, 5, 0, 0);
    CHECK(guest_used(&h, &len) && h == h1 && len == 7, "relay: tag 5 answered");

    /* Tflush: after Rflush the flushed request comes back empty. */
    h1 = guest_send(7, P9_TREAD, 7, 16, 0, 4096);
    uint8_t *q = gmem_ptr(&f.mem, REQ(8), 16);
    put32(q, 9);
    q[4] = P9_TFLUSH;
    put16(q + 5, 8);
    put16(q + 7, 7);
    struct vd_seg fs[2] = {{REQ(8), 9, false}, {REP(8), 64, true}};
    h2 = vd_submit(&d, fs, 2);
    CHECK(srv_read(m) == 23 && srv_read(m) == 9 && m[4] == P9_TFLUSH, "relay: Tread, Tflush sent");
    srv_reply(P9_TFLUSH + 1, 8, 0, 0);
    CHECK(guest_used(&h, &len) && h == h1 && len == 0, "relay: flushed Tread back empty");
    CHECK(guest_used(&h, &len) && h == h2 && len == 7, "relay: Rflush delivered");

    /* A server sending a bad size: the request in flight gets EIO, the
     * connection is closed, later requests get EIO without it. */
    guest_send(9, P9_TSTATFS, 9, 4, 0, 4096);
    CHECK(srv_read(m) == 11, "relay: Tstatfs forwarded");
    srv_write("\x03\x00\x00\x00\x08\x09\x00", 7);
    CHECK(guest_used(&h, &len) && is_lerror(9, len, 9, EIO), "relay: garbage size: EIO");
    CHECK(srv_sees_eof(), "relay: the broken connection is closed");
    guest_send(10, P9_TSTATFS, 10, 4, 0, 4096);
    CHECK(guest_used(&h, &len) && is_lerror(10, len, 10, EIO), "relay: EIO until a Tversion");
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET), "relay: the device is not broken");
    CHECK(strstr(f.last_log, "bad size") != NULL, "relay: one warning names the fault");

    /* A new Tversion reconnects; then a reply to no request, a huge size,
     * and a hang-up each end that session the same way. */
    CHECK(version_round(true), "relay: Tversion reconnects");
    guest_send(11, P9_TSTATFS, 11, 4, 0, 4096);
    CHECK(srv_read(m) == 11, "relay: request on the new connection");
    srv_reply(P9_TSTATFS + 1, 99, 4, 0);
    CHECK(guest_used(&h, &len) && is_lerror(11, len, 11, EIO), "relay: reply to no request: EIO");
    CHECK(version_round(true), "relay: reconnects again");
    guest_send(12, P9_TSTATFS, 12, 4, 0, 4096);
    CHECK(srv_read(m) == 11, "relay: request forwarded");
    srv_reply(P9_TWALK + 1, 12, 4, 0);
    CHECK(guest_used(&h, &len) && is_lerror(12, len, 12, EIO), "relay: reply of the wrong type");
    CHECK(version_round(true), "relay: and again");
    guest_send(13, P9_TSTATFS, 13, 4, 0, 4096);
    CHECK(srv_read(m) == 11, "relay: request forwarded");
    srv_write("\xff\xff\xff\x7f\x08\x0d\x00", 7);
    CHECK(guest_used(&h, &len) && is_lerror(13, len, 13, EIO), "relay: 2 GiB size: EIO");
    CHECK(version_round(true), "relay: and again");
    guest_send(14, P9_TSTATFS, 14, 4, 0, 4096);
    CHECK(srv_read(m) == 11, "relay: request forwarded");
    close(srv);
    srv = -1;
    CHECK(guest_used(&h, &len) && is_lerror(14, len, 14, EIO), "relay: server hung up: EIO");
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET), "relay: still no reset needed");

    /* A device reset drops the session; the driver starts a new one. */
    CHECK(version_round(true), "relay: connected");
    vd_set_status(&d, 0);
    CHECK(srv_sees_eof(), "relay: reset closes the connection");
    CHECK(vd_init_modern(&d, ~0ull, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "relay: re-init");
    CHECK(version_round(true), "relay: a new session after the reset");

    /* No server any more: Tversion gets the connect error. */
    close(lfd);
    lfd = -1;
    unlink(sock);
    vd_set_status(&d, 0);
    vd_init_modern(&d, ~0ull, VIRTIO_NO_VECTOR);
    guest_version(0, 8192);
    CHECK(guest_used(&h, &len) && len == 11 && rep(0)[4] == P9_RLERROR &&
              le32(rep(0) + 7) == ENOENT,
          "relay: a missing server: Rlerror(ENOENT)");
    fake_env_fini(&f);
    if (srv >= 0)
        close(srv);
    srv = -1;
}

static void test_tcp(void)
{
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    CHECK(bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 4) == 0 &&
              getsockname(lfd, (struct sockaddr *)&a, &al) == 0,
          "tcp: listener on 127.0.0.1");
    char conf[64];
    snprintf(conf, sizeof(conf), "port=%d,tag=t", ntohs(a.sin_port));
    start_device(conf);
    CHECK(version_round(true), "tcp: Tversion relayed over 127.0.0.1");
    fake_env_fini(&f);
    close(srv);
    close(lfd);
    srv = lfd = -1;
}

int main(void)
{
    char dir[] = "/tmp/hk-v9r-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char sock[100];
    snprintf(sock, sizeof(sock), "%s/9p.sock", dir);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4)) {
        printf("FAIL: relay: cannot listen on %s\n", sock);
        return 1;
    }
    test_stream(sock);
    test_tcp();
    rmdir(dir);
    TEST_EXIT();
}
