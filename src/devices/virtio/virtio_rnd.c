/*
 * virtio-rnd (virtio 1.x, 5.4, the entropy device): every writable
 * buffer the driver offers is filled from getrandom(2). hyperkit's name
 * and syntax: -s S,virtio-rnd (no options).
 */
#include "devices/virtio/virtio_rnd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "hyperkit.h"

#define VRND_QUEUE_SIZE 64
#define VRND_LEGACY_ID 0x1005
#define VRND_PCI_CLASS 0x00ff00         /* unclassified, other */
/* Per chain: what Linux asks for is far smaller; a bound keeps one
 * request from holding the worker. */
#define VRND_MAX_CHAIN_BYTES (64 * 1024)

struct vrnd {
    struct virtio_pci *vp;
};

static uint64_t vrnd_features(void *opaque)
{
    return 0;
}

static void vrnd_config_read(void *opaque, unsigned off, void *buf, unsigned len) {}

/* Fill len bytes at p: the count filled (short only if getrandom fails). */
static size_t fill(uint8_t *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom(p + done, len - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    return done;
}

static int vrnd_handle(void *opaque, int q, struct virtq_chain *c, uint32_t *written)
{
    size_t total = 0;
    for (int i = c->nout; i < c->nout + c->nin && total < VRND_MAX_CHAIN_BYTES; i++) {
        size_t want = c->iov[i].iov_len;
        if (want > VRND_MAX_CHAIN_BYTES - total)
            want = VRND_MAX_CHAIN_BYTES - total;
        size_t got = fill(c->iov[i].iov_base, want);
        total += got;
        if (got < want)
            break;
    }
    *written = (uint32_t)total;
    return HK_OK;
}

static const struct virtio_dev_ops vrnd_ops = {
    .features = vrnd_features,
    .config_read = vrnd_config_read,
    .handle = vrnd_handle,
};

static void vrnd_destroy(void *opaque)
{
    struct vrnd *r = opaque;
    virtio_pci_destroy(r->vp);
    free(r);
}

int virtio_rnd_parse(const char *conf, void **parsed, char *err, size_t errlen)
{
    *parsed = NULL;
    if (conf && *conf) {
        snprintf(err, errlen, "virtio-rnd: takes no options (got '%s')", conf);
        return HK_EINVAL;
    }
    return HK_OK;
}

int virtio_rnd_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                      char *err, size_t errlen)
{
    struct virtio_pci_params pp = {.bus = bus, .slot = slot, .func = func}, *p = &pp;
    int r;
    struct vrnd *rnd = calloc(1, sizeof(*rnd));
    if (!rnd)
        return HK_ENOMEM;
    struct virtio_dev_info info = {
        .name = "virtio-rnd",
        .device_type = VIRTIO_ID_RNG,
        .legacy_id = VRND_LEGACY_ID,
        .pci_class = VRND_PCI_CLASS,
        .nqueues = 1,
        .queue_size = VRND_QUEUE_SIZE,
        .config_size = 0,
        .ops = &vrnd_ops,
        .opaque = rnd,
    };
    if ((r = virtio_pci_create(env, p, &info, &rnd->vp)) != 0) {
        snprintf(err, errlen, "virtio-rnd: cannot add PCI function %d:%d: %s", p->slot, p->func,
                 hk_strerror(r));
        free(rnd);
        return r;
    }
    if ((r = env->ops->add_teardown(env->ctx, "virtio-rnd", rnd, vrnd_destroy)) != 0) {
        snprintf(err, errlen, "virtio-rnd: %s", hk_strerror(r));
        vrnd_destroy(rnd);
    }
    return r;
}
