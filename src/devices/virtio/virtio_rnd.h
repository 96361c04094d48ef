/* virtio-rnd: -s S,virtio-rnd, entropy from getrandom(2). */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_RND_H
#define HK_DEVICES_VIRTIO_VIRTIO_RND_H

#include <stddef.h>

#include "devices/devenv.h"
#include "devices/virtio/virtio_pci.h"

/* The options after "virtio-rnd," (none are valid; NULL or ""). */
int virtio_rnd_parse(const char *conf, char *err, size_t errlen);

/* Add the device at p->slot:p->func; torn down with the VM. */
int virtio_rnd_create(struct dev_env *env, const struct virtio_pci_params *p, const char *conf,
                      char *err, size_t errlen);

#endif
