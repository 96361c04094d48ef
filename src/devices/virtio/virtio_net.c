/*
 * virtio-net's data path (virtio_net.h). Queue 0 receives, queue 1
 * transmits; no control queue. The transmit queue is driven as usual
 * (handle, on its worker). The receive queue is device-driven: frames
 * arrive on the backend's thread and go straight into the guest's
 * buffers; without buffers they wait in a bounded FIFO that the rx kick
 * (the driver added buffers) drains, and beyond it they are dropped, as
 * a full NIC would (TCP retransmits). Checksums: the guest may leave its
 * frames' to the device (virtio_net_csum.c), and is told the backend's
 * are valid; with a backend that takes offload headers (tap), checksums
 * and TSO go to it and its own come back (virtio_net_hdr.c).
 *
 * Locks: the tx worker holds the tx queue lock while it sends; a backend
 * may answer at once (slirp's ARP, DHCP), so its rx runs inside: tx qlock
 * -> backend lock -> rx_lock -> rx qlock. Nothing takes them the other
 * way: rx never calls the backend.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "devices/virtio/virtio_net_priv.h"
#include "hyperkit.h"

/* Copy len bytes from src into the writable part of c starting at byte
 * off of it: the count copied. */
static size_t chain_put(const struct virtq_chain *c, size_t off, const uint8_t *src, size_t len)
{
    size_t done = 0;
    for (int i = c->nout; i < c->nout + c->nin && i < c->cap && done < len; i++) {
        size_t l = c->iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t n = l - off < len - done ? l - off : len - done;
        memcpy((uint8_t *)c->iov[i].iov_base + off, src + done, n);
        done += n;
        off = 0;
    }
    return done;
}

/* One frame into the guest's buffers (rx_lock held): 1 delivered, 0 no
 * room yet, -1 never fits or the ring broke (drop it). Buffers popped
 * for a frame that did not fit yet stay held for the next try, so
 * "buffers arrived" from enable_kicks means new ones. */
static int deliver(struct vnet *v, const uint8_t *gh, const uint8_t *frame, size_t len)
{
    unsigned hlen = atomic_load(&v->hdr_len);
    bool mrg = atomic_load(&v->mrg);
    size_t total = hlen + len;
    while (v->held_room < total) {
        if (v->nheld == VNET_MAX_BUFS || (!mrg && v->nheld == 1))
            return -1;
        int r = virtio_pci_queue_pop(v->vp, VIRTIO_NET_RXQ, v->rxc[v->nheld]);
        if (r != 1)
            return r < 0 ? -1 : 0;
        v->held_room += v->rxc[v->nheld]->in_bytes;
        v->nheld++;
    }
    int n = v->nheld;
    uint8_t hdr[VIRTIO_NET_HDR_LEN];
    memcpy(hdr, gh, VIRTIO_NET_HDR_LEN_LEGACY);
    put16(hdr + 10, (uint16_t)n);               /* num_buffers (v1 / mergeable) */
    uint32_t written[VNET_MAX_BUFS];
    size_t hdone = 0, fdone = 0;
    for (int i = 0; i < n; i++) {
        size_t w = chain_put(v->rxc[i], 0, hdr + hdone, hlen - hdone);
        hdone += w;
        size_t f = chain_put(v->rxc[i], w, frame + fdone, len - fdone);
        fdone += f;
        written[i] = (uint32_t)(w + f);
    }
    virtio_pci_queue_push_n(v->vp, VIRTIO_NET_RXQ, v->rxc, written, n);
    v->nheld = 0;
    v->held_room = 0;
    return 1;
}

/* Deliver what waits, in order, until the guest runs out of buffers;
 * then ask for a kick (rx_lock held). */
static void flush(struct vnet *v)
{
    for (;;) {
        while (v->pcount) {
            struct vnet_frame *f = v->pend[v->phead];
            if (deliver(v, f->hdr, f->data, f->len) == 0)
                break;
            v->pend[v->phead] = NULL;
            v->phead = (v->phead + 1) % VNET_PENDING;
            v->pcount--;
            v->pbytes -= f->len;
            free(f);
        }
        if (!v->pcount || !virtio_pci_queue_enable_kicks(v->vp, VIRTIO_NET_RXQ, true))
            return;
    }
}

static void drop_pending(struct vnet *v)
{
    while (v->pcount) {
        free(v->pend[v->phead]);
        v->pend[v->phead] = NULL;
        v->phead = (v->phead + 1) % VNET_PENDING;
        v->pcount--;
    }
    v->pbytes = 0;
}

/* The guest's header for a frame from the backend: false to drop it. */
static bool rx_header(struct vnet *v, const uint8_t **frame, size_t *len,
                      uint8_t gh[VIRTIO_NET_HDR_LEN_LEGACY])
{
    if (v->be->vnet_hdr) {
        if (*len < NETBE_VNET_HDR_LEN + VNET_MIN_FRAME)
            return false;
        const uint8_t *kh = *frame;
        *frame += NETBE_VNET_HDR_LEN;
        *len -= NETBE_VNET_HDR_LEN;
        if (!vnet_hdr_from_backend(v, kh, *len, gh))
            return false;
    } else {
        memset(gh, 0, VIRTIO_NET_HDR_LEN_LEGACY);       /* GSO_NONE */
        /* An end host's stack (slirp, the only one offering GUEST_CSUM
         * without headers) computes full checksums: spare the guest. */
        if (atomic_load(&v->guest_csum))
            gh[0] = VIRTIO_NET_HDR_F_DATA_VALID;
    }
    /* A driver told the MTU sized its buffers for it (5.1.4.2: none
     * larger than mtu plus the Ethernet header, here with a VLAN tag). */
    return *len >= VNET_MIN_FRAME && *len <= NETBE_MAX_FRAME &&
           !(gh[1] == VIRTIO_NET_HDR_GSO_NONE && atomic_load(&v->mtu_neg) &&
             *len > (size_t)v->mtu + VNET_MAX_L2_HDR);
}

/* A frame from the backend. */
void vnet_rx(void *opaque, const void *data, size_t len)
{
    struct vnet *v = opaque;
    const uint8_t *frame = data;
    uint8_t gh[VIRTIO_NET_HDR_LEN_LEGACY];
    pthread_mutex_lock(&v->rx_lock);
    int r = -1;
    if (!v->active)
        goto out;           /* no driver yet: a wire without a listener */
    if (!rx_header(v, &frame, &len, gh))
        goto out;
    if (!v->pcount && (r = deliver(v, gh, frame, len)) != 0)
        goto out;
    if (v->pcount == VNET_PENDING || v->pbytes + len > VNET_PENDING_BYTES) {
        r = -1;
        goto out;
    }
    struct vnet_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        goto out;
    f->len = len;
    memcpy(f->hdr, gh, sizeof(f->hdr));
    memcpy(f->data, frame, len);
    v->pend[(v->phead + v->pcount) % VNET_PENDING] = f;
    v->pcount++;
    v->pbytes += len;
    r = 1;
    flush(v);
out:
    if (r < 0)
        atomic_fetch_add(&v->rx_dropped, 1);
    pthread_mutex_unlock(&v->rx_lock);
}

/* The driver added receive buffers (on the rx worker). */
static void vnet_kick(void *opaque, int q)
{
    struct vnet *v = opaque;
    if (q != VIRTIO_NET_RXQ)
        return;
    pthread_mutex_lock(&v->rx_lock);
    flush(v);
    pthread_mutex_unlock(&v->rx_lock);
}

/* What the transmit header hdr asks for the frame after it, done: a
 * checksum to complete if that offload was negotiated. A TSO packet (TCP
 * over IPv4 or IPv6, if negotiated; the guest must then leave its checksum
 * to us) goes whole to a backend that takes whole packets: its IP header
 * already gives the full length, and the completed checksum covers it all
 * (hdr_len and gso_size, segmenting hints, are not needed, so not read).
 * Anything else (ECN, UDP, a type not negotiated) is a broken driver's,
 * and the frame would go out wrong. */
static bool tx_offloads(struct vnet *v, uint8_t *hdr, unsigned hlen, size_t flen)
{
    uint8_t gso = hdr[1];
    bool csum = hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM;
    bool gso_ok = gso == VIRTIO_NET_HDR_GSO_NONE ||
                  (gso == VIRTIO_NET_HDR_GSO_TCPV4 && atomic_load(&v->tso4) && csum) ||
                  (gso == VIRTIO_NET_HDR_GSO_TCPV6 && atomic_load(&v->tso6) && csum);
    if (!gso_ok)
        return false;
    if (!csum)
        return true;
    return atomic_load(&v->csum) &&
           vnet_csum_complete(hdr + hlen, flen, le16(hdr + 6), le16(hdr + 8)) == 0;
}

/* A frame from the guest: header checked, payload gathered and sent. A
 * bad frame is dropped and counted; it never stops the queue. The frame
 * goes to txbuf + 2 * VIRTIO_NET_HDR_LEN, whatever the guest's header
 * length, so a vnet_hdr backend's header fits before it. */
static int vnet_handle(void *opaque, int q, struct virtq_chain *c, uint32_t *written)
{
    struct vnet *v = opaque;
    *written = 0;
    if (q != VIRTIO_NET_TXQ)
        return HK_OK;
    unsigned hlen = atomic_load(&v->hdr_len);
    if (c->out_bytes < hlen + VNET_MIN_FRAME || c->out_bytes > hlen + NETBE_MAX_FRAME) {
        atomic_fetch_add(&v->tx_bad, 1);
        return HK_OK;
    }
    uint8_t *f = v->txbuf + 2 * VIRTIO_NET_HDR_LEN, *gh = f - hlen;
    size_t got = 0;
    for (int i = 0; i < c->nout && i < c->cap; i++) {
        memcpy(gh + got, c->iov[i].iov_base, c->iov[i].iov_len);
        got += c->iov[i].iov_len;
    }
    size_t flen = got - hlen;
    bool vh = v->be->vnet_hdr;
    uint8_t *kh = f - NETBE_VNET_HDR_LEN;
    if (vh ? !vnet_hdr_to_backend(v, gh, f, flen, kh) : !tx_offloads(v, gh, hlen, flen)) {
        atomic_fetch_add(&v->tx_bad, 1);
        return HK_OK;
    }
    if (netbe_send(v->be, vh ? kh : f, vh ? NETBE_VNET_HDR_LEN + flen : flen) == HK_OK)
        atomic_fetch_add(&v->tx_frames, 1);
    return HK_OK;
}

static uint64_t vnet_features(void *opaque)
{
    struct vnet *v = opaque;
    uint64_t f = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |
                 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_CSUM;
    /* Only an end host's stack vouches for its checksums and takes whole
     * packets, or a tap's kernel through its headers (it segments what a
     * wire needs); frames off a wire (vpnkit) keep the guest's checks. */
    if (v->be && (v->be->whole_packets || v->be->vnet_hdr))
        f |= 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_HOST_TSO4 |
             1ull << VIRTIO_NET_F_HOST_TSO6;
    /* The host kernel's GSO packets, through a tap, as they are. */
    if (v->be && v->be->vnet_hdr)
        f |= 1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6;
    if (v->mtu)
        f |= 1ull << VIRTIO_NET_F_MTU;
    return f;
}

static void vnet_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
    struct vnet *v = opaque;
    uint8_t cfg[VNET_CONFIG_SIZE_MTU];
    memcpy(cfg, v->mac, 6);
    put16(cfg + 6, VIRTIO_NET_S_LINK_UP);
    put16(cfg + 8, 1);                  /* max_virtqueue_pairs: one (no MQ) */
    put16(cfg + VNET_CONFIG_MTU, v->mtu);
    memcpy(buf, cfg + off, len);        /* off + len <= config size: the transport checks */
}

static void vnet_reset(void *opaque)
{
    struct vnet *v = opaque;
    pthread_mutex_lock(&v->rx_lock);
    v->active = false;
    drop_pending(v);
    v->nheld = 0;       /* stale now: the transport ignores them */
    v->held_room = 0;
    pthread_mutex_unlock(&v->rx_lock);
    if (v->be && v->be->vnet_hdr)
        v->be->ops->set_offloads(v->be, 0);
}

static void vnet_activate(void *opaque, uint64_t features)
{
    struct vnet *v = opaque;
    bool v1 = features & 1ull << VIRTIO_F_VERSION_1;
    bool mrg = features & 1ull << VIRTIO_NET_F_MRG_RXBUF;
    atomic_store(&v->mrg, mrg);
    atomic_store(&v->csum, (features & 1ull << VIRTIO_NET_F_CSUM) != 0);
    atomic_store(&v->guest_csum, (features & 1ull << VIRTIO_NET_F_GUEST_CSUM) != 0);
    atomic_store(&v->tso4, (features & 1ull << VIRTIO_NET_F_HOST_TSO4) != 0);
    atomic_store(&v->tso6, (features & 1ull << VIRTIO_NET_F_HOST_TSO6) != 0);
    atomic_store(&v->mtu_neg, (features & 1ull << VIRTIO_NET_F_MTU) != 0);
    /* GUEST_TSO needs GUEST_CSUM (5.1.3.1): without it, none. */
    bool gcsum = features & 1ull << VIRTIO_NET_F_GUEST_CSUM;
    bool g4 = gcsum && (features & 1ull << VIRTIO_NET_F_GUEST_TSO4);
    bool g6 = gcsum && (features & 1ull << VIRTIO_NET_F_GUEST_TSO6);
    atomic_store(&v->gtso4, g4);
    atomic_store(&v->gtso6, g6);
    /* The tap's kernel hands over only what the guest takes; the rest it
     * checksums and segments itself. Failing that, none. */
    if (v->be && v->be->vnet_hdr)
        v->be->ops->set_offloads(v->be, (gcsum ? NETBE_OFF_CSUM : 0) |
                                            (g4 ? NETBE_OFF_TSO4 : 0) | (g6 ? NETBE_OFF_TSO6 : 0));
    atomic_store(&v->hdr_len, v1 || mrg ? VIRTIO_NET_HDR_LEN : VIRTIO_NET_HDR_LEN_LEGACY);
    pthread_mutex_lock(&v->rx_lock);
    v->active = !v->dead;
    pthread_mutex_unlock(&v->rx_lock);
}

const struct virtio_dev_ops vnet_ops = {
    .features = vnet_features,
    .config_read = vnet_config_read,
    .reset = vnet_reset,
    .activate = vnet_activate,
    .handle = vnet_handle,
    .kick = vnet_kick,
};
