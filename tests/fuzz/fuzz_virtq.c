/*
 * libFuzzer target for the split virtqueue (src/devices/virtio/
 * virtqueue.c): whatever the guest writes in its rings, descriptors and
 * indirect tables, the device side must refuse it with HK_EGUEST or hand
 * out buffers that lie in guest RAM, never crash, loop or read outside it.
 *
 * An input is a 16-byte header (struct fz_hdr: queue size, features, ring
 * addresses, the starting index), then `nwrites` driver writes of 4 bytes
 * (a 16-bit guest address and value, applied one per round, so the driver
 * keeps moving avail->idx and rewriting descriptors between pops), then
 * an image of guest RAM from address 0. RAM is 64 KiB between
 * inaccessible guard pages. Each round pops a chain, checks it, writes its
 * writable part as a device would (which may land on the rings: the guest
 * may alias them), pushes it and asks whether to interrupt; kicks are
 * toggled if the header says so. Beyond the sanitizers it checks:
 *  - every iovec is non-empty and inside the RAM mapping; nout + nin is
 *    at most the queue size; the totals are the sums of the iovecs and fit
 *    in 32 bits; the head is below the size;
 *  - the writable buffers, and only they, are announced as DMA, in order;
 *  - a refused chain hands out nothing and is not consumed;
 *  - push writes the used element and index where the spec puts them;
 *  - should_notify and enable_kicks agree with a model of 2.7.10.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/bytes.h"
#include "core/guest_mem.h"
#include "devices/virtio/virtqueue.h"
#include "hyperkit.h"

#define FZ_RAM 0x10000ull
#define FZ_HDR 16
#define FZ_MAX_WRITES 32
#define FZ_MAX_ROUNDS 4096
#define FZ_MAX_NOTES 4096

/* The header. Sizes and addresses are small so most inputs start. */
struct fz_hdr {
    uint8_t size_log2;   /* size = 1 << (low 4 bits); bit 7: use raw_size */
    uint8_t opts;        /* bit 0 INDIRECT_DESC, 1 EVENT_IDX, 2 write buffers, 3 toggle kicks */
    uint8_t raw_size[2];
    uint8_t desc[2], avail[2], used[2]; /* guest addresses */
    uint8_t start[2];    /* last_avail and used_idx to start from (index wrap) */
    uint8_t nwrites;     /* driver writes after the header (at most 32) */
    uint8_t fill;        /* byte the device writes into writable buffers */
    uint8_t pad[2];
};

struct note {
    uint64_t gpa, len;
};

static struct {
    struct guest_mem mem;
    uint8_t *ram;
    struct note notes[FZ_MAX_NOTES];
    int nnotes;
    bool verbose; /* FUZZ_VIRTQ_VERBOSE: each start, pop and push */
} fz;

static void fail(const char *why, long a, long b)
{
    fprintf(stderr, "fuzz_virtq: %s (%ld, %ld)\n", why, a, b);
    abort();
}

static void on_write(void *opaque, uint64_t gpa, uint64_t len)
{
    if (fz.nnotes < FZ_MAX_NOTES)
        fz.notes[fz.nnotes] = (struct note){gpa, len};
    fz.nnotes++;
}

static void fz_init(void)
{
    uint8_t *map = mmap(NULL, FZ_RAM + 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                        -1, 0);
    if (map == MAP_FAILED || mprotect(map + 4096, FZ_RAM, PROT_READ | PROT_WRITE))
        abort();
    fz.ram = map + 4096;
    fz.mem.regions[0] = (struct gmem_region){0, FZ_RAM, fz.ram};
    fz.mem.nregions = 1;
    fz.mem.ram_bytes = FZ_RAM;
    fz.mem.write_notify = on_write;
    fz.verbose = getenv("FUZZ_VIRTQ_VERBOSE") != NULL;
}

static uint16_t ram16(uint64_t gpa) { return le16(fz.ram + gpa); }

/* A chain virtq_pop handed out: in RAM, counted right, DMA announced. */
static void check_chain(const struct virtq *q, const struct virtq_chain *c)
{
    if (c->head >= q->size)
        fail("head beyond the queue", c->head, q->size);
    if (c->nout < 0 || c->nin < 0 || c->nout + c->nin > q->size || c->nout + c->nin > c->cap)
        fail("segment counts", c->nout, c->nin);
    uint64_t out = 0, in = 0;
    unsigned sum = 0;
    for (int i = 0; i < c->nout + c->nin; i++) {
        const uint8_t *b = c->iov[i].iov_base;
        size_t len = c->iov[i].iov_len;
        if (len == 0 || b < fz.ram || b >= fz.ram + FZ_RAM || len > (size_t)(fz.ram + FZ_RAM - b))
            fail("iovec outside guest RAM", (long)(b - fz.ram), (long)len);
        sum += b[0] + b[len - 1]; /* the guard pages fault if the check lies */
        if (i < c->nout) {
            out += len;
        } else {
            in += len;
            int k = i - c->nout;
            if (k >= fz.nnotes || fz.notes[k].gpa != (uint64_t)(b - fz.ram) || fz.notes[k].len != len)
                fail("writable buffer not announced as DMA", k, fz.nnotes);
        }
    }
    (void)sum;
    if (fz.nnotes != c->nin)
        fail("DMA announced for other than the writable buffers", fz.nnotes, c->nin);
    if (out != c->out_bytes || in != c->in_bytes)
        fail("totals", (long)(out - c->out_bytes), (long)(in - c->in_bytes));
    if (out + in > 0xffffffffull)
        fail("total over 32 bits", (long)out, (long)in);
}

static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* Push the chain back as a device would, then check the used ring and
 * the interrupt decision against the model. */
static void complete(struct virtq *q, const struct virtq_chain *c, const struct fz_hdr *h)
{
    if (h->opts & 4)
        for (int i = c->nout; i < c->nout + c->nin; i++)
            memset(c->iov[i].iov_base, h->fill, c->iov[i].iov_len);
    uint16_t before = q->used_idx;
    uint32_t written = (uint32_t)c->in_bytes;
    if (virtq_push(q, c->head, written) != 0)
        fail("push of a popped head failed", c->head, 0);
    uint64_t elem = q->used_gpa + 4 + 8ull * (before & (q->size - 1));
    if (q->used_idx != (uint16_t)(before + 1) || ram16(q->used_gpa + 2) != q->used_idx)
        fail("used idx", q->used_idx, ram16(q->used_gpa + 2));
    if (le32(fz.ram + elem) != c->head || le32(fz.ram + elem + 4) != written)
        fail("used element", le32(fz.ram + elem), c->head);

    bool valid = q->signalled_valid;
    uint16_t old_idx = q->signalled_used;
    bool expect;
    if (q->event_idx)
        expect = !valid || need_event(ram16(q->avail_gpa + 4 + 2ull * q->size), q->used_idx, old_idx);
    else
        expect = !(ram16(q->avail_gpa) & 1);
    if (virtq_should_notify(q) != expect)
        fail("should_notify disagrees with 2.7.10", !expect, q->event_idx);
}

static void toggle_kicks(struct virtq *q, bool enable)
{
    bool more = virtq_enable_kicks(q, enable);
    bool expect = enable && ram16(q->avail_gpa + 2) != q->last_avail;
    if (more != expect)
        fail("enable_kicks result", more, enable);
    if (q->event_idx) {
        if (enable && ram16(q->used_gpa + 4 + 8ull * q->size) != q->last_avail)
            fail("avail_event", ram16(q->used_gpa + 4 + 8ull * q->size), q->last_avail);
    } else if (ram16(q->used_gpa) != (enable ? 0 : 1)) {
        fail("used flags", ram16(q->used_gpa), enable);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct virtq q;
    if (!fz.ram)
        fz_init();
    struct fz_hdr h;
    memset(&h, 0, sizeof(h));
    memcpy(&h, data, size < FZ_HDR ? size : FZ_HDR);
    size_t off = size < FZ_HDR ? size : FZ_HDR;
    int nwrites = h.nwrites < FZ_MAX_WRITES ? h.nwrites : FZ_MAX_WRITES;
    if ((size_t)nwrites * 4 > size - off)
        nwrites = (int)((size - off) / 4);
    const uint8_t *writes = data + off;
    off += (size_t)nwrites * 4;
    size_t img = size - off < FZ_RAM ? size - off : FZ_RAM;
    memset(fz.ram, 0, FZ_RAM);
    memcpy(fz.ram, data + off, img);

    uint16_t qsize = h.size_log2 & 0x80 ? le16(h.raw_size) : (uint16_t)(1u << (h.size_log2 & 15));
    uint64_t features = (h.opts & 1 ? 1ull << VIRTIO_F_INDIRECT_DESC : 0) |
                        (h.opts & 2 ? 1ull << VIRTIO_F_EVENT_IDX : 0);
    int rc = virtq_start(&q, &fz.mem, qsize, le16(h.desc), le16(h.avail), le16(h.used), features);
    if (fz.verbose)
        fprintf(stderr, "start size %u features %#llx: %d\n", qsize, (unsigned long long)features, rc);
    if (rc)
        return 0;
    q.last_avail = q.used_idx = le16(h.start);
    struct virtq_chain *c = virtq_chain_new(&q);
    if (!c)
        abort();

    int w = 0;
    for (int round = 0; round < FZ_MAX_ROUNDS; round++) {
        uint16_t last = q.last_avail;
        fz.nnotes = 0;
        rc = virtq_pop(&q, c);
        if (fz.verbose)
            fprintf(stderr, "pop %d: head %u out %d/%llu in %d/%llu\n", rc, c->head, c->nout,
                    (unsigned long long)c->out_bytes, c->nin, (unsigned long long)c->in_bytes);
        if (rc == 1) {
            if (q.last_avail != (uint16_t)(last + 1))
                fail("last_avail not advanced by one", q.last_avail, last);
            check_chain(&q, c);
            complete(&q, c, &h);
        } else if (rc == HK_EGUEST) {
            if (q.last_avail != last || c->nout || c->nin || c->out_bytes || c->in_bytes)
                fail("a refused chain was consumed or handed out", c->nout, c->nin);
            break;
        } else if (rc != 0) {
            fail("pop result", rc, 0);
        }
        if (h.opts & 8)
            toggle_kicks(&q, round & 1);
        if (rc == 0) {
            if (w >= nwrites)
                break;
        }
        if (w < nwrites) {
            const uint8_t *d = writes + 4 * w++;
            uint16_t gpa = le16(d);
            if (fz.verbose)
                fprintf(stderr, "driver writes %#x at %#x\n", le16(d + 2), gpa);
            if (gpa + 2ull <= FZ_RAM)
                memcpy(fz.ram + gpa, d + 2, 2);
        }
    }
    free(c);
    return 0;
}
