/*
 * Queue workers and interrupts of the virtio PCI transport. A kick only
 * sets a flag and signals the queue's worker; the worker pops chains,
 * hands them to the device, pushes them back and interrupts the driver
 * when it asked to be (virtq_should_notify).
 */
#include <stdlib.h>

#include "devices/virtio/virtio_pci_priv.h"
#include "hyperkit.h"

uint8_t vp_isr_read(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->irq_lock);
    uint8_t v = vp->isr;
    vp->isr = 0;
    pci_set_intx(vp->func, false);
    pthread_mutex_unlock(&vp->irq_lock);
    return v;
}

void vp_interrupt(struct virtio_pci *vp, uint8_t isr_bit, uint16_t vector)
{
    pthread_mutex_lock(&vp->irq_lock);
    if (vp->use_msix && msix_enabled(&vp->msix)) {
        /* With MSI-X the ISR is unused (4.1.4.5); no vector: no interrupt. */
        if (vector != VIRTIO_NO_VECTOR)
            msix_notify(&vp->msix, vector);
    } else {
        vp->isr |= isr_bit;
        if (vp->use_msix || !msi_notify(&vp->msi))
            pci_set_intx(vp->func, true);
    }
    pthread_mutex_unlock(&vp->irq_lock);
}

static uint16_t config_vector(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->irq_lock);
    uint16_t v = vp->config_vector;
    pthread_mutex_unlock(&vp->irq_lock);
    return v;
}

void vp_set_needs_reset(struct virtio_pci *vp, const char *why)
{
    if (atomic_exchange(&vp->needs_reset, true))
        return;
    dev_log(vp->env, HK_LOG_WARN, "%s %02x.%x: %s: device needs reset", vp->info.name,
            vp->slot, vp->fn, why);
    vp_interrupt(vp, 2, config_vector(vp));
}

static uint16_t queue_vector(struct vp_queue *q)
{
    pthread_mutex_lock(&q->vp->irq_lock);
    uint16_t v = q->vector;
    pthread_mutex_unlock(&q->vp->irq_lock);
    return v;
}

/* Pop, handle and push until the ring is empty (qlock held). Returns 0,
 * or HK_EGUEST with why set. */
static int drain(struct vp_queue *q, const char **why)
{
    struct virtio_pci *vp = q->vp;
    for (;;) {
        virtq_enable_kicks(&q->vq, false);
        int r;
        while ((r = virtq_pop(&q->vq, q->chain)) == 1) {
            uint32_t written = 0;
            if (vp->info.ops->handle(vp->info.opaque, q->index, q->chain, &written) < 0) {
                *why = "malformed request";
                return HK_EGUEST;
            }
            if (virtq_push(&q->vq, q->chain->head, written) < 0) {
                *why = "used ring outside RAM";
                return HK_EGUEST;
            }
            if (virtq_should_notify(&q->vq))
                vp_interrupt(vp, 1, queue_vector(q));
            if (atomic_load(&vp->needs_reset))
                return HK_OK;
        }
        if (r < 0) {
            *why = "malformed ring";
            return HK_EGUEST;
        }
        /* Buffers that came in while kicks were off: go round again. */
        if (!virtq_enable_kicks(&q->vq, true))
            return HK_OK;
    }
}

static void run_queue(struct vp_queue *q)
{
    const char *why = NULL;
    pthread_mutex_lock(&q->qlock);
    int r = HK_OK;
    if (q->vq.ready && !atomic_load(&q->vp->needs_reset))
        r = drain(q, &why);
    pthread_mutex_unlock(&q->qlock);
    if (r < 0)
        vp_set_needs_reset(q->vp, why);
}

static void *worker(void *arg)
{
    struct vp_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->wlock);
        while (!q->kicked && !q->stop)
            pthread_cond_wait(&q->wcond, &q->wlock);
        bool stop = q->stop;
        q->kicked = false;
        pthread_mutex_unlock(&q->wlock);
        if (stop)
            return NULL;
        run_queue(q);
    }
}

void vp_queue_kick(struct virtio_pci *vp, unsigned qi)
{
    if (qi >= (unsigned)vp->info.nqueues)
        return;
    struct vp_queue *q = &vp->q[qi];
    pthread_mutex_lock(&q->wlock);
    q->kicked = true;
    pthread_cond_signal(&q->wcond);
    pthread_mutex_unlock(&q->wlock);
}

int vp_queue_setup(struct virtio_pci *vp, struct vp_queue *q, bool start)
{
    pthread_mutex_lock(&q->qlock);
    int r = HK_OK;
    virtq_reset(&q->vq);
    /* The chain buffer holds chains of at most the maximum size. */
    if (start && (q->size == 0 || q->size > vp->info.queue_size))
        r = HK_EGUEST;
    else if (start)
        r = virtq_start(&q->vq, vp->env->mem, q->size, q->desc, q->avail, q->used,
                        vp->drv_features);
    pthread_mutex_unlock(&q->qlock);
    if (r < 0) {
        vp_set_needs_reset(vp, "queue rings outside RAM or bad size");
        return HK_EGUEST;
    }
    /* Buffers may already be waiting (a driver that kicked before enable). */
    if (start)
        vp_queue_kick(vp, (unsigned)q->index);
    return HK_OK;
}

int vp_queues_start(struct virtio_pci *vp)
{
    for (int i = 0; i < vp->info.nqueues; i++) {
        struct vp_queue *q = &vp->q[i];
        q->vp = vp;
        q->index = i;
        q->vq.size = 0;
        pthread_mutex_init(&q->qlock, NULL);
        pthread_mutex_init(&q->wlock, NULL);
        pthread_cond_init(&q->wcond, NULL);
        /* A chain buffer for the largest ring the driver may choose. */
        struct virtq sized = {.size = vp->info.queue_size};
        q->chain = virtq_chain_new(&sized);
        if (!q->chain)
            return HK_ENOMEM;
        if (pthread_create(&q->thread, NULL, worker, q) != 0)
            return HK_ENOMEM;
        q->thread_started = true;
    }
    return HK_OK;
}

void vp_queues_stop(struct virtio_pci *vp)
{
    for (int i = 0; i < vp->info.nqueues; i++) {
        struct vp_queue *q = &vp->q[i];
        if (q->thread_started) {
            pthread_mutex_lock(&q->wlock);
            q->stop = true;
            pthread_cond_signal(&q->wcond);
            pthread_mutex_unlock(&q->wlock);
            pthread_join(q->thread, NULL);
            q->thread_started = false;
        }
        free(q->chain);
        q->chain = NULL;
    }
}
