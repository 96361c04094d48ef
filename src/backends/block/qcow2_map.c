/*
 * The two-level map from guest clusters to host clusters: the L1 table in
 * memory, L2 tables through the cache, entries decoded and checked.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/block/qcow2.h"

int qcow2_map_decode(const struct qcow2 *q, uint64_t e, struct qcow2_map *m)
{
    memset(m, 0, sizeof(*m));
    m->entry = e;
    if (e & QCOW2_COMPRESSED) {
        /* Offset in bits 0..x-1, extra 512-byte sectors in x..61. */
        unsigned x = q->csize_shift;
        uint64_t off = e & ((1ull << x) - 1);
        uint64_t sectors = ((e >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
        if (off >> 56 || off < q->cluster_size)
            return HK_EIO;
        m->kind = QCOW2_COMPRESSED_DATA;
        m->host = off;
        m->csize = sectors * 512 - (off & 511);
        return 0;
    }
    uint64_t host = e & QCOW2_OFFSET_MASK;
    if (host & (q->cluster_size - 1))
        return HK_EIO;
    m->host = host;
    if (e & QCOW2_ZERO) {
        if (q->h.version < 3)
            return HK_EIO; /* a reserved bit before version 3 */
        m->kind = QCOW2_ZEROS;
        return 0;
    }
    m->kind = host ? QCOW2_DATA : QCOW2_UNALLOCATED;
    m->in_place = host && (e & QCOW2_COPIED);
    return 0;
}

static int l1_write(struct qcow2 *q, uint32_t i, uint64_t e)
{
    uint8_t be[8];
    qcow2_put_be64(be, e);
    int r = blk_file_pwrite(&q->file, be, 8, q->h.l1_table_offset + (uint64_t)i * 8);
    if (r == 0)
        q->l1[i] = e;
    return r;
}

/* A new, empty L2 table: on disk (and flushed) before the L1 entry that
 * points at it, so no crash leaves L1 naming a cluster of old bytes. */
static int l2_alloc(struct qcow2 *q, uint32_t l1i, uint64_t *l2)
{
    uint64_t off;
    int r = qcow2_alloc_cluster(q, &off);
    if (r < 0)
        return r;
    uint8_t *zeros = calloc(1, q->cluster_size);
    if (!zeros)
        return HK_ENOMEM;
    r = blk_file_pwrite(&q->file, zeros, q->cluster_size, off);
    if (r == 0)
        qcow2_cache_insert(&q->l2_cache, off, zeros);
    free(zeros);
    if (r == 0)
        r = blk_file_sync(&q->file);
    if (r == 0)
        r = l1_write(q, l1i, off | QCOW2_COPIED);
    if (r == 0)
        *l2 = off;
    return r;
}

int qcow2_map_l2(struct qcow2 *q, uint64_t gc, bool alloc, uint64_t *l2)
{
    uint64_t l1i = gc >> q->l2_bits;
    *l2 = 0;
    if (l1i >= q->l1_size)
        return HK_EIO;
    uint64_t e = q->l1[l1i], off = e & QCOW2_OFFSET_MASK;
    if (off) {
        if (off & (q->cluster_size - 1))
            return HK_EIO;
        /* A table shared with a snapshot would need copying first; images
         * with snapshots open read-only (qcow2_open). */
        if (alloc && !(e & QCOW2_COPIED))
            return HK_EIO;
        *l2 = off;
        return 0;
    }
    return alloc ? l2_alloc(q, (uint32_t)l1i, l2) : 0;
}

static int entry_get(struct qcow2 *q, uint64_t gc, uint64_t *e)
{
    uint64_t l2;
    int r = qcow2_map_l2(q, gc, false, &l2);
    *e = 0;
    if (r < 0 || !l2)
        return r;
    uint8_t *t;
    r = qcow2_cache_get(&q->l2_cache, &q->file, l2, &t);
    if (r == 0)
        *e = qcow2_be64(t + (gc & ((1ull << q->l2_bits) - 1)) * 8);
    return r;
}

int qcow2_map_set(struct qcow2 *q, uint64_t gc, uint64_t entry)
{
    uint64_t l2;
    int r = qcow2_map_l2(q, gc, false, &l2);
    if (r < 0)
        return r;
    if (!l2)
        return HK_EIO;
    uint8_t *t, be[8];
    r = qcow2_cache_get(&q->l2_cache, &q->file, l2, &t);
    if (r < 0)
        return r;
    uint64_t at = (gc & ((1ull << q->l2_bits) - 1)) * 8;
    qcow2_put_be64(be, entry);
    r = blk_file_pwrite(&q->file, be, 8, l2 + at);
    if (r == 0)
        memcpy(t + at, be, 8);
    return r;
}

static bool continues(const struct qcow2_map *a, const struct qcow2_map *b, uint64_t step)
{
    if (a->kind != b->kind || a->kind == QCOW2_COMPRESSED_DATA)
        return false;
    if (a->kind == QCOW2_ZEROS) /* plain, or with a cluster kept behind it */
        return !a->host == !b->host;
    return a->kind != QCOW2_DATA || (b->host == a->host + step && b->in_place == a->in_place);
}

int qcow2_map_run(struct qcow2 *q, uint64_t off, uint64_t len, struct qcow2_map *m,
                  uint64_t *run)
{
    uint64_t gc = off >> q->cluster_bits, e;
    int r = entry_get(q, gc, &e);
    if (r == 0)
        r = qcow2_map_decode(q, e, m);
    if (r < 0)
        return r;
    uint64_t n = q->cluster_size - (off & (q->cluster_size - 1));
    uint64_t per_l2 = 1ull << q->l2_bits;
    for (uint64_t k = 1; n < len; k++) {
        struct qcow2_map next;
        uint64_t l1i = (gc + k) >> q->l2_bits;
        if (m->kind == QCOW2_UNALLOCATED && (gc + k) % per_l2 == 0 && l1i < q->l1_size &&
            !(q->l1[l1i] & QCOW2_OFFSET_MASK)) {
            /* No L2 table: the whole stretch it would map is unallocated. */
            n += per_l2 << q->cluster_bits;
            k += per_l2 - 1;
            continue;
        }
        if (entry_get(q, gc + k, &e) < 0 || qcow2_map_decode(q, e, &next) < 0 ||
            !continues(m, &next, k * q->cluster_size))
            break;
        n += q->cluster_size;
    }
    *run = n < len ? n : len;
    return 0;
}
