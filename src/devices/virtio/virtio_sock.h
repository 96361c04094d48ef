/*
 * virtio-sock (virtio 1.x, 5.10) with moby/hyperkit's host side:
 *   -s S,virtio-sock,guest_cid=N,path=DIR[,guest_forwards=P1;P2...]
 * A guest connection to host port P goes to the Unix socket
 * DIR/00000002.<P as %08x> (a host program listens there); a host program
 * reaches guest port P by connecting to DIR/connect and writing
 * "<cid as %08x>.<P as %08x>\n" (nothing is written back: once the guest
 * accepts, the socket carries the stream; if it refuses, it is closed), or
 * by connecting to the listener DIR/<cid>.<P> (and its symlink
 * DIR/guest.<P>) that guest_forwards=P makes.
 */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_SOCK_H
#define HK_DEVICES_VIRTIO_VIRTIO_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "devices/devenv.h"

struct pci_bus;
struct vsock;

/* The device-type table's row (devtypes.h). */
int virtio_sock_parse(const char *conf, void **parsed, char *err, size_t errlen);
void virtio_sock_free(void *parsed);
int virtio_sock_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                       char *err, size_t errlen);

/* The teardown name the device registers (hk_vm_vsock_connect finds it). */
#define VIRTIO_SOCK_NAME "virtio-sock"

/* Connect to guest port `port` as DIR/connect does: *fd is our end of a
 * socket pair bridged to the guest connection (EOF if the guest refuses
 * or resets it). vs is the opaque registered under VIRTIO_SOCK_NAME. */
int virtio_sock_connect(struct vsock *vs, uint32_t port, int *fd);

#endif
