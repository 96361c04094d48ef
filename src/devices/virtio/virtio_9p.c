/*
 * virtio-9p: one request queue; each chain carries a 9P request in its
 * readable part and room for the reply in its writable part. The request
 * is gathered into a buffer, answered by the 9P server (on this queue's
 * worker thread, so requests run one at a time) and the reply scattered
 * back. Config space: tag length (le16) and the tag. The relay form is
 * virtio_9p_relay.c.
 */
#include "devices/virtio/virtio_9p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/p9/p9_server.h"
#include "core/bytes.h"
#include "hyperkit.h"


struct v9p {
    struct virtio_pci *vp;
    struct p9_server *srv;
    uint8_t config[2 + V9P_MAX_TAG];
    unsigned config_size;
    uint8_t *req, *resp;                /* P9_MAX_MSIZE each */
};

static void v9p_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
    struct v9p *v = opaque;
    memcpy(buf, v->config + off, len);          /* off + len checked by the transport */
}

static void v9p_config_write(void *opaque, unsigned off, const void *buf, unsigned len) {}

static int v9p_handle(void *opaque, int q, struct virtq_chain *c, uint32_t *written)
{
    struct v9p *v = opaque;
    size_t len = v9p_gather(c, v->req, P9_MAX_MSIZE);
    /* Trailing readable bytes past the message's own size are ignored; a
     * size beyond what was given is the server's to refuse. */
    if (len >= 4 && le32(v->req) <= len)
        len = le32(v->req);
    size_t cap = c->in_bytes < P9_MAX_MSIZE ? (size_t)c->in_bytes : P9_MAX_MSIZE;
    size_t n = p9_server_handle(v->srv, v->req, len, v->resp, cap);
    v9p_scatter(c, v->resp, n);
    *written = (uint32_t)n;
    return HK_OK;
}

static const struct virtio_dev_ops v9p_ops = {
    .features = v9p_features,
    .config_read = v9p_config_read,
    .config_write = v9p_config_write,
    .handle = v9p_handle,
};

static void v9p_destroy(void *opaque)
{
    struct v9p *v = opaque;
    if (v->vp)
        virtio_pci_destroy(v->vp);
    p9_server_free(v->srv);
    free(v->req);
    free(v->resp);
    free(v);
}

int virtio_9p_parse(const char *conf, void **parsed, char *err, size_t errlen)
{
    *parsed = NULL;
    struct v9p_conf *c = calloc(1, sizeof(*c));
    if (!c)
        return HK_ENOMEM;
    int r = v9p_conf_parse(conf, c, err, errlen);
    if (r) {
        free(c);
        return r;
    }
    *parsed = c;
    return HK_OK;
}

void virtio_9p_free(void *parsed)
{
    if (parsed) {
        v9p_conf_free(parsed);
        free(parsed);
    }
}

int virtio_9p_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                     char *err, size_t errlen)
{
    const struct v9p_conf *conf = parsed;
    if (!conf) {
        snprintf(err, errlen, "virtio-9p: needs path=DIR,tag=TAG");
        return HK_EINVAL;
    }
    if (conf->relay)
        return virtio_9p_relay_create(env, bus, slot, func, conf, err, errlen);
    struct v9p *v = calloc(1, sizeof(*v));
    if (!v)
        return HK_ENOMEM;
    int r;
    if ((r = p9_server_new(conf->path, conf->ro, &v->srv)) != 0) {
        snprintf(err, errlen, "virtio-9p: cannot share %s: %s", conf->path, hk_strerror(r));
        free(v);
        return r;
    }
    v->req = malloc(P9_MAX_MSIZE);
    v->resp = malloc(P9_MAX_MSIZE);
    if (!v->req || !v->resp) {
        v9p_destroy(v);
        return HK_ENOMEM;
    }
    v->config_size = v9p_tag_config(v->config, conf->tag);
    if ((r = v9p_pci_create(env, bus, slot, func, v->config_size, 0, &v9p_ops, v, &v->vp, err,
                            errlen)) != 0) {
        v9p_destroy(v);
        return r;
    }
    return v9p_add_teardown(env, v, v9p_destroy, err, errlen);
}
