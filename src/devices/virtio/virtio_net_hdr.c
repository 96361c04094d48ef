/*
 * virtio-net's offload headers with a backend that takes and gives them
 * (tap with IFF_VNET_HDR): the guest's checksum and TSO requests go to
 * the host kernel, which completes or segments them; the kernel's partial
 * checksums and GSO packets come to a guest that negotiated them (virtio
 * 1.x 5.1.6.2 and 5.1.6.4). Both ways a new header is built from values
 * checked here; nothing is copied through unread.
 */
#include <string.h>

#include "core/bytes.h"
#include "devices/virtio/virtio_net_priv.h"

#define TCP_CSUM_OFF 16                 /* the checksum field in a TCP header */
#define TCP_MIN_HDR 20

bool vnet_hdr_to_backend(struct vnet *v, const uint8_t *in, const uint8_t *f, size_t flen,
                         uint8_t kh[NETBE_VNET_HDR_LEN])
{
    uint8_t gh[VIRTIO_NET_HDR_LEN_LEGACY];
    memcpy(gh, in, sizeof(gh));         /* kh may be where it was */
    memset(kh, 0, NETBE_VNET_HDR_LEN);
    uint8_t gso = gh[1];
    bool csum = gh[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM;
    unsigned start = le16(gh + 6), off = le16(gh + 8);
    /* TSO only as negotiated, and with its checksum left to us. */
    bool gso_ok = gso == VIRTIO_NET_HDR_GSO_NONE ||
                  (gso == VIRTIO_NET_HDR_GSO_TCPV4 && atomic_load(&v->tso4) && csum) ||
                  (gso == VIRTIO_NET_HDR_GSO_TCPV6 && atomic_load(&v->tso6) && csum);
    if (!gso_ok)
        return false;
    if (!csum)
        return true;
    if (!atomic_load(&v->csum) || !vnet_csum_fits(flen, start, off))
        return false;
    kh[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    put16(kh + 6, (uint16_t)start);
    put16(kh + 8, (uint16_t)off);
    if (gso == VIRTIO_NET_HDR_GSO_NONE)
        return true;
    /* A TCP segment: the checksum is TCP's, the header inside the frame;
     * hdr_len is ours (all headers), gso_size a real segment size. */
    unsigned gso_size = le16(gh + 4);
    if (off != TCP_CSUM_OFF || flen - start < TCP_MIN_HDR || gso_size == 0)
        return false;
    unsigned thl = (unsigned)(f[start + 12] >> 4) * 4;
    if (thl < TCP_MIN_HDR || flen - start < thl)
        return false;
    kh[1] = gso;
    put16(kh + 2, (uint16_t)(start + thl));
    put16(kh + 4, (uint16_t)gso_size);
    return true;
}

bool vnet_hdr_from_backend(struct vnet *v, const uint8_t *kh, size_t flen,
                           uint8_t gh[VIRTIO_NET_HDR_LEN_LEGACY])
{
    memset(gh, 0, VIRTIO_NET_HDR_LEN_LEGACY);
    bool gcsum = atomic_load(&v->guest_csum);
    uint8_t gso = kh[1];
    unsigned start = le16(kh + 6), off = le16(kh + 8);
    if (kh[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        /* Offloads are off for a guest without GUEST_CSUM: this one came
         * before they were turned off. */
        if (!gcsum || !vnet_csum_fits(flen, start, off))
            return false;
        gh[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        put16(gh + 6, (uint16_t)start);
        put16(gh + 8, (uint16_t)off);
    } else if (gcsum && (kh[0] & VIRTIO_NET_HDR_F_DATA_VALID)) {
        gh[0] = VIRTIO_NET_HDR_F_DATA_VALID;
    }
    if (gso == VIRTIO_NET_HDR_GSO_NONE)
        return true;
    bool ok = (gso == VIRTIO_NET_HDR_GSO_TCPV4 && atomic_load(&v->gtso4)) ||
              (gso == VIRTIO_NET_HDR_GSO_TCPV6 && atomic_load(&v->gtso6));
    unsigned hdr_len = le16(kh + 2), gso_size = le16(kh + 4);
    if (!ok || !(gh[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) || gso_size == 0 || hdr_len > flen)
        return false;
    gh[1] = gso;
    put16(gh + 2, (uint16_t)hdr_len);
    put16(gh + 4, (uint16_t)gso_size);
    return true;
}
