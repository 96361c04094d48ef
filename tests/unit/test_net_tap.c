/*
 * The tap backend against the kernel, in a network namespace of its own
 * (unshare: nothing on the host changes; needs root, else one SKIP line):
 * the tap is created when missing, frames the backend sends come out of
 * the interface and frames sent into the interface reach rx (seen both
 * ways through a packet socket bound to it), bad names fail with one line,
 * and a deleted interface gives one log line, sends that fail and a clean
 * close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/ethernet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backends/net/net.h"
#include "test.h"

#define IFN "hktest0"
#define ETHTYPE 0x88b5          /* IEEE local experimental: no stack answers it */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int nrx, nlog, nrx_ours;
static uint8_t last_rx[2048];
static size_t last_rx_len;
static char last_log[256];

static void on_rx(void *opaque, const void *frame, size_t len)
{
    pthread_mutex_lock(&mu);
    nrx++;
    const uint8_t *f = frame;
    /* The kernel may send its own (IPv6 router solicitations...): count ours. */
    if (len >= 14 && f[12] == ETHTYPE >> 8 && f[13] == (ETHTYPE & 0xff) && len <= sizeof(last_rx)) {
        nrx_ours++;
        memcpy(last_rx, frame, len);
        last_rx_len = len;
    }
    pthread_mutex_unlock(&mu);
}

static void on_log(void *ctx, enum hk_log_level level, const char *msg)
{
    pthread_mutex_lock(&mu);
    nlog++;
    snprintf(last_log, sizeof(last_log), "%s", msg);
    pthread_mutex_unlock(&mu);
}

static int get(int *v)
{
    pthread_mutex_lock(&mu);
    int n = *v;
    pthread_mutex_unlock(&mu);
    return n;
}

/* Until *v reaches n: a bound on events (60 s of 1 ms naps), not speed. */
static bool wait_count(int *v, int n)
{
    for (int i = 0; i < 60000 && get(v) < n; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    return get(v) >= n;
}

static int set_up(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    int r = s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ? -1 : 0;
    ifr.ifr_flags |= IFF_UP;
    if (r == 0)
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    if (s >= 0)
        close(s);
    return r;
}

static void frame_of(uint8_t *f, size_t len, uint8_t seed)
{
    memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
    f[12] = ETHTYPE >> 8;
    f[13] = ETHTYPE & 0xff;
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seed + i);
}

static void test_bad_names(void)
{
    struct netbe *be = NULL;
    char err[256];
    CHECK_EQ(netbe_tap_open("", NULL, NULL, on_rx, NULL, &be, err, sizeof(err)), HK_EINVAL,
             "tap: empty name refused");
    CHECK_EQ(netbe_tap_open("a-name-much-too-long", NULL, NULL, on_rx, NULL, &be, err,
                            sizeof(err)), HK_EINVAL, "tap: 16-character name refused");
    err[0] = 0;
    int r = netbe_tap_open("lo", NULL, NULL, on_rx, NULL, &be, err, sizeof(err));
    CHECK(r == HK_EIO && strncmp(err, "tap: lo: ", 9) == 0 && !strchr(err, '\n'),
          "tap: an interface that is not a tap refused with one line");
    if (r != HK_EIO || strncmp(err, "tap: lo: ", 9))
        printf("  (got %d '%s')\n", r, err);
}

static void test_frames(void)
{
    struct netbe *be = NULL;
    char err[256] = "";
    CHECK_EQ(if_nametoindex(IFN), 0, "tap: " IFN " absent at first");
    int r = netbe_tap_open(IFN, on_log, NULL, on_rx, NULL, &be, err, sizeof(err));
    CHECK_EQ(r, HK_OK, "tap: open creates the interface");
    if (r) {
        printf("  (%s)\n", err);
        return;
    }
    unsigned idx = if_nametoindex(IFN);
    CHECK(idx != 0 && set_up(IFN) == 0, "tap: " IFN " exists and goes up");
    int ps = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETHTYPE));
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETHTYPE),
                              .sll_ifindex = (int)idx};
    CHECK(ps >= 0 && bind(ps, (struct sockaddr *)&sll, sizeof(sll)) == 0,
          "tap: packet socket on the interface");

    /* Backend -> interface: the packet socket receives the frame. */
    uint8_t f[1514], got[2048];
    frame_of(f, sizeof(f), 3);
    CHECK_EQ(netbe_send(be, f, sizeof(f)), HK_OK, "tap: send a 1514-byte frame");
    struct pollfd p = {.fd = ps, .events = POLLIN};
    ssize_t n = poll(&p, 1, 60000) == 1 ? recv(ps, got, sizeof(got), 0) : -1;
    CHECK(n == (ssize_t)sizeof(f) && memcmp(got, f, sizeof(f)) == 0,
          "tap: the frame comes out of the interface whole");

    /* Interface -> backend: rx gets the frame sent into it. */
    frame_of(f, 300, 9);
    CHECK(sendto(ps, f, 300, 0, (struct sockaddr *)&sll, sizeof(sll)) == 300,
          "tap: packet socket sends into the interface");
    CHECK(wait_count(&nrx_ours, 1), "tap: rx called");
    pthread_mutex_lock(&mu);
    CHECK(last_rx_len == 300 && memcmp(last_rx, f, 300) == 0, "tap: rx gets the frame whole");
    pthread_mutex_unlock(&mu);
    close(ps);

    /* The interface is deleted under the backend (ip runs in our namespace). */
    CHECK_EQ(get(&nlog), 0, "tap: nothing logged while it works");
    if (system("ip link del " IFN " 2>/dev/null") != 0) {
        SKIP("tap: interface deleted", "no ip (iproute2)");
        netbe_close(be);
        return;
    }
    CHECK(wait_count(&nlog, 1), "tap: deleted interface: logged");
    pthread_mutex_lock(&mu);
    CHECK(nlog == 1 && strstr(last_log, "tap: " IFN " went away") && !strchr(last_log, '\n'),
          "tap: deleted interface: one line naming it");
    if (!strstr(last_log, "tap: " IFN " went away"))
        printf("  (got '%s')\n", last_log);
    pthread_mutex_unlock(&mu);
    CHECK_EQ(netbe_send(be, f, 60), HK_EIO, "tap: deleted interface: sends fail");
    netbe_close(be);
    CHECK_EQ(get(&nlog), 1, "tap: deleted interface: closed, still one line");
}

/* A tap made by open goes away with it; a persistent one (made first) stays. */
static void test_lifetime(void)
{
    struct netbe *be = NULL;
    char err[256];
    CHECK_EQ(netbe_tap_open(IFN, NULL, NULL, on_rx, NULL, &be, err, sizeof(err)), HK_OK,
             "tap: open again");
    netbe_close(be);
    CHECK_EQ(if_nametoindex(IFN), 0, "tap: a tap open created goes away on close");
    if (system("ip tuntap add dev " IFN " mode tap 2>/dev/null") != 0) {
        SKIP("tap: persistent", "no ip (iproute2)");
        return;
    }
    be = NULL;
    CHECK_EQ(netbe_tap_open(IFN, NULL, NULL, on_rx, NULL, &be, err, sizeof(err)), HK_OK,
             "tap: attaches to an existing persistent tap");
    netbe_close(be);
    CHECK(if_nametoindex(IFN) != 0, "tap: the persistent tap stays after close");
}

int main(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        SKIP("tap", "cannot make a network namespace (needs root)");
        return 0;
    }
    if (access("/dev/net/tun", R_OK | W_OK) != 0) {
        SKIP("tap", "no /dev/net/tun");
        return 0;
    }
    test_bad_names();
    test_frames();
    test_lifetime();
    TEST_EXIT();
}
