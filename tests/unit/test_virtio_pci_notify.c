/*
 * Queue notifications as engine eventfds (virtio_pci_notify.c), against
 * a fake engine that keeps KVM_IOEVENTFD's rules: a registration is
 * (address, length, space, match); the same one twice is refused; a
 * removal must name it exactly, eventfd included. A "guest write" goes to
 * a matching registration's eventfd, or else exits to the bus, as KVM
 * does. Checked: registrations follow the BARs as the guest places, moves
 * and disables them; kicks through the eventfd alone drive both kinds of
 * queue; writes that do not match, refused registrations and engines
 * without ioeventfds keep the exit path; everything is removed, with its
 * eventfd still open, when the device goes.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/virtio_pci.h"
#include "test.h"
#include "virtio_driver.h"

#define SLOT 5
#define SLOT2 6
#define MAXREG 64
#define MOVED_BASE 0xd0000000ull

/* --- The fake engine --------------------------------------------------------------- */

static struct {
    pthread_mutex_t lock;
    struct dev_ioeventfd reg[MAXREG];
    int n;                       /* active registrations */
    int calls;                   /* every assign or removal asked */
    int bad_removals;            /* not registered, or its eventfd already closed */
    int fail_next;               /* 0, or the code the next assign returns */
    bool unsupported;            /* every call returns HK_ENOTSUP */
} eng = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool same_write(const struct dev_ioeventfd *a, const struct dev_ioeventfd *b)
{
    return a->addr == b->addr && a->len == b->len && a->pio == b->pio && a->match == b->match &&
           (!a->match || a->data == b->data);
}

static int eng_find(const struct dev_ioeventfd *e, bool with_fd)
{
    for (int i = 0; i < eng.n; i++)
        if (same_write(&eng.reg[i], e) && (!with_fd || eng.reg[i].fd == e->fd))
            return i;
    return -1;
}

static int eng_ioeventfd(void *ctx, const struct dev_ioeventfd *e, bool assign)
{
    pthread_mutex_lock(&eng.lock);
    eng.calls++;
    int r = HK_OK;
    if (eng.unsupported) {
        r = HK_ENOTSUP;
    } else if (assign) {
        if (eng.fail_next) {
            r = eng.fail_next;
            eng.fail_next = 0;
        } else if (eng_find(e, false) >= 0) {
            r = HK_EEXIST;
        } else if (eng.n == MAXREG || fcntl(e->fd, F_GETFD) < 0) {
            r = HK_EINVAL;
        } else {
            eng.reg[eng.n++] = *e;
        }
    } else {
        int i = eng_find(e, true);
        if (i < 0 || fcntl(e->fd, F_GETFD) < 0) {
            eng.bad_removals++;
            r = HK_ENOENT;
        } else {
            eng.reg[i] = eng.reg[--eng.n];
        }
    }
    pthread_mutex_unlock(&eng.lock);
    return r;
}

static int eng_count(void)
{
    pthread_mutex_lock(&eng.lock);
    int n = eng.n;
    pthread_mutex_unlock(&eng.lock);
    return n;
}

/* Whether this exact write is registered (and the eventfd it signals). */
static bool eng_has(uint64_t addr, bool pio, bool match, uint64_t data, int *fd)
{
    struct dev_ioeventfd e = {.addr = addr, .len = 2, .pio = pio, .match = match, .data = data};
    pthread_mutex_lock(&eng.lock);
    int i = eng_find(&e, false);
    if (i >= 0 && fd)
        *fd = eng.reg[i].fd;
    pthread_mutex_unlock(&eng.lock);
    return i >= 0;
}

/* A guest write as the engine sees it: a registration that matches takes
 * it (its eventfd is signalled, no exit), else it exits to the bus.
 * Returns whether it exited. */
static bool guest_write(struct fake_env *f, uint64_t addr, unsigned len, bool pio, uint64_t v)
{
    pthread_mutex_lock(&eng.lock);
    int fd = -1;
    for (int i = 0; i < eng.n && fd < 0; i++) {
        const struct dev_ioeventfd *r = &eng.reg[i];
        if (r->addr == addr && r->len == len && r->pio == pio && (!r->match || r->data == v))
            fd = r->fd;
    }
    pthread_mutex_unlock(&eng.lock);
    if (fd >= 0) {
        uint64_t one = 1;
        return write(fd, &one, sizeof(one)) != sizeof(one);
    }
    iobus_access(pio ? &f->pio : &f->mmio, addr, len, true, &v);
    return true;
}

/* --- A two-queue device: queue 0 answered by handle, queue 1 device-driven -------- */

static atomic_int handled, dd_kicks;

static uint64_t nd_features(void *o) { return 0; }
static void nd_config_read(void *o, unsigned off, void *buf, unsigned len) { memset(buf, 0, len); }
static int nd_handle(void *o, int q, struct virtq_chain *c, uint32_t *written)
{
    atomic_fetch_add(&handled, 1);
    *written = 0;
    return 0;
}
static void nd_kick(void *o, int q) { atomic_fetch_add(&dd_kicks, 1); }

static const struct virtio_dev_ops nd_ops = {
    .features = nd_features, .config_read = nd_config_read, .handle = nd_handle, .kick = nd_kick};

static bool wait_count(atomic_int *c, int n)
{
    for (int i = 0; i < 60000 && atomic_load(c) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(c) >= n;
}

/* A one-segment readable chain on queue 0 without a kick. */
static void post_quiet(struct vd *d)
{
    struct vd_seg seg = {VD_BUF, 16, false};
    vd_submit_quiet(d, &seg, 1);
}

/* Queue 1 enabled (modern registers) so its kicks reach ops->kick. */
static void enable_queue1(struct vd *d)
{
    vd_mw(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, VD_RING + 0x8000);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, VD_RING + 0x9000);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_USEDLO, 8, VD_RING + 0xa000);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

static uint64_t modern_notify(uint64_t base, int q)
{
    return base + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;
}

static void set_mem64_bar(struct vd *d, uint64_t a)
{
    vd_cfg_w(d, PCI_BAR0 + 4 * VIRTIO_PCI_MODERN_BAR, 4, (uint32_t)a);
    vd_cfg_w(d, PCI_BAR0 + 4 * VIRTIO_PCI_MODERN_BAR + 4, 4, (uint32_t)(a >> 32));
}

static void test_registrations(struct fake_env *f, struct vd *d, struct virtio_pci *vp)
{
    CHECK_EQ(eng_count(), 0, "notify: nothing registered before the BARs are placed");
    vd_map(d, VD_MEM_BASE);
    CHECK_EQ(eng_count(), 4, "notify: two queues x (modern, legacy) registered");
    int fd0 = -1, fd1 = -1, lfd0 = -1, lfd1 = -1;
    CHECK(eng_has(modern_notify(VD_MEM_BASE, 0), false, false, 0, &fd0) &&
              eng_has(modern_notify(VD_MEM_BASE, 1), false, false, 0, &fd1),
          "notify: modern notify addresses, 2 bytes, any value");
    CHECK(eng_has(VD_IO_BASE + VIRTIO_PCI_LEG_QUEUE_NOTIFY, true, true, 0, &lfd0) &&
              eng_has(VD_IO_BASE + VIRTIO_PCI_LEG_QUEUE_NOTIFY, true, true, 1, &lfd1),
          "notify: legacy port, the queue index as the value");
    CHECK(fd0 >= 0 && fd1 >= 0 && fd0 != fd1 && fd0 == lfd0 && fd1 == lfd1,
          "notify: one eventfd per queue, shared by both interfaces");
}

static void test_kicks(struct fake_env *f, struct vd *d)
{
    CHECK(vd_init_modern(d, ~0ull, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "notify: init");
    enable_queue1(d);
    int h0 = atomic_load(&handled);
    post_quiet(d);
    CHECK(!guest_write(f, modern_notify(VD_MEM_BASE, 0), 2, false, 0),
          "notify: the modern kick does not exit");
    CHECK(vd_wait(d, NULL) && atomic_load(&handled) == h0 + 1,
          "notify: the eventfd alone runs queue 0");
    post_quiet(d);
    CHECK(guest_write(f, modern_notify(VD_MEM_BASE, 0), 4, false, 0),
          "notify: a 4-byte write does not match: it exits");
    CHECK(vd_wait(d, NULL), "notify: and the bus still kicks queue 0");
    int k0 = atomic_load(&dd_kicks);
    CHECK(!guest_write(f, modern_notify(VD_MEM_BASE, 1), 2, false, 1),
          "notify: device-driven queue kick does not exit");
    CHECK(wait_count(&dd_kicks, k0 + 1), "notify: device-driven queue gets ops->kick");

    CHECK(vd_init_legacy(d, ~0u) & VIRTIO_STATUS_DRIVER_OK, "notify: legacy init");
    CHECK_EQ(eng_count(), 4, "notify: a reset keeps the registrations (the BARs stay)");
    post_quiet(d);
    CHECK(guest_write(f, VD_IO_BASE + VIRTIO_PCI_LEG_QUEUE_NOTIFY, 2, true, 7),
          "notify: legacy kick of a queue that does not exist exits");
    CHECK(!guest_write(f, VD_IO_BASE + VIRTIO_PCI_LEG_QUEUE_NOTIFY, 2, true, 0),
          "notify: legacy kick of queue 0 does not exit");
    CHECK(vd_wait(d, NULL), "notify: the eventfd runs the legacy queue");
}

static void test_bar_moves(struct fake_env *f, struct vd *d)
{
    set_mem64_bar(d, MOVED_BASE);
    CHECK(!eng_has(modern_notify(VD_MEM_BASE, 0), false, false, 0, NULL) &&
              eng_has(modern_notify(MOVED_BASE, 0), false, false, 0, NULL) &&
              eng_has(modern_notify(MOVED_BASE, 1), false, false, 0, NULL) && eng_count() == 4,
          "notify: a BAR move takes the registrations along");
    vd_cfg_w(d, PCI_COMMAND, 2, PCI_CMD_IO | 0x4);
    CHECK(eng_count() == 2 && eng_has(VD_IO_BASE + VIRTIO_PCI_LEG_QUEUE_NOTIFY, true, true, 0, NULL),
          "notify: memory decoding off removes the modern ones only");
    vd_cfg_w(d, PCI_COMMAND, 2, 0x4);
    CHECK_EQ(eng_count(), 0, "notify: I/O decoding off removes the legacy ones");
    vd_cfg_w(d, PCI_BAR0, 4, 0x12340);
    vd_cfg_w(d, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM | 0x4);
    CHECK(eng_count() == 2 && eng_has(modern_notify(MOVED_BASE, 1), false, false, 0, NULL),
          "notify: a port BAR beyond 64 KiB gets none, the modern BAR is back");
    vd_cfg_w(d, PCI_BAR0, 4, VD_IO_BASE);
    CHECK_EQ(eng_count(), 4, "notify: the legacy BAR back in port space");

    /* The engine refuses queue 0's next registration: its write exits. */
    eng.fail_next = HK_ENOMEM;
    set_mem64_bar(d, VD_MEM_BASE);
    CHECK(eng_count() == 3 && !eng_has(modern_notify(VD_MEM_BASE, 0), false, false, 0, NULL),
          "notify: a refused registration is left out");
    vd_init_modern(d, ~0ull, VIRTIO_NO_VECTOR);
    post_quiet(d);
    CHECK(guest_write(f, modern_notify(VD_MEM_BASE, 0), 2, false, 0),
          "notify: the refused queue's kick exits");
    CHECK(vd_wait(d, NULL), "notify: and still reaches the queue");
    CHECK(f->nlogs > 0 && strstr(f->last_log, "stays an exit"), "notify: the refusal is logged");
    set_mem64_bar(d, MOVED_BASE);
    set_mem64_bar(d, VD_MEM_BASE);
    CHECK_EQ(eng_count(), 4, "notify: the next placement registers it again");
}

/* A second device placed over the first: the bus refuses, so no
 * registration either. A write someone else registered: EEXIST, that
 * queue keeps exiting. */
static void test_overlap(struct fake_env *f, struct pci_bus *bus, const struct virtio_dev_info *info)
{
    struct virtio_pci *vp2 = NULL;
    struct virtio_pci_params pp = {.bus = bus, .slot = SLOT2};
    CHECK_EQ(virtio_pci_create(&f->env, &pp, info, &vp2), 0, "notify: second device");
    struct vd d2 = {.f = f, .bus = bus, .slot = SLOT2};
    vd_map(&d2, VD_MEM_BASE);
    CHECK_EQ(eng_count(), 4, "notify: a BAR over another device's registers nothing");
    set_mem64_bar(&d2, VD_MEM_BASE + VIRTIO_PCI_MODERN_BAR_SIZE);
    vd_cfg_w(&d2, PCI_BAR0, 4, VD_IO_BASE + 0x100);
    CHECK_EQ(eng_count(), 8, "notify: placed apart, it registers its own");
    virtio_pci_destroy(vp2);
    CHECK_EQ(eng_count(), 4, "notify: the second device's go with it");
    /* Someone else holds queue 1's write at the next place. */
    struct dev_ioeventfd squat = {.addr = modern_notify(MOVED_BASE, 1), .len = 2,
                                  .fd = eventfd(0, EFD_CLOEXEC)};
    CHECK_EQ(eng_ioeventfd(NULL, &squat, true), 0, "notify: a foreign registration");
    struct vd d1 = {.f = f, .bus = bus, .slot = SLOT};
    set_mem64_bar(&d1, MOVED_BASE);
    CHECK(eng_count() == 4 && eng_has(modern_notify(MOVED_BASE, 0), false, false, 0, NULL),
          "notify: EEXIST on one queue, the other registered");
    CHECK_EQ(eng_ioeventfd(NULL, &squat, false), 0, "notify: foreign one removed");
    close(squat.fd);
    set_mem64_bar(&d1, VD_MEM_BASE);
    CHECK_EQ(eng_count(), 4, "notify: back to the usual four");
}

static void test_unsupported(struct fake_env *f, struct vd *d)
{
    struct virtio_dev_info info = {.name = "nd", .device_type = VIRTIO_ID_NET,
                                   .legacy_id = 0x1000, .pci_class = 0x020000, .nqueues = 2,
                                   .queue_size = 16, .ops = &nd_ops, .device_driven_mask = 2};
    struct virtio_pci *vp = NULL;
    struct virtio_pci_params pp = {.bus = d->bus, .slot = SLOT2};
    CHECK_EQ(virtio_pci_create(&f->env, &pp, &info, &vp), 0, "notify: device on a plain engine");
    eng.unsupported = true;
    int calls = eng.calls;
    struct vd d2 = {.f = f, .bus = d->bus, .slot = SLOT2};
    vd_map(&d2, VD_MEM_BASE + VIRTIO_PCI_MODERN_BAR_SIZE);
    set_mem64_bar(&d2, VD_MEM_BASE + 2 * VIRTIO_PCI_MODERN_BAR_SIZE);
    CHECK_EQ(eng.calls, calls + 1, "notify: HK_ENOTSUP once, then never asked again");
    CHECK_EQ(eng_count(), 4, "notify: the plain engine's device registered nothing");
    virtio_pci_destroy(vp);
    eng.unsupported = false;
}

int main(void)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct dev_env_ops ops = *f.env.ops;
    ops.ioeventfd = eng_ioeventfd;
    f.env.ops = &ops;
    struct vd d = {.f = &f, .slot = SLOT};
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "notify: bus");
    struct virtio_dev_info info = {.name = "nd", .device_type = VIRTIO_ID_NET,
                                   .legacy_id = 0x1000, .pci_class = 0x020000, .nqueues = 2,
                                   .queue_size = 16, .ops = &nd_ops, .device_driven_mask = 2};
    struct virtio_pci_params pp = {.bus = d.bus, .slot = SLOT};
    struct virtio_pci *vp = NULL;
    CHECK_EQ(virtio_pci_create(&f.env, &pp, &info, &vp), 0, "notify: created");

    test_registrations(&f, &d, vp);
    test_kicks(&f, &d);
    test_bar_moves(&f, &d);
    test_overlap(&f, d.bus, &info);
    test_unsupported(&f, &d);

    virtio_pci_destroy(vp);
    CHECK_EQ(eng_count(), 0, "notify: destroy removes every registration");
    CHECK_EQ(eng.bad_removals, 0, "notify: every removal exact, its eventfd still open");
    fake_env_fini(&f);
    TEST_EXIT();
}
