/*
 * Network backends: where a virtio-net device's Ethernet frames go on the
 * host. A backend runs its own thread; frames from the host reach the
 * device through the rx callback given at open (on that thread, or on the
 * thread calling netbe_send when the backend answers at once, e.g. slirp's
 * ARP and DHCP replies), so rx must not call back into the backend.
 * netbe_send may be called from any one thread at a time.
 */
#ifndef HK_BACKENDS_NET_NET_H
#define HK_BACKENDS_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hyperkit.h"

/* The largest frame either way: a 64 KiB IP packet in an Ethernet frame. */
#define NETBE_MAX_FRAME (65535 + 14)
/* A backend with vnet_hdr set puts this header before each frame both
 * ways: virtio-net's (virtio 1.x 5.1.6, little-endian; num_buffers unused). */
#define NETBE_VNET_HDR_LEN 12
/* What set_offloads may let through to the device. */
#define NETBE_OFF_CSUM 1u               /* partial checksums (NEEDS_CSUM) */
#define NETBE_OFF_TSO4 2u               /* TCP GSO packets; need CSUM */
#define NETBE_OFF_TSO6 4u

typedef void (*netbe_rx_fn)(void *opaque, const void *frame, size_t len);
/* A backend's line about its end after open (the peer went away). */
typedef void (*netbe_log_fn)(void *ctx, enum hk_log_level level, const char *msg);

struct netbe;

struct netbe_ops {
    /* One frame to the host side: 0, or HK_E* (the frame is dropped). */
    int (*send)(struct netbe *b, const void *frame, size_t len);
    /* Stop the thread (no rx after this returns) and free. */
    void (*close)(struct netbe *b);
    /* vnet_hdr backends: which offloads frames to the device may carry
     * (NETBE_OFF_*); 0, or HK_E* (then none). */
    int (*set_offloads)(struct netbe *b, unsigned off);
};

struct netbe {
    const struct netbe_ops *ops;
    netbe_rx_fn rx;
    void *rx_opaque;
    /* Set at open by a backend that assigns the guest's MAC (vpnkit). */
    bool has_mac;
    uint8_t mac[6];
    /* Set at open by a backend that knows its link's MTU (vpnkit's server
     * says it): the largest IP packet it takes, offered to the guest
     * (VIRTIO_NET_F_MTU). 0: not known (the guest keeps its 1500). */
    uint16_t mtu;
    /* The backend is an end host's TCP/IP stack (slirp), not a wire: it
     * takes IP packets of up to 64 KiB whole, so a guest's TSO packets go
     * to it unsegmented. */
    bool whole_packets;
    /* Frames both ways carry a virtio-net header first (tap with
     * IFF_VNET_HDR): the kernel takes the guest's checksum and GSO
     * requests, and hands over its own as set_offloads allows. */
    bool vnet_hdr;
};

static inline int netbe_send(struct netbe *b, const void *frame, size_t len)
{
    return b->ops->send(b, frame, len);
}

static inline void netbe_close(struct netbe *b)
{
    if (b)
        b->ops->close(b);
}

/* User-mode networking (libslirp): what -s S,virtio-net takes. */
#define NETBE_MAX_FWDS 16
struct netbe_fwd {
    bool udp;
    uint32_t host_addr;             /* network order; 0: any */
    uint16_t host_port;
    uint32_t guest_addr;            /* network order; 0: the DHCP address */
    uint16_t guest_port;
};

struct netbe_slirp_opts {
    uint32_t net, mask;             /* network order; 0: 10.0.2.0/24 */
    bool ipv6;
    int nfwds;
    struct netbe_fwd fwds[NETBE_MAX_FWDS];
};

/* Parse one QEMU-style "tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"
 * (udp: too; tcp when the protocol is left out). */
int netbe_parse_hostfwd(const char *s, struct netbe_fwd *f, char *err, size_t errlen);
/* Parse "A.B.C.D/N" (or "A.B.C.D" as /24). */
int netbe_parse_net(const char *s, uint32_t *net, uint32_t *mask, char *err, size_t errlen);

int netbe_slirp_open(const struct netbe_slirp_opts *o, netbe_rx_fn rx, void *opaque,
                     struct netbe **out, char *err, size_t errlen);
/* Whether b is netbe_slirp_open's (it takes port forwards). */
bool netbe_is_slirp(const struct netbe *b);
/* A port forward at run time: 0, or HK_E* (already there or the port is
 * taken / no such one). A removal has stopped listening when it returns. */
int netbe_slirp_hostfwd(struct netbe *b, const struct netbe_fwd *f, bool add);

/* A tap interface by name (existing, or created if allowed): frames
 * without packet information (IFF_TAP | IFF_NO_PI), behind a virtio-net
 * header (vnet_hdr) where the kernel has IFF_VNET_HDR, offloads off until
 * set_offloads. log (or NULL) hears once if the interface goes away. */
int netbe_tap_open(const char *ifname, netbe_log_fn log, void *log_ctx, netbe_rx_fn rx,
                   void *opaque, struct netbe **out, char *err, size_t errlen);

/* hyperkit's vpnkit protocol on a Unix stream socket: the "VMN3T"
 * handshake, then Ethernet frames each behind a 2-byte little-endian
 * length. The server assigns the MAC (b->mac). */
struct netbe_vpnkit_opts {
    const char *path;               /* the server's socket */
    char uuid[37];                  /* the interface's uuid, 36 characters */
    const char *macfile;            /* NULL, or a file to write the assigned MAC to */
    int timeout_ms;                 /* for each handshake step; 0: 30 s */
    netbe_log_fn log;               /* the connection's end after open */
    void *log_ctx;
};
int netbe_vpnkit_open(const struct netbe_vpnkit_opts *o, netbe_rx_fn rx, void *opaque,
                      struct netbe **out, char *err, size_t errlen);
/* The same on a connected stream socket (o->path unused); fd is the
 * backend's from here on, closed on failure too. */
int netbe_vpnkit_open_fd(int fd, const struct netbe_vpnkit_opts *o, netbe_rx_fn rx, void *opaque,
                         struct netbe **out, char *err, size_t errlen);

#endif
