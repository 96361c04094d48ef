/*
 * Cluster allocation. A new cluster's refcount must be on stable storage
 * before any L1/L2 entry that points at it, or a power cut could leave a
 * referenced cluster counted as free. Flushing before every such pointer
 * would cost a flush per cluster, so clusters are reserved in batches: the
 * batch's refcounts are set to 1 and flushed once, then handed out. A
 * crash leaks the unused rest of a batch (qemu-img check -r leaks finds
 * them); a clean close gives them back.
 *
 * Free clusters are found by scanning refcounts from a hint below which
 * none is free; clusters past every refcount block are free.
 */
#include <stdlib.h>

#include "backends/block/qcow2.h"

#define POOL_FIRST 8

/* How far past the file's end a scan may go before calling the refcounts
 * corrupt (leaked reservations from a crash sit there, at most a batch). */
#define SCAN_SLACK 4096

static size_t pool_max(const struct qcow2 *q)
{
    size_t n = (size_t)((64ull << 20) >> q->cluster_bits);
    return n < 16 ? 16 : n > 1024 ? 1024 : n;
}

void qcow2_note_end(struct qcow2 *q, uint64_t end_off)
{
    uint64_t c = (end_off + q->cluster_size - 1) >> q->cluster_bits;
    if (c > q->end_cluster)
        q->end_cluster = c;
}

/* The first cluster at or after from whose refcount is 0. */
static int find_free(struct qcow2 *q, uint64_t from, uint64_t *out)
{
    uint64_t rb = 1ull << q->rb_bits;
    uint64_t limit = q->end_cluster + pool_max(q) + SCAN_SLACK;
    for (uint64_t c = from ? from : 1; c < limit;) {
        uint64_t ti = c >> q->rb_bits;
        uint64_t off = ti < q->reftable_entries ? q->reftable[ti] : 0;
        if (!off) {
            /* Uncovered: free, except the first cluster, which will hold
             * the block that counts the range (qcow2_refcount_cover). */
            *out = (c & (rb - 1)) ? c : c + 1;
            return 0;
        }
        for (; c < ((ti + 1) << q->rb_bits) && c < limit; c++) {
            uint64_t v;
            int r = qcow2_refcount_get(q, c, &v);
            if (r < 0)
                return r;
            if (v == 0) {
                *out = c;
                return 0;
            }
        }
    }
    return HK_EIO; /* refcounts claim everything: corrupt */
}

static int alloc_one(struct qcow2 *q, uint64_t *cluster)
{
    for (;;) {
        uint64_t c, v;
        int r = find_free(q, q->free_hint, &c);
        if (r == 0)
            r = qcow2_refcount_cover(q, c); /* may place metadata at c */
        if (r == 0)
            r = qcow2_refcount_get(q, c, &v);
        if (r < 0)
            return r;
        q->free_hint = c + 1;
        if (v)
            continue;
        r = qcow2_refcount_set(q, c, 1);
        if (r < 0)
            return r;
        qcow2_note_end(q, (c + 1) << q->cluster_bits);
        *cluster = c;
        return 0;
    }
}

static int refill(struct qcow2 *q)
{
    size_t want = q->pool_next, max = pool_max(q), got = 0;
    int r = 0;
    if (!q->pool && !(q->pool = malloc(max * sizeof(*q->pool))))
        return HK_ENOMEM;
    if (want < POOL_FIRST || want > max)
        want = POOL_FIRST;
    while (got < want && (r = alloc_one(q, &q->pool[got])) == 0)
        got++;
    if (got == 0)
        return r < 0 ? r : HK_EIO;
    q->pool_len = got;
    q->pool_pos = 0;
    q->pool_next = want * 2 < max ? want * 2 : max;
    return blk_file_sync(&q->file);
}

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *off)
{
    if (!q->writable)
        return HK_EIO;
    if (q->pool_pos == q->pool_len) {
        int r = refill(q);
        if (r < 0)
            return r;
    }
    *off = q->pool[q->pool_pos++] << q->cluster_bits;
    return 0;
}

int qcow2_free_range(struct qcow2 *q, uint64_t off, uint64_t len)
{
    if (!len)
        return 0;
    uint64_t last = (off + len - 1) >> q->cluster_bits;
    for (uint64_t c = off >> q->cluster_bits; c <= last; c++) {
        uint64_t v;
        int r = qcow2_refcount_get(q, c, &v);
        if (r == 0 && v == 0)
            r = HK_EIO; /* freeing a free cluster: the refcounts are wrong */
        if (r == 0)
            r = qcow2_refcount_set(q, c, v - 1);
        if (r < 0)
            return r;
        if (v == 1) {
            if (c < q->free_hint)
                q->free_hint = c;
            /* Give the space back to the host file system (a hint). */
            if (q->punch)
                blk_file_punch(&q->file, c << q->cluster_bits, q->cluster_size);
        }
    }
    return 0;
}

int qcow2_free_entry(struct qcow2 *q, const struct qcow2_map *m)
{
    switch (m->kind) {
    case QCOW2_DATA:
    case QCOW2_ZEROS:
        return m->host ? qcow2_free_range(q, m->host, q->cluster_size) : 0;
    case QCOW2_COMPRESSED_DATA:
        return qcow2_free_range(q, m->host, m->csize);
    default:
        return 0;
    }
}

int qcow2_alloc_release(struct qcow2 *q)
{
    int r = 0;
    while (q->pool && q->pool_pos < q->pool_len) {
        uint64_t c = q->pool[q->pool_pos++];
        int e = qcow2_refcount_set(q, c, 0);
        if (e < 0)
            r = e;
        else if (c < q->free_hint)
            q->free_hint = c;
    }
    return r;
}
