/*
 * virtio-rnd driven as a guest driver would, with -W (single-vector MSI
 * instead of MSI-X): buffers come back filled, the MSI goes out, and the
 * option check refuses options.
 */
#include "devices/virtio/virtio_rnd.h"
#include "test.h"
#include "virtio_driver.h"

#define SLOT 6

static void test_rnd(bool msix_off)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    f.env.virtio_msix_off = msix_off;
    struct vd d = {.f = &f, .slot = SLOT};
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "rnd: bus");
    char err[128];
    void *p = NULL;
    CHECK_EQ(virtio_rnd_parse(NULL, &p, err, sizeof(err)), 0, "rnd: no options");
    CHECK_EQ(virtio_rnd_create(&f.env, d.bus, SLOT, 0, p, err, sizeof(err)), 0, "rnd: created");
    CHECK_EQ(vd_cfg(&d, PCI_DEVICE_ID, 2), 0x1005, "rnd: transitional id");
    CHECK_EQ(vd_cfg(&d, PCI_SUBSYS_ID, 2), VIRTIO_ID_RNG, "rnd: subsystem id");
    CHECK((vd_find_cap(&d, PCI_CAP_ID_MSIX, -1) != 0) == !msix_off, "rnd: MSI-X unless -W");
    unsigned msi = vd_find_cap(&d, PCI_CAP_ID_MSI, -1);
    CHECK((msi != 0) == msix_off, "rnd: MSI with -W");
    vd_map(&d, VD_MEM_BASE);
    if (msix_off) {
        vd_cfg_w(&d, msi + 4, 4, 0xfee00000u);
        vd_cfg_w(&d, msi + 8, 4, 0);
        vd_cfg_w(&d, msi + 12, 2, 0x55);
        vd_cfg_w(&d, msi + 2, 2, 1);
    }
    CHECK(vd_init_modern(&d, ~0ull, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "rnd: init");
    CHECK_EQ(d.qsize, 64, "rnd: queue size");
    uint8_t *buf = gmem_ptr(&f.mem, VD_BUF, 4096);
    memset(buf, 0, 4096);
    struct vd_seg s[2] = {{VD_BUF, 1000, true}, {VD_BUF + 2048, 2000, true}};
    vd_submit(&d, s, 2);
    uint32_t len = 0;
    CHECK(vd_wait(&d, &len), "rnd: request returned");
    CHECK_EQ(len, 3000, "rnd: every byte filled");
    int zeros = 0;
    for (int i = 0; i < 1000; i++)
        zeros += buf[i] == 0;
    CHECK(zeros < 30 && buf[1000] == 0 && buf[2047] == 0, "rnd: random bytes, only in the buffers");
    if (msix_off)
        CHECK(vd_wait_msi(&f, 0) && vd_nmsi(&f) == 1 && f.msi_data[0] == 0x55 && f.msi_addr[0] == 0xfee00000u,
              "rnd: the single MSI vector sent");
    else
        CHECK(vd_wait_level(&f, pci_intx_gsi(SLOT, 1)), "rnd: INTx without MSI-X enabled");
    /* The driver switches to MSI / MSI-X with the line still up: it must
     * drop (a function using messages does not assert INTx), and come
     * back if messages are switched off before the ISR was read. */
    unsigned mcap = msix_off ? msi : vd_find_cap(&d, PCI_CAP_ID_MSIX, -1);
    unsigned on = msix_off ? 1 : 0x8000;
    if (!msix_off) {
        vd_cfg_w(&d, mcap + 2, 2, on);
        CHECK(!fake_env_level(&f, pci_intx_gsi(SLOT, 1)), "rnd: enabling MSI-X lowers INTx");
        vd_cfg_w(&d, mcap + 2, 2, 0);
        CHECK(fake_env_level(&f, pci_intx_gsi(SLOT, 1)), "rnd: disabling MSI-X: ISR still set");
    } else {
        vd_cfg_w(&d, mcap + 2, 2, 0);
        vd_mr(&d, VIRTIO_PCI_ISR_OFF, 1);
        /* EVENT_IDX: ask for an interrupt at this entry. */
        put16(gmem_ptr(&f.mem, d.avail + 4 + 2ull * d.qsize, 2), d.used_seen);
        struct vd_seg w[1] = {{VD_BUF, 16, true}};
        vd_submit(&d, w, 1);
        CHECK(vd_wait(&d, &len), "rnd: request without MSI");
        CHECK(fake_env_level(&f, pci_intx_gsi(SLOT, 1)), "rnd: INTx with MSI off");
        vd_cfg_w(&d, mcap + 2, 2, on);
        CHECK(!fake_env_level(&f, pci_intx_gsi(SLOT, 1)), "rnd: enabling MSI lowers INTx");
        vd_cfg_w(&d, mcap + 2, 2, 0);
        CHECK(fake_env_level(&f, pci_intx_gsi(SLOT, 1)), "rnd: disabling MSI: ISR still set");
    }
    CHECK(vd_mr(&d, VIRTIO_PCI_ISR_OFF, 1) & 1, "rnd: queue interrupt in the ISR");
    CHECK(!fake_env_level(&f, pci_intx_gsi(SLOT, 1)), "rnd: ISR read lowers INTx");
    /* A chain with only readable buffers: nothing to fill. */
    struct vd_seg r[1] = {{VD_BUF, 64, false}};
    vd_submit(&d, r, 1);
    CHECK(vd_wait(&d, &len) && len == 0, "rnd: readable-only chain returns 0 bytes");
    fake_env_fini(&f);
}

/* Creation failing after the PCI function was added (here: no room for
 * the teardown) must not leave the function on the bus with hooks that
 * point at the freed device. */
static void test_create_fails(void)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct vd d = {.f = &f, .slot = SLOT};
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "rnd fail: bus");
    int used = f.nteardowns;
    f.nteardowns = FAKE_ENV_TEARDOWNS;          /* the next add_teardown fails */
    char err[128] = "";
    CHECK(virtio_rnd_create(&f.env, d.bus, SLOT, 0, NULL, err, sizeof(err)) < 0,
          "rnd fail: creation fails");
    f.nteardowns = used;
    CHECK_EQ(vd_cfg(&d, PCI_VENDOR_ID, 2), 0xffff, "rnd fail: no function left on the bus");
    vd_cfg_w(&d, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM);   /* would call freed hooks */
    CHECK_EQ(virtio_rnd_create(&f.env, d.bus, SLOT, 0, NULL, err, sizeof(err)), 0,
             "rnd fail: the slot can be used again");
    fake_env_fini(&f);
}

int main(void)
{
    char err[128];
    void *p;
    CHECK_EQ(virtio_rnd_parse("x=1", &p, err, sizeof(err)), HK_EINVAL, "rnd: options refused");
    test_rnd(false);
    test_rnd(true);
    test_create_fails();
    TEST_EXIT();
}
