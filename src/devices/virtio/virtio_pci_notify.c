/*
 * Queue notifications without vCPU exits. Where the engine offers
 * ioeventfds (KVM_IOEVENTFD), each queue's notify write is registered to
 * signal the eventfd its worker already waits on, so a kick costs the
 * guest no trip to the VMM. Registrations follow the BARs (placed, moved,
 * disabled, device destroyed), not the device status: the notify address
 * does not change on a reset, and a kick on a reset queue finds no ring,
 * as it would through the bus.
 *
 * Everything here is best effort: a registration the engine refuses (a
 * guest that put the BAR where another registration sits, the engine's
 * limit, no support) leaves that write exiting to the bus handler, which
 * kicks the same eventfd.
 */
#include "devices/virtio/virtio_pci_priv.h"
#include "hyperkit.h"

/* Linux's drivers notify with a 16-bit write of the queue index (4.1.5.2,
 * 4.1.4.8); other widths still reach the bus handler. */
#define NOTIFY_LEN 2

/* The write that notifies queue qi through where, at a BAR at base; false
 * if it cannot be reached (a port BAR above the 64 KiB port space). */
static bool notify_write(struct virtio_pci *vp, int where, uint64_t base, int qi,
                         struct dev_ioeventfd *e)
{
    *e = (struct dev_ioeventfd){.len = NOTIFY_LEN, .fd = vp->q[qi].kick_fd};
    if (where == VP_NOTIFY_MODERN) {
        e->addr = base + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)qi * VIRTIO_PCI_NOTIFY_MULT;
        return true;
    }
    /* One port for every queue: the value written names the queue. */
    e->addr = base + VIRTIO_PCI_LEG_QUEUE_NOTIFY;
    e->pio = true;
    e->match = true;
    e->data = (uint64_t)qi;
    return base <= 0x10000 - VIRTIO_PCI_LEG_QUEUE_NOTIFY - NOTIFY_LEN;
}

void vp_notify_fds_map(struct virtio_pci *vp, int where, uint64_t base)
{
    struct dev_env *env = vp->env;
    if (vp->notify_fds_off || !env->ops->ioeventfd)
        return;
    for (int i = 0; i < vp->info.nqueues; i++) {
        struct vp_queue *q = &vp->q[i];
        struct dev_ioeventfd e;
        if (q->notify_on[where] || q->kick_fd < 0 || !notify_write(vp, where, base, i, &e))
            continue;
        int r = env->ops->ioeventfd(env->ctx, &e, true);
        if (r == HK_ENOTSUP) {
            vp->notify_fds_off = true;      /* this engine has none: stop asking */
            return;
        }
        if (r == HK_OK) {
            q->notify[where] = e;
            q->notify_on[where] = true;
        } else {
            vp_warn(vp, "queue %d notify at %s 0x%llx stays an exit: %s", i,
                    e.pio ? "port" : "address", (unsigned long long)e.addr, hk_strerror(r));
        }
    }
}

void vp_notify_fds_unmap(struct virtio_pci *vp, int where)
{
    struct dev_env *env = vp->env;
    for (int i = 0; i < vp->info.nqueues; i++) {
        struct vp_queue *q = &vp->q[i];
        if (!q->notify_on[where])
            continue;
        q->notify_on[where] = false;
        int r = env->ops->ioeventfd(env->ctx, &q->notify[where], false);
        if (r != HK_OK)
            dev_log(env, HK_LOG_WARN, "%s %02x.%x: queue %d notify at 0x%llx not removed: %s",
                    vp->info.name, vp->slot, vp->fn, i,
                    (unsigned long long)q->notify[where].addr, hk_strerror(r));
    }
}
