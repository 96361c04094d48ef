/*
 * virtio-9p (virtio device ID 9, the 9P transport): a host directory shared
 * with the guest over 9P2000.L, served in the VMM (src/backends/p9).
 *   -s S,virtio-9p,path=DIR,tag=T[,ro]
 * or hyperkit's relay form, the 9P stream forwarded to an external server
 * (virtio_9p_relay.c):
 *   -s S,virtio-9p,path=SOCK,tag=T      SOCK an existing Unix socket
 *   -s S,virtio-9p,port=N,tag=T         TCP to 127.0.0.1:N
 * The rule: port= relays; path= relays when it names a Unix socket, and
 * otherwise shares a directory. port= with path=, or ro with a relay, is
 * refused (a relay cannot enforce read-only).
 */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_9P_H
#define HK_DEVICES_VIRTIO_VIRTIO_9P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/devenv.h"
#include "devices/virtio/virtio_pci.h"

#define VIRTIO_ID_9P 9
#define VIRTIO_9P_MOUNT_TAG 0           /* feature: config holds the tag */
#define V9P_MAX_TAG 256                 /* hyperkit's bound */
/* What both forms (served share, relay) present to the guest. */
#define V9P_QUEUE_SIZE 128
#define V9P_LEGACY_ID 0x1009
#define V9P_PCI_CLASS 0x018000          /* mass storage, other */

struct pci_bus;

struct v9p_conf {
    char *path;                 /* the directory, or the relay's socket */
    char *tag;
    bool ro;
    bool relay;                 /* path is a Unix socket, or port is set */
    int port;                   /* relay over TCP to 127.0.0.1:port; 0: none */
};

int v9p_conf_parse(const char *conf, struct v9p_conf *out, char *err, size_t errlen);
void v9p_conf_free(struct v9p_conf *c);
/* The config space both forms show: the tag's length, then the tag
 * (config holds 2 + V9P_MAX_TAG bytes). Returns its size. */
unsigned v9p_tag_config(uint8_t *config, const char *tag);
/* The feature bits both forms offer: the tag in config space. */
uint64_t v9p_features(void *opaque);
/* Copy c's readable part (at most cap bytes) to dst, or len bytes of src
 * (at most what c's writable part holds) to it: the count copied. */
size_t v9p_gather(const struct virtq_chain *c, uint8_t *dst, size_t cap);
size_t v9p_scatter(const struct virtq_chain *c, const uint8_t *src, size_t len);
/* Add the PCI function both forms show, with config_size bytes of config
 * space and the form's ops and opaque; on failure *vp is NULL and err says
 * why. */
int v9p_pci_create(struct dev_env *env, struct pci_bus *bus, int slot, int func,
                   unsigned config_size, uint32_t device_driven_mask,
                   const struct virtio_dev_ops *ops, void *opaque, struct virtio_pci **vp,
                   char *err, size_t errlen);
/* Have the VM destroy dev at teardown; on failure destroy it now, and err
 * says why. */
int v9p_add_teardown(struct dev_env *env, void *dev, void (*destroy)(void *), char *err,
                     size_t errlen);

/* The device-type table's row (devtypes.h). */
int virtio_9p_parse(const char *conf, void **parsed, char *err, size_t errlen);
void virtio_9p_free(void *parsed);
int virtio_9p_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                     char *err, size_t errlen);

/* The relay form's create (virtio_9p_relay.c): conf->relay set. */
int virtio_9p_relay_create(struct dev_env *env, struct pci_bus *bus, int slot, int func,
                           const struct v9p_conf *conf, char *err, size_t errlen);

#endif
