/*
 * virtio-net driven as a guest driver would, on a fake backend: frames
 * both ways, mergeable receive buffers published at once, a frame that
 * waits for buffers and goes in when the driver adds them, hostile
 * transmit headers and lengths dropped without stopping the queue, the
 * MAC from the uuid, and the options. Checksum offload: the device
 * completes a partial UDP checksum as an independent sum says it should,
 * refuses every csum_start / csum_offset that does not fit the frame, and
 * marks received frames DATA_VALID once GUEST_CSUM is negotiated. TSO
 * only on a backend that takes whole packets: a big TCP segment goes
 * whole with its checksum completed; other GSO headers are dropped. The
 * link's MTU in config space when the backend knows it.
 */
#include <arpa/inet.h>

#include "devices/virtio/virtio_net.h"
#include "test.h"
#include "virtio_driver.h"

#define SLOT 7
#define TXRING (VD_RING + 0x8000)

/* --- The fake backend: keeps what the device sends. ---------------------------------- */
struct fakebe {
    struct netbe base;
    pthread_mutex_t mu;
    int nsent;
    size_t last_len;
    uint8_t last[NETBE_MAX_FRAME];
};
static struct fakebe fb;
static bool fb_whole;           /* the fake says it takes whole 64 KiB packets */
static uint16_t fb_mtu;         /* the fake's link MTU (0: not known) */
static bool fb_vnet;            /* the fake takes and gives offload headers */
static int fb_offloads = -1;    /* what set_offloads last allowed */

static int fb_set_offloads(struct netbe *b, unsigned off)
{
    fb_offloads = (int)off;
    return HK_OK;
}

static int fb_send(struct netbe *b, const void *frame, size_t len)
{
    pthread_mutex_lock(&fb.mu);
    fb.nsent++;
    fb.last_len = len;
    memcpy(fb.last, frame, len);
    pthread_mutex_unlock(&fb.mu);
    return HK_OK;
}
static void fb_close(struct netbe *b) {}
static const struct netbe_ops fb_ops = {.send = fb_send, .close = fb_close,
                                        .set_offloads = fb_set_offloads};

static int fb_open(void *arg, netbe_rx_fn rx, void *opaque, struct netbe **out, char *err,
                   size_t errlen)
{
    fb.base = (struct netbe){.ops = &fb_ops, .rx = rx, .rx_opaque = opaque,
                             .whole_packets = fb_whole, .mtu = fb_mtu, .vnet_hdr = fb_vnet};
    pthread_mutex_init(&fb.mu, NULL);
    *out = &fb.base;
    return HK_OK;
}

static int nsent(void)
{
    pthread_mutex_lock(&fb.mu);
    int n = fb.nsent;
    pthread_mutex_unlock(&fb.mu);
    return n;
}

static bool wait_sent(int n)
{
    for (int i = 0; i < 60000 && nsent() < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return nsent() >= n;
}

/* --- The transmit queue (queue 1): d's fields, ring at TXRING. ---------------------- */
static void tx_setup(struct vd *d, struct vd *t)
{
    *t = *d;
    vd_mw(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    t->qsize = (uint16_t)vd_mr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2);
    t->desc = TXRING;
    t->avail = TXRING + 16ull * t->qsize;
    t->used = (t->avail + 6 + 2ull * t->qsize + 4095) & ~4095ull;
    memset(gmem_ptr(&d->f->mem, TXRING, 0x4000), 0, 0x4000);
    t->avail_idx = t->next_desc = t->used_seen = 0;
    vd_mw(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, t->desc);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, t->avail);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_USEDLO, 8, t->used);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

/* A chain on the tx queue (without vd_submit's queue-0 kick), kicked. */
static void tx_submit(struct vd *t, const struct vd_seg *s, int n)
{
    uint16_t head = t->next_desc;
    uint8_t *desc = gmem_ptr(&t->f->mem, t->desc, 16ull * t->qsize);
    for (int i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % t->qsize);
        uint8_t *e = desc + 16 * idx;
        put64(e, s[i].gpa);
        put32(e + 8, s[i].len);
        put16(e + 12, (uint16_t)(i + 1 < n ? 1 : 0));
        put16(e + 14, (uint16_t)((idx + 1) % t->qsize));
    }
    t->next_desc = (uint16_t)((head + n) % t->qsize);
    uint8_t *a = gmem_ptr(&t->f->mem, t->avail, 6 + 2ull * t->qsize);
    put16(a + 4 + 2 * (t->avail_idx % t->qsize), head);
    t->avail_idx++;
    put16(a + 2, t->avail_idx);
    vd_mw(t, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT, 2, 1);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static void test_datapath(void)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    static const uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    f.env.uuid = uuid;
    struct vd d = {.f = &f, .slot = SLOT}, t;
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "net: bus");
    char err[160] = "";
    CHECK_EQ(virtio_net_create_on(&f.env, d.bus, SLOT, 0, NULL, NULL, fb_open, NULL, err,
                                  sizeof(err)), 0, "net: created");
    CHECK_EQ(vd_cfg(&d, PCI_DEVICE_ID, 2), 0x1000, "net: transitional id");
    CHECK_EQ(vd_cfg(&d, PCI_SUBSYS_ID, 2), VIRTIO_ID_NET, "net: subsystem id");
    CHECK_EQ(vd_cfg(&d, PCI_REVISION, 4) >> 8, 0x020000, "net: Ethernet class");
    vd_map(&d, VD_MEM_BASE);
    uint64_t want = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |
                    1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_F_VERSION_1;
    CHECK_EQ(vd_features(&d) & want, want, "net: MAC, STATUS, MRG_RXBUF offered");
    CHECK(vd_features(&d) & 1ull << VIRTIO_NET_F_CSUM, "net: checksum offload offered");
    CHECK(!(vd_features(&d) & 1ull << VIRTIO_NET_F_GUEST_CSUM),
          "net: no GUEST_CSUM from a wire-like backend (its frames keep the guest's checks)");
    CHECK(!(vd_features(&d) & (0xfull << 7 | 0xfull << 11)), "net: no GSO offered");
    CHECK(!(vd_features(&d) & 1ull << VIRTIO_NET_F_MTU), "net: no MTU from a backend without one");
    uint8_t mac[6], exp[6];
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)vd_mr(&d, VIRTIO_PCI_DEVICE_OFF + i, 1);
    virtio_net_derive_mac(uuid, SLOT, 0, exp);
    CHECK(memcmp(mac, exp, 6) == 0, "net: MAC from the uuid");
    CHECK((mac[0] & 3) == 2, "net: unicast, locally administered");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF + 6, 2), VIRTIO_NET_S_LINK_UP, "net: link up");

    /* A frame from the host before the driver is up goes nowhere. */
    uint8_t frame[3000];
    fill(frame, sizeof(frame), 1);
    fb.base.rx(fb.base.rx_opaque, frame, 100);

    CHECK(vd_init_modern(&d, want, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "net: init");
    tx_setup(&d, &t);

    /* tx: header and frame in separate descriptors. */
    uint8_t *g = gmem_ptr(&f.mem, VD_BUF, 0x100000);
    memset(g, 0, 12);
    fill(g + 4096, 60, 9);
    struct vd_seg s2[2] = {{VD_BUF, 12, false}, {VD_BUF + 4096, 60, false}};
    tx_submit(&t, s2, 2);
    CHECK(wait_sent(1), "net: tx frame sent");
    CHECK(fb.last_len == 60 && memcmp(fb.last, g + 4096, 60) == 0, "net: tx frame intact");
    uint32_t len;
    CHECK(vd_wait(&t, &len) && len == 0, "net: tx chain returned");

    /* Hostile tx: short header, short frame, checksum/GSO asked, over 64 KiB. */
    struct vd_seg bad1 = {VD_BUF, 8, false};
    tx_submit(&t, &bad1, 1);
    CHECK(vd_wait(&t, &len), "net: short header returned");
    struct vd_seg bad2[2] = {{VD_BUF, 12, false}, {VD_BUF + 4096, 10, false}};
    tx_submit(&t, bad2, 2);
    CHECK(vd_wait(&t, &len), "net: runt returned");
    g[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    tx_submit(&t, s2, 2);
    CHECK(vd_wait(&t, &len), "net: checksum request returned");
    g[0] = 0;
    g[1] = 1;   /* GSO_TCPV4 */
    tx_submit(&t, s2, 2);
    CHECK(vd_wait(&t, &len), "net: GSO request returned");
    g[1] = 0;
    struct vd_seg big[3] = {{VD_BUF, 12, false}, {VD_BUF + 4096, 40000, false},
                            {VD_BUF + 4096, 30000, false}};
    tx_submit(&t, big, 3);
    CHECK(vd_wait(&t, &len), "net: giant returned");
    tx_submit(&t, s2, 2);
    CHECK(vd_wait(&t, &len), "net: good frame after the bad ones");
    CHECK_EQ(nsent(), 2, "net: hostile frames dropped, good one sent");
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET), "net: bad frames do not break the device");

    /* rx with no buffers: the frame waits; a buffer and a kick bring it in. */
    fb.base.rx(fb.base.rx_opaque, frame, 100);
    CHECK_EQ(vd_used_idx(&d), 0, "net: nothing delivered without buffers");
    uint64_t rb = VD_BUF + 0x10000;
    struct vd_seg r1 = {rb, 2048, true};
    vd_submit(&d, &r1, 1);
    CHECK(vd_wait(&d, &len), "net: waiting frame delivered when buffers came");
    CHECK_EQ(len, 112, "net: header + frame");
    uint8_t *rp = gmem_ptr(&f.mem, rb, 0x8000);
    CHECK_EQ(le16(rp + 10), 1, "net: num_buffers 1");
    CHECK(rp[0] == 0 && rp[1] == 0, "net: no flags, no GSO");
    CHECK(memcmp(rp + 12, frame, 100) == 0, "net: rx frame intact");

    /* Mergeable: a 2500-byte frame over three 1000-byte buffers. */
    for (int i = 0; i < 3; i++) {
        struct vd_seg r = {rb + 0x1000ull * i, 1000, true};
        vd_submit(&d, &r, 1);
    }
    fb.base.rx(fb.base.rx_opaque, frame, 2500);
    CHECK_EQ(vd_used_idx(&d), 4, "net: three buffers used at once");
    uint32_t l1 = 0, l2 = 0, l3 = 0;
    CHECK(vd_wait(&d, &l1) && vd_wait(&d, &l2) && vd_wait(&d, &l3), "net: three used entries");
    CHECK(l1 == 1000 && l2 == 1000 && l3 == 512, "net: lengths fill the buffers in order");
    CHECK_EQ(le16(rp + 10), 3, "net: num_buffers 3");
    CHECK(memcmp(rp + 12, frame, 988) == 0 && memcmp(rp + 0x1000, frame + 988, 1000) == 0 &&
          memcmp(rp + 0x2000, frame + 1988, 512) == 0, "net: merged frame intact");

    /* A frame larger than the buffers on offer waits, whole, for more. */
    struct vd_seg r = {rb, 1000, true};
    vd_submit(&d, &r, 1);
    fb.base.rx(fb.base.rx_opaque, frame, 1500);
    CHECK_EQ(vd_used_idx(&d), 4, "net: no partial frame");
    struct vd_seg r2 = {rb + 0x1000, 1000, true};
    vd_submit(&d, &r2, 1);
    CHECK(vd_wait(&d, &l1) && vd_wait(&d, &l2), "net: completed once buffers suffice");
    CHECK(l1 == 1000 && l2 == 512 && le16(rp + 10) == 2, "net: two buffers");
    /* Runt and giant frames from the backend are not delivered. */
    fb.base.rx(fb.base.rx_opaque, frame, 10);
    CHECK_EQ(vd_used_idx(&d), 6, "net: runt frame dropped");
    fake_env_fini(&f);
}

static void put16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* An Ethernet + IPv4 + UDP (proto 17) or TCP (6) frame with plen bytes
 * of payload; the checksum field holds the pseudo-header's folded sum, as
 * a driver leaves it for NEEDS_CSUM. Returns the frame's length. */
#define L4_START 34             /* Ethernet 14 + IPv4 20 */
#define UDP_CHECK 6
#define TCP_CHECK 16
static size_t ip_frame(uint8_t *f, int proto, size_t plen)
{
    size_t l4 = proto == 17 ? 8 : 20, ul = l4 + plen;
    memset(f, 0, L4_START + l4);
    f[12] = 0x08;                                   /* IPv4 */
    f[14] = 0x45;
    put16be(f + 16, (uint16_t)(20 + ul));
    f[22] = 64;
    f[23] = (uint8_t)proto;
    memcpy(f + 26, (uint8_t[]){10, 0, 2, 15, 10, 0, 2, 2}, 8);
    put16be(f + L4_START, 5353);
    put16be(f + L4_START + 2, 7);
    if (proto == 17)
        put16be(f + L4_START + 4, (uint16_t)ul);
    else
        f[L4_START + 12] = 5 << 4;                  /* data offset: 20 bytes */
    fill(f + L4_START + l4, plen, 5);
    /* Pseudo-header: addresses, protocol, L4 length; folded. */
    uint32_t ps = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + (uint32_t)proto + (uint32_t)ul;
    while (ps >> 16)
        ps = (ps & 0xffff) + (ps >> 16);
    put16be(f + L4_START + (proto == 17 ? UDP_CHECK : TCP_CHECK), (uint16_t)ps);
    return L4_START + ul;
}

/* The oracle: RFC 768 / 793's checksum of f's datagram or segment,
 * computed whole over a pseudo-header and the L4 bytes with the checksum
 * field zero. */
static uint16_t l4_ref_csum(const uint8_t *f, size_t len)
{
    static uint8_t buf[12 + 70000];
    int proto = f[23];
    size_t ul = len - L4_START;
    memset(buf, 0, 12 + ul + 1);
    memcpy(buf, f + 26, 8);
    buf[9] = (uint8_t)proto;
    put16be(buf + 10, (uint16_t)ul);
    memcpy(buf + 12, f + L4_START, ul);
    size_t chk = 12 + (proto == 17 ? UDP_CHECK : TCP_CHECK);
    buf[chk] = buf[chk + 1] = 0;
    uint32_t s = 0;
    for (size_t i = 0; i < 12 + ul; i += 2)
        s += (uint32_t)(buf[i] << 8 | buf[i + 1]);      /* odd length: the pad is 0 */
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s ? (uint16_t)~s : 0xffff;
}

static void test_csum(void)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct vd d = {.f = &f, .slot = SLOT}, t;
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "csum: bus");
    char err[160] = "";
    fb_whole = true;                    /* an end host's stack: GUEST_CSUM offered */
    CHECK_EQ(virtio_net_create_on(&f.env, d.bus, SLOT, 0, NULL, NULL, fb_open, NULL, err,
                                  sizeof(err)), 0, "csum: created");
    fb_whole = false;
    vd_map(&d, VD_MEM_BASE);
    uint64_t want = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_MRG_RXBUF |
                    1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_CSUM |
                    1ull << VIRTIO_NET_F_GUEST_CSUM;
    CHECK(vd_init_modern(&d, want, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "csum: init");
    tx_setup(&d, &t);
    uint8_t *g = gmem_ptr(&f.mem, VD_BUF, 0x100000);
    uint8_t *fr = g + 4096;
    uint32_t len;
    int sent = nsent();
    /* Odd and even payloads: the device's sum pads the odd byte. */
    for (size_t plen = 101; plen <= 102; plen++) {
        size_t flen = ip_frame(fr, 17, plen);
        memset(g, 0, 12);
        g[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        put16(g + 6, L4_START);
        put16(g + 8, 6);
        struct vd_seg s2[2] = {{VD_BUF, 12, false}, {VD_BUF + 4096, (uint32_t)flen, false}};
        uint16_t want_sum = l4_ref_csum(fr, flen);
        tx_submit(&t, s2, 2);
        CHECK(wait_sent(++sent) && vd_wait(&t, &len), "csum: NEEDS_CSUM frame sent");
        CHECK_EQ(be16(fb.last + L4_START + 6), want_sum, "csum: UDP checksum as the oracle's");
        CHECK(fb.last_len == flen && memcmp(fb.last, fr, L4_START + 6) == 0 &&
              memcmp(fb.last + L4_START + 8, fr + L4_START + 8, plen) == 0,
              "csum: the rest of the frame untouched");
    }
    /* Hostile csum_start / csum_offset (frame of 34 + 8 + 102 = 144 bytes). */
    static const struct { uint16_t start, off; const char *name; } bad[] = {
        {0xffff, 6, "csum: start far beyond the frame dropped"},
        {144, 0, "csum: start at the frame's end dropped"},
        {10, 6, "csum: start inside the Ethernet header dropped"},
        {L4_START, 109, "csum: field straddling the end dropped"},
        {L4_START, 110, "csum: field just past the end dropped"},
        {L4_START, 0xffff, "csum: offset far beyond dropped"},
        {143, 0, "csum: one byte left for a two-byte field dropped"},
    };
    size_t flen = ip_frame(fr, 17, 102);
    struct vd_seg s2[2] = {{VD_BUF, 12, false}, {VD_BUF + 4096, (uint32_t)flen, false}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put16(g + 6, bad[i].start);
        put16(g + 8, bad[i].off);
        tx_submit(&t, s2, 2);
        CHECK(vd_wait(&t, &len) && nsent() == sent, bad[i].name);
    }
    put16(g + 6, L4_START);
    put16(g + 8, 108);              /* the last two bytes: in range, accepted */
    tx_submit(&t, s2, 2);
    CHECK(wait_sent(++sent) && vd_wait(&t, &len), "csum: field at the very end accepted");
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET),
          "csum: bad offsets do not break the device");

    /* Received frames are marked DATA_VALID. */
    uint64_t rb = VD_BUF + 0x10000;
    struct vd_seg r1 = {rb, 2048, true};
    vd_submit(&d, &r1, 1);
    fb.base.rx(fb.base.rx_opaque, fr, flen);
    CHECK(vd_wait(&d, &len) && len == 12 + flen, "csum: rx frame delivered");
    uint8_t *rp = gmem_ptr(&f.mem, rb, 12);
    CHECK(rp[0] == VIRTIO_NET_HDR_F_DATA_VALID && rp[1] == 0, "csum: rx DATA_VALID, no GSO");
    fake_env_fini(&f);
}

/* TSO on a backend that takes whole packets: offered; a 20000-byte TCP
 * segment goes whole, its checksum completed; every other GSO header is
 * dropped. */
static void test_tso(void)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct vd d = {.f = &f, .slot = SLOT}, t;
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "tso: bus");
    char err[160] = "";
    fb_whole = true;
    CHECK_EQ(virtio_net_create_on(&f.env, d.bus, SLOT, 0, NULL, NULL, fb_open, NULL, err,
                                  sizeof(err)), 0, "tso: created");
    fb_whole = false;
    vd_map(&d, VD_MEM_BASE);
    uint64_t tso = 1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6;
    CHECK_EQ(vd_features(&d) & tso, tso, "tso: TSO4 and TSO6 offered on a whole-packet backend");
    uint64_t want = 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_F_VERSION_1 |
                    1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_HOST_TSO4;
    CHECK(vd_init_modern(&d, want, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "tso: init");
    tx_setup(&d, &t);
    uint8_t *g = gmem_ptr(&f.mem, VD_BUF, 0x100000);
    uint8_t *fr = g + 4096;
    size_t flen = ip_frame(fr, 6, 20000);
    uint16_t want_sum = l4_ref_csum(fr, flen);
    memset(g, 0, 12);
    g[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    g[1] = VIRTIO_NET_HDR_GSO_TCPV4;
    put16(g + 2, L4_START + 20);        /* hdr_len */
    put16(g + 4, 1460);                 /* gso_size */
    put16(g + 6, L4_START);
    put16(g + 8, TCP_CHECK);
    struct vd_seg s2[2] = {{VD_BUF, 12, false}, {VD_BUF + 4096, (uint32_t)flen, false}};
    int sent = nsent();
    uint32_t len;
    tx_submit(&t, s2, 2);
    CHECK(wait_sent(++sent) && vd_wait(&t, &len), "tso: TCPv4 GSO packet sent");
    CHECK(fb.last_len == flen, "tso: whole, unsegmented");
    CHECK_EQ(be16(fb.last + L4_START + TCP_CHECK), want_sum, "tso: TCP checksum as the oracle's");
    CHECK(memcmp(fb.last + L4_START + 20, fr + L4_START + 20, 20000) == 0, "tso: payload intact");
    static const struct { uint8_t flags, gso; const char *name; } bad[] = {
        {VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, "tso: TCPv6 not negotiated"},
        {VIRTIO_NET_HDR_F_NEEDS_CSUM, 0x81, "tso: ECN dropped"},
        {VIRTIO_NET_HDR_F_NEEDS_CSUM, 3, "tso: UDP fragmentation dropped"},
        {VIRTIO_NET_HDR_F_NEEDS_CSUM, 0x7f, "tso: unknown type dropped"},
        {0, VIRTIO_NET_HDR_GSO_TCPV4, "tso: GSO without NEEDS_CSUM dropped"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        g[0] = bad[i].flags;
        g[1] = bad[i].gso;
        tx_submit(&t, s2, 2);
        CHECK(vd_wait(&t, &len) && nsent() == sent, bad[i].name);
    }
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET), "tso: bad headers do not break the device");
    fake_env_fini(&f);
}

/* A backend that takes offload headers (tap): the guest's header goes to
 * it rebuilt from checked values (hdr_len recomputed, only NEEDS_CSUM),
 * bad ones never; its headers reach the guest as negotiated; the
 * backend is told what the guest takes, and none after a reset. */
static void test_vnet_hdr(void)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct vd d = {.f = &f, .slot = SLOT}, t;
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "vhdr: bus");
    char err[160] = "";
    fb_vnet = true;
    CHECK_EQ(virtio_net_create_on(&f.env, d.bus, SLOT, 0, NULL, NULL, fb_open, NULL, err,
                                  sizeof(err)), 0, "vhdr: created");
    fb_vnet = false;
    vd_map(&d, VD_MEM_BASE);
    uint64_t off = 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
                   1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6 |
                   1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6;
    CHECK_EQ(vd_features(&d) & off, off, "vhdr: checksum offload and TSO both ways offered");
    uint64_t want = 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_F_VERSION_1 |
                    1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
                    1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO4;
    CHECK(vd_init_modern(&d, want, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "vhdr: init");
    CHECK_EQ(fb_offloads, (int)(NETBE_OFF_CSUM | NETBE_OFF_TSO4), "vhdr: backend told CSUM, TSO4");
    tx_setup(&d, &t);
    uint8_t *g = gmem_ptr(&f.mem, VD_BUF, 0x100000), *fr = g + 4096;
    size_t flen = ip_frame(fr, 6, 5000);
    memset(g, 0, 12);
    g[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
    g[1] = VIRTIO_NET_HDR_GSO_TCPV4;
    put16(g + 2, 7);                    /* hdr_len: wrong, recomputed */
    put16(g + 4, 1460);
    put16(g + 6, L4_START);
    put16(g + 8, TCP_CHECK);
    struct vd_seg s2[2] = {{VD_BUF, 12, false}, {VD_BUF + 4096, (uint32_t)flen, false}};
    int sent = nsent();
    uint32_t len;
    tx_submit(&t, s2, 2);
    CHECK(wait_sent(++sent) && vd_wait(&t, &len), "vhdr: TSO packet sent");
    CHECK(fb.last_len == 12 + flen && memcmp(fb.last + 12, fr, flen) == 0,
          "vhdr: header then the frame untouched (checksum left to the backend)");
    CHECK(fb.last[0] == VIRTIO_NET_HDR_F_NEEDS_CSUM && fb.last[1] == VIRTIO_NET_HDR_GSO_TCPV4 &&
          le16(fb.last + 2) == L4_START + 20 && le16(fb.last + 4) == 1460 &&
          le16(fb.last + 6) == L4_START && le16(fb.last + 8) == TCP_CHECK,
          "vhdr: header rebuilt: NEEDS_CSUM only, hdr_len 54, gso_size, csum fields");
    static const struct { uint8_t gso; uint16_t gso_size, off; uint8_t doff; const char *name; }
    bad[] = {
        {VIRTIO_NET_HDR_GSO_TCPV4, 1460, UDP_CHECK, 5, "vhdr: TSO with a non-TCP checksum dropped"},
        {VIRTIO_NET_HDR_GSO_TCPV4, 0, TCP_CHECK, 5, "vhdr: TSO with gso_size 0 dropped"},
        {VIRTIO_NET_HDR_GSO_TCPV4, 1460, TCP_CHECK, 2, "vhdr: TCP header under 20 bytes dropped"},
        {VIRTIO_NET_HDR_GSO_TCPV6, 1460, TCP_CHECK, 5, "vhdr: TSO6 not negotiated dropped"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        g[1] = bad[i].gso;
        put16(g + 4, bad[i].gso_size);
        put16(g + 8, bad[i].off);
        fr[L4_START + 12] = (uint8_t)(bad[i].doff << 4);
        tx_submit(&t, s2, 2);
        CHECK(vd_wait(&t, &len) && nsent() == sent, bad[i].name);
    }
    fr[L4_START + 12] = 5 << 4;
    /* The backend's frames: its header, checked against what was negotiated. */
    static uint8_t in[12 + 6000];
    memcpy(in + 12, fr, flen);
    uint64_t rb = VD_BUF + 0x10000;
    for (int i = 0; i < 4; i++) {
        struct vd_seg r = {rb + 0x2000ull * i, 0x2000, true};
        vd_submit(&d, &r, 1);
    }
    memset(in, 0, 12);
    in[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    in[1] = VIRTIO_NET_HDR_GSO_TCPV6;
    put16(in + 2, 54);
    put16(in + 4, 1448);
    put16(in + 6, L4_START);
    put16(in + 8, TCP_CHECK);
    fb.base.rx(fb.base.rx_opaque, in, 12 + flen);
    CHECK_EQ(vd_used_idx(&d), 0, "vhdr: rx GSO_TCPV6 not negotiated: dropped");
    in[1] = VIRTIO_NET_HDR_GSO_TCPV4;
    fb.base.rx(fb.base.rx_opaque, in, 12 + flen);
    uint8_t *rp = gmem_ptr(&f.mem, rb, 12);
    CHECK(vd_wait(&d, &len) && len == 12 + flen, "vhdr: rx GSO_TCPV4 delivered");
    CHECK(rp[0] == VIRTIO_NET_HDR_F_NEEDS_CSUM && rp[1] == VIRTIO_NET_HDR_GSO_TCPV4 &&
          le16(rp + 2) == 54 && le16(rp + 4) == 1448 && le16(rp + 6) == L4_START &&
          le16(rp + 8) == TCP_CHECK && le16(rp + 10) == 1, "vhdr: rx header as the backend's");
    put16(in + 8, 0xfff0);
    fb.base.rx(fb.base.rx_opaque, in, 12 + flen);
    CHECK_EQ(vd_used_idx(&d), 1, "vhdr: rx checksum field outside the frame: dropped");
    vd_set_status(&d, 0);
    CHECK_EQ(fb_offloads, 0, "vhdr: reset: backend offloads off");
    fake_env_fini(&f);
}

/* A backend that knows its MTU: F_MTU offered, the value in config space
 * after max_virtqueue_pairs (5.1.4), and once negotiated no received
 * frame larger than mtu plus an Ethernet header (and a VLAN tag). */
static void test_mtu(void)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct vd d = {.f = &f, .slot = SLOT};
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "mtu: bus");
    char err[160] = "";
    fb_mtu = 1400;
    CHECK_EQ(virtio_net_create_on(&f.env, d.bus, SLOT, 0, NULL, NULL, fb_open, NULL, err,
                                  sizeof(err)), 0, "mtu: created");
    fb_mtu = 0;
    vd_map(&d, VD_MEM_BASE);
    CHECK(vd_features(&d) & 1ull << VIRTIO_NET_F_MTU, "mtu: F_MTU offered");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF + 10, 2), 1400, "mtu: config mtu (offset 10) 1400");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF + 8, 2), 1, "mtu: max_virtqueue_pairs 1");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF + 6, 2), VIRTIO_NET_S_LINK_UP, "mtu: status still");
    uint64_t want = 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_F_VERSION_1 |
                    1ull << VIRTIO_NET_F_MTU;
    CHECK(vd_init_modern(&d, want, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "mtu: init");
    static uint8_t frame[2000];
    fill(frame, sizeof(frame), 3);
    uint64_t rb = VD_BUF + 0x10000;
    struct vd_seg r1 = {rb, 4096, true};
    vd_submit(&d, &r1, 1);
    uint32_t len;
    fb.base.rx(fb.base.rx_opaque, frame, 1400 + 18 + 1);
    CHECK_EQ(vd_used_idx(&d), 0, "mtu: a frame over mtu + 18 not delivered");
    fb.base.rx(fb.base.rx_opaque, frame, 1400 + 18);
    CHECK(vd_wait(&d, &len) && len == 12 + 1418, "mtu: a frame of mtu + 18 delivered");
    fake_env_fini(&f);
}

static void test_options(void)
{
    char err[200];
    void *p = NULL;
    CHECK_EQ(virtio_net_parse(NULL, &p, err, sizeof(err)), 0, "opts: none");
    virtio_net_free(p);
    CHECK_EQ(virtio_net_parse("hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::5353-10.0.2.15:53,"
                              "mac=02:00:00:00:00:01,net=10.9.0.0/24,ipv6", &p, err, sizeof(err)),
             0, "opts: hostfwd, mac, net, ipv6");
    virtio_net_free(p);
    CHECK_EQ(virtio_net_parse("hostfwd=tcp:127.0.0.1:99999-:80", &p, err, sizeof(err)), HK_EINVAL,
             "opts: port out of range");
    CHECK_EQ(virtio_net_parse("hostfwd=tcp:127.0.0.1:80", &p, err, sizeof(err)), HK_EINVAL,
             "opts: guest side missing");
    CHECK_EQ(virtio_net_parse("mac=01:00:00:00:00:01", &p, err, sizeof(err)), HK_EINVAL,
             "opts: multicast MAC refused");
    CHECK_EQ(virtio_net_parse("net=10.0.0.0/31", &p, err, sizeof(err)), HK_EINVAL, "opts: bad net");
    CHECK_EQ(virtio_net_parse("bogus=1", &p, err, sizeof(err)), HK_EINVAL, "opts: unknown");
    CHECK_EQ(virtio_tap_parse(NULL, &p, err, sizeof(err)), HK_EINVAL, "opts: tap needs a name");
    CHECK_EQ(virtio_tap_parse("tap0,mac=02:11:22:33:44:55", &p, err, sizeof(err)), 0, "opts: tap");
    virtio_net_free(p);
    CHECK_EQ(virtio_tap_parse("tap0,hostfwd=tcp::1-:2", &p, err, sizeof(err)), HK_EINVAL,
             "opts: hostfwd is slirp's");
    struct netbe_fwd fw;
    CHECK_EQ(netbe_parse_hostfwd("tcp:127.0.0.1:8080-:80", &fw, err, sizeof(err)), 0, "fwd: parse");
    CHECK(!fw.udp && fw.host_addr == htonl(0x7f000001) && fw.host_port == 8080 &&
          fw.guest_addr == 0 && fw.guest_port == 80, "fwd: fields");
    uint8_t a[6], b[6], c[6];
    uint8_t u1[16] = {1}, u2[16] = {2};
    virtio_net_derive_mac(u1, 3, 0, a);
    virtio_net_derive_mac(u1, 3, 0, b);
    virtio_net_derive_mac(u2, 3, 0, c);
    CHECK(memcmp(a, b, 6) == 0 && memcmp(a, c, 6) != 0, "mac: same uuid same MAC, else not");
}

int main(void)
{
    test_datapath();
    test_csum();
    test_tso();
    test_mtu();
    test_vnet_hdr();
    test_options();
    TEST_EXIT();
}
