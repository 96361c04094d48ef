/* virtio-net's state, shared by its data path (virtio_net.c) and its
 * options and setup (virtio_net_conf.c). */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_NET_PRIV_H
#define HK_DEVICES_VIRTIO_VIRTIO_NET_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "devices/virtio/virtio_net.h"
#include "devices/virtio/virtio_pci.h"

#define VNET_QUEUE_SIZE 256
#define VNET_LEGACY_ID 0x1000
#define VNET_PCI_CLASS 0x020000         /* network, Ethernet */
/* Config space (5.1.4): mac[6], status, max_virtqueue_pairs, mtu; the
 * last two only when the backend knows the MTU. */
#define VNET_CONFIG_SIZE 8
#define VNET_CONFIG_SIZE_MTU 12
#define VNET_CONFIG_MTU 10
#define VNET_MIN_FRAME 14               /* an Ethernet header */
#define VNET_MAX_L2_HDR 18              /* one with a VLAN tag */
#define VNET_MAX_BUFS 64                /* mergeable buffers for one frame */
/* Frames waiting for receive buffers: enough for a TCP window burst. */
#define VNET_PENDING 512
#define VNET_PENDING_BYTES (2u << 20)

struct vnet_frame {
    size_t len;
    uint8_t hdr[VIRTIO_NET_HDR_LEN_LEGACY];     /* the guest's, as checked */
    uint8_t data[];
};

struct vnet {
    struct virtio_pci *vp;
    struct netbe *be;
    int slot;
    uint8_t mac[6];
    uint16_t mtu;                   /* the backend's; 0: none offered */
    atomic_uint hdr_len;
    atomic_bool mrg;
    atomic_bool csum, guest_csum;   /* VIRTIO_NET_F_CSUM, _GUEST_CSUM negotiated */
    atomic_bool tso4, tso6;         /* _HOST_TSO4, _HOST_TSO6 */
    atomic_bool mtu_neg;            /* _MTU */
    atomic_bool gtso4, gtso6;       /* _GUEST_TSO4, _GUEST_TSO6 */
    /* rx_lock: the receive side. */
    pthread_mutex_t rx_lock;
    bool active;                    /* DRIVER_OK and no reset since */
    bool dead;                      /* being torn down */
    struct vnet_frame *pend[VNET_PENDING];
    int phead, pcount;
    size_t pbytes;
    struct virtq_chain *rxc[VNET_MAX_BUFS];
    int nheld;                      /* rxc[0..nheld) popped for the next frame */
    uint64_t held_room;             /* their writable bytes */
    /* The tx worker's. */
    uint8_t txbuf[2 * VIRTIO_NET_HDR_LEN + NETBE_MAX_FRAME];
    atomic_uint_fast64_t tx_bad, tx_frames, rx_dropped;
};

extern const struct virtio_dev_ops vnet_ops;
void vnet_rx(void *opaque, const void *frame, size_t len);
/* Complete a NEEDS_CSUM frame's checksum (virtio_net_csum.c): 0, or -1
 * when csum_start / csum_offset do not fit the frame. */
int vnet_csum_complete(uint8_t *frame, size_t len, unsigned start, unsigned off);
/* Whether a checksum field at start + off lies inside a frame of len. */
bool vnet_csum_fits(size_t len, unsigned start, unsigned off);
/* Offload headers with a vnet_hdr backend (virtio_net_hdr.c). The guest's
 * header in for frame f: its checked values into kh (which may overlap
 * in), for the backend; false: the frame is bad. */
bool vnet_hdr_to_backend(struct vnet *v, const uint8_t *in, const uint8_t *f, size_t flen,
                         uint8_t kh[NETBE_VNET_HDR_LEN]);
/* The backend's header kh for a frame of flen: what the guest may see of
 * it into gh (10 bytes); false: the guest did not ask for that, drop. */
bool vnet_hdr_from_backend(struct vnet *v, const uint8_t *kh, size_t flen,
                           uint8_t gh[VIRTIO_NET_HDR_LEN_LEGACY]);

#endif
