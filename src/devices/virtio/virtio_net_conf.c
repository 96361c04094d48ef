/*
 * virtio-net's options, MAC address and creation (virtio_net.h): the
 * device-table rows virtio-net (slirp), virtio-tap and virtio-vpnkit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "devices/virtio/virtio_net_priv.h"
#include "hyperkit.h"

enum vnet_kind { VNET_SLIRP, VNET_TAP, VNET_VPNKIT };

struct vnet_conf {
    enum vnet_kind kind;
    bool has_mac, has_uuid;
    uint8_t mac[6], uuid[16];
    char tap[32];
    struct netbe_slirp_opts slirp;
    /* vpnkit: the socket, the uuid= text as given, the macfile. */
    char *vpnkit_path, *macfile;
    char vpnkit_uuid[37];
};

static const char *const kind_names[] = {"virtio-net", "virtio-tap", "virtio-vpnkit"};

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned b[6];
    char end;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    /* A multicast address cannot be a NIC's; all zero neither. */
    if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
        return -1;
    return 0;
}

static int parse_uuid(const char *s, uint8_t u[16])
{
    int n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '-')
            continue;
        char h[3] = {p[0], p[1], 0};
        char *e;
        if (!p[1] || n == 16)
            return -1;
        unsigned long v = strtoul(h, &e, 16);
        if (*e)
            return -1;
        u[n++] = (uint8_t)v;
        p++;
    }
    return n == 16 ? 0 : -1;
}

/* 8-4-4-4-12 hex digits, as a uuid is written. */
static bool canonical_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    }
    return true;
}

void virtio_net_derive_mac(const uint8_t *uuid, int slot, int func, uint8_t mac[6])
{
    /* FNV-1a over the uuid and the slot: stable across runs and hosts. */
    uint64_t h = 0xcbf29ce484222325ull;
    uint8_t in[18] = {0};
    if (uuid)
        memcpy(in, uuid, 16);
    in[16] = (uint8_t)slot;
    in[17] = (uint8_t)func;
    for (size_t i = 0; i < sizeof(in); i++)
        h = (h ^ in[i]) * 0x100000001b3ull;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(h >> (8 * i));
    mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);     /* unicast, locally administered */
}

/* Options after the backend's own: key=value separated by commas. */
static int parse_opts(char *s, struct vnet_conf *c, char *err, size_t errlen)
{
    for (char *save = NULL, *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        const char *val = eq ? eq + 1 : NULL;
        size_t kl = eq ? (size_t)(eq - t) : strlen(t);
        bool slirp = c->kind == VNET_SLIRP, vpnkit = c->kind == VNET_VPNKIT;
#define KEY(k) (kl == strlen(k) && strncmp(t, k, kl) == 0)
        if (vpnkit && (KEY("path") || KEY("macfile")) && val && *val) {
            char **dst = KEY("path") ? &c->vpnkit_path : &c->macfile;
            free(*dst);
            if (!(*dst = strdup(val)))
                return HK_ENOMEM;
        } else if (vpnkit && KEY("uuid") && val) {
            /* Sent to the server as written, as hyperkit does. */
            if (!canonical_uuid(val) || parse_uuid(val, c->uuid)) {
                snprintf(err, errlen, "bad uuid '%s' (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                         val);
                return HK_EINVAL;
            }
            snprintf(c->vpnkit_uuid, sizeof(c->vpnkit_uuid), "%s", val);
            c->has_uuid = true;
        } else if (vpnkit && KEY("mac")) {
            snprintf(err, errlen, "mac= is not taken: the vpnkit server assigns the MAC");
            return HK_EINVAL;
        } else if (!vpnkit && KEY("mac") && val) {
            if (parse_mac(val, c->mac)) {
                snprintf(err, errlen, "bad mac '%s' (want a unicast xx:xx:xx:xx:xx:xx)", val);
                return HK_EINVAL;
            }
            c->has_mac = true;
        } else if (KEY("uuid") && val) {
            if (parse_uuid(val, c->uuid)) {
                snprintf(err, errlen, "bad uuid '%s'", val);
                return HK_EINVAL;
            }
            c->has_uuid = true;
        } else if (slirp && KEY("hostfwd") && val) {
            if (c->slirp.nfwds == NETBE_MAX_FWDS) {
                snprintf(err, errlen, "at most %d hostfwd", NETBE_MAX_FWDS);
                return HK_EINVAL;
            }
            if (netbe_parse_hostfwd(val, &c->slirp.fwds[c->slirp.nfwds], err, errlen))
                return HK_EINVAL;
            c->slirp.nfwds++;
        } else if (slirp && KEY("net") && val) {
            if (netbe_parse_net(val, &c->slirp.net, &c->slirp.mask, err, errlen))
                return HK_EINVAL;
        } else if (slirp && KEY("ipv6")) {
            if (val && strcmp(val, "on") && strcmp(val, "off")) {
                snprintf(err, errlen, "ipv6 takes on or off");
                return HK_EINVAL;
            }
            c->slirp.ipv6 = !val || strcmp(val, "on") == 0;
        } else {
            snprintf(err, errlen, "unknown option '%s'", t);
            return HK_EINVAL;
        }
#undef KEY
    }
    return HK_OK;
}

static int parse(const char *conf, enum vnet_kind kind, void **parsed, char *err, size_t errlen)
{
    *parsed = NULL;
    struct vnet_conf *c = calloc(1, sizeof(*c));
    char *s = strdup(conf ? conf : "");
    if (!c || !s) {
        free(c);
        free(s);
        return HK_ENOMEM;
    }
    c->kind = kind;
    char *rest = s;
    int r = HK_OK;
    if (kind == VNET_TAP) {
        /* The interface name comes first: tapN. */
        char *comma = strchr(s, ',');
        if (comma)
            *comma = 0;
        if (!*s || strchr(s, '=') || strlen(s) >= sizeof(c->tap)) {
            snprintf(err, errlen, "virtio-tap: want tapN[,mac=...] (got '%s')", conf ? conf : "");
            r = HK_EINVAL;
        }
        snprintf(c->tap, sizeof(c->tap), "%s", s);
        rest = comma ? comma + 1 : s + strlen(s);
    }
    char sub[200] = "out of memory";
    if (r == HK_OK && (r = parse_opts(rest, c, sub, sizeof(sub))) != 0)
        snprintf(err, errlen, "%s: %s", kind_names[kind], sub);
    if (r == HK_OK && kind == VNET_VPNKIT && !c->vpnkit_path) {
        snprintf(err, errlen, "virtio-vpnkit: needs path=SOCK (the vpnkit server's socket)");
        r = HK_EINVAL;
    }
    free(s);
    if (r) {
        virtio_net_free(c);
        return r;
    }
    *parsed = c;
    return HK_OK;
}

int virtio_net_parse(const char *conf, void **parsed, char *err, size_t errlen)
{
    return parse(conf, VNET_SLIRP, parsed, err, errlen);
}

int virtio_tap_parse(const char *conf, void **parsed, char *err, size_t errlen)
{
    return parse(conf, VNET_TAP, parsed, err, errlen);
}

int virtio_vpnkit_parse(const char *conf, void **parsed, char *err, size_t errlen)
{
    return parse(conf, VNET_VPNKIT, parsed, err, errlen);
}

void virtio_net_free(void *parsed)
{
    struct vnet_conf *c = parsed;
    if (c) {
        free(c->vpnkit_path);
        free(c->macfile);
    }
    free(c);
}

/* --- Creation ------------------------------------------------------------------------ */

static void vnet_destroy(void *opaque)
{
    struct vnet *v = opaque;
    /* Frames from the backend stop reaching the queues, the queues'
     * workers (which send) stop, then the backend's thread. */
    pthread_mutex_lock(&v->rx_lock);
    v->dead = true;
    v->active = false;
    pthread_mutex_unlock(&v->rx_lock);
    virtio_pci_destroy(v->vp);
    netbe_close(v->be);
    pthread_mutex_lock(&v->rx_lock);
    for (int i = 0; i < VNET_PENDING; i++)
        free(v->pend[i]);
    pthread_mutex_unlock(&v->rx_lock);
    for (int i = 0; i < VNET_MAX_BUFS; i++)
        free(v->rxc[i]);
    pthread_mutex_destroy(&v->rx_lock);
    free(v);
}

int virtio_net_create_on(struct dev_env *env, struct pci_bus *bus, int slot, int func,
                         const uint8_t *mac, const uint8_t *uuid, vnet_open_fn open, void *arg,
                         char *err, size_t errlen)
{
    struct vnet *v = calloc(1, sizeof(*v));
    if (!v)
        return HK_ENOMEM;
    pthread_mutex_init(&v->rx_lock, NULL);
    atomic_init(&v->hdr_len, VIRTIO_NET_HDR_LEN);
    v->slot = slot;
    if (mac)
        memcpy(v->mac, mac, 6);
    else
        virtio_net_derive_mac(uuid ? uuid : env->uuid, slot, func, v->mac);
    struct virtio_dev_info info = {
        .name = "virtio-net",
        .device_type = VIRTIO_ID_NET,
        .legacy_id = VNET_LEGACY_ID,
        .pci_class = VNET_PCI_CLASS,
        .nqueues = 2,
        .queue_size = VNET_QUEUE_SIZE,
        .device_driven_mask = 1u << VIRTIO_NET_RXQ,
        .ops = &vnet_ops,
        .opaque = v,
    };
    struct virtio_pci_params pp = {.bus = bus, .slot = slot, .func = func};
    /* The backend first: what it takes decides the features offered. Its
     * frames meanwhile find the device inactive and go nowhere. */
    int r = open(arg, vnet_rx, v, &v->be, err, errlen);
    if (r) {
        v->be = NULL;
        vnet_destroy(v);
        return r;
    }
    /* A backend's own MAC (vpnkit's server assigns one) wins. */
    if (v->be->has_mac)
        memcpy(v->mac, v->be->mac, 6);
    /* The MTU's field only when there is one to tell. */
    v->mtu = v->be->mtu;
    info.config_size = v->mtu ? VNET_CONFIG_SIZE_MTU : VNET_CONFIG_SIZE;
    r = virtio_pci_create(env, &pp, &info, &v->vp);
    if (r) {
        snprintf(err, errlen, "virtio-net: cannot add PCI function %d:%d: %s", slot, func,
                 hk_strerror(r));
        v->vp = NULL;
        vnet_destroy(v);
        return r;
    }
    for (int i = 0; i < VNET_MAX_BUFS; i++)
        if (!(v->rxc[i] = virtio_pci_chain_new(v->vp))) {
            vnet_destroy(v);
            return HK_ENOMEM;
        }
    if ((r = env->ops->add_teardown(env->ctx, VIRTIO_NET_NAME, v, vnet_destroy)) != 0) {
        snprintf(err, errlen, "virtio-net: %s", hk_strerror(r));
        vnet_destroy(v);
    }
    return r;
}

struct open_arg {
    const struct vnet_conf *c;
    struct dev_env *env;
};

static void backend_log(void *ctx, enum hk_log_level level, const char *msg)
{
    dev_log(ctx, level, "%s", msg);        /* already "vpnkit: ..." or "tap: ..." */
}

/* The interface's uuid for vpnkit: uuid=, else the VM's -U, else random
 * (as hyperkit: the server then gives a new address each run). */
static void vpnkit_uuid(const struct vnet_conf *c, const uint8_t *vm_uuid, char out[37])
{
    if (c->vpnkit_uuid[0]) {
        memcpy(out, c->vpnkit_uuid, 37);
        return;
    }
    uint8_t u[16];
    if (vm_uuid) {
        memcpy(u, vm_uuid, 16);
    } else {
        if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u))
            memset(u, 0, sizeof(u));    /* not reached on Linux >= 3.17 */
        u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);     /* version 4, RFC 4122 variant */
        u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    }
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
             u[13], u[14], u[15]);
}

static int open_conf(void *arg, netbe_rx_fn rx, void *opaque, struct netbe **out, char *err,
                     size_t errlen)
{
    const struct open_arg *a = arg;
    const struct vnet_conf *c = a->c;
    if (c->kind == VNET_TAP)
        return netbe_tap_open(c->tap, backend_log, a->env, rx, opaque, out, err, errlen);
    if (c->kind == VNET_VPNKIT) {
        struct netbe_vpnkit_opts o = {.path = c->vpnkit_path, .macfile = c->macfile,
                                      .log = backend_log, .log_ctx = a->env};
        vpnkit_uuid(c, a->env->uuid, o.uuid);
        return netbe_vpnkit_open(&o, rx, opaque, out, err, errlen);
    }
    return netbe_slirp_open(&c->slirp, rx, opaque, out, err, errlen);
}

int virtio_net_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                      char *err, size_t errlen)
{
    struct vnet_conf def = {.kind = VNET_SLIRP};
    const struct vnet_conf *c = parsed ? parsed : &def;
    struct open_arg a = {.c = c, .env = env};
    return virtio_net_create_on(env, bus, slot, func, c->has_mac ? c->mac : NULL,
                                c->has_uuid ? c->uuid : NULL, open_conf, &a, err, errlen);
}

/* --- Run-time port forwards ---------------------------------------------------------- */

int virtio_net_slot(const void *dev)
{
    return ((const struct vnet *)dev)->slot;
}

int virtio_net_hostfwd(void *dev, const char *spec, bool add, char *err, size_t errlen)
{
    struct vnet *v = dev;
    struct netbe_fwd f;
    char sub[160];
    if (netbe_parse_hostfwd(spec, &f, sub, sizeof(sub))) {
        snprintf(err, errlen, "virtio-net slot %d: %s", v->slot, sub);
        return HK_EINVAL;
    }
    if (!netbe_is_slirp(v->be)) {
        snprintf(err, errlen, "virtio-net slot %d: port forwards need user-mode networking (this "
                 "device is virtio-tap or virtio-vpnkit)", v->slot);
        return HK_ENOTSUP;
    }
    int r = netbe_slirp_hostfwd(v->be, &f, add);
    const char *proto = f.udp ? "udp" : "tcp";
    if (r == HK_EEXIST)
        snprintf(err, errlen, "virtio-net slot %d: cannot forward %s host port %u (in use?)",
                 v->slot, proto, f.host_port);
    else if (r == HK_ENOENT)
        snprintf(err, errlen, "virtio-net slot %d: no %s forward from host port %u to remove",
                 v->slot, proto, f.host_port);
    else if (r)
        snprintf(err, errlen, "virtio-net slot %d: %s", v->slot, hk_strerror(r));
    return r;
}
