/*
 * Device-driven queues of the virtio PCI transport: a kick only calls
 * ops->kick; the device pops and pushes from its own thread; a batch is
 * published at once; unpop re-offers buffers; enable_kicks reports
 * buffers that arrived meanwhile; chains popped before a reset are
 * stale; nothing works before DRIVER_OK; a broken ring is NEEDS_RESET.
 */
#include <stdatomic.h>

#include "devices/virtio/virtio_pci.h"
#include "test.h"
#include "virtio_driver.h"

#define SLOT 5

static atomic_int kicks;

static uint64_t dd_features(void *o) { return 0; }
static void dd_config_read(void *o, unsigned off, void *buf, unsigned len) {}
static void dd_kick(void *o, int q) { atomic_fetch_add(&kicks, 1); }

static const struct virtio_dev_ops dd_ops = {
    .features = dd_features, .config_read = dd_config_read, .kick = dd_kick};

static bool wait_kicks(int n)
{
    for (int i = 0; i < 60000 && atomic_load(&kicks) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&kicks) >= n;
}

/* A writable buffer on the avail ring without a kick. */
static void post_quiet(struct vd *d, uint64_t gpa, uint32_t len)
{
    struct vd_seg seg = {gpa, len, true};
    vd_submit_quiet(d, &seg, 1);
}

int main(void)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct vd d = {.f = &f, .slot = SLOT};
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "dd: bus");
    struct virtio_dev_info info = {.name = "dd", .device_type = VIRTIO_ID_NET, .pci_class = 0x020000,
                                   .nqueues = 1, .queue_size = 16, .ops = &dd_ops,
                                   .device_driven_mask = 1};
    struct virtio_pci_params pp = {.bus = d.bus, .slot = SLOT};
    struct virtio_pci *vp = NULL;
    struct virtio_dev_info bad = info;
    bad.device_driven_mask = 0;          /* no handle and a driven queue */
    CHECK_EQ(virtio_pci_create(&f.env, &pp, &bad, &vp), HK_EINVAL, "dd: handle needed");
    bad.device_driven_mask = 3;          /* a queue that does not exist */
    CHECK_EQ(virtio_pci_create(&f.env, &pp, &bad, &vp), HK_EINVAL, "dd: mask checked");
    CHECK_EQ(virtio_pci_create(&f.env, &pp, &info, &vp), 0, "dd: created");
    vd_map(&d, VD_MEM_BASE);
    struct virtq_chain *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = virtio_pci_chain_new(vp);
    CHECK_EQ(virtio_pci_queue_pop(vp, 0, c[0]), 0, "dd: nothing before DRIVER_OK");
    CHECK_EQ(virtio_pci_queue_pop(vp, 1, c[0]), HK_EINVAL, "dd: queue index checked");

    CHECK(vd_init_modern(&d, ~0ull, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "dd: init");
    CHECK(wait_kicks(1), "dd: DRIVER_OK kicks the device");
    int k0 = atomic_load(&kicks);
    struct vd_seg s = {VD_BUF, 100, true};
    for (int i = 0; i < 3; i++) {
        s.gpa = VD_BUF + 4096ull * i;
        vd_submit(&d, &s, 1);
    }
    CHECK(wait_kicks(k0 + 1), "dd: a guest kick reaches ops->kick");
    CHECK_EQ(vd_used_idx(&d), 0, "dd: the kick did not consume buffers");
    for (int i = 0; i < 3; i++)
        CHECK_EQ(virtio_pci_queue_pop(vp, 0, c[i]), 1, "dd: pop");
    CHECK_EQ(virtio_pci_queue_pop(vp, 0, c[3]), 0, "dd: ring empty");
    CHECK_EQ(c[1]->nin, 1, "dd: writable buffer");
    memcpy(c[1]->iov[0].iov_base, "hello", 5);
    /* Give the last two back, take them again: the same heads. */
    uint16_t h1 = c[1]->head, h2 = c[2]->head;
    virtio_pci_queue_unpop(vp, 0, &c[1], 2);
    CHECK_EQ(virtio_pci_queue_pop(vp, 0, c[1]), 1, "dd: unpopped comes back");
    CHECK_EQ(virtio_pci_queue_pop(vp, 0, c[2]), 1, "dd: unpopped comes back (2)");
    CHECK(c[1]->head == h1 && c[2]->head == h2, "dd: same heads after unpop");
    uint32_t w[3] = {10, 20, 30};
    CHECK_EQ(virtio_pci_queue_push_n(vp, 0, c, w, 3), 0, "dd: push three");
    CHECK_EQ(vd_used_idx(&d), 3, "dd: published together");
    uint32_t len;
    CHECK(vd_wait(&d, &len) && len == 10, "dd: first length");
    CHECK(vd_wait(&d, &len) && len == 20, "dd: second length");
    CHECK(vd_wait(&d, &len) && len == 30, "dd: third length");
    CHECK_EQ(virtio_pci_queue_push(vp, 0, c[0], 5), 0, "dd: pushing twice is ignored");
    CHECK_EQ(vd_used_idx(&d), 3, "dd: no double push");

    /* Kicks back on with nothing waiting, then a buffer without a kick. */
    CHECK(!virtio_pci_queue_enable_kicks(vp, 0, true), "dd: nothing arrived");
    post_quiet(&d, VD_BUF, 64);
    CHECK(virtio_pci_queue_enable_kicks(vp, 0, true), "dd: buffer arrived meanwhile");
    CHECK_EQ(virtio_pci_queue_pop(vp, 0, c[0]), 1, "dd: and it pops");

    /* Reset with c[0] in flight: the pushed stale chain goes nowhere. */
    CHECK(vd_init_modern(&d, ~0ull, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "dd: re-init");
    CHECK_EQ(virtio_pci_queue_push(vp, 0, c[0], 7), 0, "dd: stale push");
    CHECK_EQ(vd_used_idx(&d), 0, "dd: stale chain not in the new ring");
    vd_set_status(&d, 0);
    post_quiet(&d, VD_BUF, 64);
    CHECK_EQ(virtio_pci_queue_pop(vp, 0, c[0]), 0, "dd: nothing after reset");
    CHECK(!virtio_pci_queue_enable_kicks(vp, 0, true), "dd: no kicks after reset");

    /* A hostile avail entry: NEEDS_RESET, then the queue is dead. */
    CHECK(vd_init_modern(&d, ~0ull, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "dd: re-init 2");
    vd_post_head(&d, 999);
    CHECK_EQ(virtio_pci_queue_pop(vp, 0, c[0]), HK_EGUEST, "dd: bad head");
    CHECK(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET, "dd: needs reset");
    CHECK_EQ(virtio_pci_queue_pop(vp, 0, c[0]), 0, "dd: dead after NEEDS_RESET");

    for (int i = 0; i < 4; i++)
        free(c[i]);
    virtio_pci_destroy(vp);
    fake_env_fini(&f);
    TEST_EXIT();
}
