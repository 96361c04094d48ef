/* virtio-rnd: -s S,virtio-rnd, entropy from getrandom(2). */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_RND_H
#define HK_DEVICES_VIRTIO_VIRTIO_RND_H

#include <stddef.h>

#include "devices/devenv.h"
#include "devices/virtio/virtio_pci.h"

/* The device-type table's row (devtypes.h): no options are valid;
 * create adds the device at slot:func, torn down with the VM. */
struct pci_bus;
int virtio_rnd_parse(const char *conf, void **parsed, char *err, size_t errlen);
int virtio_rnd_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                      char *err, size_t errlen);

#endif
