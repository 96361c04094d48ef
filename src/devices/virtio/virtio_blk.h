/*
 * virtio-blk on the virtio PCI transport, with hyperkit's option syntax:
 *   -s S,virtio-blk,PATH[,ro][,sync|direct][,sectorsize=L[/P]]
 *   -s S,virtio-blk,file://PATH?sync=MODE&buffered=0|1[,format=qcow|raw]
 *                   [,qcow-config=discard=true;KEY=VALUE;...]
 * (the second is what moby/hyperkit's Go package writes).
 */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_BLK_H
#define HK_DEVICES_VIRTIO_VIRTIO_BLK_H

#include <stddef.h>
#include <stdint.h>

#include "backends/block/blk.h"
#include "devices/devenv.h"
#include "devices/virtio/virtio_pci.h"

struct vblk_conf {
    char *path;
    struct blk_opts opts;
    uint32_t sector_size;           /* logical block size (bytes) */
    uint32_t phys_sector_size;      /* physical block size (bytes) */
};

/* Parse the configuration after "virtio-blk," (may be NULL: an error).
 * 0, or HK_EINVAL / HK_ENOTSUP / HK_ENOMEM with one line in err.
 * Free with vblk_conf_free. */
int vblk_conf_parse(const char *conf, struct vblk_conf *out, char *err, size_t errlen);
void vblk_conf_free(struct vblk_conf *c);

/* The device-type table's row (devtypes.h): parse makes a struct
 * vblk_conf, create opens the image and adds the device at slot:func;
 * it is torn down with the VM (env->ops->add_teardown). */
struct pci_bus;
int virtio_blk_parse(const char *conf, void **parsed, char *err, size_t errlen);
void virtio_blk_free(void *parsed);
int virtio_blk_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                      char *err, size_t errlen);

#endif
