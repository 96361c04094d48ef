/*
 * A split virtqueue (virtio 1.x, 2.7) on the device side, distrusting the
 * guest: every value is checked on every use. Ring addresses and sizes lie
 * in RAM, descriptor indices are below the queue size, a chain (direct and
 * indirect together) is at most queue-size descriptors long so loops end,
 * an indirect table is a non-zero multiple of 16 bytes inside RAM and not
 * nested, buffer lengths do not overflow, device-readable descriptors come
 * before device-writable ones, and the driver's avail index never runs
 * more than queue-size entries ahead. Any violation returns HK_EGUEST: the
 * device then sets DEVICE_NEEDS_RESET and stops using the queue; nothing
 * the guest writes makes the VMM crash or loop.
 *
 * Not thread-safe: one thread (the device's worker for this queue) pops
 * and pushes. Buffers are handed out as host iovecs into guest RAM; the
 * device-writable ones are announced to the engine as written (DMA) when
 * popped, so code decoded from them is dropped.
 */
#ifndef HK_DEVICES_VIRTIO_VIRTQUEUE_H
#define HK_DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/guest_mem.h"

#define VIRTQ_MAX_SIZE 32768            /* split ring limit (2.7) */

/* Feature bits the queue module handles. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29

struct virtq {
    struct guest_mem *mem;
    uint16_t size;                      /* a power of two, 1..VIRTQ_MAX_SIZE */
    bool ready;                         /* set by virtq_start */
    bool indirect, event_idx;           /* negotiated features */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t last_avail;                /* next avail ring entry to take */
    uint16_t used_idx;                  /* our copy of used->idx */
    uint16_t signalled_used;            /* used_idx when we last interrupted */
    bool signalled_valid;
};

/* One descriptor chain: readable (driver -> device) segments first, then
 * writable ones. iov has room for the queue size (virtq_chain_new). */
struct virtq_chain {
    uint16_t head;                      /* to give back in virtq_push */
    int nout, nin;                      /* iov[0..nout) readable, then nin writable */
    uint64_t out_bytes, in_bytes;       /* totals of each part */
    int cap;
    struct iovec iov[];
};

/* A chain buffer big enough for any chain of q (free with free()). */
struct virtq_chain *virtq_chain_new(const struct virtq *q);

/* Reset to not ready (device reset, or a queue the driver disabled). */
void virtq_reset(struct virtq *q);

/* Start using the queue at the addresses the driver gave: 0, or HK_EGUEST
 * if the rings (with their alignment: desc 16, avail 2, used 4) do not
 * lie in RAM or size is not a power of two within the limit. features:
 * the negotiated feature bits (VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX). */
int virtq_start(struct virtq *q, struct guest_mem *mem, uint16_t size, uint64_t desc_gpa,
                uint64_t avail_gpa, uint64_t used_gpa, uint64_t features);

/* Take the next available chain: 1 with *c filled, 0 if none is waiting,
 * HK_EGUEST if the ring or chain is malformed (HK_EINVAL: c was made for
 * a smaller queue). Unless 1, *c holds no buffers. */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/* Return chain `head` to the driver with `written` bytes written into its
 * writable part: 0, or HK_EGUEST (used ring no longer in RAM). Heads in
 * flight are not tracked: a head below the size that was never popped is
 * a device bug and is given back as is; head >= size, or a queue not
 * started, is HK_EINVAL. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* virtq_push for a chain the device has finished with: first tells the
 * engine that its writable buffers now hold what the device wrote
 * (gmem_write_done), so no vCPU keeps code it decoded there before. */
int virtq_push_chain(struct virtq *q, const struct virtq_chain *c, uint32_t written);

/* Push n chains and publish them with one used-index update, so the
 * driver sees all or none (mergeable receive buffers). Same results as
 * virtq_push; on HK_EGUEST nothing was published. */
int virtq_push_chains(struct virtq *q, struct virtq_chain *const *cs, const uint32_t *written,
                      int n);

/* After pushes: whether the driver wants an interrupt now (its
 * VIRTQ_AVAIL_F_NO_INTERRUPT flag, or used_event with EVENT_IDX, 2.7.10). */
bool virtq_should_notify(struct virtq *q);

/* Tell the driver whether we want kicks (VIRTQ_USED_F_NO_NOTIFY, or
 * avail_event with EVENT_IDX); on enabling, returns true if buffers
 * arrived meanwhile (pop again before sleeping). */
bool virtq_enable_kicks(struct virtq *q, bool enable);

#endif
