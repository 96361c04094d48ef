/* The PCI device-type table (devtypes.h). */
#include "devices/devtypes.h"

#include <stdio.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio_9p.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_net.h"
#include "devices/virtio/virtio_rnd.h"
#include "devices/virtio/virtio_sock.h"
#include "hyperkit.h"

static int hostbridge_make(struct dev_env *env, struct pci_bus *bus, int slot, int func,
                           void *parsed, char *err, size_t errlen)
{
    int r = hostbridge_create(bus, slot, func, false);
    if (r)
        snprintf(err, errlen, "%s", hk_strerror(r));
    return r;
}

static int amd_hostbridge_make(struct dev_env *env, struct pci_bus *bus, int slot, int func,
                               void *parsed, char *err, size_t errlen)
{
    int r = hostbridge_create(bus, slot, func, true);
    if (r)
        snprintf(err, errlen, "%s", hk_strerror(r));
    return r;
}

static int lpc_make(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                    char *err, size_t errlen)
{
    int r = lpc_create(bus, slot, func);
    if (r)
        snprintf(err, errlen, "%s", hk_strerror(r));
    return r;
}

static const struct dev_type devtypes[] = {
    {.name = "hostbridge", .create = hostbridge_make},
    {.name = "amd_hostbridge", .create = amd_hostbridge_make},
    {.name = "lpc", .create = lpc_make},
    {.name = "virtio-blk",
     .parse = virtio_blk_parse,
     .free = virtio_blk_free,
     .create = virtio_blk_create,
     .intx_pin = 1},
    {.name = "virtio-net",   /* vmnet on macOS; user-mode networking (slirp) here */
     .parse = virtio_net_parse,
     .free = virtio_net_free,
     .create = virtio_net_create,
     .intx_pin = 1},
    {.name = "virtio-tap",
     .parse = virtio_tap_parse,
     .free = virtio_net_free,
     .create = virtio_net_create,
     .intx_pin = 1},
    {.name = "virtio-vpnkit",
     .parse = virtio_vpnkit_parse,
     .free = virtio_net_free,
     .create = virtio_net_create,
     .intx_pin = 1},
    {.name = "virtio-rnd", .parse = virtio_rnd_parse, .create = virtio_rnd_create, .intx_pin = 1},
    {.name = "virtio-sock",
     .parse = virtio_sock_parse,
     .free = virtio_sock_free,
     .create = virtio_sock_create,
     .intx_pin = 1},
    {.name = "virtio-9p",
     .parse = virtio_9p_parse,
     .free = virtio_9p_free,
     .create = virtio_9p_create,
     .intx_pin = 1},
    {.name = "ahci-hd"},
    {.name = "ahci-cd"},
    {.name = "uart"},
    {.name = "dummy"},
};

const struct dev_type *devtype_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(devtypes) / sizeof(devtypes[0]); i++)
        if (strcmp(devtypes[i].name, name) == 0)
            return &devtypes[i];
    return NULL;
}

const struct dev_type *devtype_at(size_t i)
{
    return i < sizeof(devtypes) / sizeof(devtypes[0]) ? &devtypes[i] : NULL;
}
