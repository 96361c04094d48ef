/*
 * The tap backend: frames to and from a host tap interface (IFF_TAP,
 * IFF_NO_PI: bare Ethernet frames). An existing persistent tap the user
 * may open, or a new one if we may create it. A thread polls the tap and
 * an eventfd that stops it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backends/net/net.h"
#include "hyperkit.h"

struct ntap {
    struct netbe base;
    char name[IFNAMSIZ];
    netbe_log_fn log;
    void *log_ctx;
    int fd, stop_fd;
    pthread_t thread;
    bool started;
    uint8_t buf[NETBE_MAX_FRAME];
};

static void *tap_thread(void *arg)
{
    struct ntap *t = arg;
    struct pollfd p[2] = {{.fd = t->fd, .events = POLLIN}, {.fd = t->stop_fd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & (POLLIN | POLLERR | POLLHUP)))
            continue;
        ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
        if (n > 0) {
            t->base.rx(t->base.rx_opaque, t->buf, (size_t)n);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            /* The interface was deleted (EBADFD): nothing more comes. */
            char msg[120];
            snprintf(msg, sizeof(msg), "tap: %s went away (%s): no more frames", t->name,
                     n == 0 ? "end of file" : strerror(errno));
            if (t->log)
                t->log(t->log_ctx, HK_LOG_ERROR, msg);
            break;
        }
    }
    return NULL;
}

static int tap_send(struct netbe *b, const void *frame, size_t len)
{
    struct ntap *t = (struct ntap *)b;
    /* Non-blocking: a full tap queue drops, as a wire would. */
    return write(t->fd, frame, len) == (ssize_t)len ? HK_OK : HK_EIO;
}

static void tap_close(struct netbe *b)
{
    struct ntap *t = (struct ntap *)b;
    if (t->started) {
        uint64_t one = 1;
        ssize_t r = write(t->stop_fd, &one, sizeof(one));
        (void)r;
        pthread_join(t->thread, NULL);
    }
    if (t->fd >= 0)
        close(t->fd);
    if (t->stop_fd >= 0)
        close(t->stop_fd);
    free(t);
}

static const struct netbe_ops tap_ops = {.send = tap_send, .close = tap_close};

int netbe_tap_open(const char *ifname, netbe_log_fn log, void *log_ctx, netbe_rx_fn rx,
                   void *opaque, struct netbe **out, char *err, size_t errlen)
{
    if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
        snprintf(err, errlen, "tap: bad interface name");
        return HK_EINVAL;
    }
    struct ntap *t = calloc(1, sizeof(*t));
    if (!t)
        return HK_ENOMEM;
    t->base = (struct netbe){.ops = &tap_ops, .rx = rx, .rx_opaque = opaque};
    t->log = log;
    t->log_ctx = log_ctx;
    t->stop_fd = eventfd(0, EFD_CLOEXEC);
    t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (t->fd < 0 || t->stop_fd < 0) {
        snprintf(err, errlen, "tap: /dev/net/tun: %s", strerror(errno));
        tap_close(&t->base);
        return HK_EIO;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, errlen, "tap: %s: %s", ifname, strerror(errno));
        tap_close(&t->base);
        return HK_EIO;
    }
    memcpy(t->name, ifr.ifr_name, IFNAMSIZ);     /* the kernel's (tap%d picks one) */
    t->name[IFNAMSIZ - 1] = 0;
    if (pthread_create(&t->thread, NULL, tap_thread, t) != 0) {
        tap_close(&t->base);
        return HK_ENOMEM;
    }
    t->started = true;
    *out = &t->base;
    return HK_OK;
}
