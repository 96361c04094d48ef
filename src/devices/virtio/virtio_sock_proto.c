/*
 * virtio-sock's protocol engine (virtio 5.10.6): the connection table,
 * the guest's packets (tx queue) and ours (rx queue). Every guest value
 * is checked: the header must fit the chain, the payload length the
 * chain and the credit we gave; addresses, type and op must make sense
 * for the connection, else the guest gets an RST (never an RST for an
 * RST). All under vs->lock, on the device's I/O thread (or a test's).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/iov.h"
#include "devices/virtio/virtio_sock_priv.h"
#include "hyperkit.h"

void vs_hdr_decode(const uint8_t b[VS_HDR_SIZE], struct vs_hdr *h)
{
    h->src_cid = le64(b);
    h->dst_cid = le64(b + 8);
    h->src_port = le32(b + 16);
    h->dst_port = le32(b + 20);
    h->len = le32(b + 24);
    h->type = le16(b + 28);
    h->op = le16(b + 30);
    h->flags = le32(b + 32);
    h->buf_alloc = le32(b + 36);
    h->fwd_cnt = le32(b + 40);
}

void vs_hdr_encode(const struct vs_hdr *h, uint8_t b[VS_HDR_SIZE])
{
    put64(b, h->src_cid);
    put64(b + 8, h->dst_cid);
    put32(b + 16, h->src_port);
    put32(b + 20, h->dst_port);
    put32(b + 24, h->len);
    put16(b + 28, h->type);
    put16(b + 30, h->op);
    put32(b + 32, h->flags);
    put32(b + 36, h->buf_alloc);
    put32(b + 40, h->fwd_cnt);
}

void vs_warn(struct vsock *vs, const char *fmt, ...)
{
    if (vs->warnings_left <= 0)
        return;
    vs->warnings_left--;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dev_log(vs->env, HK_LOG_WARN, "virtio-sock: %s", msg);
}

/* --- The connection table ----------------------------------------------------------- */

static unsigned hash_of(uint32_t host_port, uint32_t guest_port)
{
    uint32_t h = host_port * 0x9e3779b1u ^ guest_port * 0x85ebca6bu;
    return (h ^ h >> 15) % VS_HASH;
}

static struct vs_conn *lookup(struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
    for (struct vs_conn *c = vs->hash[hash_of(host_port, guest_port)]; c; c = c->next)
        if (c->host_port == host_port && c->guest_port == guest_port)
            return c;
    return NULL;
}

static void hash_add(struct vsock *vs, struct vs_conn *c)
{
    unsigned h = hash_of(c->host_port, c->guest_port);
    c->next = vs->hash[h];
    vs->hash[h] = c;
}

static void hash_del(struct vsock *vs, struct vs_conn *c)
{
    for (struct vs_conn **p = &vs->hash[hash_of(c->host_port, c->guest_port)]; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return;
        }
}

static void conn_free(struct vsock *vs, struct vs_conn *c)
{
    if (c->state != VS_HANDSHAKE)
        hash_del(vs, c);
    if (c->fd >= 0)
        close(c->fd);
    int i = c->idx;
    vs->conns[i] = vs->conns[--vs->nconns];
    vs->conns[i]->idx = i;
    free(c->wbuf);
    free(c);
}

struct vs_conn *vs_conn_new(struct vsock *vs, int fd, bool handshake, uint32_t port)
{
    if (vs->nconns >= VS_MAX_CONNS)
        return NULL;
    struct vs_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = fd;
    c->state = handshake ? VS_HANDSHAKE : VS_REQUESTED;
    c->idx = vs->nconns;
    vs->conns[vs->nconns++] = c;
    if (!handshake) {
        /* A host port no connection to this guest port uses. */
        do {
            c->host_port = vs->next_port++;
            if (vs->next_port < VS_FIRST_HOST_PORT || vs->next_port == UINT32_MAX)
                vs->next_port = VS_FIRST_HOST_PORT;
        } while (lookup(vs, c->host_port, port));
        c->guest_port = port;
        c->pending = VS_P_REQUEST;
        hash_add(vs, c);
    }
    return c;
}

void vs_conn_drop_all(struct vsock *vs)
{
    while (vs->nconns)
        conn_free(vs, vs->conns[vs->nconns - 1]);
    vs->rst_n = 0;
}

/* Close the host side and owe the guest an RST (then the slot goes). */
static void conn_reset(struct vs_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = VS_DEAD;
    c->pending = VS_P_RST;
}

/* An RST for a packet that has no connection (never for an RST). */
static void rst_nosock(struct vsock *vs, const struct vs_hdr *h)
{
    if (h->op == VS_OP_RST || vs->rst_n == VS_RST_RING)
        return;
    int i = (vs->rst_head + vs->rst_n++) % VS_RST_RING;
    vs->rst[i].host_port = h->dst_port;
    vs->rst[i].guest_port = h->src_port;
}

void vs_handshake_read(struct vsock *vs, struct vs_conn *c)
{
    ssize_t n = read(c->fd, c->line + c->linelen, (size_t)(VS_LINE - c->linelen));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_free(vs, c);
        return;
    }
    c->linelen += (int)n;
    if (c->linelen < VS_LINE)
        return;
    /* Exactly "%08x.%08x\n", as hyperkit reads it. */
    bool ok = c->line[8] == '.' && c->line[17] == '\n';
    for (int i = 0; ok && i < 17; i++)
        ok = i == 8 || (c->line[i] >= '0' && c->line[i] <= '9') ||
             (c->line[i] >= 'a' && c->line[i] <= 'f') || (c->line[i] >= 'A' && c->line[i] <= 'F');
    char cid_s[9], port_s[9];
    memcpy(cid_s, c->line, 8);
    memcpy(port_s, c->line + 9, 8);
    cid_s[8] = port_s[8] = 0;
    uint32_t port = (uint32_t)strtoul(port_s, NULL, 16);
    if (!ok || strtoul(cid_s, NULL, 16) != vs->guest_cid) {
        conn_free(vs, c);
        return;
    }
    int fd = c->fd;
    c->fd = -1;
    conn_free(vs, c);
    if (!vs_conn_new(vs, fd, false, port))
        close(fd);
}

/* --- Packets from the guest (tx) ----------------------------------------------------- */

/* The guest's REQUEST to host port h->dst_port: DIR/00000002.<port>. */
static void guest_connect(struct vsock *vs, const struct vs_hdr *h)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    int fd = -1;
    if (vs->nconns < VS_MAX_CONNS &&
        (size_t)snprintf(un.sun_path, sizeof(un.sun_path), "%s/%08x.%08x", vs->dir, VS_CID_HOST,
                         h->dst_port) < sizeof(un.sun_path))
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* Non-blocking: a listener with a full backlog refuses (EAGAIN)
     * instead of stalling every connection. */
    if (fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        rst_nosock(vs, h);
        return;
    }
    struct vs_conn *c = vs_conn_new(vs, fd, true, 0);
    if (!c) {
        close(fd);
        rst_nosock(vs, h);
        return;
    }
    c->state = VS_ESTABLISHED;
    c->host_port = h->dst_port;
    c->guest_port = h->src_port;
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    c->pending = VS_P_RESPONSE;
    hash_add(vs, c);
}

/* The host end may take no more: tell the guest we receive nothing more. */
static void local_shutdown(struct vs_conn *c, uint32_t flags)
{
    if ((c->local_shut | flags) != c->local_shut) {
        c->local_shut |= flags;
        c->pending |= VS_P_SHUTDOWN;
    }
}

/* Give buffered bytes to the host; the guest's credit grows as they go. */
static void flush(struct vs_conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            c->woff = c->wlen;
            local_shutdown(c, VS_SHUT_RCV);
            break;
        }
        c->woff += (uint32_t)n;
        c->fwd_cnt += (uint32_t)n;
    }
    if (c->woff == c->wlen)
        c->woff = c->wlen = 0;
}

/* Once nothing waits for the host, act on the guest's shutdown: its
 * SEND half reaches the host as EOF; both halves end the connection. */
static void settle_shutdown(struct vs_conn *c)
{
    if (c->state != VS_ESTABLISHED || c->wlen)
        return;
    if (c->peer_shut == VS_SHUT_ALL)
        conn_reset(c);
    else if (c->peer_shut & VS_SHUT_SEND)
        shutdown(c->fd, SHUT_WR);
}

/* RW payload: bytes [VS_HDR_SIZE, VS_HDR_SIZE+len) of the chain. */
static void guest_write(struct vsock *vs, struct vs_conn *c, const struct virtq_chain *ch,
                        uint32_t len)
{
    if ((c->wlen - c->woff) + (uint64_t)len > VS_BUF_ALLOC) {
        vs_warn(vs, "guest sent past its credit on %#x->%#x", c->guest_port, c->host_port);
        conn_reset(c);
        return;
    }
    if (c->local_shut & VS_SHUT_RCV)
        return;                     /* the host end is gone: dropped */
    size_t done = 0;
    if (c->wlen == 0 && len) {
        int n = iov_slice(ch->iov, ch->nout, VS_HDR_SIZE, len, vs->scratch);
        struct msghdr m = {.msg_iov = vs->scratch, .msg_iovlen = (size_t)n};
        ssize_t w;
        do
            w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN) {
            local_shutdown(c, VS_SHUT_RCV);
            return;
        }
        done = w > 0 ? (size_t)w : 0;
        c->fwd_cnt += (uint32_t)done;
    }
    if (done < len) {
        if (!c->wbuf && !(c->wbuf = malloc(VS_BUF_ALLOC))) {
            conn_reset(c);
            return;
        }
        if (c->woff) {
            memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
            c->wlen -= c->woff;
            c->woff = 0;
        }
        iov_to_buf(ch->iov, ch->nout, VS_HDR_SIZE + done, c->wbuf + c->wlen, len - done);
        c->wlen += (uint32_t)(len - done);
    }
}

void vs_tx_packet(struct vsock *vs, const struct virtq_chain *ch)
{
    uint8_t raw[VS_HDR_SIZE];
    struct vs_hdr h;
    if (ch->out_bytes < VS_HDR_SIZE) {
        vs_warn(vs, "tx packet of %llu bytes, shorter than a header",
                (unsigned long long)ch->out_bytes);
        return;
    }
    iov_to_buf(ch->iov, ch->nout, 0, raw, VS_HDR_SIZE);
    vs_hdr_decode(raw, &h);
    if (h.src_cid != vs->guest_cid || h.dst_cid != VS_CID_HOST || h.type != VS_TYPE_STREAM) {
        rst_nosock(vs, &h);
        return;
    }
    struct vs_conn *c = lookup(vs, h.dst_port, h.src_port);
    if (c && c->state == VS_DEAD)
        return;                     /* an RST is on its way */
    if (h.len > ch->out_bytes - VS_HDR_SIZE || h.len > VS_MAX_PKT ||
        (h.len && h.op != VS_OP_RW)) {
        vs_warn(vs, "tx packet length %u does not fit (chain %llu, op %u)", h.len,
                (unsigned long long)ch->out_bytes, h.op);
        goto rst;
    }
    if (c) {
        c->peer_buf_alloc = h.buf_alloc;
        c->peer_fwd_cnt = h.fwd_cnt;
    }
    switch (h.op) {
    case VS_OP_REQUEST:
        if (c)
            goto rst;
        guest_connect(vs, &h);
        return;
    case VS_OP_RESPONSE:
        if (!c || c->state != VS_REQUESTED)
            goto rst;
        c->state = VS_ESTABLISHED;
        return;
    case VS_OP_RST:
        if (c)
            conn_free(vs, c);
        return;
    case VS_OP_SHUTDOWN:
        if (!c || c->state != VS_ESTABLISHED || !h.flags || (h.flags & ~VS_SHUT_ALL))
            goto rst;
        c->peer_shut |= h.flags;
        settle_shutdown(c);
        return;
    case VS_OP_RW:
        if (!c || c->state != VS_ESTABLISHED || (c->peer_shut & VS_SHUT_SEND))
            goto rst;
        guest_write(vs, c, ch, h.len);
        return;
    case VS_OP_CREDIT_UPDATE:
        if (!c || c->state != VS_ESTABLISHED)
            goto rst;
        return;                     /* the header above was the news */
    case VS_OP_CREDIT_REQUEST:
        if (!c || c->state != VS_ESTABLISHED)
            goto rst;
        c->pending |= VS_P_CREDIT;
        return;
    default:
        break;
    }
rst:
    if (c)
        conn_reset(c);
    else
        rst_nosock(vs, &h);
}

void vs_tx_drain(struct vsock *vs)
{
    /* Each packet may owe one RST: stop while their ring could overflow
     * (5.10.6.6: the guest must keep the rx queue supplied). */
    while (vs->rst_n < VS_RST_RING) {
        int r = virtio_pci_queue_pop(vs->vp, VS_QUEUE_TX, vs->txc);
        if (r == 0 && virtio_pci_queue_enable_kicks(vs->vp, VS_QUEUE_TX, true))
            r = virtio_pci_queue_pop(vs->vp, VS_QUEUE_TX, vs->txc);
        if (r != 1)
            return;
        vs_tx_packet(vs, vs->txc);
        virtio_pci_queue_push(vs->vp, VS_QUEUE_TX, vs->txc, 0);
        vs->progress++;
    }
}

/* --- Packets to the guest (rx) -------------------------------------------------------- */

/* An rx chain with room for a header in hand: false if the guest has
 * given none (a kick will say when it does). */
static bool rx_chain(struct vsock *vs)
{
    while (!vs->rx_held) {
        int r = virtio_pci_queue_pop(vs->vp, VS_QUEUE_RX, vs->rxc);
        if (r == 0 && virtio_pci_queue_enable_kicks(vs->vp, VS_QUEUE_RX, true))
            r = virtio_pci_queue_pop(vs->vp, VS_QUEUE_RX, vs->rxc);
        if (r != 1) {
            vs->rx_empty = true;
            return false;
        }
        if (vs->rxc->in_bytes >= VS_HDR_SIZE) {
            vs->rx_held = true;
        } else {
            vs_warn(vs, "rx buffer of %llu bytes, shorter than a header",
                    (unsigned long long)vs->rxc->in_bytes);
            virtio_pci_queue_push(vs->vp, VS_QUEUE_RX, vs->rxc, 0);
        }
    }
    vs->rx_empty = false;
    return true;
}

/* Send the held chain with this header and len payload bytes already in it. */
static void rx_send(struct vsock *vs, struct vs_hdr *h)
{
    uint8_t raw[VS_HDR_SIZE];
    h->src_cid = VS_CID_HOST;
    h->dst_cid = vs->guest_cid;
    h->type = VS_TYPE_STREAM;
    vs_hdr_encode(h, raw);
    const struct virtq_chain *ch = vs->rxc;
    iov_from_buf(ch->iov + ch->nout, ch->nin, 0, raw, VS_HDR_SIZE);
    virtio_pci_queue_push(vs->vp, VS_QUEUE_RX, ch, VS_HDR_SIZE + h->len);
    vs->rx_held = false;
    vs->progress++;
}

static void conn_hdr(struct vs_conn *c, struct vs_hdr *h, uint16_t op)
{
    *h = (struct vs_hdr){.src_port = c->host_port, .dst_port = c->guest_port, .op = op,
                         .buf_alloc = VS_BUF_ALLOC, .fwd_cnt = c->fwd_cnt};
    c->fwd_told = c->fwd_cnt;
}

/* The control packets c owes, in protocol order. False: no rx buffer. */
static bool send_control(struct vsock *vs, struct vs_conn *c)
{
    static const struct {
        unsigned bit;
        uint16_t op;
    } order[] = {{VS_P_REQUEST, VS_OP_REQUEST}, {VS_P_RESPONSE, VS_OP_RESPONSE},
                 {VS_P_CREDIT, VS_OP_CREDIT_UPDATE}, {VS_P_SHUTDOWN, VS_OP_SHUTDOWN},
                 {VS_P_RST, VS_OP_RST}};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (!(c->pending & order[i].bit))
            continue;
        if (!rx_chain(vs))
            return false;
        struct vs_hdr h;
        conn_hdr(c, &h, order[i].op);
        if (order[i].op == VS_OP_SHUTDOWN)
            h.flags = c->local_shut;
        c->pending &= ~order[i].bit;
        rx_send(vs, &h);
    }
    return true;
}

static uint32_t guest_credit(const struct vs_conn *c)
{
    uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;
    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

bool vs_conn_wants_read(const struct vs_conn *c)
{
    return c->state == VS_ESTABLISHED && !(c->local_shut & VS_SHUT_SEND) &&
           !(c->peer_shut & VS_SHUT_RCV) && guest_credit(c) > 0;
}

/* Host bytes into rx chains while the guest has credit. False: no rx
 * buffer. */
static bool send_data(struct vsock *vs, struct vs_conn *c)
{
    for (int round = 0; round < 16 && c->readable && vs_conn_wants_read(c); round++) {
        if (!rx_chain(vs))
            return false;
        const struct virtq_chain *ch = vs->rxc;
        uint64_t room = ch->in_bytes - VS_HDR_SIZE;
        uint32_t want = guest_credit(c);
        if (want > VS_MAX_PKT)
            want = VS_MAX_PKT;
        if (want > room)
            want = (uint32_t)room;
        struct vs_hdr h;
        conn_hdr(c, &h, VS_OP_RW);
        ssize_t n = 0;
        if (want) {
            int k = iov_slice(ch->iov + ch->nout, ch->nin, VS_HDR_SIZE, want, vs->scratch);
            struct msghdr m = {.msg_iov = vs->scratch, .msg_iovlen = (size_t)k};
            do
                n = recvmsg(c->fd, &m, MSG_DONTWAIT);
            while (n < 0 && errno == EINTR);
        }
        if (n < 0 && errno == EAGAIN) {
            c->readable = false;
            return true;
        }
        if (n < 0) {
            conn_reset(c);
            return true;
        }
        if (n == 0 && want) {
            c->readable = false;
            local_shutdown(c, VS_SHUT_SEND);
            return true;
        }
        if (n == 0)
            return true;            /* a zero-byte room: nothing to send */
        h.len = (uint32_t)n;
        c->rx_cnt += (uint32_t)n;
        rx_send(vs, &h);
    }
    return true;
}

static void work_once(struct vsock *vs)
{
    vs_tx_drain(vs);
    /* Conn-less RSTs first: they free the tx queue. */
    while (vs->rst_n && rx_chain(vs)) {
        struct vs_hdr h = {.src_port = vs->rst[vs->rst_head].host_port,
                           .dst_port = vs->rst[vs->rst_head].guest_port,
                           .op = VS_OP_RST};
        vs->rst_head = (vs->rst_head + 1) % VS_RST_RING;
        vs->rst_n--;
        rx_send(vs, &h);
    }
    if (vs->rst_n < VS_RST_RING)
        vs_tx_drain(vs);
    for (int i = 0; i < vs->nconns; i++) {
        struct vs_conn *c = vs->conns[i];
        if (c->state == VS_HANDSHAKE)
            continue;
        if (c->state == VS_ESTABLISHED && c->wlen) {
            flush(c);
            settle_shutdown(c);
        }
        /* Tell the guest its credit came back before it runs dry. */
        if (c->state == VS_ESTABLISHED && c->fwd_cnt - c->fwd_told >= VS_BUF_ALLOC / 4)
            c->pending |= VS_P_CREDIT;
        if (c->pending && !send_control(vs, c))
            continue;
        /* Data, then what reading owed (SHUTDOWN at EOF, RST on error). */
        if (c->state != VS_DEAD && send_data(vs, c) && c->pending && !send_control(vs, c))
            continue;
        if (c->state == VS_DEAD && !c->pending) {
            conn_free(vs, c);
            i--;
        }
    }
}

void vs_work(struct vsock *vs)
{
    /* Again while packets moved: a packet may owe another (an RST after
     * a failed read, a credit update after a flush). Bounded so the
     * listeners and the eventfd are looked at too. */
    for (int i = 0; i < 64; i++) {
        unsigned long before = vs->progress;
        work_once(vs);
        if (vs->progress == before)
            break;
    }
}
