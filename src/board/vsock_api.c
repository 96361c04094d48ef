/* hk_vm_vsock_connect: find the VM's virtio-sock among its devices. */
#include <string.h>

#include "core/vm.h"
#include "devices/virtio/virtio_sock.h"
#include "hyperkit.h"

int hk_vm_vsock_connect(hk_vm *handle, uint32_t port, int *fd)
{
    struct vm *vm = (struct vm *)(void *)handle;   /* hk_vm is struct vm (core/vm.c) */
    if (!vm || !fd)
        return HK_EINVAL;
    /* The device list is fixed once the VM is built. */
    for (int i = 0; i < vm->ndevices; i++)
        if (vm->devices[i].name && strcmp(vm->devices[i].name, VIRTIO_SOCK_NAME) == 0)
            return virtio_sock_connect(vm->devices[i].opaque, port, fd);
    return HK_ENOENT;
}
