/*
 * virtio-9p's relay form (virtio_9p.h): each 9P request the guest puts on
 * the queue is written to an external 9P server's socket, and the server's
 * replies (size-prefixed, matched by tag, in any order) are copied back
 * into the writable part of the request's chain. The queue is
 * device-driven: one relay thread pops chains, owns the socket (never
 * blocking on it) and pushes chains as their replies come, so a slow
 * request does not hold up the others.
 *
 * Nothing the server sends is trusted: a reply's size must lie in
 * 7..P9_MAX_MSIZE, its tag must name a request in flight and its type
 * answer that request. A server that breaks that rule, or closes the
 * connection, ends the session: requests in flight get Rlerror(EIO), and
 * so does every later request until the guest's next Tversion (a new
 * mount), which connects again. A device reset also drops the session.
 * The guest's own requests are checked before they are forwarded (size
 * field within what the chain holds, tag not already in flight), so the
 * server always sees a well-framed stream; Tversion's msize is lowered to
 * P9_MAX_MSIZE, so replies stay within that.
 *
 * Locks: mu (device state) -> the transport's queue lock (pop, push).
 * ops->reset takes mu; the relay thread holds it only while doing
 * non-blocking work.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/p9/p9_msg.h"
#include "backends/p9/p9_server.h"
#include "core/bytes.h"
#include "devices/virtio/virtio_9p.h"
#include "hyperkit.h"

#define V9R_OUT_CAP (2 * P9_MAX_MSIZE)  /* requests waiting for the server */
#define P9_RFLUSH (P9_TFLUSH + 1)
#define P9_RERROR 107                   /* 9P2000's error reply, from older servers */

struct v9r_req {
    struct virtq_chain *c;
    bool busy;
    uint8_t type;
    uint16_t tag, otag;                 /* otag: the request a Tflush names */
};

struct v9r {
    struct virtio_pci *vp;
    struct dev_env *env;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char where[140];                    /* for messages: the socket or 127.0.0.1:port */
    uint8_t config[2 + V9P_MAX_TAG];
    unsigned config_size;
    int efd;                            /* wakes the relay thread */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    bool stop, drop;                    /* under mu */
    /* The relay thread's (under mu). */
    int sock;
    struct v9r_req req[V9P_QUEUE_SIZE];
    int ninflight;
    uint8_t *out;                       /* out[out_off..out_len): not sent yet */
    size_t out_off, out_len;
    uint8_t *in;                        /* in[0..in_len): replies read, not whole yet */
    size_t in_len;
    uint8_t *msg;                       /* one request, gathered */
};

static void wake(struct v9r *r)
{
    uint64_t one = 1;
    if (write(r->efd, &one, sizeof(one)) < 0) {
        /* The counter is already non-zero: the thread wakes anyway. */
    }
}

/* Answer c ourselves with Rlerror(ecode) (nothing if it has no room). */
static void reply_error(struct v9r *r, const struct virtq_chain *c, uint16_t tag, uint32_t ecode)
{
    uint8_t e[16];
    size_t n = c->in_bytes >= 11 ? p9_lerror(e, sizeof(e), tag, ecode) : 0;
    virtio_pci_queue_push(r->vp, 0, c, (uint32_t)v9p_scatter(c, e, n));
}

static void finish(struct v9r *r, struct v9r_req *q)
{
    q->busy = false;
    r->ninflight--;
}

/* Close the connection. answer: requests in flight get Rlerror(EIO);
 * otherwise (a reset made them stale) they are forgotten. */
static void session_end(struct v9r *r, bool answer)
{
    if (r->sock >= 0)
        close(r->sock);
    r->sock = -1;
    for (int i = 0; i < V9P_QUEUE_SIZE; i++) {
        struct v9r_req *q = &r->req[i];
        if (!q->busy)
            continue;
        if (answer)
            reply_error(r, q->c, q->tag, EIO);
        finish(r, q);
    }
    r->out_off = r->out_len = 0;
    r->in_len = 0;
}

static void server_failed(struct v9r *r, const char *why)
{
    dev_log(r->env, HK_LOG_WARN,
            "virtio-9p: the 9P server at %s %s; the share answers EIO until it is mounted again",
            r->where, why);
    session_end(r, true);
}

static int connect_server(struct v9r *r)
{
    int fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    /* A TCP connection in progress takes writes once it is up (POLLOUT). */
    if (connect(fd, (struct sockaddr *)&r->addr, r->addrlen) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        dev_log(r->env, HK_LOG_WARN, "virtio-9p: cannot connect to the 9P server at %s: %s",
                r->where, strerror(e));
        return e;
    }
    r->sock = fd;
    return 0;
}

static struct v9r_req *find_tag(struct v9r *r, uint16_t tag)
{
    for (int i = 0; i < V9P_QUEUE_SIZE; i++)
        if (r->req[i].busy && r->req[i].tag == tag)
            return &r->req[i];
    return NULL;
}

/* One whole reply from the server, msg[0..size), size already checked. */
static void deliver(struct v9r *r, const uint8_t *msg, size_t size)
{
    uint8_t type = msg[4];
    uint16_t tag = le16(msg + 5);
    struct v9r_req *q = find_tag(r, tag);
    char why[80];
    if (!q || (type != q->type + 1 && type != P9_RLERROR && type != P9_RERROR)) {
        snprintf(why, sizeof(why), "sent a reply (type %u, tag %u) to no request of ours", type,
                 tag);
        server_failed(r, why);
        return;
    }
    /* After Rflush the flushed request gets no reply (9P flush(5)): give
     * its buffers back empty, as the guest expects. */
    struct v9r_req *old = type == P9_RFLUSH ? find_tag(r, q->otag) : NULL;
    if (old && old != q) {
        virtio_pci_queue_push(r->vp, 0, old->c, 0);
        finish(r, old);
    }
    if (size <= q->c->in_bytes)
        virtio_pci_queue_push(r->vp, 0, q->c, (uint32_t)v9p_scatter(q->c, msg, size));
    else
        reply_error(r, q->c, tag, EMSGSIZE);
    finish(r, q);
}

static void read_replies(struct v9r *r)
{
    for (;;) {
        ssize_t n = recv(r->sock, r->in + r->in_len, P9_MAX_MSIZE - r->in_len, MSG_DONTWAIT);
        if (n == 0) {
            server_failed(r, "closed the connection");
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                server_failed(r, strerror(errno));
            return;
        }
        r->in_len += (size_t)n;
        size_t off = 0;
        while (r->sock >= 0 && r->in_len - off >= 4) {
            uint32_t size = le32(r->in + off);
            if (size < P9_HDR_SIZE || size > P9_MAX_MSIZE) {
                server_failed(r, "sent a message with a bad size");
                return;
            }
            if (r->in_len - off < size)
                break;
            deliver(r, r->in + off, size);
            off += size;
        }
        if (r->sock < 0)
            return;
        memmove(r->in, r->in + off, r->in_len - off);
        r->in_len -= off;
    }
}

static void write_requests(struct v9r *r)
{
    while (r->sock >= 0 && r->out_off < r->out_len) {
        ssize_t n = send(r->sock, r->out + r->out_off, r->out_len - r->out_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                server_failed(r, strerror(errno));
            return;
        }
        r->out_off += (size_t)n;
    }
    if (r->out_off == r->out_len)
        r->out_off = r->out_len = 0;
}

/* One chain from the guest, in slot q: checked, then queued for the
 * server or answered here. */
static void forward(struct v9r *r, struct v9r_req *q)
{
    struct virtq_chain *c = q->c;
    size_t len = v9p_gather(c, r->msg, P9_MAX_MSIZE);
    if (len < P9_HDR_SIZE) {
        virtio_pci_queue_push(r->vp, 0, c, 0);      /* no tag to answer */
        return;
    }
    uint32_t size = le32(r->msg);
    uint8_t type = r->msg[4];
    uint16_t tag = le16(r->msg + 5);
    if (size < P9_HDR_SIZE || size > len) {
        reply_error(r, c, tag, EPROTO);
        return;
    }
    if (find_tag(r, tag)) {
        reply_error(r, c, tag, EINVAL);             /* 9P: tags in flight are unique */
        return;
    }
    if (type == P9_TVERSION && size >= P9_HDR_SIZE + 4) {
        if (le32(r->msg + 7) > P9_MAX_MSIZE)
            put32(r->msg + 7, P9_MAX_MSIZE);
        int e = r->sock < 0 ? connect_server(r) : 0;
        if (e) {
            reply_error(r, c, tag, (uint32_t)e);
            return;
        }
    }
    if (r->sock < 0) {
        reply_error(r, c, tag, EIO);
        return;
    }
    memcpy(r->out + r->out_len, r->msg, size);
    r->out_len += size;
    q->busy = true;
    q->type = type;
    q->tag = tag;
    q->otag = type == P9_TFLUSH && size >= P9_HDR_SIZE + 2 ? le16(r->msg + 7) : P9_NOTAG;
    r->ninflight++;
}

/* Pop what the guest queued while there is room to hold it. */
static void take_requests(struct v9r *r)
{
    for (;;) {
        if (r->out_off) {
            memmove(r->out, r->out + r->out_off, r->out_len - r->out_off);
            r->out_len -= r->out_off;
            r->out_off = 0;
        }
        if (r->ninflight == V9P_QUEUE_SIZE || V9R_OUT_CAP - r->out_len < P9_MAX_MSIZE)
            return;
        struct v9r_req *q = NULL;
        for (int i = 0; i < V9P_QUEUE_SIZE && !q; i++)
            if (!r->req[i].busy)
                q = &r->req[i];
        int got = virtio_pci_queue_pop(r->vp, 0, q->c);
        /* Empty: ask for a kick (with EVENT_IDX the driver kicks only
         * when it passes avail_event), then look once more. */
        if (got == 0 && virtio_pci_queue_enable_kicks(r->vp, 0, true))
            continue;
        if (got != 1)
            return;
        forward(r, q);
        write_requests(r);
    }
}

static void *relay_main(void *arg)
{
    struct v9r *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int polled = r->sock;
        short ev = POLLIN | (r->out_len > r->out_off ? POLLOUT : 0);
        pthread_mutex_unlock(&r->mu);
        struct pollfd p[2] = {{.fd = r->efd, .events = POLLIN}, {.fd = polled, .events = ev}};
        if (poll(p, polled >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
            continue;
        uint64_t cnt;
        if (p[0].revents & POLLIN && read(r->efd, &cnt, sizeof(cnt)) < 0) {
            /* Nothing to do: the counter was read by an earlier round. */
        }
        pthread_mutex_lock(&r->mu);
        if (r->stop) {
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        if (r->drop) {
            session_end(r, false);
            r->drop = false;
        }
        if (r->sock >= 0 && r->sock == polled && p[1].revents)
            read_replies(r);
        write_requests(r);
        take_requests(r);
        pthread_mutex_unlock(&r->mu);
    }
}

/* --- The device ------------------------------------------------------------------------ */

static void v9r_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
    struct v9r *r = opaque;
    memcpy(buf, r->config + off, len);          /* off + len checked by the transport */
}

static void v9r_config_write(void *opaque, unsigned off, const void *buf, unsigned len) {}

static void v9r_reset(void *opaque)
{
    struct v9r *r = opaque;
    pthread_mutex_lock(&r->mu);
    r->drop = true;
    pthread_mutex_unlock(&r->mu);
    wake(r);
}

static void v9r_kick(void *opaque, int q)
{
    wake(opaque);
}

static const struct virtio_dev_ops v9r_ops = {
    .features = v9p_features,
    .config_read = v9r_config_read,
    .config_write = v9r_config_write,
    .reset = v9r_reset,
    .kick = v9r_kick,
};

static void v9r_destroy(void *opaque)
{
    struct v9r *r = opaque;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_mutex_unlock(&r->mu);
        wake(r);
        pthread_join(r->thread, NULL);
    }
    if (r->vp)
        virtio_pci_destroy(r->vp);
    if (r->sock >= 0)
        close(r->sock);
    if (r->efd >= 0)
        close(r->efd);
    for (int i = 0; i < V9P_QUEUE_SIZE; i++)
        free(r->req[i].c);
    free(r->out);
    free(r->in);
    free(r->msg);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static int set_address(struct v9r *r, const struct v9p_conf *conf, char *err, size_t errlen)
{
    if (conf->port) {
        struct sockaddr_in *in = (struct sockaddr_in *)&r->addr;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)conf->port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        r->addrlen = sizeof(*in);
        snprintf(r->where, sizeof(r->where), "127.0.0.1:%d", conf->port);
        return HK_OK;
    }
    struct sockaddr_un *un = (struct sockaddr_un *)&r->addr;
    size_t n = strlen(conf->path);
    if (n >= sizeof(un->sun_path)) {
        snprintf(err, errlen, "virtio-9p: socket path %s is longer than %zu bytes", conf->path,
                 sizeof(un->sun_path) - 1);
        return HK_EINVAL;
    }
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, conf->path, n + 1);
    r->addrlen = sizeof(*un);
    snprintf(r->where, sizeof(r->where), "%.*s", (int)sizeof(r->where) - 1, conf->path);
    return HK_OK;
}

static int v9r_alloc(struct v9r *r)
{
    r->out = malloc(V9R_OUT_CAP);
    r->in = malloc(P9_MAX_MSIZE);
    r->msg = malloc(P9_MAX_MSIZE);
    if (!r->out || !r->in || !r->msg)
        return HK_ENOMEM;
    for (int i = 0; i < V9P_QUEUE_SIZE; i++)
        if (!(r->req[i].c = virtio_pci_chain_new(r->vp)))
            return HK_ENOMEM;
    return HK_OK;
}

int virtio_9p_relay_create(struct dev_env *env, struct pci_bus *bus, int slot, int func,
                           const struct v9p_conf *conf, char *err, size_t errlen)
{
    struct v9r *r = calloc(1, sizeof(*r));
    if (!r)
        return HK_ENOMEM;
    r->env = env;
    r->sock = r->efd = -1;
    pthread_mutex_init(&r->mu, NULL);
    int e = set_address(r, conf, err, errlen);
    if (e) {
        v9r_destroy(r);
        return e;
    }
    r->config_size = v9p_tag_config(r->config, conf->tag);
    /* device_driven_mask 1: the relay thread pops and pushes the queue */
    if ((e = v9p_pci_create(env, bus, slot, func, r->config_size, 1, &v9r_ops, r, &r->vp, err,
                            errlen)) != 0) {
        v9r_destroy(r);
        return e;
    }
    if ((e = v9r_alloc(r)) != 0 || (r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
        pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        snprintf(err, errlen, "virtio-9p: cannot start the relay to %s", r->where);
        v9r_destroy(r);
        return HK_ENOMEM;
    }
    r->started = true;
    return v9p_add_teardown(env, r, v9r_destroy, err, errlen);
}
