/*
 * The tap backend against the kernel, in a network namespace of its own
 * (unshare: nothing on the host changes; needs root, else one SKIP line):
 * the tap is created when missing, frames the backend sends come out of
 * the interface and frames sent into the interface reach rx (seen both
 * ways through a packet socket bound to it), bad names fail with one line,
 * and a deleted interface gives one log line, sends that fail and a clean
 * close. Offload headers (IFF_VNET_HDR): every frame carries one both
 * ways; a NEEDS_CSUM header reaches the kernel (the packet socket sees the
 * checksum not yet done), a TSO packet goes in whole, a header the kernel
 * refuses fails the send; the kernel's own UDP datagrams come with their
 * checksum left partial only once set_offloads allows it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
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
#include "net_events.h"
#include "test.h"

#define IFN "hktest0"
#define ETHTYPE 0x88b5          /* IEEE local experimental: no stack answers it */

static int nrx, nrx_ours;
static uint8_t last_rx[2048];
static size_t last_rx_len;
static size_t hdr;              /* the backend's header length (vnet_hdr) */
static int nudp;                /* the kernel's UDP datagrams to port 9 */
static uint8_t last_udp_hdr[NETBE_VNET_HDR_LEN];

static void on_rx(void *opaque, const void *frame, size_t len)
{
    pthread_mutex_lock(&mu);
    nrx++;
    const uint8_t *h = frame, *f = h + hdr;
    if (len < hdr) {
        pthread_mutex_unlock(&mu);
        return;
    }
    len -= hdr;
    /* IPv4, UDP, to port 9. */
    if (hdr && len >= 42 && f[12] == 8 && f[13] == 0 && f[23] == 17 && f[36] == 0 && f[37] == 9) {
        nudp++;
        memcpy(last_udp_hdr, h, NETBE_VNET_HDR_LEN);
    }
    /* The kernel may send its own (IPv6 router solicitations...): count ours. */
    if (len >= 14 && f[12] == ETHTYPE >> 8 && f[13] == (ETHTYPE & 0xff) && len <= sizeof(last_rx)) {
        nrx_ours++;
        memcpy(last_rx, f, len);
        last_rx_len = len;
    }
    pthread_mutex_unlock(&mu);
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
    CHECK(be->vnet_hdr, "tap: frames carry offload headers (IFF_VNET_HDR)");
    hdr = be->vnet_hdr ? NETBE_VNET_HDR_LEN : 0;
    unsigned idx = if_nametoindex(IFN);
    CHECK(idx != 0 && set_up(IFN) == 0, "tap: " IFN " exists and goes up");
    int ps = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETHTYPE));
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETHTYPE),
                              .sll_ifindex = (int)idx};
    CHECK(ps >= 0 && bind(ps, (struct sockaddr *)&sll, sizeof(sll)) == 0,
          "tap: packet socket on the interface");

    /* Backend -> interface: the packet socket receives the frame. */
    uint8_t hf[NETBE_VNET_HDR_LEN + 1514] = {0}, *f = hf + hdr, got[2048];
    frame_of(f, 1514, 3);
    CHECK_EQ(netbe_send(be, hf, hdr + 1514), HK_OK, "tap: send a 1514-byte frame");
    struct pollfd p = {.fd = ps, .events = POLLIN};
    ssize_t n = poll(&p, 1, 60000) == 1 ? recv(ps, got, sizeof(got), 0) : -1;
    CHECK(n == 1514 && memcmp(got, f, 1514) == 0,
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
    CHECK_EQ(netbe_send(be, hf, hdr + 60), HK_EIO, "tap: deleted interface: sends fail");
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

static int nudp_now(void)
{
    return get(&nudp);
}

/* The kernel sends a UDP datagram out of the tap: its header as rx saw it. */
static bool kernel_udp(int us, uint8_t h[NETBE_VNET_HDR_LEN])
{
    int before = nudp_now();
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9),
                             .sin_addr.s_addr = htonl(0x0a630002)};     /* 10.99.0.2 */
    char msg[200] = "offload";
    if (sendto(us, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(msg) ||
        !wait_count(&nudp, before + 1))
        return false;
    pthread_mutex_lock(&mu);
    memcpy(h, last_udp_hdr, NETBE_VNET_HDR_LEN);
    pthread_mutex_unlock(&mu);
    return true;
}

/* An IPv4 frame to 10.99.0.1 with an L4 header of l4 bytes, proto p. */
static size_t ip_frame(uint8_t *f, int p, size_t l4, size_t plen)
{
    memset(f, 0, 34 + l4);
    memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
    f[14] = 0x45;
    size_t tot = 20 + l4 + plen;
    f[16] = (uint8_t)(tot >> 8);
    f[17] = (uint8_t)tot;
    f[22] = 64;
    f[23] = (uint8_t)p;
    memcpy(f + 26, "\x0a\x63\x00\x02\x0a\x63\x00\x01", 8);
    f[35] = 7;
    f[37] = 7;
    if (p == 6)
        f[46] = 5 << 4;
    else
        f[39] = (uint8_t)(l4 + plen);
    memset(f + 34 + l4, 0x5a, plen);
    return 34 + l4 + plen;
}

static void test_offloads(void)
{
    struct netbe *be = NULL;
    char err[256];
    CHECK_EQ(netbe_tap_open(IFN, NULL, NULL, on_rx, NULL, &be, err, sizeof(err)), HK_OK,
             "offload: open");
    if (!be || !be->vnet_hdr || system("ip addr add 10.99.0.1/24 dev " IFN " && ip link set " IFN
                                       " up && ip neigh add 10.99.0.2 lladdr 02:00:00:00:00:02"
                                       " dev " IFN " 2>/dev/null") != 0) {
        SKIP("offload", "no vnet header or no ip (iproute2)");
        netbe_close(be);
        return;
    }
    hdr = NETBE_VNET_HDR_LEN;
    unsigned idx = if_nametoindex(IFN);
    int ps = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP)), one = 1;
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                              .sll_ifindex = (int)idx};
    CHECK(ps >= 0 && bind(ps, (struct sockaddr *)&sll, sizeof(sll)) == 0 &&
          setsockopt(ps, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) == 0,
          "offload: packet socket with auxdata");
    /* Into the kernel: a UDP frame whose checksum is left to it. */
    static uint8_t hf[NETBE_VNET_HDR_LEN + 4000], got[8000];
    uint8_t *h = hf, *f = hf + NETBE_VNET_HDR_LEN;
    size_t flen = ip_frame(f, 17, 8, 100);
    memset(h, 0, NETBE_VNET_HDR_LEN);
    h[0] = 1;                       /* NEEDS_CSUM */
    h[6] = 34;                      /* csum_start, little-endian */
    h[8] = 6;                       /* csum_offset */
    CHECK_EQ(netbe_send(be, hf, NETBE_VNET_HDR_LEN + flen), HK_OK,
             "offload: NEEDS_CSUM frame sent");
    uint8_t cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    struct iovec io = {got, sizeof(got)};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof(cbuf)};
    struct pollfd p = {.fd = ps, .events = POLLIN};
    ssize_t n = poll(&p, 1, 60000) == 1 ? recvmsg(ps, &m, 0) : -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    struct tpacket_auxdata aux = {0};
    if (n > 0 && c && c->cmsg_type == PACKET_AUXDATA)
        memcpy(&aux, CMSG_DATA(c), sizeof(aux));
    CHECK(n == (ssize_t)flen && (aux.tp_status & TP_STATUS_CSUMNOTREADY),
          "offload: the kernel took the frame with its checksum to do");
    /* A TCP segment of 3000 bytes with TSO (gso_size 1000): in whole. */
    flen = ip_frame(f, 6, 20, 3000);
    h[1] = 1;                       /* GSO_TCPV4 */
    h[2] = 54;                      /* hdr_len */
    h[4] = 1000 & 0xff;
    h[5] = 1000 >> 8;
    h[8] = 16;                      /* TCP's checksum */
    CHECK_EQ(netbe_send(be, hf, NETBE_VNET_HDR_LEN + flen), HK_OK, "offload: TSO packet sent");
    m.msg_controllen = sizeof(cbuf);
    n = poll(&p, 1, 60000) == 1 ? recvmsg(ps, &m, 0) : -1;
    CHECK_EQ(n, (ssize_t)flen, "offload: the TSO packet arrived whole (3054 bytes)");
    h[6] = 0xff;                    /* csum_start past the frame */
    h[7] = 0x7f;
    CHECK(netbe_send(be, hf, NETBE_VNET_HDR_LEN + flen) != HK_OK,
          "offload: a header the kernel refuses fails the send");
    close(ps);

    /* Out of the kernel: its UDP checksum done unless offloads allow. */
    int us = socket(AF_INET, SOCK_DGRAM, 0);
    uint8_t kh[NETBE_VNET_HDR_LEN];
    CHECK(kernel_udp(us, kh) && !(kh[0] & 1) && kh[1] == 0,
          "offload: off at open: the kernel's datagram complete");
    CHECK_EQ(be->ops->set_offloads(be, NETBE_OFF_CSUM | NETBE_OFF_TSO4 | NETBE_OFF_TSO6), HK_OK,
             "offload: CSUM and TSO allowed");
    CHECK(kernel_udp(us, kh) && (kh[0] & 1) && kh[6] == 34 && kh[8] == 6,
          "offload: allowed: NEEDS_CSUM, csum_start 34, csum_offset 6");
    CHECK_EQ(be->ops->set_offloads(be, 0), HK_OK, "offload: off again");
    CHECK(kernel_udp(us, kh) && !(kh[0] & 1), "offload: off again: complete");
    close(us);
    netbe_close(be);
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
    test_offloads();
    TEST_EXIT();
}
