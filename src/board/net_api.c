/* hk_vm_net_hostfwd: find the VM's virtio-net in a slot among its devices. */
#include <stdio.h>
#include <string.h>

#include "core/vm.h"
#include "devices/virtio/virtio_net.h"
#include "hyperkit.h"

int hk_vm_net_hostfwd(hk_vm *handle, int slot, const char *spec, bool add, char *err,
                      size_t errlen)
{
    struct vm *vm = (struct vm *)(void *)handle;   /* hk_vm is struct vm (core/vm.c) */
    char dummy[1];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = 0;
    if (!vm || !spec) {
        snprintf(err, errlen, "hk_vm_net_hostfwd: no VM or no spec");
        return HK_EINVAL;
    }
    /* The device list is fixed once the VM is built. */
    for (int i = 0; i < vm->ndevices; i++) {
        struct vm_device *d = &vm->devices[i];
        if (d->name && strcmp(d->name, VIRTIO_NET_NAME) == 0 &&
            (slot < 0 || virtio_net_slot(d->opaque) == slot))
            return virtio_net_hostfwd(d->opaque, spec, add, err, errlen);
    }
    if (slot < 0)
        snprintf(err, errlen, "the VM has no virtio-net device");
    else
        snprintf(err, errlen, "no virtio-net device in PCI slot %d", slot);
    return HK_ENOENT;
}
