/*
 * The vpnkit backend against a fake server on a socketpair: the handshake
 * as the server sees it (magic, version, the ethernet command with the
 * uuid), the MAC and MTU it assigns (the macfile; the MTU cut to fit its
 * largest packet), frames both ways with their
 * length prefix (short ones padded, split reads reassembled), a server that
 * stops reading (sends drop whole frames, never block, never cut one), and
 * hostile servers: bad magic, early end, silence, a refusal with binary
 * text, unknown responses, impossible MTU / sizes / MACs, frames shorter
 * than an Ethernet header or longer than agreed. Each gives one error line
 * and no crash. Then the virtio-vpnkit options.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backends/net/net.h"
#include "devices/virtio/virtio_net.h"
#include "net_events.h"
#include "test.h"

#define UUID "5e4a7b2c-1d3f-4a5b-8c6d-7e8f90a1b2c3"
#define MAXPKT 1550

/* --- What the backend hands the device, and logs. ----------------------------------- */
static int nrx;
static size_t rx_len[16];
static uint8_t rx_data[16][MAXPKT];

static void on_rx(void *opaque, const void *frame, size_t len)
{
    pthread_mutex_lock(&mu);
    if (nrx < 16 && len <= MAXPKT) {
        rx_len[nrx] = len;
        memcpy(rx_data[nrx], frame, len);
    }
    nrx++;
    pthread_mutex_unlock(&mu);
}


static void reset_counts(void)
{
    pthread_mutex_lock(&mu);
    nrx = nlog = 0;
    last_log[0] = 0;
    pthread_mutex_unlock(&mu);
}



/* --- The fake server ---------------------------------------------------------------- */
enum srv_mode {
    SRV_GOOD,
    SRV_BAD_MAGIC,
    SRV_EOF_AFTER_INIT,     /* reads init, closes */
    SRV_SILENT,             /* reads init, says nothing */
    SRV_SHORT_RESPONSE,     /* half a response, then closes */
    SRV_RESPONSE,           /* init fine, then resp[] as set */
};

struct srv {
    int fd;
    enum srv_mode mode;
    uint8_t resp[258];
    /* What it saw. */
    bool init_ok;
    uint8_t cmd;
    char uuid[37];
};

static int rd(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int wr(int fd, const void *buf, size_t len)
{
    return write(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

static void vif(uint8_t r[258], uint16_t mtu, uint16_t maxpkt, const uint8_t mac[6])
{
    memset(r, 0, 258);
    r[0] = 1;
    r[1] = (uint8_t)mtu;
    r[2] = (uint8_t)(mtu >> 8);
    r[3] = (uint8_t)maxpkt;
    r[4] = (uint8_t)(maxpkt >> 8);
    memcpy(r + 5, mac, 6);
}

static const uint8_t good_mac[6] = {0x02, 0x50, 0x00, 0x12, 0x34, 0x56};

static void *server(void *arg)
{
    struct srv *s = arg;
    uint8_t init[49], cmd[41];
    if (rd(s->fd, init, sizeof(init)))
        return NULL;
    s->init_ok = memcmp(init, "VMN3T", 5) == 0 && init[5] == 22 && !init[6] && !init[7] &&
                 !init[8];
    if (s->mode == SRV_EOF_AFTER_INIT) {
        shutdown(s->fd, SHUT_WR);
        return NULL;
    }
    if (s->mode == SRV_SILENT) {
        char c;
        ssize_t r = read(s->fd, &c, 1);       /* until the backend gives up */
        (void)r;
        return NULL;
    }
    uint8_t reply[49];
    memcpy(reply, init, sizeof(reply));
    if (s->mode == SRV_BAD_MAGIC)
        memcpy(reply, "HTTP/", 5);
    if (wr(s->fd, reply, sizeof(reply)) || s->mode == SRV_BAD_MAGIC || rd(s->fd, cmd, sizeof(cmd)))
        return NULL;
    s->cmd = cmd[0];
    memcpy(s->uuid, cmd + 1, 36);
    s->uuid[36] = 0;
    if (s->mode == SRV_GOOD)
        vif(s->resp, 1500, MAXPKT, good_mac);
    wr(s->fd, s->resp, s->mode == SRV_SHORT_RESPONSE ? 100 : 258);
    if (s->mode == SRV_SHORT_RESPONSE)
        shutdown(s->fd, SHUT_WR);
    return NULL;
}

/* Open the backend on a socketpair served by a fake in mode m (resp for
 * SRV_RESPONSE). Returns the open result; *peer is the server's end. */
static int open_with(enum srv_mode m, const uint8_t *resp, struct srv *s, int *peer,
                     struct netbe **be, const char *macfile, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return -100;
    memset(s, 0, sizeof(*s));
    s->fd = sv[1];
    s->mode = m;
    if (resp)
        memcpy(s->resp, resp, 258);
    pthread_t t;
    pthread_create(&t, NULL, server, s);
    struct netbe_vpnkit_opts o = {.uuid = UUID, .macfile = macfile,
                                  .timeout_ms = m == SRV_SILENT ? 300 : 0,
                                  .log = on_log};
    err[0] = 0;
    *be = NULL;
    int r = netbe_vpnkit_open_fd(sv[0], &o, on_rx, NULL, be, err, errlen);
    pthread_join(t, NULL);
    *peer = sv[1];
    return r;
}

/* The backend closed its end: the server reads end of stream. */
static bool peer_sees_close(int fd)
{
    uint8_t b[512];
    for (;;) {
        ssize_t n = read(fd, b, sizeof(b));
        if (n <= 0)
            return n == 0;
    }
}

/* --- Handshake ---------------------------------------------------------------------- */
static void test_handshake(void)
{
    struct srv s;
    int peer;
    struct netbe *be;
    char err[256], macfile[] = "/tmp/hk-vpnkit-mac-XXXXXX";
    int tfd = mkstemp(macfile);
    close(tfd);
    CHECK_EQ(open_with(SRV_GOOD, NULL, &s, &peer, &be, macfile, err, sizeof(err)), HK_OK,
             "vpnkit: handshake with a good server");
    CHECK(s.init_ok, "vpnkit: init is VMN3T, version 22 (little-endian)");
    CHECK_EQ(s.cmd, 1, "vpnkit: the command is 'ethernet'");
    CHECK(strcmp(s.uuid, UUID) == 0, "vpnkit: the command carries the uuid");
    CHECK(be && be->has_mac && memcmp(be->mac, good_mac, 6) == 0, "vpnkit: the server's MAC");
    CHECK(be && be->mtu == 1500, "vpnkit: the server's MTU for the guest");
    char buf[64] = {0};
    FILE *f = fopen(macfile, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    CHECK(n == 17 && strcmp(buf, "02:50:00:12:34:56") == 0, "vpnkit: macfile holds the MAC");
    unlink(macfile);
    netbe_close(be);
    CHECK(peer_sees_close(peer), "vpnkit: close closes the socket");
    close(peer);
}

/* The guest's MTU is the server's, cut to what its largest packet holds. */
static void test_mtu(void)
{
    static const struct { uint16_t mtu, maxpkt, want; const char *name; } c[] = {
        {1400, MAXPKT, 1400, "vpnkit: MTU 1400 from the server"},
        {9000, MAXPKT, MAXPKT - 14, "vpnkit: MTU 9000, packets <= 1550: the guest gets 1536"},
        {1500, 70, 0, "vpnkit: packets too small for an IP MTU: none offered"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct srv s;
        int peer;
        struct netbe *be;
        char err[256];
        uint8_t r[258];
        vif(r, c[i].mtu, c[i].maxpkt, good_mac);
        int st = open_with(SRV_RESPONSE, r, &s, &peer, &be, NULL, err, sizeof(err));
        CHECK(st == HK_OK && be && be->mtu == c[i].want, c[i].name);
        if (st != HK_OK || !be || be->mtu != c[i].want)
            printf("  (got %d mtu %u '%s')\n", st, be ? be->mtu : 0, err);
        netbe_close(be);
        close(peer);
    }
}

/* Each case: open fails, one line naming the problem, the socket closed. */
static void hostile(enum srv_mode m, const uint8_t *resp, const char *want, const char *name)
{
    struct srv s;
    int peer;
    struct netbe *be;
    char err[256];
    int r = open_with(m, resp, &s, &peer, &be, NULL, err, sizeof(err));
    char n[160];
    snprintf(n, sizeof(n), "vpnkit: %s refused with one line", name);
    CHECK(r != HK_OK && be == NULL && strstr(err, want) && !strchr(err, '\n'), n);
    if (r == HK_OK || !strstr(err, want))
        printf("  (got %d '%s', want '%s')\n", r, err, want);
    snprintf(n, sizeof(n), "vpnkit: %s: socket closed", name);
    CHECK(peer_sees_close(peer), n);
    close(peer);
}

static void test_hostile_handshake(void)
{
    uint8_t r[258];
    hostile(SRV_BAD_MAGIC, NULL, "magic 'HTTP/'", "bad magic");
    hostile(SRV_EOF_AFTER_INIT, NULL, "closed the connection", "end after init");
    hostile(SRV_SILENT, NULL, "no answer", "silent server");
    hostile(SRV_SHORT_RESPONSE, NULL, "closed the connection", "short response");
    memset(r, 0xff, sizeof(r));
    r[0] = 2;
    memcpy(r + 2, "no\nmore\x01", 8);
    hostile(SRV_RESPONSE, r, "refused the interface: no?more?", "disconnect, binary reason");
    memset(r, 0, sizeof(r));
    r[0] = 7;
    hostile(SRV_RESPONSE, r, "unknown response type 7", "unknown response");
    vif(r, 0, MAXPKT, good_mac);
    hostile(SRV_RESPONSE, r, "MTU 0", "MTU 0");
    vif(r, 1500, 20, good_mac);
    hostile(SRV_RESPONSE, r, "max packet size 20", "max packet size 20");
    vif(r, 1500, MAXPKT, (const uint8_t[6]){0x01, 0, 0x5e, 0, 0, 1});
    hostile(SRV_RESPONSE, r, "01:00:5e:00:00:01", "multicast MAC");
    vif(r, 1500, MAXPKT, (const uint8_t[6]){0});
    hostile(SRV_RESPONSE, r, "00:00:00:00:00:00", "zero MAC");

    /* A bad uuid never reaches the server. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct netbe_vpnkit_opts o = {.uuid = "short"};
    struct netbe *be = NULL;
    char err[256];
    CHECK_EQ(netbe_vpnkit_open_fd(sv[0], &o, on_rx, NULL, &be, err, sizeof(err)), HK_EINVAL,
             "vpnkit: a uuid of the wrong length refused");
    CHECK(peer_sees_close(sv[1]), "vpnkit: bad uuid: socket closed");
    close(sv[1]);
}

/* --- Frames ------------------------------------------------------------------------- */
static void frame_of(uint8_t *f, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        f[i] = (uint8_t)(seed + i * 7);
}

static void test_frames(void)
{
    struct srv s;
    int peer;
    struct netbe *be;
    char err[256];
    reset_counts();
    if (open_with(SRV_GOOD, NULL, &s, &peer, &be, NULL, err, sizeof(err)) != HK_OK) {
        CHECK(0, "vpnkit frames: open");
        return;
    }
    /* To the server: length first, short frames padded to 60. */
    uint8_t f[MAXPKT + 10], got[MAXPKT + 2];
    frame_of(f, sizeof(f), 1);
    CHECK_EQ(netbe_send(be, f, 42), HK_OK, "vpnkit: 42-byte frame sent");
    CHECK(rd(peer, got, 62) == 0 && got[0] == 60 && got[1] == 0 && memcmp(got + 2, f, 42) == 0 &&
              got[44] == 0 && got[61] == 0, "vpnkit: short frame padded to 60, zeros");
    CHECK_EQ(netbe_send(be, f, MAXPKT), HK_OK, "vpnkit: max-size frame sent");
    CHECK(rd(peer, got, MAXPKT + 2) == 0 && got[0] == (MAXPKT & 0xff) && got[1] == MAXPKT >> 8 &&
              memcmp(got + 2, f, MAXPKT) == 0, "vpnkit: max-size frame, length little-endian");
    CHECK_EQ(netbe_send(be, f, MAXPKT + 1), HK_EINVAL, "vpnkit: frame over the server's max refused");
    CHECK_EQ(netbe_send(be, f, 13), HK_EINVAL, "vpnkit: frame under an Ethernet header refused");
    struct pollfd p = {.fd = peer, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 0), 0, "vpnkit: refused frames wrote nothing");

    /* From the server: three frames in one write, one byte by byte. */
    uint8_t w[3 * (2 + 100) + 2 + 1514];
    size_t off = 0;
    size_t lens[4] = {14, 100, 60, 1514};
    for (int i = 0; i < 3; i++) {
        w[off] = (uint8_t)lens[i];
        w[off + 1] = (uint8_t)(lens[i] >> 8);
        frame_of(w + off + 2, lens[i], (uint8_t)(10 * i));
        off += 2 + lens[i];
    }
    CHECK(wr(peer, w, off) == 0, "vpnkit: server writes three frames at once");
    uint8_t big[2 + 1514] = {1514 & 0xff, 1514 >> 8};
    frame_of(big + 2, 1514, 30);
    bool ok = true;
    for (size_t i = 0; i < sizeof(big) && ok; i++) {
        ok = wr(peer, big + i, 1) == 0;
        if (i % 200 == 0)
            nanosleep(&(struct timespec){0, 200000}, NULL);   /* really in pieces */
    }
    CHECK(ok && wait_count(&nrx, 4), "vpnkit: four frames delivered");
    pthread_mutex_lock(&mu);
    bool same = nrx == 4;
    for (int i = 0; i < 4 && same; i++) {
        uint8_t want[1514];
        frame_of(want, lens[i], (uint8_t)(10 * i));
        same = rx_len[i] == lens[i] && memcmp(rx_data[i], want, lens[i]) == 0;
    }
    pthread_mutex_unlock(&mu);
    CHECK(same, "vpnkit: frames arrive whole, in order, split reads reassembled");

    /* A server that stops reading: sends drop whole frames, never block. */
    int sent = 0, dropped = 0;
    for (int i = 0; i < 4000; i++) {
        frame_of(f, 1514, (uint8_t)i);
        if (netbe_send(be, f, 1514) == HK_OK)
            sent++;
        else
            dropped++;
    }
    CHECK(sent > 0 && dropped > 0, "vpnkit: a server that does not read: frames dropped, no block");
    /* It reads again: every accepted frame comes through whole. */
    int seen = 0;
    bool intact = true;
    while (seen < sent && intact) {
        intact = rd(peer, got, 2 + 1514) == 0 && got[0] == (1514 & 0xff) && got[1] == 1514 >> 8;
        uint8_t want[1514];
        frame_of(want, 1514, (uint8_t)seen);    /* only the first `sent` were queued */
        intact = intact && memcmp(got + 2, want, 1514) == 0;
        seen++;
    }
    CHECK(intact && seen == sent, "vpnkit: queued frames reach the server whole and in order");
    CHECK_EQ(get(&nlog), 0, "vpnkit: nothing logged on a good connection");
    netbe_close(be);
    close(peer);
}

/* A bad frame length from the server: one line, no delivery, sends fail. */
static void bad_frame(const uint8_t *bytes, size_t len, bool hangup, const char *want,
                      const char *name)
{
    struct srv s;
    int peer;
    struct netbe *be;
    char err[256], n[160];
    reset_counts();
    if (open_with(SRV_GOOD, NULL, &s, &peer, &be, NULL, err, sizeof(err)) != HK_OK) {
        CHECK(0, name);
        return;
    }
    if (len)
        wr(peer, bytes, len);
    if (hangup)
        shutdown(peer, SHUT_WR);
    snprintf(n, sizeof(n), "vpnkit: %s: one error line", name);
    bool logged = wait_count(&nlog, 1);
    uint8_t f[60] = {0};
    int r = netbe_send(be, f, sizeof(f));
    pthread_mutex_lock(&mu);
    CHECK(logged && nlog == 1 && strstr(last_log, want), n);
    if (!strstr(last_log, want))
        printf("  (got '%s')\n", last_log);
    snprintf(n, sizeof(n), "vpnkit: %s: nothing delivered", name);
    CHECK_EQ(nrx, 0, n);
    pthread_mutex_unlock(&mu);
    snprintf(n, sizeof(n), "vpnkit: %s: sends fail after", name);
    CHECK_EQ(r, HK_EIO, n);
    netbe_close(be);
    close(peer);
}

static void test_hostile_frames(void)
{
    bad_frame((const uint8_t[]){0, 0}, 2, false, "0-byte frame", "zero-length frame");
    bad_frame((const uint8_t[]){13, 0, 1, 2}, 4, false, "13-byte frame", "13-byte frame");
    bad_frame((const uint8_t[]){0xff, 0xff}, 2, false, "65535-byte frame", "65535-byte frame");
    bad_frame((const uint8_t[]){(MAXPKT + 1) & 0xff, (MAXPKT + 1) >> 8}, 2, false,
              "1551-byte frame", "frame over the max packet size");
    bad_frame(NULL, 0, true, "closed the connection", "server hangs up");
    bad_frame((const uint8_t[]){100, 0, 1, 2, 3}, 5, true, "closed the connection",
              "server hangs up inside a frame");
}

/* --- By path, and the options ------------------------------------------------------- */
static void test_path_and_options(void)
{
    struct netbe *be = NULL;
    char err[256];
    struct netbe_vpnkit_opts o = {.path = "/nonexistent/vpnkit.sock", .uuid = UUID};
    CHECK_EQ(netbe_vpnkit_open(&o, on_rx, NULL, &be, err, sizeof(err)), HK_ENOENT,
             "vpnkit: missing socket refused");
    CHECK(strstr(err, "/nonexistent/vpnkit.sock") && strstr(err, "No such file"),
          "vpnkit: the message names the socket");

    void *p = NULL;
    CHECK_EQ(virtio_vpnkit_parse("path=/tmp/s,uuid=" UUID ",macfile=/tmp/m", &p, err, sizeof(err)),
             HK_OK, "virtio-vpnkit: path, uuid, macfile accepted");
    virtio_net_free(p);
    struct {
        const char *conf, *want;
    } bad[] = {
        {"", "needs path=SOCK"},
        {"uuid=" UUID, "needs path=SOCK"},
        {"path=/tmp/s,mac=02:00:00:00:00:01", "the vpnkit server assigns the MAC"},
        {"path=/tmp/s,uuid=5e4a7b2c1d3f4a5b8c6d7e8f90a1b2c3", "bad uuid"},
        {"path=/tmp/s,uuid=5e4a7b2c-1d3f-4a5b-8c6d-7e8f90a1b2cZ", "bad uuid"},
        {"path=/tmp/s,hostfwd=tcp::1-:2", "unknown option 'hostfwd=tcp::1-:2'"},
        {"path=", "unknown option 'path='"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char n[160];
        p = NULL;
        err[0] = 0;
        int r = virtio_vpnkit_parse(bad[i].conf, &p, err, sizeof(err));
        snprintf(n, sizeof(n), "virtio-vpnkit: '%s' refused: %s", bad[i].conf, bad[i].want);
        CHECK(r == HK_EINVAL && p == NULL && strstr(err, bad[i].want) &&
                  strncmp(err, "virtio-vpnkit: ", 15) == 0, n);
        if (!strstr(err, bad[i].want))
            printf("  (got '%s')\n", err);
    }
}

struct acc_arg {
    int l;
    struct srv *s;
};

static void *server_after_accept(void *arg)
{
    struct acc_arg *a = arg;
    a->s->fd = accept(a->l, NULL, NULL);
    return a->s->fd < 0 ? NULL : server(a->s);
}

/* A real listening socket: open by path, a frame through. */
static void test_by_path(void)
{
    char dir[] = "/tmp/hk-vpnkit-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "vpnkit by path: mkdtemp");
        return;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s/s", dir);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, sizeof(a));
    listen(l, 1);
    struct netbe_vpnkit_opts o = {.path = a.sun_path, .uuid = UUID, .log = on_log};
    struct srv s = {.mode = SRV_GOOD};
    struct acc_arg aa = {l, &s};
    pthread_t t;
    pthread_create(&t, NULL, server_after_accept, &aa);   /* the handshake needs a peer */
    struct netbe *be = NULL;
    char err[256];
    reset_counts();
    int r = netbe_vpnkit_open(&o, on_rx, NULL, &be, err, sizeof(err));
    pthread_join(t, NULL);
    CHECK(r == HK_OK && be && memcmp(be->mac, good_mac, 6) == 0 && strcmp(s.uuid, UUID) == 0,
          "vpnkit: by path: handshake");
    uint8_t fr[2 + 64] = {64, 0};
    frame_of(fr + 2, 64, 9);
    wr(s.fd, fr, sizeof(fr));
    CHECK(wait_count(&nrx, 1) && rx_len[0] == 64 && memcmp(rx_data[0], fr + 2, 64) == 0,
          "vpnkit: by path: a frame delivered");
    netbe_close(be);
    close(s.fd);
    close(l);
    unlink(a.sun_path);
    rmdir(dir);
}

int main(void)
{
    test_handshake();
    test_mtu();
    test_hostile_handshake();
    test_frames();
    test_hostile_frames();
    test_path_and_options();
    test_by_path();
    TEST_EXIT();
}
