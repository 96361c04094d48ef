/*
 * virtio-blk over the virtio PCI transport, driven as a guest driver
 * would (tests/unit/virtio_driver.h) against a temporary raw image:
 * modern and legacy initialisation, read/write/flush/get-id, MSI-X and
 * INTx, hostile requests, a broken ring putting the device in
 * DEVICE_NEEDS_RESET with the VM running, read-only images, BAR moves,
 * and the option string.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_blk_req.h"
#include "test.h"
#include "virtio_driver.h"

#define SLOT 4
#define DISK_BYTES (1u << 20)
#define F_RO 5
#define F_FLUSH 9
#define F_DISCARD 13
#define F_WZ 14
#define ALL_FEATURES (~0ull)

static char path[64];

static void make_image(void)
{
    snprintf(path, sizeof(path), "/tmp/hk-vblk-XXXXXX");
    int fd = mkstemp(path);
    uint8_t *buf = malloc(DISK_BYTES);
    for (unsigned i = 0; i < DISK_BYTES; i++)
        buf[i] = (uint8_t)(i * 7 + i / 512);
    CHECK(fd >= 0 && write(fd, buf, DISK_BYTES) == DISK_BYTES, "image written");
    close(fd);
    free(buf);
}

static void file_read(uint64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    CHECK(pread(fd, buf, len, (off_t)off) == (ssize_t)len, "host pread");
    close(fd);
}

/* A device on a fresh bus and fake env. */
static void setup(struct fake_env *f, struct vd *d, const char *conf, bool msix_off)
{
    fake_env_init(f, VD_RAM, false);
    f->env.virtio_msix_off = msix_off;
    *d = (struct vd){.f = f, .slot = SLOT};
    CHECK_EQ(pci_create(&f->env, &d->bus), 0, "pci bus");
    void *parsed = NULL;
    char err[256] = "";
    int r = virtio_blk_parse(conf, &parsed, err, sizeof(err));
    if (!r)
        r = virtio_blk_create(&f->env, d->bus, SLOT, 0, parsed, err, sizeof(err));
    virtio_blk_free(parsed);
    CHECK_EQ(r, 0, "virtio-blk created");
    if (r)
        printf("  %s\n", err);
    vd_map(d, VD_MEM_BASE);
}

/* One request: header (type, sector), data of dlen bytes at VD_BUF+0x1000
 * (device-writable if dwrite), status at VD_BUF. Returns the status byte
 * (0xff if untouched) and the used length in *len. */
static uint8_t req(struct vd *d, uint32_t type, uint64_t sector, uint32_t dlen, bool dwrite,
                   uint32_t *len)
{
    uint8_t *hdr = gmem_ptr(&d->f->mem, VD_BUF + 0x100, 16);
    put32(hdr, type);
    put32(hdr + 4, 0);
    put64(hdr + 8, sector);
    *(uint8_t *)gmem_ptr(&d->f->mem, VD_BUF, 1) = 0xff;
    struct vd_seg s[3] = {{VD_BUF + 0x100, 16, false}, {VD_BUF + 0x1000, dlen, dwrite},
                          {VD_BUF, 1, true}};
    int n = 0;
    struct vd_seg c[3];
    c[n++] = s[0];
    if (dlen)
        c[n++] = s[1];
    c[n++] = s[2];
    vd_submit(d, c, n);
    uint32_t l = 0;
    CHECK(vd_wait(d, &l), "request completed");
    if (len)
        *len = l;
    return *(uint8_t *)gmem_ptr(&d->f->mem, VD_BUF, 1);
}

static uint8_t *data(struct vd *d)
{
    return gmem_ptr(&d->f->mem, VD_BUF + 0x1000, 0x10000);
}

static void test_identity(struct vd *d)
{
    CHECK_EQ(vd_cfg(d, PCI_VENDOR_ID, 2), 0x1af4, "blk vendor");
    CHECK_EQ(vd_cfg(d, PCI_DEVICE_ID, 2), 0x1001, "blk transitional device id");
    CHECK_EQ(vd_cfg(d, PCI_SUBSYS_ID, 2), VIRTIO_ID_BLOCK, "blk subsystem id = type");
    CHECK_EQ(vd_cfg(d, PCI_REVISION, 1), 0, "blk transitional revision 0");
    CHECK_EQ(vd_cfg(d, PCI_INTERRUPT_PIN, 1), 1, "blk INTA#");
    for (int t = VIRTIO_PCI_CAP_COMMON; t <= VIRTIO_PCI_CAP_PCI_CFG; t++)
        CHECK(vd_find_cap(d, PCI_CAP_ID_VNDR, t) != 0, "blk virtio capability present");
    CHECK(vd_find_cap(d, PCI_CAP_ID_MSIX, -1) != 0, "blk MSI-X capability");
    unsigned n = vd_find_cap(d, PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_NOTIFY);
    CHECK_EQ(vd_cfg(d, n + 16, 4), VIRTIO_PCI_NOTIFY_MULT, "blk notify multiplier");
}

static void test_modern(void)
{
    struct fake_env f;
    struct vd d;
    setup(&f, &d, path, false);
    test_identity(&d);
    uint64_t feat = vd_features(&d);
    CHECK((feat >> VIRTIO_F_VERSION_1 & 1) && (feat >> F_FLUSH & 1) && (feat >> F_WZ & 1) &&
              !(feat >> F_RO & 1),
          "blk features: VERSION_1, FLUSH, WRITE_ZEROES, not RO");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF, 8), DISK_BYTES / 512, "blk capacity in config");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF + 20, 4), 512, "blk blk_size");

    /* A driver that refuses VERSION_1 cannot get FEATURES_OK. */
    uint8_t st = vd_init_modern(&d, ~(1ull << VIRTIO_F_VERSION_1), VIRTIO_NO_VECTOR);
    CHECK(!(st & VIRTIO_STATUS_FEATURES_OK), "blk modern without VERSION_1 refused");

    vd_msix_setup(&d, 2, 0x40);
    st = vd_init_modern(&d, ALL_FEATURES, 1);
    CHECK(st & VIRTIO_STATUS_DRIVER_OK, "blk modern init");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1, "blk queue vector 1 kept");

    int msi0 = vd_nmsi(&f);
    uint32_t len;
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, 8, 4096, true, &len), VIRTIO_BLK_S_OK, "blk read ok");
    CHECK_EQ(len, 4097, "blk read used length: data and status");
    uint8_t host[4096];
    file_read(8 * 512, host, sizeof(host));
    CHECK(memcmp(data(&d), host, sizeof(host)) == 0, "blk read matches the file");
    CHECK(vd_wait_msi(&f, msi0) && f.msi_data[vd_nmsi(&f) - 1] == 0x41, "blk MSI-X vector 1 sent");

    for (int i = 0; i < 8192; i++)
        data(&d)[i] = (uint8_t)(i ^ 0x5a);
    CHECK_EQ(req(&d, VIRTIO_BLK_T_OUT, 100, 8192, false, &len), VIRTIO_BLK_S_OK, "blk write ok");
    CHECK_EQ(len, 1, "blk write used length: status only");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK, "blk flush ok");
    uint8_t back[8192];
    file_read(100 * 512, back, sizeof(back));
    CHECK(memcmp(back, data(&d), sizeof(back)) == 0, "blk write reached the file");

    CHECK_EQ(req(&d, VIRTIO_BLK_T_GET_ID, 0, 20, true, &len), VIRTIO_BLK_S_OK, "blk get-id ok");
    CHECK(len == 21 && memcmp(data(&d), "HK-", 3) == 0, "blk serial HK-...");

    uint8_t *seg = data(&d);
    put64(seg, 100);
    put32(seg + 8, 2);
    put32(seg + 12, 0);
    CHECK_EQ(req(&d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL), VIRTIO_BLK_S_OK,
             "blk write-zeroes ok");
    uint8_t zero[1024] = {0};
    file_read(100 * 512, back, 1024);
    CHECK(memcmp(back, zero, 1024) == 0 && back[1024] == (uint8_t)(1024 ^ 0x5a),
          "blk write-zeroes zeroed exactly its sectors");
    fake_env_fini(&f);
}

/* Requests a hostile driver makes: each answered, none crashes. */
static void test_hostile(void)
{
    struct fake_env f;
    struct vd d;
    setup(&f, &d, path, false);
    CHECK(vd_init_modern(&d, ALL_FEATURES, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK,
          "hostile: init");
    uint64_t cap = DISK_BYTES / 512;
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, cap, 512, true, NULL), VIRTIO_BLK_S_IOERR,
             "hostile: read at capacity");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, cap - 1, 1024, true, NULL), VIRTIO_BLK_S_IOERR,
             "hostile: read past the end");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, cap - 1, 512, true, NULL), VIRTIO_BLK_S_OK,
             "hostile: last sector readable");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_OUT, ~0ull, 512, false, NULL), VIRTIO_BLK_S_IOERR,
             "hostile: sector 2^64-1 (overflow)");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_OUT, ~0ull / 512 + 1, 512, false, NULL), VIRTIO_BLK_S_IOERR,
             "hostile: sector * 512 wraps");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, 0, 100, true, NULL), VIRTIO_BLK_S_IOERR,
             "hostile: read not a multiple of 512");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR,
             "hostile: read into device-readable data");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_OUT, 0, 512, true, NULL), VIRTIO_BLK_S_IOERR,
             "hostile: write from device-writable data");
    CHECK_EQ(req(&d, 0x77, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP, "hostile: unknown type");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_GET_ID, 0, 8, true, NULL), VIRTIO_BLK_S_IOERR,
             "hostile: get-id buffer too small");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_FLUSH, 0, 512, true, NULL), VIRTIO_BLK_S_IOERR,
             "hostile: flush with data");
    /* Discard segment with the unmap flag (5.2.6.2: unsupported). */
    uint8_t *seg = data(&d);
    put64(seg, 0);
    put32(seg + 8, 8);
    put32(seg + 12, 1);
    uint8_t st = req(&d, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL);
    CHECK(st == VIRTIO_BLK_S_UNSUPP, "hostile: discard with unmap flag");
    put32(seg + 12, 0);
    put64(seg, cap - 4);
    CHECK(req(&d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL) == VIRTIO_BLK_S_IOERR,
          "hostile: write-zeroes segment past the end");
    CHECK(req(&d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 24, false, NULL) == VIRTIO_BLK_S_IOERR,
          "hostile: write-zeroes payload not whole segments");

    /* Short header: 8 readable bytes. */
    *(uint8_t *)gmem_ptr(&f.mem, VD_BUF, 1) = 0xff;
    struct vd_seg s1[2] = {{VD_BUF + 0x100, 8, false}, {VD_BUF, 1, true}};
    vd_submit(&d, s1, 2);
    uint32_t len = 99;
    CHECK(vd_wait(&d, &len), "hostile: short header returned");
    CHECK(*(uint8_t *)gmem_ptr(&f.mem, VD_BUF, 1) == VIRTIO_BLK_S_IOERR && len == 1,
          "hostile: short header is IOERR");
    /* No writable byte at all: given back untouched, length 0. */
    struct vd_seg s2[1] = {{VD_BUF + 0x100, 16, false}};
    vd_submit(&d, s2, 1);
    CHECK(vd_wait(&d, &len) && len == 0, "hostile: no status byte, returned with length 0");
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET), "hostile: requests do not break the device");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK,
             "hostile: still serving afterwards");
    fake_env_fini(&f);
}

/* A broken ring: DEVICE_NEEDS_RESET, a configuration interrupt, the VM
 * untouched; after a reset the driver starts over. */
static void test_needs_reset(void)
{
    struct fake_env f;
    struct vd d;
    setup(&f, &d, path, false);
    vd_msix_setup(&d, 2, 0x60);
    CHECK(vd_init_modern(&d, ALL_FEATURES, 1) & VIRTIO_STATUS_DRIVER_OK, "reset: init");
    int msi0 = vd_nmsi(&f);
    vd_post_head(&d, 999);        /* a head past the queue size */
    CHECK(vd_wait_status(&d, VIRTIO_STATUS_NEEDS_RESET), "reset: NEEDS_RESET set");
    CHECK(vd_wait_msi(&f, msi0) && f.msi_data[vd_nmsi(&f) - 1] == 0x60,
          "reset: configuration vector 0 sent");
    CHECK(f.nexits == 0, "reset: the VM keeps running");
    CHECK(f.nlogs > 0, "reset: one log line says why");
    CHECK(vd_init_modern(&d, ALL_FEATURES, 1) & VIRTIO_STATUS_DRIVER_OK, "reset: re-init");
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET), "reset: cleared by reset");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK, "reset: I/O again");
    /* Rings outside RAM at enable: NEEDS_RESET, not a crash. */
    vd_set_status(&d, 0);
    vd_set_status(&d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd_mw(&d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    vd_mw(&d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, 0xfff0000000ull);
    vd_mw(&d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    CHECK(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET, "reset: rings outside RAM");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0, "reset: queue not enabled");
    vd_mw(&d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 7);
    vd_mw(&d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    vd_mw(&d, VIRTIO_PCI_NOTIFY_OFF + 4 * 7, 2, 7);
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0, "reset: absent queue reads size 0");
    fake_env_fini(&f);
}

/* A second "vCPU" hammering the device while the first resets it with
 * requests in flight: kicks (good and bad queue indices, both
 * interfaces), ISR reads, MSI-X function and vector masking. Nothing may
 * crash, hang or race (run it under ASan and TSan); afterwards the device
 * still serves. */
struct hammer {
    struct vd *d;
    unsigned msix_cap;
    atomic_bool stop;
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    for (unsigned i = 0; !atomic_load(&h->stop); i++) {
        vd_mw(h->d, VIRTIO_PCI_NOTIFY_OFF + 4 * (i % 3), 2, i % 3);
        vd_iw(h->d, VIRTIO_PCI_LEG_QUEUE_NOTIFY, 2, i % 2);
        vd_mr(h->d, VIRTIO_PCI_ISR_OFF, 1);
        vd_cfg_w(h->d, h->msix_cap + 2, 2, 0x8000 | (i & 1 ? 0x4000 : 0));
        vd_mw(h->d, VIRTIO_PCI_MSIX_TABLE_OFF + 12 + 16 * (i % 2), 4, (i >> 1) & 1);
        vd_mr(h->d, VIRTIO_PCI_MSIX_PBA_OFF, 8);
    }
    return NULL;
}

static void test_reset_in_flight(void)
{
    struct fake_env f;
    struct vd d;
    setup(&f, &d, path, false);
    vd_msix_setup(&d, 2, 0x70);
    struct hammer h = {.d = &d, .msix_cap = vd_find_cap(&d, PCI_CAP_ID_MSIX, -1)};
    atomic_init(&h.stop, false);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, hammer_thread, &h), 0, "race: hammer thread");
    for (int round = 0; round < 40; round++) {
        if (!(vd_init_modern(&d, ALL_FEATURES, 1) & VIRTIO_STATUS_DRIVER_OK))
            continue;
        uint8_t *hdr = gmem_ptr(&f.mem, VD_BUF + 0x100, 16);
        memset(hdr, 0, 16);                     /* T_IN of sector 0 */
        for (int i = 0; i < 8; i++) {
            struct vd_seg c[3] = {{VD_BUF + 0x100, 16, false},
                                  {VD_BUF + 0x1000 + 0x1000ull * i, 4096, true},
                                  {VD_BUF + i, 1, true}};
            vd_submit(&d, c, 3);
        }
        if (round & 1)
            vd_mw(&d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, 0x40);   /* ignored: queue enabled */
        vd_set_status(&d, 0);                   /* reset with requests in flight */
    }
    atomic_store(&h.stop, true);
    pthread_join(t, NULL);
    vd_cfg_w(&d, h.msix_cap + 2, 2, 0x8000);
    for (unsigned v = 0; v < 2; v++)
        vd_mw(&d, VIRTIO_PCI_MSIX_TABLE_OFF + 12 + 16 * v, 4, 0);
    CHECK(vd_init_modern(&d, ALL_FEATURES, 1) & VIRTIO_STATUS_DRIVER_OK, "race: init after");
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET), "race: no stale NEEDS_RESET");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK, "race: serves after");
    /* Torn down with requests queued and kicked. */
    for (int i = 0; i < 8; i++) {
        struct vd_seg c[3] = {{VD_BUF + 0x100, 16, false}, {VD_BUF + 0x1000, 4096, true},
                              {VD_BUF, 1, true}};
        vd_submit(&d, c, 3);
    }
    fake_env_fini(&f);
}

/* Every offset and size of both BARs and of configuration space, read
 * and written with junk (a live queue first, so the junk meets running
 * workers): nothing may crash (run under ASan), stop the VM or wedge. */
static void test_sweep(bool msix_off)
{
    struct fake_env f;
    struct vd d;
    setup(&f, &d, path, msix_off);
    f.log_level = HK_LOG_ERROR;                 /* BAR overlap warnings */
    if (!msix_off)
        vd_msix_setup(&d, 2, 0x80);
    CHECK(vd_init_modern(&d, ALL_FEATURES, msix_off ? VIRTIO_NO_VECTOR : 1) &
              VIRTIO_STATUS_DRIVER_OK,
          "sweep: init");
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint64_t off = 0; off < VIRTIO_PCI_MODERN_BAR_SIZE; off++) {
        for (unsigned size = 1; size <= 8; size <<= 1) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            vd_mr(&d, off, size);
            /* No status junk: a reset would stop the queue the rest of
             * the junk should meet. */
            if (off != VIRTIO_PCI_COMMON_STATUS)
                vd_mw(&d, off, size, x >> (off & 7));
        }
    }
    for (uint64_t off = 0; off < 128; off++)
        for (unsigned size = 1; size <= 4; size <<= 1) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            vd_ir(&d, off, size);
            vd_iw(&d, off, size, x >> 13);
        }
    for (unsigned off = 0; off < 256; off++)
        for (unsigned size = 1; size <= 4; size <<= 1) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            vd_cfg(&d, off, size);
            vd_cfg_w(&d, off, size, (uint32_t)(x >> 17));
        }
    CHECK_EQ(f.nexits, 0, "sweep: the VM keeps running");
    /* Back to a clean state: map again and serve. */
    vd_cfg_w(&d, PCI_COMMAND, 2, 0);
    vd_map(&d, VD_MEM_BASE);
    unsigned c = vd_find_cap(&d, msix_off ? PCI_CAP_ID_MSI : PCI_CAP_ID_MSIX, -1);
    vd_cfg_w(&d, c + 2, 2, 0);
    CHECK(vd_init_modern(&d, ALL_FEATURES, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK,
          "sweep: init after");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK, "sweep: serves after");
    fake_env_fini(&f);
}

/* What the guest can repeat at will (BARs onto another device, broken
 * rings) logs a bounded number of lines, not one per attempt. */
static void test_log_flood(void)
{
    struct fake_env f;
    struct vd d;
    setup(&f, &d, path, false);
    static const struct io_ops none = {0};
    CHECK_EQ(iobus_register(&f.mmio, 0xd0000000u, 0x1000, &none, NULL, "other"), 0,
             "flood: another device");
    int logs0 = f.nlogs;
    for (int i = 0; i < 50; i++) {
        vd_cfg_w(&d, PCI_BAR0 + 4 * VIRTIO_PCI_MODERN_BAR, 4, 0xd0000000u);
        vd_cfg_w(&d, PCI_BAR0 + 4 * VIRTIO_PCI_MODERN_BAR, 4, (uint32_t)VD_MEM_BASE);
    }
    for (int i = 0; i < 50; i++) {
        CHECK(vd_init_modern(&d, ALL_FEATURES, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK,
              "flood: init");
        vd_post_head(&d, 999);
        CHECK(vd_wait_status(&d, VIRTIO_STATUS_NEEDS_RESET), "flood: NEEDS_RESET");
    }
    CHECK(f.nlogs - logs0 > 0 && f.nlogs - logs0 <= 8, "flood: a bounded number of log lines");
    CHECK(strstr(f.last_log, "not logged") != NULL, "flood: the last line says so");
    fake_env_fini(&f);
}

/* The legacy interface with INTx: ISR read-to-clear lowers the line. */
static void test_legacy_intx(void)
{
    struct fake_env f;
    struct vd d;
    setup(&f, &d, path, false);
    int gsi = pci_intx_gsi(SLOT, 1);
    CHECK(vd_init_legacy(&d, ~0u) & VIRTIO_STATUS_DRIVER_OK, "legacy: init");
    CHECK_EQ(d.qsize, 256, "legacy: queue size");
    CHECK_EQ(vd_ir(&d, 20, 4), DISK_BYTES / 512,
             "legacy: capacity at offset 20 without MSI-X");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, 16, 1024, true, NULL), VIRTIO_BLK_S_OK, "legacy: read");
    uint8_t host[1024];
    file_read(16 * 512, host, sizeof(host));
    CHECK(memcmp(host, data(&d), sizeof(host)) == 0, "legacy: read matches");
    CHECK(vd_wait_level(&f, gsi), "legacy: INTx asserted");
    CHECK_EQ(vd_ir(&d, VIRTIO_PCI_LEG_ISR, 1), 1, "legacy: ISR queue bit");
    CHECK(!fake_env_level(&f, gsi), "legacy: ISR read lowered INTx");
    CHECK_EQ(vd_ir(&d, VIRTIO_PCI_LEG_ISR, 1), 0, "legacy: ISR cleared by the read");
    CHECK_EQ(vd_nmsi(&f), 0, "legacy: no MSI without MSI-X enabled");
    fake_env_fini(&f);
}

static void test_readonly(void)
{
    struct fake_env f;
    struct vd d;
    char conf[128];
    snprintf(conf, sizeof(conf), "%s,ro", path);
    setup(&f, &d, conf, false);
    CHECK(vd_features(&d) >> F_RO & 1, "ro: VIRTIO_BLK_F_RO offered");
    CHECK(!(vd_features(&d) >> F_DISCARD & 1), "ro: no discard");
    CHECK(vd_init_modern(&d, ALL_FEATURES, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "ro: init");
    uint8_t before[512], after[512];
    file_read(0, before, sizeof(before));
    memset(data(&d), 0xee, 512);
    CHECK_EQ(req(&d, VIRTIO_BLK_T_OUT, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR,
             "ro: write refused");
    file_read(0, after, sizeof(after));
    CHECK(memcmp(before, after, sizeof(after)) == 0, "ro: file unchanged");
    CHECK_EQ(req(&d, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK, "ro: read works");
    fake_env_fini(&f);
}

static void test_bar_move(void)
{
    struct fake_env f;
    struct vd d;
    setup(&f, &d, path, false);
    uint64_t v;
    CHECK(iobus_access(&f.mmio, VD_MEM_BASE + VIRTIO_PCI_COMMON_NUMQ, 2, false, &v) && v == 1,
          "bar: decodes at the first address");
    vd_cfg_w(&d, PCI_BAR0 + 16, 4, 0xd0000000u);
    CHECK(!iobus_access(&f.mmio, VD_MEM_BASE + VIRTIO_PCI_COMMON_NUMQ, 2, false, &v),
          "bar: old address released");
    CHECK(iobus_access(&f.mmio, 0xd0000000u + VIRTIO_PCI_COMMON_NUMQ, 2, false, &v) && v == 1,
          "bar: decodes at the new address");
    vd_cfg_w(&d, PCI_COMMAND, 2, 0);
    CHECK(!iobus_access(&f.mmio, 0xd0000000u + VIRTIO_PCI_COMMON_NUMQ, 2, false, &v) &&
              !iobus_access(&f.pio, VD_IO_BASE, 4, false, &v),
          "bar: decoding off releases both");
    vd_cfg_w(&d, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM);
    /* The PCI configuration access capability reaches the same registers. */
    unsigned c = vd_find_cap(&d, PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_PCI_CFG);
    vd_cfg_w(&d, c + 4, 1, VIRTIO_PCI_MODERN_BAR);
    vd_cfg_w(&d, c + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
    vd_cfg_w(&d, c + 12, 4, 2);
    CHECK_EQ(vd_cfg(&d, c + 16, 4) & 0xffff, 1, "bar: num_queues through the cfg window");
    fake_env_fini(&f);
}

static void test_conf(void)
{
    struct vblk_conf c;
    char err[256];
    CHECK(vblk_conf_parse("/a.img", &c, err, sizeof(err)) == 0 && strcmp(c.path, "/a.img") == 0 &&
              !c.opts.readonly && c.sector_size == 512,
          "conf: plain path");
    vblk_conf_free(&c);
    CHECK(vblk_conf_parse("/a.img,ro,sync,sectorsize=4096/8192", &c, err, sizeof(err)) == 0 &&
              c.opts.readonly && c.opts.sync && c.sector_size == 4096 && c.phys_sector_size == 8192,
          "conf: ro, sync, sectorsize L/P");
    vblk_conf_free(&c);
    CHECK(vblk_conf_parse("file:///d/Docker.qcow2?sync=os&buffered=1,format=qcow,"
                          "qcow-config=discard=false;compact_after_unmaps=262144;keep_erased=262144",
                          &c, err, sizeof(err)) == 0 &&
              strcmp(c.path, "/d/Docker.qcow2") == 0 && c.opts.format == BLK_FORMAT_QCOW2 &&
              !c.opts.discard && !c.opts.direct,
          "conf: the Go package's file:// form");
    vblk_conf_free(&c);
    CHECK(vblk_conf_parse("file://x.img?sync=&buffered=0", &c, err, sizeof(err)) == 0 &&
              c.opts.direct,
          "conf: buffered=0 is direct");
    vblk_conf_free(&c);
    CHECK(vblk_conf_parse("/a,sectorsize=1000", &c, err, sizeof(err)) == HK_EINVAL &&
              strstr(err, "sectorsize"),
          "conf: sectorsize not a power of two");
    CHECK(vblk_conf_parse("/a,sectorsize=4096/512", &c, err, sizeof(err)) == HK_EINVAL,
          "conf: physical below logical");
    CHECK(vblk_conf_parse("/a,bogus", &c, err, sizeof(err)) == HK_EINVAL, "conf: bad word");
    CHECK(vblk_conf_parse("", &c, err, sizeof(err)) == HK_EINVAL, "conf: empty");
    CHECK(vblk_conf_parse(NULL, &c, err, sizeof(err)) == HK_EINVAL, "conf: none");
    CHECK(vblk_conf_parse("file://x?sync=sometimes", &c, err, sizeof(err)) == HK_EINVAL,
          "conf: bad sync mode");
    CHECK(vblk_conf_parse("/a,qcow-config=discard", &c, err, sizeof(err)) == HK_EINVAL,
          "conf: qcow-config without a value");
    CHECK(vblk_conf_parse("/a,nocache", &c, err, sizeof(err)) == HK_ENOTSUP, "conf: nocache");
    char e2[256] = "";
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct pci_bus *bus;
    pci_create(&f.env, &bus);
    void *p = NULL;
    virtio_blk_parse("/nonexistent/hk.img", &p, e2, sizeof(e2));
    CHECK(virtio_blk_create(&f.env, bus, 5, 0, p, e2, sizeof(e2)) != 0 && e2[0] &&
              !strchr(e2, '\n'),
          "conf: missing file is one line");
    virtio_blk_free(p);
    fake_env_fini(&f);
}

int main(void)
{
    make_image();
    test_conf();
    test_modern();
    test_hostile();
    test_needs_reset();
    test_reset_in_flight();
    test_sweep(false);
    test_sweep(true);
    test_log_flood();
    test_legacy_intx();
    test_readonly();
    test_bar_move();
    unlink(path);
    TEST_EXIT();
}
