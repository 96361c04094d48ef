/*
 * Refcounts: the refcount table (in memory, written through) points at
 * refcount blocks (through the cache), each a cluster of 2^refcount_order
 * -bit counts, big-endian, sub-byte counts packed from the low bit up.
 *
 * Order of writes, so that a crash between any two leaves no cluster
 * referenced with a refcount lower than its references (a leak at worst):
 * a new refcount block is written, with its own count, and flushed before
 * the table entry that points at it; a bigger table is written with the
 * blocks that count it and flushed before the header points at it, and
 * the old table is freed after.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/block/qcow2.h"

static uint64_t entry_get(const struct qcow2 *q, const uint8_t *blk, uint64_t i)
{
    unsigned order = q->refcount_order;
    if (order < 3) {
        unsigned bits = 1u << order;
        uint64_t bit = i * bits;
        return (uint64_t)(blk[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
    }
    unsigned w = 1u << (order - 3);
    uint64_t v = 0;
    for (unsigned k = 0; k < w; k++)
        v = v << 8 | blk[i * w + k];
    return v;
}

/* Store v as entry i of blk; *at and *len say which bytes changed. */
static void entry_put(const struct qcow2 *q, uint8_t *blk, uint64_t i, uint64_t v, size_t *at,
                      size_t *len)
{
    unsigned order = q->refcount_order;
    if (order < 3) {
        unsigned bits = 1u << order;
        uint64_t bit = i * bits;
        unsigned mask = ((1u << bits) - 1) << (bit % 8);
        blk[bit / 8] = (uint8_t)((blk[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
        *at = (size_t)(bit / 8);
        *len = 1;
        return;
    }
    unsigned w = 1u << (order - 3);
    for (unsigned k = 0; k < w; k++)
        blk[i * w + k] = (uint8_t)(v >> (8 * (w - 1 - k)));
    *at = (size_t)(i * w);
    *len = w;
}

static uint64_t refcount_max(const struct qcow2 *q)
{
    unsigned bits = 1u << q->refcount_order;
    return bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
}

/* The block covering cluster, or 0 when none does. */
static int block_of(const struct qcow2 *q, uint64_t cluster, uint64_t *off)
{
    uint64_t ti = cluster >> q->rb_bits;
    *off = ti < q->reftable_entries ? q->reftable[ti] : 0;
    if (*off & (q->cluster_size - 1) || *off >> 56)
        return HK_EIO;
    return 0;
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *value)
{
    uint64_t off;
    uint8_t *blk;
    *value = 0;
    int r = block_of(q, cluster, &off);
    if (r < 0 || !off)
        return r;
    r = qcow2_cache_get(&q->rb_cache, &q->file, off, &blk);
    if (r == 0)
        *value = entry_get(q, blk, cluster & ((1ull << q->rb_bits) - 1));
    return r;
}

int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t value)
{
    if (value > refcount_max(q))
        return HK_EIO;
    int r = qcow2_refcount_cover(q, cluster);
    uint64_t off = 0;
    uint8_t *blk;
    if (r == 0)
        r = block_of(q, cluster, &off);
    if (r == 0)
        r = qcow2_cache_get(&q->rb_cache, &q->file, off, &blk);
    if (r < 0)
        return r;
    /* Change a copy of the bytes first: the cache keeps the old value if
     * the write fails. */
    uint64_t i = cluster & ((1ull << q->rb_bits) - 1);
    size_t at, len;
    uint8_t save[8];
    size_t w = q->refcount_order < 3 ? 1 : 1u << (q->refcount_order - 3);
    size_t first = q->refcount_order < 3 ? (size_t)((i << q->refcount_order) / 8) : (size_t)(i * w);
    memcpy(save, blk + first, w);
    entry_put(q, blk, i, value, &at, &len);
    r = blk_file_pwrite(&q->file, blk + at, len, off + at);
    if (r < 0)
        memcpy(blk + first, save, w);
    return r;
}

static int reftable_write(struct qcow2 *q, uint64_t ti, uint64_t off)
{
    uint8_t be[8];
    qcow2_put_be64(be, off);
    int r = blk_file_pwrite(&q->file, be, 8, q->h.refcount_table_offset + ti * 8);
    if (r == 0)
        q->reftable[ti] = off;
    return r;
}

/* A new block for table slot ti, in the first cluster of the range it
 * covers (free: nothing counts it yet), counting itself. */
static int block_create(struct qcow2 *q, uint64_t ti)
{
    uint64_t first = ti << q->rb_bits, off = first << q->cluster_bits;
    if (ti == 0 || off >> 56 || (off >> q->cluster_bits) != first)
        return HK_EIO; /* the header's own block missing, or past 2^56 */
    uint8_t *blk = calloc(1, q->cluster_size);
    if (!blk)
        return HK_ENOMEM;
    size_t at, len;
    entry_put(q, blk, 0, 1, &at, &len);
    int r = blk_file_pwrite(&q->file, blk, q->cluster_size, off);
    if (r == 0)
        qcow2_cache_insert(&q->rb_cache, off, blk);
    free(blk);
    qcow2_note_end(q, off + q->cluster_size);
    if (r == 0)
        r = blk_file_sync(&q->file);
    return r == 0 ? reftable_write(q, ti, off) : r;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

/* Sizes for a table of at least need entries, placed with k new blocks
 * (counting themselves and the table) after the covered clusters. */
static void grow_layout(const struct qcow2 *q, uint64_t need, uint64_t *k, uint64_t *tcl)
{
    uint64_t per_cluster = q->cluster_size / 8, rb = 1ull << q->rb_bits;
    uint64_t old = q->reftable_entries;
    *k = 1;
    for (;;) {
        uint64_t want = need > old + *k ? need : old + *k;
        if (want < old * 2)
            want = old * 2;
        *tcl = div_up(want, per_cluster);
        uint64_t k2 = div_up(*k + *tcl, rb);
        if (k2 <= *k)
            return;
        *k = k2;
    }
}

static int grow_write(struct qcow2 *q, uint64_t start, uint64_t k, uint64_t tcl)
{
    uint64_t cs = q->cluster_size, rb = 1ull << q->rb_bits;
    uint8_t *blocks = calloc(k, cs), *table = calloc(tcl, cs);
    int r = HK_ENOMEM;
    if (!blocks || !table)
        goto out;
    size_t at, len;
    for (uint64_t j = 0; j < k + tcl; j++)
        entry_put(q, blocks + (j / rb) * cs, j % rb, 1, &at, &len);
    for (uint64_t i = 0; i < q->reftable_entries; i++)
        qcow2_put_be64(table + i * 8, q->reftable[i]);
    for (uint64_t i = 0; i < k; i++)
        qcow2_put_be64(table + (q->reftable_entries + i) * 8, (start + i) * cs);
    r = blk_file_pwrite(&q->file, blocks, k * cs, start * cs);
    if (r == 0)
        r = blk_file_pwrite(&q->file, table, tcl * cs, (start + k) * cs);
    qcow2_note_end(q, (start + k + tcl) * cs);
    if (r == 0)
        r = blk_file_sync(&q->file);
    if (r < 0)
        goto out;
    /* The switch: one write of the offset and the size, then flushed. */
    uint8_t hdr[12];
    qcow2_put_be64(hdr, (start + k) * cs);
    qcow2_put_be32(hdr + 8, (uint32_t)tcl);
    r = blk_file_pwrite(&q->file, hdr, sizeof(hdr), QCOW2_HDR_REFTABLE);
    if (r == 0)
        r = blk_file_sync(&q->file);
    if (r < 0)
        goto out;
    uint64_t *mem = realloc(q->reftable, tcl * cs);
    if (!mem) {
        r = HK_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < tcl * (cs / 8); i++)
        mem[i] = qcow2_be64(table + i * 8);
    q->reftable = mem;
    q->reftable_entries = tcl * (cs / 8);
    q->h.refcount_table_offset = (start + k) * cs;
    q->h.refcount_table_clusters = (uint32_t)tcl;
out:
    free(blocks);
    free(table);
    return r;
}

static int grow(struct qcow2 *q, uint64_t need_ti)
{
    uint64_t k, tcl, cs = q->cluster_size;
    grow_layout(q, need_ti + 1, &k, &tcl);
    uint64_t start = q->reftable_entries << q->rb_bits;
    if (tcl * cs > QCOW2_MAX_REFTABLE_BYTES || start >> (56 - q->cluster_bits) ||
        (start + k + tcl) >> (56 - q->cluster_bits))
        return HK_EIO;
    uint64_t old_off = q->h.refcount_table_offset, old_cl = q->h.refcount_table_clusters;
    int r = grow_write(q, start, k, tcl);
    /* The old table is garbage now (a leak if this stops half-way). */
    for (uint64_t c = 0; r == 0 && c < old_cl; c++)
        r = qcow2_free_range(q, old_off + c * cs, cs);
    return r;
}

int qcow2_refcount_cover(struct qcow2 *q, uint64_t cluster)
{
    uint64_t ti = cluster >> q->rb_bits, off;
    int r = 0;
    if (ti >= q->reftable_entries)
        r = grow(q, ti);
    if (r == 0)
        r = block_of(q, cluster, &off);
    if (r == 0 && !off)
        r = block_create(q, ti);
    return r;
}
