/*
 * The vpnkit backend: hyperkit's protocol to a vpnkit-compatible network
 * stack over a Unix stream socket. Handshake (all little-endian, packed):
 *   both ways   init      "VMN3T", u32 version (22), 40-byte commit id
 *   to server   command   u8 1 (ethernet), 36-char uuid, 4 bytes unused
 *   from server response  u8 type, then 257 bytes: type 1 (vif) u16 mtu,
 *                         u16 max packet size, mac[6]; type 2 (disconnect)
 *                         u8 length, reason text
 * then Ethernet frames both ways, each behind a u16 length.
 *
 * The server is trusted no more than a guest: every field and frame
 * length is checked, a bad one ends the connection with one log line.
 * The VM runs on without a network then (moby/hyperkit presses the ACPI
 * power button instead: stopping is the embedder's choice here).
 * Sends never block the device: frames queue in an output buffer the
 * backend's thread drains; when it is full a frame is dropped, as a wire
 * would, but never cut (that would break the framing).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>
#include <unistd.h>

#include "backends/net/net.h"

#define VPNKIT_VERSION 22
#define VPNKIT_INIT_LEN 49          /* magic 5, version 4, commit 40 */
#define VPNKIT_CMD_LEN 41           /* command 1, uuid 36, ipv4 4 */
#define VPNKIT_RESP_LEN 258         /* type 1, the larger body (disconnect) 257 */
#define VPNKIT_CMD_ETHERNET 1
#define VPNKIT_RESP_VIF 1
#define VPNKIT_RESP_DISCONNECT 2
#define VPNKIT_MIN_MTU 68           /* IPv4's minimum (RFC 791) */
#define VPNKIT_MIN_FRAME 14         /* an Ethernet header */
#define VPNKIT_PAD_FRAME 60         /* short frames padded, as hyperkit does */
#define VPNKIT_OUT_CAP (1u << 20)   /* queued frames to the server */
#define VPNKIT_IN_CAP (2 + 65535)

struct nvpnkit {
    struct netbe base;
    int fd, wake_fd;
    uint16_t mtu, max_packet;
    netbe_log_fn log;
    void *log_ctx;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;             /* out*, stop, broken */
    bool stop;
    atomic_bool broken;             /* the connection ended: sends fail */
    uint8_t *out;
    size_t out_head, out_len;
    uint8_t *in;                    /* the thread's */
    size_t in_len;
};

/* --- The handshake (blocking, with a timeout on the socket) ------------------------- */

static int put_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* 0; -1 with errno (0: end of stream). */
static int get_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = 0;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *io_why(void)
{
    if (errno == 0)
        return "the server closed the connection";
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return "no answer from the server in time";
    return strerror(errno);
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* The server's text, printable only (it may be anything). */
static void clean_text(char *dst, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    dst[len] = 0;
}

static int check_vif(struct nvpnkit *v, const uint8_t *r, char *err, size_t errlen)
{
    v->mtu = le16(r + 1);
    v->max_packet = le16(r + 3);
    memcpy(v->base.mac, r + 5, 6);
    const uint8_t *m = v->base.mac;
    if (v->mtu < VPNKIT_MIN_MTU || v->max_packet < VPNKIT_PAD_FRAME) {
        snprintf(err, errlen, "vpnkit: server gave MTU %u, max packet size %u (want MTU >= %d, "
                 "packets >= %d)", v->mtu, v->max_packet, VPNKIT_MIN_MTU, VPNKIT_PAD_FRAME);
        return HK_EIO;
    }
    if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5])) {
        snprintf(err, errlen, "vpnkit: server gave MAC %02x:%02x:%02x:%02x:%02x:%02x "
                 "(want a unicast address)", m[0], m[1], m[2], m[3], m[4], m[5]);
        return HK_EIO;
    }
    v->base.has_mac = true;
    /* The guest's MTU: what the server says, cut so that a full frame
     * still fits its largest packet (else it would drop them). */
    unsigned fit = v->max_packet - VPNKIT_MIN_FRAME;
    unsigned mtu = v->mtu < fit ? v->mtu : fit;
    v->base.mtu = mtu >= VPNKIT_MIN_MTU ? (uint16_t)mtu : 0;
    return HK_OK;
}

static int handshake(struct nvpnkit *v, const char *uuid, char *err, size_t errlen)
{
    uint8_t init[VPNKIT_INIT_LEN] = {'V', 'M', 'N', '3', 'T', VPNKIT_VERSION};
    memset(init + 9, '0', 40);      /* no commit id to offer */
    uint8_t cmd[VPNKIT_CMD_LEN] = {VPNKIT_CMD_ETHERNET};
    memcpy(cmd + 1, uuid, 36);
    uint8_t reply[VPNKIT_INIT_LEN], r[VPNKIT_RESP_LEN];
    const char *step = "init";
    if (put_all(v->fd, init, sizeof(init)) || get_all(v->fd, reply, sizeof(reply)))
        goto io;
    if (memcmp(reply, "VMN3T", 5) != 0) {
        char magic[6];
        clean_text(magic, reply, 5);
        snprintf(err, errlen, "vpnkit: not a vpnkit server (magic '%s', want 'VMN3T')", magic);
        return HK_EIO;
    }
    /* hyperkit goes on with another version too: the messages are the same. */
    step = "command";
    if (put_all(v->fd, cmd, sizeof(cmd)) || get_all(v->fd, r, sizeof(r)))
        goto io;
    if (r[0] == VPNKIT_RESP_VIF)
        return check_vif(v, r, err, errlen);
    if (r[0] == VPNKIT_RESP_DISCONNECT) {
        char why[256];
        clean_text(why, r + 2, r[1]);       /* r[1] <= 255: inside r */
        snprintf(err, errlen, "vpnkit: server refused the interface: %s", why);
    } else {
        snprintf(err, errlen, "vpnkit: server sent unknown response type %u", r[0]);
    }
    return HK_EIO;
io:
    snprintf(err, errlen, "vpnkit: handshake (%s): %s", step, io_why());
    return HK_EIO;
}

static int write_macfile(const char *path, const uint8_t *m, char *err, size_t errlen)
{
    /* A new file renamed into place: a reader never sees half an address. */
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        snprintf(err, errlen, "vpnkit: macfile path too long");
        return HK_EINVAL;
    }
    FILE *f = fopen(tmp, "w");
    bool ok = f && fprintf(f, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                           m[5]) > 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "vpnkit: macfile %s: %s", path, strerror(errno));
        unlink(tmp);
        return HK_EIO;
    }
    return HK_OK;
}

/* --- The data path -------------------------------------------------------------------- */

static void wake(struct nvpnkit *v)
{
    uint64_t one = 1;
    ssize_t r = write(v->wake_fd, &one, sizeof(one));
    (void)r;
}

/* The connection is over: one line, then sends fail (thread or send). */
static void fail(struct nvpnkit *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct nvpnkit *v, const char *fmt, ...)
{
    if (atomic_exchange(&v->broken, true))
        return;
    shutdown(v->fd, SHUT_RDWR);
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (v->log)
        v->log(v->log_ctx, HK_LOG_ERROR, msg);
}

/* Write what the socket takes now (mu held). */
static void flush(struct nvpnkit *v)
{
    while (v->out_len && !atomic_load(&v->broken)) {
        ssize_t n = send(v->fd, v->out + v->out_head, v->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            fail(v, "vpnkit: write to the server: %s", n < 0 ? strerror(errno) : "closed");
            return;
        }
        v->out_head += (size_t)n;
        v->out_len -= (size_t)n;
    }
    v->out_head = 0;
}

static int vpnkit_send(struct netbe *b, const void *frame, size_t len)
{
    struct nvpnkit *v = (struct nvpnkit *)b;
    if (len < VPNKIT_MIN_FRAME || len > v->max_packet)
        return HK_EINVAL;
    size_t body = len < VPNKIT_PAD_FRAME ? VPNKIT_PAD_FRAME : len;
    pthread_mutex_lock(&v->mu);
    int r = HK_OK;
    if (atomic_load(&v->broken)) {
        r = HK_EIO;
    } else if (v->out_len + 2 + body > VPNKIT_OUT_CAP) {
        r = HK_EIO;                     /* the server is behind: drop */
    } else {
        if (v->out_head + v->out_len + 2 + body > VPNKIT_OUT_CAP) {
            memmove(v->out, v->out + v->out_head, v->out_len);
            v->out_head = 0;
        }
        uint8_t *p = v->out + v->out_head + v->out_len;
        p[0] = (uint8_t)body;
        p[1] = (uint8_t)(body >> 8);
        memcpy(p + 2, frame, len);
        memset(p + 2 + len, 0, body - len);
        bool was_empty = v->out_len == 0;
        v->out_len += 2 + body;
        if (was_empty) {
            flush(v);
            if (v->out_len)
                wake(v);                /* the thread waits for room */
        }
    }
    pthread_mutex_unlock(&v->mu);
    return r;
}

/* Frames in v->in to the device; false when the server broke the framing. */
static bool deliver(struct nvpnkit *v)
{
    size_t off = 0;
    while (v->in_len - off >= 2) {
        size_t flen = le16(v->in + off);
        if (flen < VPNKIT_MIN_FRAME || flen > v->max_packet) {
            fail(v, "vpnkit: server sent a %zu-byte frame (want %d to %u): disconnected", flen,
                 VPNKIT_MIN_FRAME, v->max_packet);
            return false;
        }
        if (v->in_len - off < 2 + flen)
            break;
        v->base.rx(v->base.rx_opaque, v->in + off + 2, flen);
        off += 2 + flen;
    }
    memmove(v->in, v->in + off, v->in_len - off);
    v->in_len -= off;
    return true;
}

static bool receive(struct nvpnkit *v)
{
    ssize_t n = recv(v->fd, v->in + v->in_len, VPNKIT_IN_CAP - v->in_len, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    if (n <= 0) {
        fail(v, "vpnkit: %s", n == 0 ? "the server closed the connection" : strerror(errno));
        return false;
    }
    v->in_len += (size_t)n;
    return deliver(v);
}

static void *vpnkit_thread(void *arg)
{
    struct nvpnkit *v = arg;
    for (;;) {
        pthread_mutex_lock(&v->mu);
        bool stop = v->stop, want_out = v->out_len > 0;
        pthread_mutex_unlock(&v->mu);
        if (stop)
            break;
        bool live = !atomic_load(&v->broken);
        struct pollfd p[2] = {
            {.fd = v->wake_fd, .events = POLLIN},
            {.fd = live ? v->fd : -1, .events = (short)(POLLIN | (want_out ? POLLOUT : 0))},
        };
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN) {
            uint64_t c;
            ssize_t r = read(v->wake_fd, &c, sizeof(c));
            (void)r;
        }
        if (p[1].revents & POLLOUT) {
            pthread_mutex_lock(&v->mu);
            flush(v);
            pthread_mutex_unlock(&v->mu);
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
            receive(v);
    }
    return NULL;
}

static void vpnkit_close(struct netbe *b)
{
    struct nvpnkit *v = (struct nvpnkit *)b;
    if (v->started) {
        pthread_mutex_lock(&v->mu);
        v->stop = true;
        pthread_mutex_unlock(&v->mu);
        wake(v);
        pthread_join(v->thread, NULL);
    }
    if (v->fd >= 0)
        close(v->fd);
    if (v->wake_fd >= 0)
        close(v->wake_fd);
    pthread_mutex_destroy(&v->mu);
    free(v->out);
    free(v->in);
    free(v);
}

static const struct netbe_ops vpnkit_ops = {.send = vpnkit_send, .close = vpnkit_close};

static int set_timeout(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
           setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int netbe_vpnkit_open_fd(int fd, const struct netbe_vpnkit_opts *o, netbe_rx_fn rx, void *opaque,
                         struct netbe **out, char *err, size_t errlen)
{
    struct nvpnkit *v = calloc(1, sizeof(*v));
    if (!v) {
        close(fd);
        return HK_ENOMEM;
    }
    v->base = (struct netbe){.ops = &vpnkit_ops, .rx = rx, .rx_opaque = opaque};
    v->fd = fd;
    v->log = o->log;
    v->log_ctx = o->log_ctx;
    pthread_mutex_init(&v->mu, NULL);
    v->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    v->out = malloc(VPNKIT_OUT_CAP);
    v->in = malloc(VPNKIT_IN_CAP);
    int r = HK_ENOMEM;
    if (v->wake_fd < 0 || !v->out || !v->in)
        goto fail;
    if (strlen(o->uuid) != 36) {
        snprintf(err, errlen, "vpnkit: the uuid must be 36 characters");
        r = HK_EINVAL;
        goto fail;
    }
    if (set_timeout(fd, o->timeout_ms > 0 ? o->timeout_ms : 30000) ||
        (r = handshake(v, o->uuid, err, errlen)) != 0)
        goto fail;
    if (o->macfile && (r = write_macfile(o->macfile, v->base.mac, err, errlen)) != 0)
        goto fail;
    r = HK_ENOMEM;
    if (pthread_create(&v->thread, NULL, vpnkit_thread, v) != 0)
        goto fail;
    v->started = true;
    *out = &v->base;
    return HK_OK;
fail:
    vpnkit_close(&v->base);
    return r;
}

int netbe_vpnkit_open(const struct netbe_vpnkit_opts *o, netbe_rx_fn rx, void *opaque,
                      struct netbe **out, char *err, size_t errlen)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (!o->path || !*o->path || strlen(o->path) >= sizeof(a.sun_path)) {
        snprintf(err, errlen, "vpnkit: socket path missing or too long (at most %zu bytes)",
                 sizeof(a.sun_path) - 1);
        return HK_EINVAL;
    }
    memcpy(a.sun_path, o->path, strlen(o->path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        snprintf(err, errlen, "vpnkit: %s: %s", o->path, strerror(e));
        if (fd >= 0)
            close(fd);
        return e == ENOENT ? HK_ENOENT : HK_EIO;
    }
    return netbe_vpnkit_open_fd(fd, o, rx, opaque, out, err, errlen);
}
