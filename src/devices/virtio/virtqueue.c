/*
 * Split virtqueue, device side (virtio 1.x 2.7). The driver runs on other
 * CPUs and may rewrite the rings at any moment, so nothing read from guest
 * memory is kept across calls: ring pointers are looked up (and bounds
 * checked) on every access, each descriptor is copied once into locals
 * before it is checked and used, and only our own indices live in
 * struct virtq.
 *
 * Choices the spec leaves to the device:
 *  - A zero-length descriptor is accepted and skipped: it adds no iovec
 *    and its address is not checked (no byte of it is touched), but it
 *    counts towards the chain length and its WRITE flag still obeys the
 *    readable-before-writable order.
 *  - A chain's total length (readable plus writable) must fit in 32 bits:
 *    the spec forbids chains over 2^32 bytes (2.7.5) and used.len is 32
 *    bits. The sum is kept in 64 bits, so it cannot wrap on the way.
 *  - The chain length limit is the queue size, counting every buffer
 *    descriptor, direct or in an indirect table; the descriptor pointing at
 *    the table is not a buffer and ends the direct walk.
 */
#include "devices/virtio/virtqueue.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "hyperkit.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

#define DESC_SIZE 16
#define USED_ELEM_SIZE 8
#define CHAIN_MAX_BYTES 0xffffffffull

/* Ring layout (2.7): avail = flags, idx, ring[size], used_event;
 * used = flags, idx, ring[size] of {id, len}, avail_event. */
static uint64_t desc_bytes(uint16_t size) { return (uint64_t)DESC_SIZE * size; }
static uint64_t avail_bytes(uint16_t size) { return 6 + 2ull * size; }
static uint64_t used_bytes(uint16_t size) { return 6 + (uint64_t)USED_ELEM_SIZE * size; }

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

/* Copy a descriptor out of guest memory once, so the guest changing it
 * while we look cannot make a checked value differ from a used one. */
static void desc_decode(const uint8_t *p, struct vq_desc *d)
{
    uint8_t b[DESC_SIZE];
    memcpy(b, p, sizeof(b));
    d->addr = le64(b);
    d->len = le32(b + 8);
    d->flags = le16(b + 12);
    d->next = le16(b + 14);
}

/* 16-bit ring fields shared with the driver: atomic loads and stores on
 * the naturally aligned field (virtq_start checks the ring alignment). */
static uint16_t *ring_u16(const struct virtq *q, uint64_t gpa)
{
    return gmem_ptr(q->mem, gpa, 2);
}

static int load_u16(const struct virtq *q, uint64_t gpa, int order, uint16_t *out)
{
    uint16_t *p = ring_u16(q, gpa);
    if (!p)
        return HK_EGUEST;
    uint16_t v = __atomic_load_n(p, order);
    *out = le16((const uint8_t *)&v);
    return HK_OK;
}

static int store_u16(const struct virtq *q, uint64_t gpa, int order, uint16_t val)
{
    uint16_t *p = gmem_ptr_for_write(q->mem, gpa, 2);
    if (!p)
        return HK_EGUEST;
    uint16_t v;
    put16((uint8_t *)&v, val);
    __atomic_store_n(p, v, order);
    return HK_OK;
}

struct virtq_chain *virtq_chain_new(const struct virtq *q)
{
    int cap = q->size ? q->size : 1;
    struct virtq_chain *c = calloc(1, sizeof(*c) + (size_t)cap * sizeof(struct iovec));
    if (c)
        c->cap = cap;
    return c;
}

void virtq_reset(struct virtq *q)
{
    memset(q, 0, sizeof(*q));
}

int virtq_start(struct virtq *q, struct guest_mem *mem, uint16_t size, uint64_t desc_gpa,
                uint64_t avail_gpa, uint64_t used_gpa, uint64_t features)
{
    virtq_reset(q);
    if (!mem || size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
        return HK_EGUEST;
    if ((desc_gpa & 15) || (avail_gpa & 1) || (used_gpa & 3))
        return HK_EGUEST;
    if (!gmem_ptr(mem, desc_gpa, desc_bytes(size)) || !gmem_ptr(mem, avail_gpa, avail_bytes(size)) ||
        !gmem_ptr(mem, used_gpa, used_bytes(size)))
        return HK_EGUEST;
    q->mem = mem;
    q->size = size;
    q->desc_gpa = desc_gpa;
    q->avail_gpa = avail_gpa;
    q->used_gpa = used_gpa;
    q->indirect = features & (1ull << VIRTIO_F_INDIRECT_DESC);
    q->event_idx = features & (1ull << VIRTIO_F_EVENT_IDX);
    q->ready = true;
    return HK_OK;
}

/* The state of one chain walk. */
struct walk {
    struct virtq *q;
    struct virtq_chain *c;
    uint32_t ndesc;      /* buffer descriptors seen, direct and indirect */
    bool writing;        /* a device-writable descriptor was seen */
};

/* Add one buffer descriptor to the chain, checking order, count, total
 * length and that the buffer lies in RAM. */
static int walk_add(struct walk *w, const struct vq_desc *d)
{
    struct virtq_chain *c = w->c;
    if (++w->ndesc > w->q->size)
        return HK_EGUEST;
    bool write = d->flags & VIRTQ_DESC_F_WRITE;
    if (!write && w->writing)
        return HK_EGUEST;
    w->writing |= write;
    if (c->out_bytes + c->in_bytes + d->len > CHAIN_MAX_BYTES)
        return HK_EGUEST;
    if (d->len == 0)
        return HK_OK;
    if (c->nout + c->nin >= c->cap)
        return HK_EINVAL; /* a chain buffer made for a smaller queue */
    void *p = write ? gmem_ptr_for_write(w->q->mem, d->addr, d->len)
                    : gmem_ptr(w->q->mem, d->addr, d->len);
    if (!p)
        return HK_EGUEST;
    c->iov[c->nout + c->nin] = (struct iovec){p, d->len};
    if (write) {
        c->nin++;
        c->in_bytes += d->len;
    } else {
        c->nout++;
        c->out_bytes += d->len;
    }
    return HK_OK;
}

/* An indirect table (2.7.5.3): a non-zero multiple of 16 bytes in RAM,
 * entries chained by `next` within the table, no table inside it. */
static int walk_indirect(struct walk *w, const struct vq_desc *ind)
{
    if (!w->q->indirect || (ind->flags & VIRTQ_DESC_F_NEXT))
        return HK_EGUEST;
    if (ind->len == 0 || ind->len % DESC_SIZE)
        return HK_EGUEST;
    const uint8_t *table = gmem_ptr(w->q->mem, ind->addr, ind->len);
    if (!table)
        return HK_EGUEST;
    uint32_t n = ind->len / DESC_SIZE, i = 0;
    for (;;) { /* ends: walk_add counts against the queue size */
        struct vq_desc d;
        desc_decode(table + (uint64_t)i * DESC_SIZE, &d);
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return HK_EGUEST;
        int rc = walk_add(w, &d);
        if (rc)
            return rc;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return HK_OK;
        if (d.next >= n)
            return HK_EGUEST;
        i = d.next;
    }
}

/* The chain starting at `head`: direct descriptors, optionally ending in
 * one that points at an indirect table. */
static int walk_chain(struct walk *w, uint16_t head)
{
    struct virtq *q = w->q;
    uint16_t i = head;
    for (;;) { /* ends: each step adds a buffer (bounded) or returns */
        if (i >= q->size)
            return HK_EGUEST;
        const uint8_t *p = gmem_ptr(q->mem, q->desc_gpa + (uint64_t)i * DESC_SIZE, DESC_SIZE);
        if (!p)
            return HK_EGUEST;
        struct vq_desc d;
        desc_decode(p, &d);
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return walk_indirect(w, &d);
        int rc = walk_add(w, &d);
        if (rc)
            return rc;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return HK_OK;
        i = d.next;
    }
}

/* No buffers: what a chain holds unless virtq_pop returned 1, so a device
 * that misses an error still cannot use stale iovecs. */
static void chain_clear(struct virtq_chain *c)
{
    c->nout = c->nin = 0;
    c->out_bytes = c->in_bytes = 0;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
    chain_clear(c);
    if (!q->ready)
        return 0;
    uint16_t avail_idx;
    /* Acquire: the ring entry and descriptors the driver wrote before
     * publishing idx are visible once we see idx. */
    if (load_u16(q, q->avail_gpa + 2, __ATOMIC_ACQUIRE, &avail_idx))
        return HK_EGUEST;
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0)
        return 0;
    if (pending > q->size)
        return HK_EGUEST;
    uint16_t head;
    uint64_t slot = q->avail_gpa + 4 + 2ull * (q->last_avail & (q->size - 1));
    if (load_u16(q, slot, __ATOMIC_RELAXED, &head))
        return HK_EGUEST;
    c->head = head;
    struct walk w = {.q = q, .c = c};
    int rc = walk_chain(&w, head);
    if (rc) {
        chain_clear(c);
        return rc;
    }
    q->last_avail++;
    return 1;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    if (!q->ready)
        return HK_EINVAL;
    if (head >= q->size)
        return HK_EINVAL; /* a device bug: heads come from virtq_pop */
    uint64_t elem = q->used_gpa + 4 + (uint64_t)USED_ELEM_SIZE * (q->used_idx & (q->size - 1));
    uint8_t *p = gmem_ptr_for_write(q->mem, elem, USED_ELEM_SIZE);
    if (!p)
        return HK_EGUEST;
    uint8_t b[USED_ELEM_SIZE];
    put32(b, head);
    put32(b + 4, written);
    memcpy(p, b, sizeof(b));
    /* Release: the element is visible before the index that publishes it. */
    if (store_u16(q, q->used_gpa + 2, __ATOMIC_RELEASE, (uint16_t)(q->used_idx + 1)))
        return HK_EGUEST;
    q->used_idx++;
    return HK_OK;
}

int virtq_push_chain(struct virtq *q, const struct virtq_chain *c, uint32_t written)
{
    for (int i = c->nout; i < c->nout + c->nin && i < c->cap; i++) {
        uint64_t gpa;
        if (c->iov[i].iov_len && gmem_gpa_of(q->mem, c->iov[i].iov_base, &gpa))
            gmem_write_done(q->mem, gpa, c->iov[i].iov_len);
    }
    return virtq_push(q, c->head, written);
}

int virtq_push_chains(struct virtq *q, struct virtq_chain *const *cs, const uint32_t *written,
                      int n)
{
    if (!q->ready || n < 0 || n > q->size)
        return HK_EINVAL;
    for (int k = 0; k < n; k++)
        if (cs[k]->head >= q->size)
            return HK_EINVAL;
    for (int k = 0; k < n; k++) {
        const struct virtq_chain *c = cs[k];
        for (int i = c->nout; i < c->nout + c->nin && i < c->cap; i++) {
            uint64_t gpa;
            if (c->iov[i].iov_len && gmem_gpa_of(q->mem, c->iov[i].iov_base, &gpa))
                gmem_write_done(q->mem, gpa, c->iov[i].iov_len);
        }
        uint16_t slot = (uint16_t)(q->used_idx + k);
        uint64_t elem = q->used_gpa + 4 + (uint64_t)USED_ELEM_SIZE * (slot & (q->size - 1));
        uint8_t *p = gmem_ptr_for_write(q->mem, elem, USED_ELEM_SIZE);
        if (!p)
            return HK_EGUEST;
        uint8_t b[USED_ELEM_SIZE];
        put32(b, c->head);
        put32(b + 4, written[k]);
        memcpy(p, b, sizeof(b));
    }
    if (n == 0)
        return HK_OK;
    /* Release: every element is visible before the index that publishes them. */
    if (store_u16(q, q->used_gpa + 2, __ATOMIC_RELEASE, (uint16_t)(q->used_idx + n)))
        return HK_EGUEST;
    q->used_idx = (uint16_t)(q->used_idx + n);
    return HK_OK;
}

/* 2.7.10: interrupt if used_event lies in [old, new), modulo 2^16. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_should_notify(struct virtq *q)
{
    if (!q->ready)
        return false;
    /* Full fence: our used->idx store must be visible before we read the
     * driver's used_event/flags, else the driver may have read the old idx
     * and gone to sleep while we read a stale "no interrupt" (the classic
     * missed-notification race). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t old_idx = q->signalled_used, new_idx = q->used_idx;
    bool valid = q->signalled_valid;
    q->signalled_used = new_idx;
    q->signalled_valid = true;
    if (valid && old_idx == new_idx)
        return false; /* nothing pushed since the last decision */
    uint16_t v;
    if (q->event_idx) {
        if (load_u16(q, q->avail_gpa + 4 + 2ull * q->size, __ATOMIC_RELAXED, &v))
            return true; /* a broken ring: an extra interrupt is harmless */
        return !valid || need_event(v, new_idx, old_idx);
    }
    if (load_u16(q, q->avail_gpa, __ATOMIC_RELAXED, &v))
        return true;
    return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_enable_kicks(struct virtq *q, bool enable)
{
    if (!q->ready)
        return false;
    int rc = HK_OK;
    if (q->event_idx) {
        /* Kick us when the driver makes entry last_avail available. With
         * kicks off the old avail_event stays: it is behind, so the
         * driver will not cross it again for 2^16 entries. */
        if (enable)
            rc = store_u16(q, q->used_gpa + 4 + (uint64_t)USED_ELEM_SIZE * q->size,
                           __ATOMIC_RELAXED, q->last_avail);
    } else {
        rc = store_u16(q, q->used_gpa, __ATOMIC_RELAXED, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
    }
    if (rc)
        return true; /* pop again: it meets the broken ring and says so */
    if (!enable)
        return false;
    /* Full fence: publish "kick me" before looking for work that the
     * driver added without kicking, else both sides sleep. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t avail_idx;
    if (load_u16(q, q->avail_gpa + 2, __ATOMIC_ACQUIRE, &avail_idx))
        return true;
    return avail_idx != q->last_avail;
}
