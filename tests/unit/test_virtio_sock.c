/*
 * virtio-sock driven as the guest's driver would: three queues in fake
 * guest RAM, hyperkit's Unix sockets on the host side. Connections both
 * ways (DIR/00000002.<port>, DIR/connect, a guest_forwards listener, the
 * library call), data both ways, the guest's credit limiting what we
 * send, and hostile packets answered with RSTs, never a broken device.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/virtio_sock.h"
#include "devices/virtio/virtio_sock_priv.h"
#include "test.h"
#include "virtio_driver.h"

#define SLOT 5
#define QS 16
#define CID 3

struct tq {
    struct vd *d;
    int qi;
    uint64_t desc, avail, used, notify;
    uint16_t avail_idx, next_desc, used_seen;
};

static void tq_setup(struct vd *d, struct tq *q, int qi, uint64_t base)
{
    *q = (struct tq){.d = d, .qi = qi, .desc = base, .avail = base + 16 * QS,
                     .used = base + 0x1000};
    memset(gmem_ptr(&d->f->mem, base, 0x2000), 0, 0x2000);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, (uint64_t)qi);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, QS);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, q->desc);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, q->avail);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_USEDLO, 8, q->used);
    q->notify = VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * vd_mr(d, VIRTIO_PCI_COMMON_Q_NOFF, 2);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

static void tq_put(struct tq *q, uint64_t gpa, uint32_t len, bool write)
{
    uint16_t i = q->next_desc;
    q->next_desc = (uint16_t)((i + 1) % QS);
    uint8_t *e = gmem_ptr(&q->d->f->mem, q->desc + 16 * i, 16);
    put64(e, gpa);
    put32(e + 8, len);
    put16(e + 12, write ? 2 : 0);
    put16(e + 14, 0);
    uint8_t *a = gmem_ptr(&q->d->f->mem, q->avail, 4 + 2 * QS);
    put16(a + 4 + 2 * (q->avail_idx % QS), i);
    q->avail_idx++;
    put16(a + 2, q->avail_idx);
    vd_mw(q->d, q->notify, 2, (uint64_t)q->qi);
}

/* The next used entry: its head's buffer address and length. */
static bool tq_wait(struct tq *q, uint64_t *gpa, uint32_t *len)
{
    uint8_t *u = gmem_ptr(&q->d->f->mem, q->used, 4 + 8 * QS);
    for (int i = 0; i < 5000 && le16(u + 2) == q->used_seen; i++)
        usleep(1000);
    if (le16(u + 2) == q->used_seen)
        return false;
    uint32_t head = le32(u + 4 + 8 * (q->used_seen % QS));
    *len = le32(u + 8 + 8 * (q->used_seen % QS));
    q->used_seen++;
    *gpa = le64(gmem_ptr(&q->d->f->mem, q->desc + 16 * head, 8));
    return true;
}

static struct tq rxq, txq;
static uint64_t txbuf = 0x300000;

/* Send a packet from the guest (header + payload). */
static void gsend(uint64_t src_cid, uint32_t sport, uint32_t dport, uint16_t op, uint32_t flags,
                  uint32_t buf_alloc, uint32_t fwd, const void *data, uint32_t len, uint32_t hdr_len)
{
    struct vs_hdr h = {.src_cid = src_cid, .dst_cid = VS_CID_HOST, .src_port = sport,
                       .dst_port = dport, .len = hdr_len, .type = VS_TYPE_STREAM, .op = op,
                       .flags = flags, .buf_alloc = buf_alloc, .fwd_cnt = fwd};
    uint8_t *p = gmem_ptr(&rxq.d->f->mem, txbuf, VS_HDR_SIZE + len);
    vs_hdr_encode(&h, p);
    if (len)
        memcpy(p + VS_HDR_SIZE, data, len);
    tq_put(&txq, txbuf, VS_HDR_SIZE + len, false);
    uint64_t g;
    uint32_t l;
    CHECK(tq_wait(&txq, &g, &l), "sock: tx packet consumed");
    txbuf = txbuf + 0x20000 > 0x800000 ? 0x300000 : txbuf + 0x20000;
}

static uint64_t rxbuf_next = 0x100000;
static void give_rx(int n)
{
    for (int i = 0; i < n; i++) {
        tq_put(&rxq, rxbuf_next, 4096 + VS_HDR_SIZE, true);
        rxbuf_next = rxbuf_next + 0x2000 >= 0x300000 ? 0x100000 : rxbuf_next + 0x2000;
    }
}

/* The next packet to the guest; its payload copied into data. */
static bool grecv(struct vs_hdr *h, void *data)
{
    uint64_t g;
    uint32_t l;
    if (!tq_wait(&rxq, &g, &l))
        return false;
    uint8_t *p = gmem_ptr(&rxq.d->f->mem, g, l);
    vs_hdr_decode(p, h);
    if (data && l > VS_HDR_SIZE)
        memcpy(data, p + VS_HDR_SIZE, l - VS_HDR_SIZE);
    give_rx(1);
    return l == VS_HDR_SIZE + h->len;
}

static int unix_listen(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(un.sun_path))
        return -1;
    memcpy(un.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&un, sizeof(un)) || listen(fd, 8))
        return -1;
    return fd;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(un.sun_path))
        return -1;
    memcpy(un.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&un, sizeof(un)))
        return -1;
    return fd;
}

static void test_parse(void)
{
    char err[200];
    void *p;
    CHECK_EQ(virtio_sock_parse("guest_cid=3,path=/tmp", &p, err, sizeof(err)), 0, "parse: ok");
    virtio_sock_free(p);
    CHECK_EQ(virtio_sock_parse("guest_cid=3,path=/tmp,guest_forwards=22;0x50", &p, err,
                               sizeof(err)), 0, "parse: forwards");
    virtio_sock_free(p);
    const char *bad[] = {NULL, "path=/tmp", "guest_cid=3", "guest_cid=2,path=/tmp",
                         "guest_cid=-5,path=/tmp", "guest_cid=3,path=/tmp,foo=1",
                         "guest_cid=4294967295,path=/tmp", "guest_cid=3,path=/tmp,guest_forwards=x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = (void *)1;
        CHECK(virtio_sock_parse(bad[i], &p, err, sizeof(err)) == HK_EINVAL && !p && err[0],
              "parse: refused");
    }
}

static void test_device(void)
{
    char dir[] = "/tmp/vsock-test-XXXXXX", path[200], conf[300];
    CHECK(mkdtemp(dir) != NULL, "sock: temp dir");
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct vd d = {.f = &f, .slot = SLOT};
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "sock: bus");
    char err[200];
    void *p = NULL;
    snprintf(conf, sizeof(conf), "guest_cid=%d,path=%s,guest_forwards=0x77", CID, dir);
    CHECK_EQ(virtio_sock_parse(conf, &p, err, sizeof(err)), 0, "sock: options");
    CHECK_EQ(virtio_sock_create(&f.env, d.bus, SLOT, 0, p, err, sizeof(err)), 0, "sock: created");
    virtio_sock_free(p);
    CHECK_EQ(vd_cfg(&d, PCI_DEVICE_ID, 2), 0x1053, "sock: modern id");
    vd_map(&d, VD_MEM_BASE);
    vd_set_status(&d, 0);
    vd_set_status(&d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd_mw(&d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    vd_mw(&d, VIRTIO_PCI_COMMON_GF, 4, 1);
    vd_set_status(&d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF, 4), CID, "sock: guest_cid in config");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF + 4, 4), 0, "sock: guest_cid high");
    struct tq evq;
    tq_setup(&d, &rxq, 0, 0x10000);
    tq_setup(&d, &txq, 1, 0x14000);
    tq_setup(&d, &evq, 2, 0x18000);
    vd_set_status(&d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                          VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    give_rx(8);

    /* Guest -> host port 0x400. */
    snprintf(path, sizeof(path), "%s/00000002.00000400", dir);
    int lfd = unix_listen(path);
    CHECK(lfd >= 0, "sock: host listener");
    gsend(CID, 5000, 0x400, VS_OP_REQUEST, 0, 65536, 0, NULL, 0, 0);
    struct vs_hdr h;
    char buf[8192];
    CHECK(grecv(&h, NULL) && h.op == VS_OP_RESPONSE && h.src_port == 0x400 && h.dst_port == 5000 &&
              h.dst_cid == CID && h.src_cid == 2 && h.buf_alloc == VS_BUF_ALLOC,
          "sock: RESPONSE to the guest's REQUEST");
    int hfd = accept(lfd, NULL, NULL);
    CHECK(hfd >= 0, "sock: host accepted");
    gsend(CID, 5000, 0x400, VS_OP_RW, 0, 65536, 0, "hello", 5, 5);
    CHECK(read(hfd, buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0, "sock: guest->host data");
    CHECK(write(hfd, "world!", 6) == 6, "sock: host writes");
    CHECK(grecv(&h, buf) && h.op == VS_OP_RW && h.len == 6 && memcmp(buf, "world!", 6) == 0,
          "sock: host->guest data");
    /* Host EOF: SHUTDOWN(SEND) to the guest. */
    shutdown(hfd, SHUT_WR);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_SHUTDOWN && h.flags == VS_SHUT_SEND,
          "sock: host EOF is SHUTDOWN send");
    /* Guest closes: SHUTDOWN both -> our RST, host sees EOF. */
    gsend(CID, 5000, 0x400, VS_OP_SHUTDOWN, VS_SHUT_ALL, 65536, 6, NULL, 0, 0);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_RST && h.dst_port == 5000, "sock: RST ends the close");
    CHECK(read(hfd, buf, sizeof(buf)) == 0, "sock: host sees EOF");
    close(hfd);

    /* Credit: the guest gives 8 bytes; the host's 20 go 8 at a time. */
    gsend(CID, 5001, 0x400, VS_OP_REQUEST, 0, 8, 0, NULL, 0, 0);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_RESPONSE, "credit: connected");
    hfd = accept(lfd, NULL, NULL);
    CHECK(write(hfd, "0123456789abcdefghij", 20) == 20, "credit: host writes 20");
    CHECK(grecv(&h, buf) && h.op == VS_OP_RW && h.len == 8 && memcmp(buf, "01234567", 8) == 0,
          "credit: only 8 bytes sent");
    uint64_t g;
    uint32_t l;
    CHECK(!tq_wait(&rxq, &g, &l) || (rxq.used_seen--, false), "credit: nothing more without credit");
    gsend(CID, 5001, 0x400, VS_OP_CREDIT_UPDATE, 0, 8, 8, NULL, 0, 0);
    CHECK(grecv(&h, buf) && h.len == 8 && memcmp(buf, "89abcdef", 8) == 0, "credit: 8 more after update");
    gsend(CID, 5001, 0x400, VS_OP_CREDIT_REQUEST, 0, 8, 16, NULL, 0, 0);
    /* The remaining 4 bytes and the credit update may come in either order. */
    bool got_update = false, got_rest = false;
    for (int i = 0; i < 2; i++) {
        CHECK(grecv(&h, buf), "credit: packet");
        got_update |= h.op == VS_OP_CREDIT_UPDATE && h.fwd_cnt == 0;
        got_rest |= h.op == VS_OP_RW && h.len == 4 && memcmp(buf, "ghij", 4) == 0;
    }
    CHECK(got_update && got_rest, "credit: CREDIT_UPDATE answers CREDIT_REQUEST; rest delivered");

    /* Hostile packets. */
    gsend(CID, 6000, 0x400, VS_OP_RW, 0, 8, 0, "x", 1, 1);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_RST && h.dst_port == 6000 && h.src_port == 0x400,
          "hostile: RW for no connection -> RST");
    gsend(CID, 5001, 0x400, 99, 0, 8, 16, NULL, 0, 0);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_RST && h.dst_port == 5001, "hostile: unknown op -> RST");
    CHECK(read(hfd, buf, sizeof(buf)) == 0, "hostile: its host socket closed");
    close(hfd);
    gsend(CID + 1, 6001, 0x400, VS_OP_REQUEST, 0, 8, 0, NULL, 0, 0);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_RST && h.dst_port == 6001, "hostile: wrong src_cid -> RST");
    gsend(CID, 6002, 0x401, VS_OP_REQUEST, 0, 8, 0, NULL, 0, 0);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_RST && h.dst_port == 6002, "hostile: no listener -> RST");
    gsend(CID, 6003, 0x400, VS_OP_REQUEST, 0, 65536, 0, NULL, 0, 0);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_RESPONSE, "hostile: connected");
    hfd = accept(lfd, NULL, NULL);
    gsend(CID, 6003, 0x400, VS_OP_RW, 0, 65536, 0, "abc", 3, 5000);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_RST && h.dst_port == 6003, "hostile: len past chain -> RST");
    close(hfd);
    gsend(CID, 6004, 0x400, VS_OP_RST, 0, 0, 0, NULL, 0, 0);
    tq_put(&txq, txbuf, 10, false);                /* shorter than a header */
    CHECK(tq_wait(&txq, &g, &l), "hostile: short packet consumed");
    tq_put(&txq, txbuf, VS_HDR_SIZE, true);        /* writable only */
    CHECK(tq_wait(&txq, &g, &l), "hostile: write-only packet consumed");
    CHECK(!tq_wait(&rxq, &g, &l) || (rxq.used_seen--, false), "hostile: no reply to RST or junk");
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET), "hostile: device still fine");

    /* Host -> guest through DIR/connect. */
    snprintf(path, sizeof(path), "%s/connect", dir);
    int cfd = unix_connect(path);
    CHECK(cfd >= 0 && write(cfd, "00000003.0", 10) == 10, "connect: half a line");
    usleep(20000);
    CHECK(write(cfd, "0000050\n", 8) == 8, "connect: the rest");
    CHECK(grecv(&h, NULL) && h.op == VS_OP_REQUEST && h.dst_port == 0x50 &&
              h.src_port >= VS_FIRST_HOST_PORT, "connect: REQUEST to the guest");
    uint32_t hp = h.src_port;
    gsend(CID, 0x50, hp, VS_OP_RESPONSE, 0, 65536, 0, NULL, 0, 0);
    CHECK(write(cfd, "ping", 4) == 4, "connect: host writes");
    CHECK(grecv(&h, buf) && h.op == VS_OP_RW && h.len == 4 && memcmp(buf, "ping", 4) == 0,
          "connect: data reaches the guest");
    gsend(CID, 0x50, hp, VS_OP_RW, 0, 65536, 4, "pong", 4, 4);
    CHECK(read(cfd, buf, sizeof(buf)) == 4 && memcmp(buf, "pong", 4) == 0, "connect: reply");
    gsend(CID, 0x50, hp, VS_OP_RST, 0, 0, 0, NULL, 0, 0);
    CHECK(read(cfd, buf, sizeof(buf)) == 0, "connect: guest RST closes the host socket");
    close(cfd);
    cfd = unix_connect(path);
    CHECK(cfd >= 0 && write(cfd, "00000009.00000050\n", 18) == 18, "connect: wrong cid");
    CHECK(read(cfd, buf, sizeof(buf)) == 0, "connect: wrong cid closed");
    close(cfd);

    /* guest_forwards listener and its symlink; refused by the guest. */
    snprintf(path, sizeof(path), "%s/guest.00000077", dir);
    cfd = unix_connect(path);
    CHECK(cfd >= 0, "forward: listener");
    CHECK(grecv(&h, NULL) && h.op == VS_OP_REQUEST && h.dst_port == 0x77, "forward: REQUEST");
    gsend(CID, 0x77, h.src_port, VS_OP_RST, 0, 0, 0, NULL, 0, 0);
    CHECK(read(cfd, buf, sizeof(buf)) == 0, "forward: refused -> EOF");
    close(cfd);

    /* The library call. */
    struct vsock *vs = NULL;
    for (int i = 0; i < f.nteardowns; i++)
        if (strcmp(f.teardown[i].name, VIRTIO_SOCK_NAME) == 0)
            vs = f.teardown[i].opaque;
    int afd = -1;
    CHECK(vs && virtio_sock_connect(vs, 0x99, &afd) == 0 && afd >= 0, "api: connect");
    CHECK(grecv(&h, NULL) && h.op == VS_OP_REQUEST && h.dst_port == 0x99, "api: REQUEST");
    gsend(CID, 0x99, h.src_port, VS_OP_RESPONSE, 0, 65536, 0, NULL, 0, 0);
    CHECK(write(afd, "api", 3) == 3 && grecv(&h, buf) && h.len == 3 && memcmp(buf, "api", 3) == 0,
          "api: data");
    close(afd);
    CHECK(grecv(&h, NULL) && h.op == VS_OP_SHUTDOWN && h.flags == VS_SHUT_SEND, "api: close -> SHUTDOWN");

    close(lfd);
    fake_env_fini(&f);
    snprintf(path, sizeof(path), "%s/connect", dir);
    CHECK(access(path, F_OK) != 0, "teardown: connect socket removed");
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK(system(path) == 0, "cleanup");
}

int main(void)
{
    test_parse();
    test_device();
    TEST_EXIT();
}
