/*
 * Writes, discard and write-zeroes.
 *
 * A cluster we own alone (COPIED, no zero flag) is written in place,
 * outside the lock. Anything else (unallocated, zero, compressed, shared)
 * gets a new cluster under the lock: the old contents (backing file,
 * zeros, decompressed or shared data) merged with the new bytes are
 * written there first, then the L2 entry points at it, then the old
 * cluster's reference is dropped. A crash between those steps leaves the
 * old mapping or a leak, never a reference to unwritten or freed space.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/block/qcow2.h"

/* Where new bytes come from: part of the guest's list, or zeros. */
struct src {
    const struct iovec *iov;    /* NULL: zeros */
    int iovcnt;
    struct iovec *slice;        /* room for iovcnt entries */
};

static int write_host(struct qcow2 *q, const struct src *s, size_t at, size_t n, uint64_t host)
{
    if (!s->iov)
        return blk_file_write_zeros(&q->file, host, n);
    int cnt = iov_slice(s->iov, s->iovcnt, at, n, s->slice);
    return blk_file_pwritev(&q->file, s->slice, cnt, host);
}

/* The current contents of guest cluster gc (mapped by m) into buf. */
static int old_contents(struct qcow2 *q, uint64_t gc, const struct qcow2_map *m, uint8_t *buf)
{
    switch (m->kind) {
    case QCOW2_UNALLOCATED:
        if (q->backing) {
            struct iovec v = {buf, q->cluster_size};
            return blk_backing_preadv(q->backing, &v, 1, gc << q->cluster_bits);
        }
        break;
    case QCOW2_DATA:
        return blk_file_pread(&q->file, buf, q->cluster_size, m->host);
    case QCOW2_COMPRESSED_DATA:
        return qcow2_decompress(q, m, buf);
    case QCOW2_ZEROS:
        break;
    }
    memset(buf, 0, q->cluster_size);
    return 0;
}

/* Fill new cluster `host` with guest cluster gc's old contents and bytes
 * [in, in+n) from s at `at`. */
static int fill_new(struct qcow2 *q, uint64_t gc, const struct qcow2_map *m, const struct src *s,
                    size_t at, uint64_t in, size_t n, uint64_t host)
{
    if (n == q->cluster_size)
        return write_host(q, s, at, n, host);
    uint8_t *buf = malloc(q->cluster_size);
    if (!buf)
        return HK_ENOMEM;
    int r = old_contents(q, gc, m, buf);
    if (r == 0) {
        if (s->iov)
            iov_to_buf(s->iov, s->iovcnt, at, buf + in, n);
        else
            memset(buf + in, 0, n);
        r = blk_file_pwrite(&q->file, buf, q->cluster_size, host);
    }
    free(buf);
    return r;
}

/* Write [in, in+n) of guest cluster gc through a new cluster. Under the lock. */
static int write_alloc(struct qcow2 *q, uint64_t gc, uint64_t in, size_t n, const struct src *s,
                       size_t at)
{
    uint64_t l2, run, host;
    struct qcow2_map m;
    int r = qcow2_map_l2(q, gc, true, &l2);
    if (r == 0)
        r = qcow2_map_run(q, (gc << q->cluster_bits) + in, n, &m, &run);
    if (r < 0)
        return r;
    if (m.in_place) /* another request allocated it meanwhile */
        return write_host(q, s, at, n, m.host + in);
    r = qcow2_alloc_cluster(q, &host);
    if (r < 0)
        return r;
    r = fill_new(q, gc, &m, s, at, in, n, host);
    if (r == 0)
        r = qcow2_map_set(q, gc, host | QCOW2_COPIED);
    if (r < 0) {
        qcow2_free_range(q, host, q->cluster_size);
        return r;
    }
    return qcow2_free_entry(q, &m);
}

static int write_src(struct qcow2 *q, uint64_t off, size_t len, const struct src *s)
{
    size_t done = 0;
    int r = 0;
    while (r == 0 && done < len) {
        uint64_t pos = off + done, in = pos & (q->cluster_size - 1), run = 0;
        struct qcow2_map m;
        pthread_mutex_lock(&q->lock);
        r = qcow2_map_run(q, pos, len - done, &m, &run);
        if (r == 0 && m.in_place) {
            pthread_mutex_unlock(&q->lock);
            r = write_host(q, s, done, (size_t)run, m.host + in);
        } else {
            if (run > q->cluster_size - in)
                run = q->cluster_size - in;
            if (r == 0)
                r = write_alloc(q, pos >> q->cluster_bits, in, (size_t)run, s, done);
            pthread_mutex_unlock(&q->lock);
        }
        done += (size_t)run;
    }
    return r;
}

int qcow2_pwritev(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
    struct qcow2 *q = b->priv;
    struct iovec stackv[16];
    struct src s = {iov, iovcnt, stackv};
    if (iovcnt > 16 && !(s.slice = malloc(sizeof(*s.slice) * (size_t)iovcnt)))
        return HK_EIO;
    int r = write_src(q, off, iov_total(iov, iovcnt), &s);
    if (s.slice != stackv)
        free(s.slice);
    return r < 0 ? HK_EIO : 0;
}

/* Point gc at `entry` instead of what m maps, then drop m's reference. */
static int remap(struct qcow2 *q, uint64_t gc, const struct qcow2_map *m, uint64_t entry)
{
    int r = qcow2_map_set(q, gc, entry);
    if (r == 0 && (entry & QCOW2_OFFSET_MASK) != m->host)
        r = qcow2_free_entry(q, m);
    return r;
}

/* Whole clusters only: a discard of part of one is ignored. Without a
 * backing file an unallocated cluster reads zeros; with one, version 3
 * marks it zero, and version 2 (no zero flag) lets the backing show. */
int qcow2_discard(struct blk *b, uint64_t off, uint64_t len)
{
    struct qcow2 *q = b->priv;
    uint64_t cs = q->cluster_size;
    uint64_t gc = (off + cs - 1) >> q->cluster_bits, end = (off + len) >> q->cluster_bits;
    uint64_t entry = q->backing && q->h.version >= 3 ? QCOW2_ZERO : 0;
    int r = 0;
    while (r == 0 && gc < end) {
        struct qcow2_map m;
        uint64_t run = 0;
        pthread_mutex_lock(&q->lock);
        r = qcow2_map_run(q, gc << q->cluster_bits, (end - gc) << q->cluster_bits, &m, &run);
        bool skip = m.kind == QCOW2_UNALLOCATED || (m.kind == QCOW2_ZEROS && !m.host);
        if (r == 0 && !skip) {
            run = cs;
            r = remap(q, gc, &m, entry);
        }
        pthread_mutex_unlock(&q->lock);
        gc += run >> q->cluster_bits;
    }
    return r < 0 ? HK_EIO : 0;
}

/* One cluster's worth of write-zeroes: [in, in+n) of gc. Under the lock. */
static int zero_cluster(struct qcow2 *q, uint64_t gc, uint64_t in, size_t n, bool may_unmap,
                        const struct src *zeros)
{
    struct qcow2_map m;
    uint64_t run, l2;
    int r = qcow2_map_run(q, (gc << q->cluster_bits) + in, n, &m, &run);
    if (r < 0)
        return r;
    if (m.kind == QCOW2_ZEROS || (m.kind == QCOW2_UNALLOCATED && !q->backing))
        return 0; /* reads zeros already */
    bool whole = n == q->cluster_size;
    if (whole && (q->h.version >= 3 || (!q->backing && may_unmap))) {
        bool keep = m.in_place && !may_unmap;
        uint64_t entry = keep ? m.host | QCOW2_ZERO | QCOW2_COPIED : q->backing ? QCOW2_ZERO : 0;
        r = qcow2_map_l2(q, gc, true, &l2);
        return r < 0 ? r : remap(q, gc, &m, entry);
    }
    if (m.in_place)
        return write_host(q, zeros, 0, n, m.host + in);
    return write_alloc(q, gc, in, n, zeros, 0);
}

int qcow2_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap)
{
    struct qcow2 *q = b->priv;
    struct src zeros = {NULL, 0, NULL};
    int r = 0;
    for (uint64_t done = 0; r == 0 && done < len;) {
        uint64_t pos = off + done, in = pos & (q->cluster_size - 1);
        uint64_t n = q->cluster_size - in < len - done ? q->cluster_size - in : len - done;
        struct qcow2_map m;
        uint64_t run = 0;
        pthread_mutex_lock(&q->lock);
        r = qcow2_map_run(q, pos, len - done, &m, &run);
        if (r == 0 && (m.kind == QCOW2_ZEROS || (m.kind == QCOW2_UNALLOCATED && !q->backing)))
            n = run; /* a stretch that reads zeros already */
        else if (r == 0)
            r = zero_cluster(q, pos >> q->cluster_bits, in, (size_t)n, may_unmap, &zeros);
        pthread_mutex_unlock(&q->lock);
        done += n;
    }
    return r < 0 ? HK_EIO : 0;
}
