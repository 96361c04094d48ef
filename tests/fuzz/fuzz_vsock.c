/*
 * libFuzzer target for virtio-sock's packet path (virtio_sock_proto.c):
 * the guest's tx packets, and what the device sends back on rx, over real
 * Unix sockets (host listeners on ports 1024 and 1025 in a scratch
 * directory, socketpairs for host->guest connections). The transport is
 * faked here: tx pops return the packets the input describes, rx pops
 * fresh heap buffers (ASan sees an overrun), and every rx push is checked.
 * Input: records, each one kind byte, then
 *   kind%4 0: a tx packet: FIX LEN SPLIT, then LEN bytes of it (header and
 *             payload); FIX bit 0 sets the cids and type to valid ones,
 *             bit 1 sets the header's len to the payload, bit 2 maps the
 *             ports onto 1024/1025 and the guest's 5000-5003; SPLIT cuts
 *             the packet into two segments. vs_work runs after it.
 *   kind%4 1: rx budget: ROOM (rx buffer size ROOM*17) COUNT, vs_work
 *   kind%4 2: the host: OP; 0 a host->guest connection, 1 bytes on the
 *             newest host end, 2 close it, 3 drain the accepted sockets
 *   kind%4 3: device reset (every connection dropped)
 * Invariants after each step: buffered bytes within VS_BUF_ALLOC, the
 * connection table and hash agree, an rx packet fits its buffer and
 * names host and guest cid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/iov.h"
#include "devices/virtio/virtio_sock_priv.h"

#define GUEST_CID 3
#define MAX_HOST 8

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_vsock: %s\n", why);
    abort();
}

/* --- The faked transport and environment ------------------------------------------ */

static const uint8_t *tx_pkt;       /* the packet the next tx pop returns */
static size_t tx_len, tx_split;
static int rx_left;                 /* rx buffers the guest has given */
static size_t rx_room;

void dev_log(struct dev_env *env, enum hk_log_level level, const char *fmt, ...) {}

int virtio_pci_queue_pop(struct virtio_pci *vp, int q, struct virtq_chain *c)
{
    if (q == VS_QUEUE_TX) {
        if (!tx_pkt)
            return 0;
        /* Copies: the device must not read past either segment. */
        size_t a = tx_split < tx_len ? tx_split : tx_len;
        uint8_t *s0 = malloc(a ? a : 1), *s1 = malloc(tx_len - a ? tx_len - a : 1);
        memcpy(s0, tx_pkt, a);
        memcpy(s1, tx_pkt + a, tx_len - a);
        c->iov[0] = (struct iovec){s0, a};
        c->iov[1] = (struct iovec){s1, tx_len - a};
        c->nout = 2;
        c->nin = 0;
        c->out_bytes = tx_len;
        c->in_bytes = 0;
        tx_pkt = NULL;
        return 1;
    }
    if (q != VS_QUEUE_RX || rx_left <= 0)
        return 0;
    rx_left--;
    /* Two writable segments: the header may straddle them. */
    size_t a = rx_room / 3;
    c->iov[0] = (struct iovec){malloc(a ? a : 1), a};
    c->iov[1] = (struct iovec){malloc(rx_room - a ? rx_room - a : 1), rx_room - a};
    c->nout = 0;
    c->nin = 2;
    c->out_bytes = 0;
    c->in_bytes = rx_room;
    return 1;
}

int virtio_pci_queue_push(struct virtio_pci *vp, int q, const struct virtq_chain *c,
                          uint32_t written)
{
    if (q == VS_QUEUE_RX) {
        if (written > c->in_bytes)
            fail("rx push past the buffer");
        if (written) {
            if (written < VS_HDR_SIZE)
                fail("rx push shorter than a header");
            uint8_t raw[VS_HDR_SIZE];
            struct vs_hdr h;
            iov_to_buf(c->iov + c->nout, c->nin, 0, raw, VS_HDR_SIZE);
            vs_hdr_decode(raw, &h);
            if (h.src_cid != VS_CID_HOST || h.dst_cid != GUEST_CID || h.type != VS_TYPE_STREAM)
                fail("rx packet with wrong addresses");
            if ((uint64_t)h.len + VS_HDR_SIZE != written || h.len > VS_MAX_PKT)
                fail("rx packet length is not what was written");
            if (h.len && h.op != VS_OP_RW)
                fail("payload on a control packet");
        }
    }
    for (int i = 0; i < c->nout + c->nin; i++)
        free(c->iov[i].iov_base);
    return 0;
}

bool virtio_pci_queue_enable_kicks(struct virtio_pci *vp, int q, bool enable)
{
    return false;
}

/* --- The host side ------------------------------------------------------------------- */

static char dir[64];
static int listeners[2] = {-1, -1};
static struct vsock vs;
static int host_ends[MAX_HOST], nhost;

static void cleanup(void)
{
    char path[128];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%08x.%08x", dir, VS_CID_HOST, 1024 + i);
        unlink(path);
    }
    rmdir(dir);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/fuzz_vsock.%d", (int)getpid());
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        fail("mkdir");
    for (int i = 0; i < 2; i++) {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        snprintf(un.sun_path, sizeof(un.sun_path), "%s/%08x.%08x", dir, VS_CID_HOST, 1024 + i);
        unlink(un.sun_path);
        listeners[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (listeners[i] < 0 || bind(listeners[i], (struct sockaddr *)&un, sizeof(un)) < 0 ||
            listen(listeners[i], 64) < 0)
            fail("listener");
    }
    atexit(cleanup);
    vs.guest_cid = GUEST_CID;
    vs.dir = dir;
    vs.connect_fd = vs.wake_fd = -1;
    vs.next_port = VS_FIRST_HOST_PORT;
    vs.rxc = calloc(1, sizeof(struct virtq_chain) + 4 * sizeof(struct iovec));
    vs.txc = calloc(1, sizeof(struct virtq_chain) + 4 * sizeof(struct iovec));
    vs.rxc->cap = vs.txc->cap = 4;
    vs.scratch = calloc(VS_QUEUE_SIZE + 1, sizeof(*vs.scratch));
}

/* Accept and read what waits on the listeners: the guest's connections'
 * host ends, read (to make room) and closed at the end of an input. */
static int accepted[VS_MAX_CONNS], naccepted;

static void drain(bool close_all)
{
    char buf[65536];
    for (int i = 0; i < 2; i++) {
        int fd;
        while (naccepted < VS_MAX_CONNS &&
               (fd = accept4(listeners[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
            accepted[naccepted++] = fd;
    }
    for (int i = 0; i < naccepted; i++) {
        while (recv(accepted[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
        if (close_all)
            close(accepted[i]);
    }
    if (close_all)
        naccepted = 0;
}

/* What the I/O thread's poll would say: every socket may be ready (the
 * device must cope with EAGAIN). */
static void work(void)
{
    for (int i = 0; i < vs.nconns; i++)
        vs.conns[i]->readable = vs.conns[i]->writable = true;
    vs_work(&vs);
}

/* The device's reset callback: connections and the held rx buffer go. */
static void reset(void)
{
    vs_conn_drop_all(&vs);
    if (vs.rx_held)
        for (int i = 0; i < vs.rxc->nout + vs.rxc->nin; i++)
            free(vs.rxc->iov[i].iov_base);
    vs.rx_held = vs.rx_empty = false;
}

static void check_state(void)
{
    if (vs.nconns < 0 || vs.nconns > VS_MAX_CONNS || vs.rst_n < 0 || vs.rst_n > VS_RST_RING)
        fail("table counts out of range");
    for (int i = 0; i < vs.nconns; i++) {
        struct vs_conn *c = vs.conns[i];
        if (c->idx != i)
            fail("connection index");
        if (c->woff > c->wlen || c->wlen > VS_BUF_ALLOC)
            fail("buffered bytes past the credit given");
        if (c->state == VS_HANDSHAKE)
            continue;
        bool found = false;
        for (int h = 0; h < VS_HASH && !found; h++)
            for (struct vs_conn *p = vs.hash[h]; p; p = p->next)
                found |= p == c;
        if (!found)
            fail("connection missing from the hash");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!vs.scratch)
        setup();
    uint8_t pkt[VS_HDR_SIZE + 1024];
    size_t pos = 0;
    rx_left = 0;
    rx_room = 4096;
    for (int steps = 0; pos < size && steps < 64; steps++) {
        uint8_t kind = data[pos++];
        switch (kind % 4) {
        case 0: {
            if (size - pos < 3)
                goto out;
            uint8_t fix = data[pos], len = data[pos + 1], split = data[pos + 2];
            pos += 3;
            size_t n = size - pos < len ? size - pos : len;
            size_t plen = (size_t)len * 4;  /* reach past one header */
            memset(pkt, 0, sizeof(pkt));
            memcpy(pkt, data + pos, n);
            pos += n;
            if (plen > sizeof(pkt))
                plen = sizeof(pkt);
            if (plen < n)
                plen = n;
            if (fix & 1) {
                put64(pkt, GUEST_CID);
                put64(pkt + 8, VS_CID_HOST);
                put16(pkt + 28, VS_TYPE_STREAM);
            }
            if ((fix & 2) && plen >= VS_HDR_SIZE)
                put32(pkt + 24, (uint32_t)(plen - VS_HDR_SIZE));
            if (fix & 4) {
                put32(pkt + 16, 5000 + (pkt[16] & 3));
                put32(pkt + 20, pkt[20] & 8 ? VS_FIRST_HOST_PORT + (pkt[20] & 3)
                                            : 1024u + (pkt[20] & 1));
            }
            tx_pkt = pkt;
            tx_len = plen;
            tx_split = split;
            work();
            tx_pkt = NULL;
            break;
        }
        case 1:
            if (size - pos < 2)
                goto out;
            rx_room = (size_t)data[pos] * 17;
            rx_left += data[pos + 1];
            pos += 2;
            work();
            break;
        case 2: {
            if (pos >= size)
                goto out;
            uint8_t op = data[pos++] % 4;
            if (op == 0 && nhost < MAX_HOST) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
                    fail("socketpair");
                if (vs_conn_new(&vs, sv[1], false, 5000 + (uint32_t)(nhost & 3)))
                    host_ends[nhost++] = sv[0];
                else {
                    close(sv[0]);
                    close(sv[1]);
                }
            } else if (op == 1 && nhost) {
                static const char bytes[3000];
                ssize_t w = send(host_ends[nhost - 1], bytes, sizeof(bytes),
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                (void)w;
            } else if (op == 2 && nhost) {
                close(host_ends[--nhost]);
            } else if (op == 3) {
                drain(false);
            }
            work();
            break;
        }
        case 3:
            reset();
            break;
        }
        check_state();
    }
out:
    reset();
    drain(true);
    while (nhost)
        close(host_ends[--nhost]);
    return 0;
}
