/*
 * User-mode networking on libslirp (Debian's libslirp0): the guest's
 * frames go into a TCP/IP stack that talks to the host with ordinary
 * sockets as the host user (no root), answers DHCP and proxies DNS, and
 * forwards host ports to the guest.
 *
 * slirp is not thread-safe: every call into it holds b->mu. It runs on
 * its own thread with its own poll loop rather than on the VM's event
 * loop, because slirp wants poll events beyond readability (POLLOUT for
 * connects and full sockets, POLLPRI) and millisecond timers, which the
 * event loop does not offer. The loop sleeps in poll() without the lock;
 * whoever changes slirp's sockets or timers meanwhile (a guest frame from
 * netbe_send, a port forward) wakes it through an eventfd so the next
 * round polls the new set.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "backends/net/net.h"
#include "hyperkit.h"

#define SLIRP_MAX_TIMERS 16

struct stimer {
    SlirpTimerCb cb;
    void *cb_opaque;
    int64_t expire_ms;          /* -1: not armed */
    bool used;
};

struct nslirp {
    struct netbe base;
    Slirp *slirp;
    pthread_mutex_t mu;
    pthread_cond_t went_round;      /* the poll loop came back from poll() */
    uint64_t rounds;
    int wake_fd;
    bool stop, sleeping;
    pthread_t thread;
    bool started;
    struct stimer timers[SLIRP_MAX_TIMERS];
    struct pollfd *pfd;
    int npfd, cap;
    struct netbe_fwd *fwds;         /* the forwards in place, to tell removals apart */
    int nfwds, fwd_cap;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Make the poll loop go round (mu held or not). */
static void wake(struct nslirp *s)
{
    uint64_t one = 1;
    ssize_t r = write(s->wake_fd, &one, sizeof(one));
    (void)r;        /* EAGAIN: the counter is already non-zero, it wakes anyway */
}

/* --- slirp's callbacks (all with mu held) ------------------------------------------- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct nslirp *s = opaque;
    if (len <= NETBE_MAX_FRAME)
        s->base.rx(s->base.rx_opaque, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque) {}

static int64_t cb_clock_get_ns(void *opaque)
{
    return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    struct nslirp *s = opaque;
    for (int i = 0; i < SLIRP_MAX_TIMERS; i++)
        if (!s->timers[i].used) {
            s->timers[i] = (struct stimer){.cb = cb, .cb_opaque = cb_opaque, .expire_ms = -1,
                                           .used = true};
            return &s->timers[i];
        }
    return NULL;    /* slirp makes one or two */
}

static void cb_timer_free(void *t, void *opaque)
{
    if (t)
        ((struct stimer *)t)->used = false;
}

static void cb_timer_mod(void *t, int64_t expire_ms, void *opaque)
{
    if (!t)
        return;
    ((struct stimer *)t)->expire_ms = expire_ms;
    wake(opaque);
}

static void cb_register_poll_fd(int fd, void *opaque) {}
static void cb_unregister_poll_fd(int fd, void *opaque) {}

static void cb_notify(void *opaque)
{
    wake(opaque);
}

static const SlirpCb slirp_cbs = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
};

/* --- The poll loop ------------------------------------------------------------------ */

static int add_poll(int fd, int events, void *opaque)
{
    struct nslirp *s = opaque;
    if (s->npfd == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        struct pollfd *p = realloc(s->pfd, (size_t)cap * sizeof(*p));
        if (!p)
            return -1;      /* slirp then skips this socket for a round */
        s->pfd = p;
        s->cap = cap;
    }
    short ev = 0;
    if (events & SLIRP_POLL_IN) ev |= POLLIN;
    if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
    s->pfd[s->npfd] = (struct pollfd){.fd = fd, .events = ev};
    return s->npfd++;
}

static int get_revents(int idx, void *opaque)
{
    struct nslirp *s = opaque;
    if (idx < 0 || idx >= s->npfd)
        return 0;
    short r = s->pfd[idx].revents;
    int ev = 0;
    if (r & POLLIN) ev |= SLIRP_POLL_IN;
    if (r & POLLOUT) ev |= SLIRP_POLL_OUT;
    if (r & POLLPRI) ev |= SLIRP_POLL_PRI;
    if (r & POLLERR) ev |= SLIRP_POLL_ERR;
    if (r & POLLHUP) ev |= SLIRP_POLL_HUP;
    return ev;
}

/* Fire due timers; the ms to the next one, capped at *timeout (mu held). */
static void run_timers(struct nslirp *s, uint32_t *timeout)
{
    int64_t now = now_ns() / 1000000;
    for (int i = 0; i < SLIRP_MAX_TIMERS; i++) {
        struct stimer *t = &s->timers[i];
        if (t->used && t->expire_ms >= 0 && t->expire_ms <= now) {
            t->expire_ms = -1;
            t->cb(t->cb_opaque);
        }
    }
    for (int i = 0; i < SLIRP_MAX_TIMERS; i++) {
        struct stimer *t = &s->timers[i];
        if (t->used && t->expire_ms >= 0) {
            int64_t d = t->expire_ms > now ? t->expire_ms - now : 0;
            if ((uint64_t)d < *timeout)
                *timeout = (uint32_t)d;
        }
    }
}

static void *slirp_thread(void *arg)
{
    struct nslirp *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        uint32_t timeout = 1000;
        s->npfd = 0;
        add_poll(s->wake_fd, SLIRP_POLL_IN, s);
        slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
        run_timers(s, &timeout);
        s->sleeping = true;
        pthread_mutex_unlock(&s->mu);
        int n = poll(s->pfd, (nfds_t)s->npfd, (int)timeout);
        pthread_mutex_lock(&s->mu);
        s->sleeping = false;
        s->rounds++;
        pthread_cond_broadcast(&s->went_round);
        if (s->pfd[0].revents & POLLIN) {
            uint64_t v;
            ssize_t r = read(s->wake_fd, &v, sizeof(v));
            (void)r;
        }
        slirp_pollfds_poll(s->slirp, n < 0 && errno != EINTR, get_revents, s);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* --- The backend --------------------------------------------------------------------- */

static int slirp_send(struct netbe *b, const void *frame, size_t len)
{
    struct nslirp *s = (struct nslirp *)b;
    if (len > NETBE_MAX_FRAME)
        return HK_EINVAL;
    pthread_mutex_lock(&s->mu);
    slirp_input(s->slirp, frame, (int)len);
    /* The frame may have opened a socket or armed a timer: poll anew. */
    bool sleeping = s->sleeping;
    pthread_mutex_unlock(&s->mu);
    if (sleeping)
        wake(s);
    return HK_OK;
}

static void slirp_close(struct netbe *b)
{
    struct nslirp *s = (struct nslirp *)b;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_mutex_unlock(&s->mu);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    if (s->slirp)
        slirp_cleanup(s->slirp);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->went_round);
    free(s->pfd);
    free(s->fwds);
    free(s);
}

static const struct netbe_ops slirp_ops = {.send = slirp_send, .close = slirp_close};

static bool same_fwd(const struct netbe_fwd *a, const struct netbe_fwd *b)
{
    return a->udp == b->udp && a->host_addr == b->host_addr && a->host_port == b->host_port;
}

/* Add or remove a forward (mu held). slirp_remove_hostfwd drops the first
 * forwarding socket it finds bound to the host port and reports success
 * for any, so the table, not slirp, says whether a forward is there; a
 * removal drops every such socket, so the port is certainly closed. */
static int fwd(struct nslirp *s, const struct netbe_fwd *f, bool add)
{
    struct in_addr h = {.s_addr = f->host_addr}, g = {.s_addr = f->guest_addr};
    int i = 0;
    while (i < s->nfwds && !same_fwd(&s->fwds[i], f))
        i++;
    if (!add) {
        if (i == s->nfwds)
            return HK_ENOENT;
        while (slirp_remove_hostfwd(s->slirp, f->udp, h, f->host_port) == 0)
            ;
        s->fwds[i] = s->fwds[--s->nfwds];
        return HK_OK;
    }
    if (i < s->nfwds)
        return HK_EEXIST;
    if (s->nfwds == s->fwd_cap) {
        int cap = s->fwd_cap ? 2 * s->fwd_cap : 16;
        struct netbe_fwd *p = realloc(s->fwds, (size_t)cap * sizeof(*p));
        if (!p)
            return HK_ENOMEM;
        s->fwds = p;
        s->fwd_cap = cap;
    }
    if (slirp_add_hostfwd(s->slirp, f->udp, h, f->host_port, g, f->guest_port) < 0)
        return HK_EEXIST;
    s->fwds[s->nfwds++] = *f;
    return HK_OK;
}

bool netbe_is_slirp(const struct netbe *b)
{
    return b && b->ops == &slirp_ops;
}

int netbe_slirp_hostfwd(struct netbe *b, const struct netbe_fwd *f, bool add)
{
    if (!b || b->ops != &slirp_ops || !f)
        return HK_EINVAL;
    struct nslirp *s = (struct nslirp *)b;
    pthread_mutex_lock(&s->mu);
    int r = fwd(s, f, add);
    /* A closed socket stays bound while the loop's poll() still holds it:
     * wait for the loop to come round, so that the port is free (to be
     * forwarded again, or used by anyone) when this returns. */
    uint64_t r0 = s->rounds;
    if (!add && r == HK_OK && s->sleeping) {
        wake(s);
        while (s->rounds == r0 && !s->stop)
            pthread_cond_wait(&s->went_round, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    wake(s);
    return r;
}

static struct in_addr host_part(uint32_t net, uint32_t n)
{
    return (struct in_addr){.s_addr = htonl(ntohl(net) | n)};
}

int netbe_slirp_open(const struct netbe_slirp_opts *o, netbe_rx_fn rx, void *opaque,
                     struct netbe **out, char *err, size_t errlen)
{
    struct nslirp *s = calloc(1, sizeof(*s));
    if (!s)
        return HK_ENOMEM;
    s->base = (struct netbe){.ops = &slirp_ops, .rx = rx, .rx_opaque = opaque,
                             .whole_packets = true};
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->went_round, NULL);
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint32_t net = o->net ? o->net : htonl(0x0a000200), mask = o->net ? o->mask : htonl(0xffffff00);
    SlirpConfig cfg = {
        .version = 1,
        .in_enabled = true,
        .vnetwork = {.s_addr = net},
        .vnetmask = {.s_addr = mask},
        .vhost = host_part(net, 2),
        .vdhcp_start = host_part(net, 15),
        .vnameserver = host_part(net, 3),
        .in6_enabled = o->ipv6,
        .vhostname = "hyperkit",
    };
    if (o->ipv6) {
        /* fec0::/64 as QEMU: host ::2, DNS ::3. */
        inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
        cfg.vprefix_len = 64;
        inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
        inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
    }
    int r = HK_OK;
    if (s->wake_fd < 0 || !(s->slirp = slirp_new(&cfg, &slirp_cbs, s))) {
        snprintf(err, errlen, "slirp: cannot start the user-mode network");
        r = HK_EIO;
    }
    for (int i = 0; r == HK_OK && i < o->nfwds; i++)
        if ((r = fwd(s, &o->fwds[i], true)) != 0) {
            snprintf(err, errlen, "slirp: cannot forward %s host port %u (in use?)",
                     o->fwds[i].udp ? "udp" : "tcp", o->fwds[i].host_port);
            r = HK_EIO;
        }
    if (r == HK_OK) {
        if (pthread_create(&s->thread, NULL, slirp_thread, s) == 0)
            s->started = true;
        else
            r = HK_ENOMEM;
    }
    if (r) {
        slirp_close(&s->base);
        return r;
    }
    *out = &s->base;
    return HK_OK;
}
