/*
 * libFuzzer target for virtio-net's header path, through the real device
 * (virtio_net_create_on on a fake backend), the real virtio PCI transport
 * and virtqueues, driven over the fake environment's buses as a guest
 * driver would (tests/unit/virtio_driver.h). Input:
 *   bytes 0-1: le16 feature choice: bit i asks for feature kFeat[i] (what
 *              the device offers of it is negotiated); bit 15: legacy init
 *   then records, each one kind byte (kind % 5), then
 *   0 tx: NSEG, then per segment LEN(le16) PLACE; then the chain's bytes
 *         (virtio_net_hdr and frame) from the input. PLACE%4: 0 in RAM,
 *         1 across the end of RAM, 2 outside RAM, 3 device-writable.
 *   1 rx buffers: COUNT SIZE(le16) NSEG: COUNT chains of SIZE bytes each
 *         (at most 16 KiB) in NSEG writable segments.
 *   2 a frame from the backend: LEN(le16); its bytes say its number.
 *   3 device reset, then the driver sets it up again.
 *   4 the guest scribbles: QUEUE OFF(le16) VALUE(le16) into that queue's
 *         descriptors or avail ring, kicks both queues, then resets.
 * Checked beyond the sanitizers: every frame the backend gets is 1 to
 * NETBE_MAX_FRAME bytes; every used rx entry fits the buffer it names;
 * frames reach the guest whole and in order (drops allowed), with
 * num_buffers telling how many buffers, all published together; a tx
 * chain is always returned unless the device says it needs a reset.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/virtio/virtio_net.h"
#include "../unit/virtio_driver.h"

#define SLOT 3
#define TXRING (VD_RING + 0x8000)
#define TXBUF VD_BUF                    /* tx chain data */
#define RXBUF (VD_BUF + 0x200000)       /* rx buffers: 16 KiB per head */
#define RX_SLOT 0x4000ull

static const uint64_t kFeat[15] = {
    VIRTIO_NET_F_MRG_RXBUF, VIRTIO_F_VERSION_1, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM,
    7 /* GUEST_TSO4 */, 8 /* GUEST_TSO6 */, 9 /* GUEST_ECN */, 10 /* GUEST_UFO */,
    11 /* HOST_TSO4 */, 12 /* HOST_TSO6 */, 13 /* HOST_ECN */, 14 /* HOST_UFO */,
    VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_F_INDIRECT_DESC,
};

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_net: %s\n", why);
    abort();
}

/* --- The fake backend -------------------------------------------------------------- */
static struct netbe be;

static int be_send(struct netbe *b, const void *frame, size_t len)
{
    if (len < 1 || len > NETBE_MAX_FRAME)
        fail("backend got a frame of impossible length");
    volatile const uint8_t *p = frame;
    (void)p[0];
    (void)p[len - 1];                   /* ASan: the whole frame is readable */
    return HK_OK;
}
static void be_close(struct netbe *b) {}
static const struct netbe_ops be_ops = {.send = be_send, .close = be_close};

static int be_open(void *arg, netbe_rx_fn rx, void *opaque, struct netbe **out, char *err,
                   size_t errlen)
{
    be = (struct netbe){.ops = &be_ops, .rx = rx, .rx_opaque = opaque};
    *out = &be;
    return HK_OK;
}

/* --- The driver --------------------------------------------------------------------- */
static struct fake_env f;
static struct vd rx, tx;
static uint64_t want;
static bool legacy, mrg, up;
static unsigned hlen;
static uint32_t rx_room[256];           /* writable bytes of each rx head posted */
static int rx_nseg[256], rx_busy;       /* its descriptors; descriptors in flight */
static uint32_t next_frame, last_seen;  /* frame numbers: sent, last delivered */
static uint32_t frame_len[1u << 16];

static bool needs_reset(void)
{
    return vd_status(&rx) & VIRTIO_STATUS_NEEDS_RESET;
}

static void setup_tx(void)
{
    tx = rx;
    tx.desc = TXRING;
    memset(gmem_ptr(&f.mem, TXRING, 0x4000), 0, 0x4000);
    tx.avail_idx = tx.next_desc = tx.used_seen = 0;
    if (legacy) {
        vd_iw(&rx, VIRTIO_PCI_LEG_QUEUE_SEL, 2, 1);
        tx.qsize = (uint16_t)vd_ir(&rx, VIRTIO_PCI_LEG_QUEUE_NUM, 2);
        tx.avail = TXRING + 16ull * tx.qsize;
        tx.used = (tx.avail + 2 * (3ull + tx.qsize) + 4095) & ~4095ull;
        vd_iw(&rx, VIRTIO_PCI_LEG_QUEUE_PFN, 4, TXRING / 4096);
        return;
    }
    vd_mw(&rx, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    tx.qsize = (uint16_t)vd_mr(&rx, VIRTIO_PCI_COMMON_Q_SIZE, 2);
    tx.avail = TXRING + 16ull * tx.qsize;
    tx.used = (tx.avail + 6 + 2ull * tx.qsize + 4095) & ~4095ull;
    vd_mw(&rx, VIRTIO_PCI_COMMON_Q_DESCLO, 8, tx.desc);
    vd_mw(&rx, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, tx.avail);
    vd_mw(&rx, VIRTIO_PCI_COMMON_Q_USEDLO, 8, tx.used);
    vd_mw(&rx, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

static void driver_init(void)
{
    uint8_t st = legacy ? vd_init_legacy(&rx, (uint32_t)want) : vd_init_modern(&rx, want, 0);
    up = st & VIRTIO_STATUS_DRIVER_OK;
    if (!up)
        return;                         /* features refused: the device stays down */
    uint64_t got = legacy ? vd_ir(&rx, VIRTIO_PCI_LEG_GUEST_FEATURES, 4) : want & vd_features(&rx);
    mrg = got & 1ull << VIRTIO_NET_F_MRG_RXBUF;
    hlen = mrg || (!legacy && (got & 1ull << VIRTIO_F_VERSION_1)) ? VIRTIO_NET_HDR_LEN
                                                                   : VIRTIO_NET_HDR_LEN_LEGACY;
    setup_tx();
    memset(rx_room, 0, sizeof(rx_room));
    memset(rx_nseg, 0, sizeof(rx_nseg));
    rx_busy = 0;
    last_seen = next_frame;             /* frames from before are gone */
}

static void kick_tx(void)
{
    if (legacy)
        vd_iw(&rx, VIRTIO_PCI_LEG_QUEUE_NOTIFY, 2, 1);
    else
        vd_mw(&rx, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT, 2, 1);
}

/* Spin until q's used index passes `seen` (or the device needs a reset),
 * for at most usec microseconds of wall time (< 0: no limit; a device
 * that never answers is then a hang for libFuzzer's -timeout). The
 * workers run on other threads. */
static bool wait_used(struct vd *q, long usec)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (vd_used_idx(q) != q->used_seen)
            return true;
        if (needs_reset())
            return false;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (usec >= 0 && (t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 > usec)
            return false;
        sched_yield();
    }
}

/* Check what the device put in the rx used ring since last time. */
static void check_rx(void)
{
    for (;;) {
        uint16_t idx = vd_used_idx(&rx);
        if (idx == rx.used_seen)
            return;
        static uint8_t frame[VIRTIO_NET_HDR_LEN + NETBE_MAX_FRAME + 64];
        size_t got = 0;
        int nbufs = 1 << 20;            /* known once the header is in */
        for (int k = 0; k < nbufs; k++) {
            if (vd_used_idx(&rx) == rx.used_seen)
                fail("a frame's buffers were not published together");
            uint8_t *u = gmem_ptr(&f.mem, rx.used + 4 + 8ull * (rx.used_seen % rx.qsize), 8);
            uint32_t head = le32(u), len = le32(u + 4);
            rx.used_seen++;
            if (head >= rx.qsize || !rx_nseg[head] || len > rx_room[head])
                fail("used rx entry names no posted buffer or overfills it");
            rx_busy -= rx_nseg[head];
            rx_nseg[head] = 0;
            if (got + len > sizeof(frame))
                fail("frame longer than any frame");
            /* The head's segments are laid out back to back from its slot. */
            memcpy(frame + got, gmem_ptr(&f.mem, RXBUF + RX_SLOT * head, len ? len : 1), len);
            got += len;
            /* Buffers under a header are the driver's fault (5.1.6.3.1):
             * with mergeable buffers the header may then span several. */
            if (nbufs == 1 << 20 && got >= hlen) {
                nbufs = hlen == VIRTIO_NET_HDR_LEN ? le16(frame + 10) : 1;
                if (nbufs < k + 1 || (!mrg && nbufs != 1))
                    fail("bad num_buffers");
            } else if (nbufs == 1 << 20 && !mrg) {
                fail("rx buffer without a whole header");
            }
        }
        size_t flen = got - hlen;
        const uint8_t *p = frame + hlen;
        uint32_t id = flen >= 4 ? le32(p) : 0;
        if (getenv("FUZZ_NET_VERBOSE"))
            fprintf(stderr, "rx frame: %zu bytes in %d buffers, id %u (last %u, sent %u)\n", flen,
                    nbufs, id, last_seen, next_frame);
        if (flen < 4 || id <= last_seen || id > next_frame || frame_len[id & 0xffff] != flen)
            fail("a frame arrived that was not sent, twice, or out of order");
        for (size_t i = 4; i < flen; i++)
            if (p[i] != (uint8_t)(id * 31 + i))
                fail("frame bytes changed on the way in");
        last_seen = id;
    }
}

static void post_rx(uint16_t count, uint32_t size, int nseg)
{
    /* A driver reuses only descriptors the device gave back. */
    for (int c = 0; c < count && rx_busy + nseg <= rx.qsize; c++) {
        uint16_t head = rx.next_desc;
        struct vd_seg s[3];
        uint32_t off = 0;
        /* Segments of one chain sit back to back in the head's slot. */
        for (int i = 0; i < nseg; i++) {
            uint32_t l = i + 1 < nseg ? size / (uint32_t)nseg : size - off;
            s[i] = (struct vd_seg){RXBUF + RX_SLOT * head + off, l, true};
            off += l;
        }
        rx_room[head] = size;
        rx_nseg[head] = nseg;
        rx_busy += nseg;
        vd_submit(&rx, s, nseg);        /* kicks the rx queue */
    }
}

static void backend_frame(size_t len)
{
    static uint8_t buf[NETBE_MAX_FRAME + 64];
    uint32_t id = ++next_frame;
    if (len < 4)
        len = 4;
    put32(buf, id);
    for (size_t i = 4; i < len; i++)
        buf[i] = (uint8_t)(id * 31 + i);
    frame_len[id & 0xffff] = (uint32_t)len;
    be.rx(be.rx_opaque, buf, len);
}

/* A tx chain from the input: returns the bytes of input used. */
static size_t tx_chain(const uint8_t *d, size_t n)
{
    if (n < 1)
        return n;
    int nseg = 1 + d[0] % 4;
    size_t pos = 1;
    if (n < pos + 3u * (size_t)nseg)
        return n;
    struct vd_seg s[4];
    uint64_t at = TXBUF;
    for (int i = 0; i < nseg; i++) {
        uint32_t len = le16(d + pos);
        uint8_t place = d[pos + 2] % 4;
        pos += 3;
        s[i] = (struct vd_seg){at, len, place == 3};
        if (place == 1)
            s[i].gpa = VD_RAM - len / 2;
        else if (place == 2)
            s[i].gpa = VD_RAM + 0x1000;
        else
            at += len;
    }
    /* The chain's readable bytes: from the input, then zeros. */
    for (int i = 0; i < nseg; i++) {
        if (s[i].write || s[i].gpa + (s[i].len ? s[i].len : 1) > VD_RAM)
            continue;
        uint8_t *b = gmem_ptr(&f.mem, s[i].gpa, s[i].len ? s[i].len : 1);
        size_t take = n - pos < s[i].len ? n - pos : s[i].len;
        memcpy(b, d + pos, take);
        memset(b + take, 0, s[i].len - take);
        pos += take;
    }
    vd_submit(&tx, s, nseg);            /* its kick went to queue 0: kick tx too */
    kick_tx();
    if (!wait_used(&tx, -1) && !needs_reset())
        fail("tx chain never returned");
    tx.used_seen = vd_used_idx(&tx);
    return pos;
}

static void scribble(const uint8_t *d)
{
    struct vd *q = d[0] & 1 ? &tx : &rx;
    uint64_t off = le16(d + 1) % (18ull * q->qsize + 4);   /* descriptors, avail ring */
    uint8_t *p = gmem_ptr(&f.mem, q->desc + off, 2);
    put16(p, le16(d + 3));
    vd_kick(&rx);
    kick_tx();
    wait_used(&tx, 1000);
    /* Nothing the guest's rings say can be checked now: start over. */
    vd_set_status(&rx, 0);
    driver_init();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint16_t choice = le16(data);
    legacy = choice >> 15;
    want = 0;
    for (int i = 0; i < 15; i++)
        if (choice >> i & 1)
            want |= 1ull << kFeat[i];
    fake_env_init(&f, VD_RAM, false);
    f.log_level = HK_LOG_ERROR;
    rx = (struct vd){.f = &f, .slot = SLOT};
    if (pci_create(&f.env, &rx.bus))
        fail("bus");
    char err[160];
    if (virtio_net_create_on(&f.env, rx.bus, SLOT, 0, NULL, NULL, be_open, NULL, err,
                             sizeof(err)))
        fail(err);
    vd_map(&rx, VD_MEM_BASE);
    next_frame = last_seen = 0;
    driver_init();
    size_t pos = 2;
    while (pos < size) {
        uint8_t kind = data[pos++] % 5;
        if (!up && kind != 3)
            continue;
        const uint8_t *d = data + pos;
        size_t left = size - pos;
        switch (kind) {
        case 0:
            pos += tx_chain(d, left);
            break;
        case 1:
            if (left < 4)
                goto out;
            post_rx((uint16_t)(1 + d[0] % 8), 1 + le16(d + 1) % (uint32_t)RX_SLOT, 1 + d[3] % 3);
            wait_used(&rx, 1000);
            pos += 4;
            break;
        case 2:
            if (left < 2)
                goto out;
            backend_frame(le16(d) % (NETBE_MAX_FRAME + 100));
            pos += 2;
            break;
        case 3:
            vd_set_status(&rx, 0);
            driver_init();
            break;
        case 4:
            if (left < 5)
                goto out;
            scribble(d);
            pos += 5;
            break;
        }
        if (up)
            check_rx();
        if (up && needs_reset()) {
            vd_set_status(&rx, 0);
            driver_init();
        }
    }
out:
    if (up)
        check_rx();
    fake_env_fini(&f);
    return 0;
}
