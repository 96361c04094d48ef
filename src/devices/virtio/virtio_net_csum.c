/*
 * Checksum offload for virtio-net's transmit side (VIRTIO_NET_F_CSUM,
 * virtio 1.x 5.1.6.2): a frame whose header says NEEDS_CSUM carries a
 * partial checksum (the pseudo-header's sum, put there by the driver) at
 * csum_start + csum_offset; the device sums from csum_start to the end of
 * the frame and stores the result there, as a NIC would. The frame then
 * goes to a backend (slirp) that checks checksums like any host.
 */
#include "devices/virtio/virtio_net_priv.h"

/* The ones' complement sum of p[0..len) (RFC 1071), not yet folded. */
static uint64_t sum16(const uint8_t *p, size_t len)
{
    uint64_t s = 0;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < len)
        s += (uint32_t)p[i] << 8;
    return s;
}

bool vnet_csum_fits(size_t len, unsigned start, unsigned off)
{
    /* Both come from the guest: the field must lie inside the frame,
     * after the Ethernet header. */
    return !(start < VNET_MIN_FRAME || start >= len || off > len - start ||
             len - start - off < 2);
}

int vnet_csum_complete(uint8_t *frame, size_t len, unsigned start, unsigned off)
{
    if (!vnet_csum_fits(len, start, off))
        return -1;
    uint64_t s = sum16(frame + start, len - start);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    uint16_t c = (uint16_t)~s;
    /* 0 means "no checksum" to UDP; 0xffff is the same sum (RFC 768). */
    if (c == 0)
        c = 0xffff;
    frame[start + off] = (uint8_t)(c >> 8);
    frame[start + off + 1] = (uint8_t)c;
    return 0;
}
