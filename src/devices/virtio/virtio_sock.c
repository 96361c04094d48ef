/*
 * virtio-sock: options, the PCI function, the Unix listeners and the I/O
 * thread (see virtio_sock_priv.h for the threading and flow control, and
 * virtio_sock_proto.c for the packets).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/bytes.h"
#include "devices/virtio/virtio_sock_priv.h"
#include "hyperkit.h"

#define VS_PCI_CLASS 0x020000           /* network controller, as hyperkit */

struct vs_conf {
    uint64_t guest_cid;
    char *path;
    int nfwd;
    uint32_t fwd[VS_MAX_FWDS];
};

/* --- Options ---------------------------------------------------------------------- */

void virtio_sock_free(void *parsed)
{
    struct vs_conf *c = parsed;
    if (c)
        free(c->path);
    free(c);
}

static int bad(struct vs_conf *c, char *err, size_t errlen, const char *what, const char *v)
{
    snprintf(err, errlen, "virtio-sock: %s '%s'", what, v);
    virtio_sock_free(c);
    return HK_EINVAL;
}

static bool parse_num(const char *s, size_t n, int base, uint64_t max, uint64_t *out)
{
    char buf[32], *e;
    if (n == 0 || n >= sizeof(buf) || *s == '-' || *s == '+' || *s == ' ')
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    errno = 0;
    unsigned long long v = strtoull(buf, &e, base);
    if (errno || *e || v > max)
        return false;
    *out = v;
    return true;
}

int virtio_sock_parse(const char *conf, void **parsed, char *err, size_t errlen)
{
    struct sockaddr_un un;
    *parsed = NULL;
    struct vs_conf *c = calloc(1, sizeof(*c));
    if (!c)
        return HK_ENOMEM;
    for (const char *p = conf ? conf : ""; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 10 && strncmp(p, "guest_cid=", 10) == 0) {
            /* 0-2 are the hypervisor, reserved and the host; -1 is "any". */
            if (!parse_num(p + 10, n - 10, 10, UINT32_MAX - 1, &c->guest_cid) || c->guest_cid <= 2)
                return bad(c, err, errlen, "invalid guest_cid", p + 10);
        } else if (n > 5 && strncmp(p, "path=", 5) == 0) {
            free(c->path);
            if (!(c->path = strndup(p + 5, n - 5))) {
                virtio_sock_free(c);
                return HK_ENOMEM;
            }
        } else if (n >= 15 && strncmp(p, "guest_forwards=", 15) == 0) {
            for (const char *f = p + 15; f < p + n;) {
                const char *semi = memchr(f, ';', (size_t)(p + n - f));
                size_t fl = semi ? (size_t)(semi - f) : (size_t)(p + n - f);
                uint64_t port;
                if (c->nfwd == VS_MAX_FWDS || !parse_num(f, fl, 0, UINT32_MAX - 1, &port))
                    return bad(c, err, errlen, "invalid or too many guest_forwards", p + 15);
                c->fwd[c->nfwd++] = (uint32_t)port;
                f += fl + (semi ? 1 : 0);
            }
        } else {
            return bad(c, err, errlen, "unknown option", p);
        }
        p += n + (comma ? 1 : 0);
    }
    if (!c->guest_cid || !c->path) {
        snprintf(err, errlen, "virtio-sock: guest_cid=N and path=DIR are both required");
        virtio_sock_free(c);
        return HK_EINVAL;
    }
    if (strlen(c->path) + sizeof("/00000000.00000000") > sizeof(un.sun_path))
        return bad(c, err, errlen, "path too long for a Unix socket", c->path);
    *parsed = c;
    return HK_OK;
}

/* --- Transport callbacks -------------------------------------------------------------- */

static uint64_t vs_features(void *opaque)
{
    return 0;                       /* stream sockets only */
}

static void vs_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
    struct vsock *vs = opaque;
    uint8_t cfg[8];
    put64(cfg, vs->guest_cid);
    memcpy(buf, cfg + off, len);    /* off + len <= 8: checked by the transport */
}

static void vs_config_write(void *opaque, unsigned off, const void *buf, unsigned len) {}

static void wake(struct vsock *vs)
{
    uint64_t one = 1;
    ssize_t r = write(vs->wake_fd, &one, sizeof(one));
    (void)r;                        /* a full counter is still a wake-up */
}

static void vs_kick(void *opaque, int q)
{
    wake(opaque);
}

static void vs_reset(void *opaque)
{
    struct vsock *vs = opaque;
    pthread_mutex_lock(&vs->lock);
    /* The guest's sockets are gone with its driver: so are ours. */
    vs_conn_drop_all(vs);
    vs->rx_held = false;
    vs->rx_empty = false;
    pthread_mutex_unlock(&vs->lock);
}

static const struct virtio_dev_ops vs_ops = {
    .features = vs_features,
    .config_read = vs_config_read,
    .config_write = vs_config_write,
    .reset = vs_reset,
    .kick = vs_kick,
};

/* --- The I/O thread --------------------------------------------------------------------- */

static void accept_on(struct vsock *vs, int lfd, bool handshake, uint32_t port)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (!vs_conn_new(vs, fd, handshake, port))
        close(fd);                  /* table full: the client sees EOF */
}

static void *io_thread(void *arg)
{
    struct vsock *vs = arg;
    int cap = 2 + VS_MAX_FWDS + VS_MAX_CONNS;
    struct pollfd *pfd = calloc((size_t)cap, sizeof(*pfd));
    struct vs_conn **who = calloc((size_t)cap, sizeof(*who));
    if (!pfd || !who) {
        dev_log(vs->env, HK_LOG_ERROR, "virtio-sock: out of memory: device stopped");
        free(pfd);
        free(who);
        return NULL;
    }
    pthread_mutex_lock(&vs->lock);
    while (!atomic_load(&vs->stop)) {
        vs_work(vs);
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = vs->wake_fd, .events = POLLIN};
        bool room = vs->nconns < VS_MAX_CONNS;
        pfd[n++] = (struct pollfd){.fd = room ? vs->connect_fd : -1, .events = POLLIN};
        for (int i = 0; i < vs->nfwd; i++)
            pfd[n++] = (struct pollfd){.fd = room ? vs->fwd[i].fd : -1, .events = POLLIN};
        int first = n;
        for (int i = 0; i < vs->nconns; i++) {
            struct vs_conn *c = vs->conns[i];
            short ev = 0;
            if (c->state == VS_HANDSHAKE ||
                (!vs->rx_empty && !c->readable && vs_conn_wants_read(c)))
                ev |= POLLIN;
            if (c->state == VS_ESTABLISHED && c->wlen)
                ev |= POLLOUT;
            who[n] = c;
            pfd[n++] = (struct pollfd){.fd = ev ? c->fd : -1, .events = ev};
        }
        /* Data already known readable and rx buffers to put it in: look
         * again at once, else sleep until something happens. */
        bool busy = false;
        for (int i = 0; i < vs->nconns && !busy; i++)
            busy = !vs->rx_empty && vs->conns[i]->readable && vs_conn_wants_read(vs->conns[i]);
        pthread_mutex_unlock(&vs->lock);
        int r = poll(pfd, (nfds_t)n, busy ? 0 : -1);
        pthread_mutex_lock(&vs->lock);
        if (r < 0)
            continue;
        if (pfd[0].revents) {
            uint64_t v;
            ssize_t k = read(vs->wake_fd, &v, sizeof(v));
            (void)k;
            vs->rx_empty = false;   /* a kick: maybe new rx buffers */
        }
        if (pfd[1].revents & POLLIN)
            accept_on(vs, vs->connect_fd, true, 0);
        for (int i = 0; i < vs->nfwd; i++)
            if (pfd[2 + i].revents & POLLIN)
                accept_on(vs, vs->fwd[i].fd, false, vs->fwd[i].port);
        /* The table was not touched since poll (accepts append): the
         * connections polled are still at their indices. */
        for (int i = first; i < n; i++) {
            struct vs_conn *c = who[i];
            if (!pfd[i].revents || pfd[i].fd < 0)
                continue;
            if (c->state == VS_HANDSHAKE) {
                vs_handshake_read(vs, c);   /* may free c (no later entry is c) */
                continue;
            }
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                c->readable = true;
            if (pfd[i].revents & (POLLOUT | POLLHUP | POLLERR))
                c->writable = true;
        }
    }
    pthread_mutex_unlock(&vs->lock);
    free(pfd);
    free(who);
    return NULL;
}

/* --- Creation ---------------------------------------------------------------------------- */

static int listen_at(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    if ((size_t)snprintf(un.sun_path, sizeof(un.sun_path), "%s", path) >= sizeof(un.sun_path))
        return -1;
    if (unlink(path) < 0 && errno != ENOENT)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(fd, SOMAXCONN) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void vs_destroy(void *opaque)
{
    struct vsock *vs = opaque;
    if (vs->thread_started) {
        atomic_store(&vs->stop, true);
        wake(vs);
        pthread_join(vs->thread, NULL);
    }
    virtio_pci_destroy(vs->vp);
    vs_conn_drop_all(vs);
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 32];
    if (vs->connect_fd >= 0) {
        close(vs->connect_fd);
        snprintf(path, sizeof(path), "%s/connect", vs->dir);
        unlink(path);
    }
    for (int i = 0; i < vs->nfwd; i++) {
        close(vs->fwd[i].fd);
        snprintf(path, sizeof(path), "%s/%08llx.%08x", vs->dir,
                 (unsigned long long)vs->guest_cid, vs->fwd[i].port);
        unlink(path);
        snprintf(path, sizeof(path), "%s/guest.%08x", vs->dir, vs->fwd[i].port);
        unlink(path);
    }
    if (vs->wake_fd >= 0)
        close(vs->wake_fd);
    free(vs->rxc);
    free(vs->txc);
    free(vs->scratch);
    free(vs->dir);
    pthread_mutex_destroy(&vs->lock);
    free(vs);
}

static int open_listeners(struct vsock *vs, const struct vs_conf *conf, char *err, size_t errlen)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 32], target[32];
    snprintf(path, sizeof(path), "%s/connect", vs->dir);
    if ((vs->connect_fd = listen_at(path)) < 0) {
        snprintf(err, errlen, "virtio-sock: cannot listen on %s: %s", path, strerror(errno));
        return HK_EIO;
    }
    for (int i = 0; i < conf->nfwd; i++) {
        snprintf(target, sizeof(target), "%08llx.%08x", (unsigned long long)vs->guest_cid,
                 conf->fwd[i]);
        snprintf(path, sizeof(path), "%s/%s", vs->dir, target);
        int fd = listen_at(path);
        if (fd < 0) {
            snprintf(err, errlen, "virtio-sock: cannot listen on %s: %s", path, strerror(errno));
            return HK_EIO;
        }
        vs->fwd[vs->nfwd].fd = fd;
        vs->fwd[vs->nfwd++].port = conf->fwd[i];
        /* hyperkit's convenience name, relative to DIR. */
        snprintf(path, sizeof(path), "%s/guest.%08x", vs->dir, conf->fwd[i]);
        unlink(path);
        if (symlink(target, path) < 0) {
            snprintf(err, errlen, "virtio-sock: cannot make %s: %s", path, strerror(errno));
            return HK_EIO;
        }
    }
    return HK_OK;
}

int virtio_sock_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                       char *err, size_t errlen)
{
    const struct vs_conf *conf = parsed;
    if (!conf)
        return HK_EINVAL;
    struct vsock *vs = calloc(1, sizeof(*vs));
    if (!vs)
        return HK_ENOMEM;
    vs->env = env;
    vs->guest_cid = conf->guest_cid;
    vs->connect_fd = vs->wake_fd = -1;
    vs->next_port = VS_FIRST_HOST_PORT;
    vs->warnings_left = 8;
    pthread_mutex_init(&vs->lock, NULL);
    atomic_init(&vs->stop, false);
    int r = HK_ENOMEM;
    struct virtq sized = {.size = VS_QUEUE_SIZE};
    vs->dir = strdup(conf->path);
    vs->rxc = virtq_chain_new(&sized);
    vs->txc = virtq_chain_new(&sized);
    vs->scratch = calloc(VS_QUEUE_SIZE + 1, sizeof(*vs->scratch));
    if (!vs->dir || !vs->rxc || !vs->txc || !vs->scratch)
        goto fail;
    if ((vs->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        goto fail;
    if ((r = open_listeners(vs, conf, err, errlen)) != 0)
        goto fail_quiet;
    struct virtio_dev_info info = {
        .name = "virtio-sock",
        .device_type = VIRTIO_ID_VSOCK,
        .legacy_id = 0,             /* modern only: vsock has no legacy ID */
        .pci_class = VS_PCI_CLASS,
        .nqueues = 3,
        .queue_size = VS_QUEUE_SIZE,
        .config_size = 8,
        .device_driven_mask = 7,    /* the I/O thread pops all three (event: never) */
        .ops = &vs_ops,
        .opaque = vs,
    };
    struct virtio_pci_params pp = {.bus = bus, .slot = slot, .func = func};
    if ((r = virtio_pci_create(env, &pp, &info, &vs->vp)) != 0) {
        snprintf(err, errlen, "virtio-sock: cannot add PCI function %d:%d: %s", slot, func,
                 hk_strerror(r));
        goto fail_quiet;
    }
    if (pthread_create(&vs->thread, NULL, io_thread, vs) != 0) {
        r = HK_ENOMEM;
        goto fail;
    }
    vs->thread_started = true;
    if ((r = env->ops->add_teardown(env->ctx, VIRTIO_SOCK_NAME, vs, vs_destroy)) != 0) {
        snprintf(err, errlen, "virtio-sock: %s", hk_strerror(r));
        vs_destroy(vs);
    }
    return r;
fail:
    snprintf(err, errlen, "virtio-sock: %s", hk_strerror(r));
fail_quiet:
    vs_destroy(vs);
    return r;
}

int virtio_sock_connect(struct vsock *vs, uint32_t port, int *fd)
{
    int sv[2];
    if (!vs || !fd)
        return HK_EINVAL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return HK_EIO;
    int fl = fcntl(sv[1], F_GETFL);
    if (fl < 0 || fcntl(sv[1], F_SETFL, fl | O_NONBLOCK) < 0) {
        close(sv[0]);
        close(sv[1]);
        return HK_EIO;
    }
    pthread_mutex_lock(&vs->lock);
    struct vs_conn *c = vs_conn_new(vs, sv[1], false, port);
    pthread_mutex_unlock(&vs->lock);
    if (!c) {
        close(sv[0]);
        close(sv[1]);
        return HK_ENOMEM;
    }
    wake(vs);
    *fd = sv[0];
    return HK_OK;
}
