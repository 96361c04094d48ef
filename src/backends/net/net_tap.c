/*
 * The tap backend: frames to and from a host tap interface (IFF_TAP,
 * IFF_NO_PI: bare Ethernet frames). An existing persistent tap the user
 * may open, or a new one if we may create it. A thread polls the tap and
 * an eventfd that stops it. With IFF_VNET_HDR (Linux's tuntap.rst) each
 * frame carries a virtio-net header both ways: the kernel completes or
 * segments what the guest left to the device, and hands over its own
 * partial checksums and GSO packets only as TUNSETOFFLOAD allows.
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
    uint8_t buf[NETBE_VNET_HDR_LEN + NETBE_MAX_FRAME];
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

static int tap_set_offloads(struct netbe *b, unsigned off)
{
    struct ntap *t = (struct ntap *)b;
    unsigned long f = 0;
    /* The kernel takes TSO only with CSUM. */
    if (off & NETBE_OFF_CSUM) {
        f = TUN_F_CSUM;
        if (off & NETBE_OFF_TSO4)
            f |= TUN_F_TSO4;
        if (off & NETBE_OFF_TSO6)
            f |= TUN_F_TSO6;
    }
    if (!t->base.vnet_hdr)
        return off ? HK_ENOTSUP : HK_OK;
    if (ioctl(t->fd, TUNSETOFFLOAD, f) == 0)
        return HK_OK;
    ioctl(t->fd, TUNSETOFFLOAD, 0ul);
    return HK_EIO;
}

static const struct netbe_ops tap_ops = {.send = tap_send, .close = tap_close,
                                         .set_offloads = tap_set_offloads};

/* Headers both ways, 12 bytes (with num_buffers, as virtio 1.x), in
 * little-endian order on any host; no offloads yet. false: the kernel
 * refused, the tap is used without. */
static bool vnet_hdr_setup(int fd)
{
    int sz = NETBE_VNET_HDR_LEN, le = 1;
    return ioctl(fd, TUNSETVNETHDRSZ, &sz) == 0 && ioctl(fd, TUNSETVNETLE, &le) == 0 &&
           ioctl(fd, TUNSETOFFLOAD, 0ul) == 0;
}

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
    unsigned int have = 0;
    bool vnet = ioctl(t->fd, TUNGETFEATURES, &have) == 0 && (have & IFF_VNET_HDR);
    ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0));
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, errlen, "tap: %s: %s", ifname, strerror(errno));
        tap_close(&t->base);
        return HK_EIO;
    }
    memcpy(t->name, ifr.ifr_name, IFNAMSIZ);     /* the kernel's (tap%d picks one) */
    t->name[IFNAMSIZ - 1] = 0;
    if (vnet && !vnet_hdr_setup(t->fd)) {
        /* Back to plain frames on the same interface. */
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        vnet = false;
        close(t->fd);
        t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (t->fd < 0 || ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
            snprintf(err, errlen, "tap: %s: %s", ifname, strerror(errno));
            tap_close(&t->base);
            return HK_EIO;
        }
    }
    t->base.vnet_hdr = vnet;
    if (pthread_create(&t->thread, NULL, tap_thread, t) != 0) {
        tap_close(&t->base);
        return HK_ENOMEM;
    }
    t->started = true;
    *out = &t->base;
    return HK_OK;
}
