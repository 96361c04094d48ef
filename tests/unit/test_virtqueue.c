/*
 * The split virtqueue against a real guest_mem, the test playing the
 * driver: good chains (direct, indirect, mixed, 16-bit index wrap),
 * notification suppression both ways, and one hostile ring per bad value
 * the module promises to refuse (each must be HK_EGUEST, never a crash or
 * a hang).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/guest_mem.h"
#include "devices/virtio/virtqueue.h"
#include "hyperkit.h"
#include "test.h"

#define RAM (4ull << 20)
#define DESC 0x10000ull
#define AVAIL 0x90000ull
#define USED 0xa0000ull
#define IND 0xe0000ull
#define BUF 0x100000ull

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

#define FEAT_IND (1ull << VIRTIO_F_INDIRECT_DESC)
#define FEAT_EVT (1ull << VIRTIO_F_EVENT_IDX)

static struct guest_mem mem;
static struct virtq q;
static struct virtq_chain *ch;
static uint16_t drv_idx; /* the driver's avail->idx */
static uint64_t notified_gpa, notified_len;
static int notify_count;

static uint8_t *g(uint64_t gpa) { return gmem_ptr(&mem, gpa, 1); }

static void on_write(void *opaque, uint64_t gpa, uint64_t len)
{
    notified_gpa = gpa;
    notified_len = len;
    notify_count++;
}

static void desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                    uint16_t next)
{
    uint8_t *p = g(table + 16ull * i);
    put64(p, addr);
    put32(p + 8, len);
    put16(p + 12, flags);
    put16(p + 14, next);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    desc_at(DESC, i, addr, len, flags, next);
}

/* Make `head` available and publish the new idx. */
static void offer(uint16_t head)
{
    put16(g(AVAIL + 4 + 2ull * (drv_idx & (q.size - 1))), head);
    drv_idx++;
    put16(g(AVAIL + 2), drv_idx);
}

static uint16_t used_idx(void) { return le16(g(USED + 2)); }
static uint32_t used_id(unsigned slot) { return le32(g(USED + 4 + 8ull * slot)); }
static uint32_t used_len(unsigned slot) { return le32(g(USED + 8 + 8ull * slot)); }

/* A fresh queue of `size` at the standard addresses. */
static int setup(uint16_t size, uint64_t features)
{
    memset(g(0), 0, BUF);
    drv_idx = 0;
    int rc = virtq_start(&q, &mem, size, DESC, AVAIL, USED, features);
    free(ch);
    ch = virtq_chain_new(&q);
    return rc;
}

static void test_start_checks(void)
{
    CHECK_EQ(setup(256, 0), 0, "start: good rings");
    CHECK(q.ready && ch && ch->cap == 256, "start: ready, chain holds the size");
    CHECK_EQ(setup(32768, 0), 0, "start: size 32768 (the limit)");
    CHECK_EQ(setup(1, 0), 0, "start: size 1");
    CHECK_EQ(virtq_start(&q, &mem, 0, DESC, AVAIL, USED, 0), HK_EGUEST, "start: size 0");
    CHECK(!q.ready, "start: a refused queue is not ready");
    CHECK_EQ(virtq_start(&q, &mem, 3, DESC, AVAIL, USED, 0), HK_EGUEST, "start: size 3");
    CHECK_EQ(virtq_start(&q, &mem, 384, DESC, AVAIL, USED, 0), HK_EGUEST, "start: size 384");
    CHECK_EQ(virtq_start(&q, &mem, 65535, DESC, AVAIL, USED, 0), HK_EGUEST, "start: size > 32768");
    CHECK_EQ(virtq_start(&q, &mem, 256, RAM, AVAIL, USED, 0), HK_EGUEST, "start: desc past RAM");
    CHECK_EQ(virtq_start(&q, &mem, 256, 0xd0000000ull, AVAIL, USED, 0), HK_EGUEST,
             "start: desc in the PCI hole");
    CHECK_EQ(virtq_start(&q, &mem, 256, RAM - 16 * 128, AVAIL, USED, 0), HK_EGUEST,
             "start: desc straddles the end of RAM");
    CHECK_EQ(virtq_start(&q, &mem, 256, DESC, RAM - 6 - 2 * 256 + 2, USED, 0), HK_EGUEST,
             "start: avail (with used_event) straddles the end of RAM");
    CHECK_EQ(virtq_start(&q, &mem, 256, DESC, RAM - 6 - 2 * 256, USED, 0), 0,
             "start: avail ending exactly at the end of RAM");
    CHECK_EQ(virtq_start(&q, &mem, 256, DESC, AVAIL, RAM - 6 - 8 * 256 + 4, 0), HK_EGUEST,
             "start: used (with avail_event) straddles the end of RAM");
    CHECK_EQ(virtq_start(&q, &mem, 256, DESC, AVAIL, 0xfffffffffffff000ull, 0), HK_EGUEST,
             "start: used wraps the address space");
    CHECK_EQ(virtq_start(&q, &mem, 256, DESC + 8, AVAIL, USED, 0), HK_EGUEST, "start: desc misaligned");
    CHECK_EQ(virtq_start(&q, &mem, 256, DESC, AVAIL + 1, USED, 0), HK_EGUEST,
             "start: avail misaligned");
    CHECK_EQ(virtq_start(&q, &mem, 256, DESC, AVAIL, USED + 2, 0), HK_EGUEST, "start: used misaligned");
    virtq_reset(&q);
    CHECK(!q.ready, "reset: not ready");
    CHECK_EQ(virtq_pop(&q, ch), 0, "reset: pop finds nothing");
    CHECK_EQ(virtq_push(&q, 0, 0), HK_EINVAL, "reset: push refused");
}

static void test_direct(void)
{
    setup(16, 0);
    CHECK_EQ(virtq_pop(&q, ch), 0, "direct: empty ring");
    desc(3, BUF, 100, F_NEXT, 7);
    desc(7, BUF + 0x1000, 200, F_NEXT, 1);
    desc(1, BUF + 0x2000, 300, F_WRITE, 0);
    offer(3);
    notify_count = 0;
    CHECK_EQ(virtq_pop(&q, ch), 1, "direct: pop");
    CHECK(ch->head == 3 && ch->nout == 2 && ch->nin == 1, "direct: head and counts");
    CHECK(ch->out_bytes == 300 && ch->in_bytes == 300, "direct: totals");
    CHECK(ch->iov[0].iov_base == g(BUF) && ch->iov[0].iov_len == 100, "direct: iov 0");
    CHECK(ch->iov[1].iov_base == g(BUF + 0x1000) && ch->iov[1].iov_len == 200, "direct: iov 1");
    CHECK(ch->iov[2].iov_base == g(BUF + 0x2000) && ch->iov[2].iov_len == 300, "direct: iov 2");
    CHECK(notify_count == 1 && notified_gpa == BUF + 0x2000 && notified_len == 300,
          "direct: the writable buffer is announced as DMA, the readable ones are not");
    CHECK_EQ(virtq_pop(&q, ch), 0, "direct: nothing more");
    CHECK_EQ(virtq_push(&q, 3, 42), 0, "direct: push");
    CHECK(used_idx() == 1 && used_id(0) == 3 && used_len(0) == 42, "direct: used entry and idx");

    /* The same descriptors offered again are read again: a value checked
     * on the first pop is not trusted on the second. */
    desc(7, RAM - 100, 200, F_NEXT, 1);
    offer(3);
    CHECK_EQ(virtq_pop(&q, ch), HK_EGUEST, "direct: a descriptor changed to point past RAM");
    CHECK(ch->nout == 0 && ch->nin == 0, "direct: a refused chain hands out no buffers");
    CHECK_EQ(q.last_avail, 1, "direct: a refused chain is not consumed");
}

static void test_zero_length(void)
{
    setup(8, 0);
    desc(0, BUF, 16, F_NEXT, 1);
    desc(1, 0xdead0000000ull, 0, F_NEXT, 2); /* no bytes: address unused */
    desc(2, BUF + 64, 0, F_WRITE | F_NEXT, 3);
    desc(3, BUF + 128, 8, F_WRITE, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, ch), 1, "zero-length: accepted");
    CHECK(ch->nout == 1 && ch->nin == 1 && ch->iov[1].iov_base == g(BUF + 128),
          "zero-length: skipped, no iovec");
    /* Still ordered: a zero-length readable after a writable is refused. */
    desc(0, BUF, 16, F_WRITE | F_NEXT, 1);
    desc(1, BUF, 0, 0, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, ch), HK_EGUEST, "zero-length: readable after writable still refused");
    /* And counted: zero-length descriptors cannot make a chain endless. */
    setup(8, 0);
    desc(0, BUF, 0, F_NEXT, 1);
    desc(1, BUF, 0, F_NEXT, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, ch), HK_EGUEST, "zero-length: a loop of empty descriptors ends");
}

static void test_indirect(void)
{
    setup(8, FEAT_IND);
    desc_at(IND, 0, BUF, 10, F_NEXT, 2);
    desc_at(IND, 2, BUF + 0x100, 20, F_NEXT | F_WRITE, 1);
    desc_at(IND, 1, BUF + 0x200, 30, F_WRITE, 0);
    desc(5, IND, 3 * 16, F_INDIRECT | F_WRITE, 0); /* WRITE on it is ignored (2.7.5.3.2) */
    offer(5);
    CHECK_EQ(virtq_pop(&q, ch), 1, "indirect: pop");
    CHECK(ch->head == 5 && ch->nout == 1 && ch->nin == 2, "indirect: head and counts");
    CHECK(ch->out_bytes == 10 && ch->in_bytes == 50, "indirect: totals");
    CHECK(ch->iov[1].iov_base == g(BUF + 0x100) && ch->iov[2].iov_base == g(BUF + 0x200),
          "indirect: iovs follow next within the table");

    /* Direct descriptors, then one pointing at a table (2.7.5.3.2). */
    desc(0, BUF, 4, F_NEXT, 1);
    desc(1, IND, 2 * 16, F_INDIRECT, 0);
    desc_at(IND, 0, BUF + 8, 4, F_NEXT, 1);
    desc_at(IND, 1, BUF + 16, 4, F_WRITE, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, ch), 1, "mixed: direct then indirect");
    CHECK(ch->nout == 2 && ch->nin == 1 && ch->out_bytes == 8 && ch->in_bytes == 4,
          "mixed: counts and totals");
    CHECK_EQ(virtq_push(&q, 5, 50), 0, "mixed: push first");
    CHECK_EQ(virtq_push(&q, 0, 4), 0, "mixed: push second");
    CHECK(used_idx() == 2 && used_id(1) == 0 && used_len(0) == 50, "mixed: used ring");
}

/* 16-bit indices wrap: start the queue near 65535 on both sides. */
static void test_wrap(void)
{
    setup(8, 0);
    q.last_avail = q.used_idx = 65530;
    drv_idx = 65530;
    put16(g(AVAIL + 2), drv_idx);
    put16(g(USED + 2), 65530);
    for (unsigned i = 0; i < 8; i++)
        desc(i, BUF + 0x100 * i, 16, F_WRITE, 0);
    int popped = 0, pushed = 0;
    for (int round = 0; round < 3; round++) {
        for (unsigned i = 0; i < 4; i++)
            offer((uint16_t)(round * 4 + i) & 7);
        while (virtq_pop(&q, ch) == 1) {
            popped++;
            if (virtq_push(&q, ch->head, 16) == 0)
                pushed++;
        }
    }
    CHECK(popped == 12 && pushed == 12, "wrap: every chain popped and pushed across 65535");
    CHECK_EQ(q.last_avail, (uint16_t)(65530 + 12), "wrap: last_avail wrapped");
    CHECK_EQ(used_idx(), (uint16_t)(65530 + 12), "wrap: used->idx wrapped");
    CHECK_EQ(used_id((65530 + 11) & 7), 3, "wrap: last used entry in the right slot");
}

static void test_notify_flags(void)
{
    setup(8, 0);
    desc(0, BUF, 8, F_WRITE, 0);
    offer(0);
    virtq_pop(&q, ch);
    virtq_push(&q, 0, 8);
    CHECK(virtq_should_notify(&q), "notify: interrupt after a push");
    CHECK(!virtq_should_notify(&q), "notify: not twice for the same push");
    put16(g(AVAIL), 1); /* VIRTQ_AVAIL_F_NO_INTERRUPT */
    offer(0);
    virtq_pop(&q, ch);
    virtq_push(&q, 0, 8);
    CHECK(!virtq_should_notify(&q), "notify: NO_INTERRUPT suppresses");
    put16(g(AVAIL), 0);
    offer(0);
    virtq_pop(&q, ch);
    virtq_push(&q, 0, 8);
    CHECK(virtq_should_notify(&q), "notify: flag cleared, interrupt again");
}

static void test_notify_event_idx(void)
{
    setup(8, FEAT_EVT);
    desc(0, BUF, 8, F_WRITE, 0);
    uint64_t used_event = AVAIL + 4 + 2 * 8;
    put16(g(used_event), 0);
    offer(0);
    virtq_pop(&q, ch);
    virtq_push(&q, 0, 8); /* used 0 -> 1 */
    CHECK(virtq_should_notify(&q), "event_idx: first push interrupts");
    put16(g(used_event), 3); /* interrupt once entry 3 is used (idx passes 3) */
    for (int i = 0; i < 2; i++) {
        offer(0);
        virtq_pop(&q, ch);
        virtq_push(&q, 0, 8);
    } /* used 1 -> 3 */
    CHECK(!virtq_should_notify(&q), "event_idx: used_event 3 not reached at idx 3");
    offer(0);
    virtq_pop(&q, ch);
    virtq_push(&q, 0, 8); /* used 3 -> 4 */
    CHECK(virtq_should_notify(&q), "event_idx: crossing used_event interrupts");
    offer(0);
    virtq_pop(&q, ch);
    virtq_push(&q, 0, 8); /* used 4 -> 5, used_event still 3 */
    CHECK(!virtq_should_notify(&q), "event_idx: already past used_event, quiet");
    put16(g(AVAIL), 1); /* NO_INTERRUPT is ignored with EVENT_IDX */
    put16(g(used_event), 5);
    offer(0);
    virtq_pop(&q, ch);
    virtq_push(&q, 0, 8);
    CHECK(virtq_should_notify(&q), "event_idx: the flag is not used, used_event is");
    /* Wrap: used_event 65535, batch from 65534 to 2 crosses it. */
    q.used_idx = q.signalled_used = 65534;
    put16(g(used_event), 65535);
    for (int i = 0; i < 4; i++) {
        offer(0);
        virtq_pop(&q, ch);
        virtq_push(&q, 0, 8);
    }
    CHECK(virtq_should_notify(&q), "event_idx: a batch across 65535 interrupts");
}

static void test_kicks(void)
{
    setup(8, 0);
    desc(0, BUF, 8, 0, 0);
    CHECK(!virtq_enable_kicks(&q, false), "kicks: disable returns false");
    CHECK_EQ(le16(g(USED)), 1, "kicks: NO_NOTIFY set");
    CHECK(!virtq_enable_kicks(&q, true), "kicks: enable with nothing new");
    CHECK_EQ(le16(g(USED)), 0, "kicks: NO_NOTIFY cleared");
    virtq_enable_kicks(&q, false);
    offer(0); /* the driver adds work while kicks are off and does not kick */
    CHECK(virtq_enable_kicks(&q, true), "kicks: enable sees the work that came meanwhile");
    CHECK_EQ(virtq_pop(&q, ch), 1, "kicks: and it pops");
    CHECK(!virtq_enable_kicks(&q, true), "kicks: drained");

    setup(8, FEAT_EVT);
    desc(0, BUF, 8, 0, 0);
    uint64_t avail_event = USED + 4 + 8 * 8;
    offer(0);
    offer(0);
    CHECK(virtq_enable_kicks(&q, true), "kicks/event_idx: pending work reported");
    CHECK_EQ(le16(g(avail_event)), 0, "kicks/event_idx: avail_event = last_avail");
    virtq_pop(&q, ch);
    virtq_pop(&q, ch);
    CHECK(!virtq_enable_kicks(&q, true), "kicks/event_idx: nothing pending");
    CHECK_EQ(le16(g(avail_event)), 2, "kicks/event_idx: avail_event follows last_avail");
    CHECK_EQ(le16(g(USED)), 0, "kicks/event_idx: used->flags left 0");
}

/* One bad chain at head 0 of a fresh queue: pop must refuse it. */
static void expect_bad(const char *name)
{
    offer(0);
    int rc = virtq_pop(&q, ch);
    CHECK_EQ(rc, HK_EGUEST, name);
}

static void test_hostile_desc(void)
{
    setup(8, 0);
    put16(g(AVAIL + 4), 8);
    drv_idx = 1;
    put16(g(AVAIL + 2), 1);
    CHECK_EQ(virtq_pop(&q, ch), HK_EGUEST, "hostile: head index == size");
    setup(8, 0);
    put16(g(AVAIL + 4), 0xffff);
    drv_idx = 1;
    put16(g(AVAIL + 2), 1);
    CHECK_EQ(virtq_pop(&q, ch), HK_EGUEST, "hostile: head index 0xffff");

    setup(8, 0);
    desc(0, BUF, 8, F_NEXT, 8);
    expect_bad("hostile: next index == size");
    setup(8, 0);
    desc(0, BUF, 8, F_NEXT, 1);
    desc(1, BUF, 8, F_NEXT, 0);
    expect_bad("hostile: next loop a->b->a");
    setup(8, 0);
    desc(0, BUF, 8, F_NEXT, 0);
    expect_bad("hostile: descriptor pointing at itself");
    setup(8, 0);
    desc(0, RAM - 4, 8, 0, 0);
    expect_bad("hostile: buffer straddles the end of RAM");
    setup(8, 0);
    desc(0, 0xfffffffffffff000ull, 0x2000, 0, 0);
    expect_bad("hostile: buffer address + length wraps 64 bits");
    setup(8, 0);
    desc(0, 0xd0000000ull, 16, F_WRITE, 0);
    notify_count = 0;
    expect_bad("hostile: writable buffer in the PCI hole");
    CHECK_EQ(notify_count, 0, "hostile: no DMA announced for it");
    setup(8, 0);
    desc(0, BUF, 8, F_WRITE | F_NEXT, 1);
    desc(1, BUF, 8, 0, 0);
    expect_bad("hostile: readable after writable");
    setup(8, 0);
    desc(0, BUF, 8, F_INDIRECT, 0);
    expect_bad("hostile: INDIRECT not negotiated");
}

static void test_hostile_indirect(void)
{
    setup(8, FEAT_IND);
    desc(0, IND, 0, F_INDIRECT, 0);
    expect_bad("hostile: indirect length 0");
    setup(8, FEAT_IND);
    desc_at(IND, 0, BUF, 8, 0, 0);
    desc(0, IND, 24, F_INDIRECT, 0);
    expect_bad("hostile: indirect length not a multiple of 16");
    setup(8, FEAT_IND);
    desc(0, RAM - 16, 32, F_INDIRECT, 0);
    expect_bad("hostile: indirect table straddles the end of RAM");
    setup(8, FEAT_IND);
    desc(0, 0xfffffffffffffff0ull, 32, F_INDIRECT, 0);
    expect_bad("hostile: indirect table address wraps");
    setup(8, FEAT_IND);
    desc_at(IND, 0, IND + 64, 16, F_INDIRECT, 0);
    desc_at(IND, 4, BUF, 8, 0, 0);
    desc(0, IND, 16, F_INDIRECT, 0);
    expect_bad("hostile: nested indirect");
    setup(8, FEAT_IND);
    desc_at(IND, 0, BUF, 8, 0, 0);
    desc(0, IND, 16, F_INDIRECT | F_NEXT, 1);
    desc(1, BUF, 8, 0, 0);
    expect_bad("hostile: INDIRECT together with NEXT");
    setup(8, FEAT_IND);
    desc_at(IND, 0, BUF, 8, F_NEXT, 2);
    desc_at(IND, 1, BUF, 8, 0, 0);
    desc(0, IND, 32, F_INDIRECT, 0);
    expect_bad("hostile: indirect next past the table");
    setup(8, FEAT_IND);
    desc_at(IND, 0, BUF, 8, F_NEXT, 1);
    desc_at(IND, 1, BUF, 8, F_NEXT, 0);
    desc(0, IND, 32, F_INDIRECT, 0);
    expect_bad("hostile: indirect loop");
    setup(4, FEAT_IND);
    for (unsigned i = 0; i < 5; i++)
        desc_at(IND, i, BUF, 8, i < 4 ? F_NEXT : 0, (uint16_t)(i + 1));
    desc(0, IND, 5 * 16, F_INDIRECT, 0);
    expect_bad("hostile: indirect chain longer than the queue");
    setup(4, FEAT_IND);
    for (unsigned i = 0; i < 4; i++)
        desc_at(IND, i, BUF, 8, i < 3 ? F_NEXT : 0, (uint16_t)(i + 1));
    desc(0, IND, 4 * 16, F_INDIRECT, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, ch), 1, "indirect chain exactly the queue size is fine");
    setup(4, FEAT_IND);
    desc(0, BUF, 8, F_NEXT, 1);
    desc(1, BUF, 8, F_NEXT, 2);
    desc(2, IND, 3 * 16, F_INDIRECT, 0);
    for (unsigned i = 0; i < 3; i++)
        desc_at(IND, i, BUF, 8, i < 2 ? F_NEXT : 0, (uint16_t)(i + 1));
    expect_bad("hostile: direct + indirect longer than the queue");
    setup(8, FEAT_IND);
    desc(0, BUF, 8, F_WRITE | F_NEXT, 1);
    desc(1, IND, 16, F_INDIRECT, 0);
    desc_at(IND, 0, BUF, 8, 0, 0);
    expect_bad("hostile: readable in the table after a direct writable");
}

/* Lengths: the total must fit the 32-bit used.len (and the spec's 2^32). */
static void test_hostile_lengths(void)
{
    /* 1024 descriptors of all of RAM (4 MiB) each: 2^32 bytes in total. */
    setup(2048, FEAT_IND);
    for (unsigned i = 0; i < 1024; i++)
        desc_at(IND, i, 0, (uint32_t)RAM, i < 1023 ? F_NEXT : 0, (uint16_t)(i + 1));
    desc(0, IND, 1024 * 16, F_INDIRECT, 0);
    expect_bad("hostile: lengths sum to 2^32");
    setup(2048, FEAT_IND);
    for (unsigned i = 0; i < 1024; i++)
        desc_at(IND, i, 0, i ? (uint32_t)RAM : (uint32_t)RAM - 1, i < 1023 ? F_NEXT : 0,
                (uint16_t)(i + 1));
    desc(0, IND, 1024 * 16, F_INDIRECT, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, ch), 1, "lengths summing to 2^32 - 1 are fine");
    CHECK(ch->out_bytes == 0xffffffffull && ch->nout == 1024, "... and counted exactly");
    setup(8, 0);
    desc(0, BUF, 0xffffffffu, F_NEXT, 1);
    desc(1, BUF, 0xffffffffu, 0, 0);
    expect_bad("hostile: two 4 GiB lengths (64-bit sum, out of RAM anyway)");
}

static void test_hostile_ring(void)
{
    setup(8, 0);
    desc(0, BUF, 8, 0, 0);
    put16(g(AVAIL + 2), 9);
    CHECK_EQ(virtq_pop(&q, ch), HK_EGUEST, "hostile: avail idx runs size+1 ahead");
    put16(g(AVAIL + 2), 0xffff);
    CHECK_EQ(virtq_pop(&q, ch), HK_EGUEST, "hostile: avail idx goes backwards");
    put16(g(AVAIL + 2), 8);
    int n = 0;
    while (virtq_pop(&q, ch) == 1)
        n++;
    CHECK_EQ(n, 8, "avail idx exactly size ahead: all popped");

    /* The used ring is looked up on every push: move it out of RAM under
     * the queue (as if the check at start had been passed earlier). */
    setup(8, 0);
    desc(0, BUF, 8, 0, 0);
    offer(0);
    virtq_pop(&q, ch);
    q.used_gpa = RAM - 4;
    CHECK_EQ(virtq_push(&q, 0, 0), HK_EGUEST, "hostile: used ring outside RAM at push");
    q.used_gpa = USED;
    CHECK_EQ(virtq_push(&q, 0, 0), 0, "push works again with the ring back");
    q.avail_gpa = RAM;
    CHECK_EQ(virtq_pop(&q, ch), HK_EGUEST, "hostile: avail ring outside RAM at pop");
    CHECK(virtq_should_notify(&q), "should_notify on a broken ring: an extra interrupt, not none");
    CHECK(virtq_enable_kicks(&q, true), "enable_kicks on a broken ring says pop again");

    /* Device bugs, not guest ones: documented in virtqueue.h. */
    setup(8, 0);
    CHECK_EQ(virtq_push(&q, 8, 0), HK_EINVAL, "push: head >= size is refused");
    CHECK_EQ(virtq_push(&q, 5, 0), 0, "push: a head never popped is given back as is");
    CHECK(used_idx() == 1 && used_id(0) == 5, "... and the driver sees it");

    /* A chain buffer made for a smaller queue is never overrun. */
    setup(2, 0);
    struct virtq_chain *small = virtq_chain_new(&q);
    setup(8, 0);
    desc(0, BUF, 8, F_NEXT, 1);
    desc(1, BUF, 8, F_NEXT, 2);
    desc(2, BUF, 8, 0, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, small), HK_EINVAL, "pop: a chain buffer too small is refused");
    free(small);
}

int main(void)
{
    if (gmem_init(&mem, RAM) != 0) {
        printf("FAIL: gmem_init\n");
        return 1;
    }
    mem.write_notify = on_write;
    test_start_checks();
    test_direct();
    test_zero_length();
    test_indirect();
    test_wrap();
    test_notify_flags();
    test_notify_event_idx();
    test_kicks();
    test_hostile_desc();
    test_hostile_indirect();
    test_hostile_lengths();
    test_hostile_ring();
    free(ch);
    gmem_fini(&mem);
    TEST_EXIT();
}
