/* virtio-9p's option string: path=DIR,tag=T[,ro], path=SOCK or port=N (virtio_9p.h),
 * and what its two forms (served share, relay) show the guest alike. */
#include "devices/virtio/virtio_9p.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/bytes.h"
#include "core/iov.h"
#include "hyperkit.h"

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

void v9p_conf_free(struct v9p_conf *c)
{
    free(c->path);
    free(c->tag);
    *c = (struct v9p_conf){0};
}

static int set(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? HK_OK : HK_ENOMEM;
}

static int parse_port(const char *v, int *port, char *err, size_t errlen)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 1 || n > 65535)
        return fail(err, errlen, HK_EINVAL, "virtio-9p: port=%s is not a TCP port", v);
    *port = (int)n;
    return HK_OK;
}

int v9p_conf_parse(const char *conf, struct v9p_conf *c, char *err, size_t errlen)
{
    *c = (struct v9p_conf){0};
    if (!conf || !*conf)
        return fail(err, errlen, HK_EINVAL, "virtio-9p: needs path=DIR,tag=TAG");
    char *dup = strdup(conf);
    if (!dup)
        return HK_ENOMEM;
    int r = HK_OK;
    for (char *save = NULL, *w = strtok_r(dup, ",", &save); w && !r;
         w = strtok_r(NULL, ",", &save)) {
        if (!strncmp(w, "path=", 5))
            r = set(&c->path, w + 5);
        else if (!strncmp(w, "tag=", 4))
            r = set(&c->tag, w + 4);
        else if (!strcmp(w, "ro"))
            c->ro = true;
        else if (!strncmp(w, "port=", 5))
            r = parse_port(w + 5, &c->port, err, errlen);
        else
            r = fail(err, errlen, HK_EINVAL, "virtio-9p: invalid option '%s'", w);
    }
    free(dup);
    if (!r && c->port && c->path)
        r = fail(err, errlen, HK_EINVAL, "virtio-9p: give either port= or path=, not both");
    if (!r && !c->port && (!c->path || !*c->path))
        r = fail(err, errlen, HK_EINVAL, "virtio-9p: needs path=DIR");
    if (!r && !c->tag)
        r = set(&c->tag, "plan9");              /* hyperkit's default */
    if (!r && (!*c->tag || strlen(c->tag) > V9P_MAX_TAG))
        r = fail(err, errlen, HK_EINVAL, "virtio-9p: tag must be 1..%d bytes", V9P_MAX_TAG);
    struct stat st;
    if (!r)
        c->relay = c->port || (stat(c->path, &st) == 0 && S_ISSOCK(st.st_mode));
    if (!r && c->relay && c->ro)
        r = fail(err, errlen, HK_EINVAL,
                 "virtio-9p: ro is for a shared directory; a relayed server decides itself");
    if (r)
        v9p_conf_free(c);
    return r;
}

unsigned v9p_tag_config(uint8_t *config, const char *tag)
{
    size_t tl = strlen(tag);            /* <= V9P_MAX_TAG: v9p_conf_parse */
    put16(config, (uint16_t)tl);
    memcpy(config + 2, tag, tl);
    return 2 + (unsigned)tl;
}

uint64_t v9p_features(void *opaque)
{
    return 1ull << VIRTIO_9P_MOUNT_TAG;
}

size_t v9p_gather(const struct virtq_chain *c, uint8_t *dst, size_t cap)
{
    size_t n = c->out_bytes < cap ? (size_t)c->out_bytes : cap;
    iov_to_buf(c->iov, c->nout, 0, dst, n);
    return n;
}

size_t v9p_scatter(const struct virtq_chain *c, const uint8_t *src, size_t len)
{
    size_t n = c->in_bytes < len ? (size_t)c->in_bytes : len;
    iov_from_buf(c->iov + c->nout, c->nin, 0, src, n);
    return n;
}

int v9p_pci_create(struct dev_env *env, struct pci_bus *bus, int slot, int func,
                   unsigned config_size, uint32_t device_driven_mask,
                   const struct virtio_dev_ops *ops, void *opaque, struct virtio_pci **vp,
                   char *err, size_t errlen)
{
    struct virtio_pci_params p = {.bus = bus, .slot = slot, .func = func};
    struct virtio_dev_info info = {
        .name = "virtio-9p",
        .device_type = VIRTIO_ID_9P,
        .legacy_id = V9P_LEGACY_ID,
        .pci_class = V9P_PCI_CLASS,
        .nqueues = 1,
        .queue_size = V9P_QUEUE_SIZE,
        .config_size = config_size,
        .device_driven_mask = device_driven_mask,
        .ops = ops,
        .opaque = opaque,
    };
    int r = virtio_pci_create(env, &p, &info, vp);
    if (r != 0) {
        snprintf(err, errlen, "virtio-9p: cannot add PCI function %d:%d: %s", slot, func,
                 hk_strerror(r));
        *vp = NULL;
    }
    return r;
}

int v9p_add_teardown(struct dev_env *env, void *dev, void (*destroy)(void *), char *err,
                     size_t errlen)
{
    int r = env->ops->add_teardown(env->ctx, "virtio-9p", dev, destroy);
    if (r != 0) {
        snprintf(err, errlen, "virtio-9p: %s", hk_strerror(r));
        destroy(dev);
    }
    return r;
}
