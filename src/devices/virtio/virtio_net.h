/*
 * virtio-net (virtio 1.x, 5.1), modern and transitional, with mergeable
 * receive buffers, the MAC address and link status, checksum offload
 * both ways (virtio_net_csum.c), and TCP segmentation offload from the
 * guest (HOST_TSO4/6) on a backend that takes whole 64 KiB packets
 * (slirp) or offload headers (tap, virtio_net_hdr.c: then towards the
 * guest too, GUEST_TSO4/6). The link's MTU (VIRTIO_NET_F_MTU)
 * when the backend knows it (vpnkit). Backends (src/backends/net):
 *   -s S,virtio-net[,mac=M][,uuid=U][,net=A.B.C.D/N][,ipv6][,hostfwd=F]...
 *       user-mode networking (libslirp), hyperkit's vmnet counterpart;
 *       F in QEMU's syntax: tcp:127.0.0.1:8080-:80 (udp: too), repeatable.
 *   -s S,virtio-tap,tapN[,mac=M]    a host tap interface.
 *   -s S,virtio-vpnkit,path=SOCK[,uuid=U][,macfile=F]
 *       hyperkit's vpnkit protocol; the server assigns the MAC (written
 *       to F); U defaults to the VM's -U uuid, else a random one.
 * Without mac=, the MAC is derived from the VM's -U uuid (or uuid=) and
 * the slot: the same uuid gives the same, locally administered, address.
 */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_NET_H
#define HK_DEVICES_VIRTIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/net/net.h"
#include "devices/devenv.h"

struct pci_bus;

/* Feature bits (5.1.3) and the header (5.1.6). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_LEN 12           /* with num_buffers: v1 or MRG_RXBUF */
#define VIRTIO_NET_HDR_LEN_LEGACY 10
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

int virtio_net_parse(const char *conf, void **parsed, char *err, size_t errlen);
int virtio_tap_parse(const char *conf, void **parsed, char *err, size_t errlen);
int virtio_vpnkit_parse(const char *conf, void **parsed, char *err, size_t errlen);
void virtio_net_free(void *parsed);
/* Both rows' create: the backend is the one parse chose. */
int virtio_net_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                      char *err, size_t errlen);

/* For tests and embedders: a device on a backend opened by open(arg, ...)
 * (a fake in unit tests). mac NULL: derived as above. Torn down with the
 * VM (env's add_teardown). */
typedef int (*vnet_open_fn)(void *arg, netbe_rx_fn rx, void *opaque, struct netbe **out,
                            char *err, size_t errlen);
int virtio_net_create_on(struct dev_env *env, struct pci_bus *bus, int slot, int func,
                         const uint8_t *mac, const uint8_t *uuid, vnet_open_fn open, void *arg,
                         char *err, size_t errlen);

/* The name devices carry in the VM's device list (hk_vm_net_hostfwd
 * finds them by it), and a device's PCI slot. */
#define VIRTIO_NET_NAME "virtio-net"
int virtio_net_slot(const void *dev);
/* Add or remove a port forward at run time, spec in the hostfwd= syntax:
 * 0, or HK_EINVAL (bad spec), HK_ENOTSUP (not a slirp device), HK_EEXIST
 * (cannot listen there), HK_ENOENT (no such forward); err says which. */
int virtio_net_hostfwd(void *dev, const char *spec, bool add, char *err, size_t errlen);

/* The MAC for (uuid or NULL, slot, func): stable, unicast, locally administered. */
void virtio_net_derive_mac(const uint8_t *uuid, int slot, int func, uint8_t mac[6]);

#endif
