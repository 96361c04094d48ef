/*
 * Opening a qcow2 image: the header and its feature policy, the L1 and
 * refcount tables, the backing file; and flush and close.
 *
 * Policy: encryption, external data files, extended L2 entries, unknown
 * incompatible features and compression types are refused. An image
 * marked dirty (lazy refcounts not yet rebuilt) or corrupt, or holding
 * internal snapshots (whose clusters the active layer shares, needing
 * copy-on-write of L2 tables), opens read-only only: the message says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/block/qcow2.h"

#define HEADER_READ (2u << 20) /* the largest cluster 0 */

static int check_features(const struct qcow2_header *h, bool writable, char *err,
                          size_t errlen)
{
    uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DATA_FILE |
                     QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2;
    if (h->crypt_method)
        return blk_fail(err, errlen, HK_ENOTSUP, "encrypted qcow2 images are not supported");
    if (h->incompatible & QCOW2_INCOMPAT_DATA_FILE)
        return blk_fail(err, errlen, HK_ENOTSUP, "qcow2 external data files are not supported");
    if (h->incompatible & QCOW2_INCOMPAT_EXTL2)
        return blk_fail(err, errlen, HK_ENOTSUP,
                        "qcow2 extended L2 entries (subclusters) are not supported");
    if (h->incompatible & ~known)
        return blk_fail(err, errlen, HK_ENOTSUP, "unknown qcow2 incompatible features 0x%llx",
                        (unsigned long long)(h->incompatible & ~known));
    if (h->compression_type > QCOW2_COMPRESS_ZSTD)
        return blk_fail(err, errlen, HK_ENOTSUP, "qcow2 compression type %u is not supported",
                        h->compression_type);
    if (!writable)
        return 0;
    if (h->incompatible & QCOW2_INCOMPAT_CORRUPT)
        return blk_fail(err, errlen, HK_EINVAL,
                        "marked corrupt: repair it with 'qemu-img check -r all', or open it ro");
    if (h->incompatible & QCOW2_INCOMPAT_DIRTY)
        return blk_fail(err, errlen, HK_EINVAL,
                        "dirty (lazy refcounts): repair it with 'qemu-img check -r all', or open it ro");
    if (h->nb_snapshots)
        return blk_fail(err, errlen, HK_ENOTSUP,
                        "has internal snapshots: open it ro, or delete them (qemu-img snapshot -d)");
    return 0;
}

static int load_table(struct qcow2 *q, uint64_t off, uint64_t entries, uint64_t **out)
{
    size_t bytes = entries ? (size_t)entries * 8 : 1;
    uint8_t *raw = malloc(bytes);
    uint64_t *t = malloc(bytes);
    int r = raw && t ? blk_file_pread(&q->file, raw, entries * 8, off) : HK_ENOMEM;
    for (uint64_t i = 0; r == 0 && i < entries; i++)
        t[i] = qcow2_be64(raw + i * 8);
    free(raw);
    if (r < 0)
        free(t);
    else
        *out = t;
    return r;
}

static int open_backing(struct qcow2 *q, const char *path, const struct blk_opts *opts, int depth,
                        char *err, size_t errlen)
{
    const char *name = q->h.backing_file, *fmt = q->h.backing_format;
    struct blk_opts bo = {.readonly = true, .direct = opts->direct};
    if (!*fmt)
        bo.format = BLK_FORMAT_AUTO;
    else if (!strcmp(fmt, "raw"))
        bo.format = BLK_FORMAT_RAW;
    else if (!strcmp(fmt, "qcow2"))
        bo.format = BLK_FORMAT_QCOW2;
    else
        return blk_fail(err, errlen, HK_ENOTSUP, "backing format '%s' is not supported", fmt);
    /* A relative name is relative to the image's directory. */
    char full[4096];
    const char *slash = strrchr(path, '/');
    if (name[0] == '/' || !slash)
        snprintf(full, sizeof(full), "%s", name);
    else
        snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - path), path, name);
    char inner[512] = "";
    int r = blk_open_depth(full, &bo, depth + 1, false, &q->backing, inner, sizeof(inner));
    if (r == 0)
        return 0;
    /* Deep in a chain, name only the file that failed and why. */
    const char *why = inner, *p;
    while ((p = strstr(why, ": backing file ")))
        why = p + strlen(": backing file ");
    return blk_fail(err, errlen, r, "backing file %s", why);
}

/* Autoclear bits name extensions (bitmaps...) that a writer not keeping
 * them up to date must clear, so the next reader knows they are stale. */
static int clear_autoclear(struct qcow2 *q)
{
    if (!q->h.autoclear)
        return 0;
    uint8_t zero[8] = {0};
    int r = blk_file_pwrite(&q->file, zero, 8, QCOW2_HDR_AUTOCLEAR);
    if (r == 0)
        r = blk_file_sync(&q->file);
    q->h.autoclear = 0;
    return r;
}

static int setup(struct qcow2 *q, const char *path, const struct blk_opts *opts, int depth,
                 bool no_backing, char *err, size_t errlen)
{
    size_t len = q->file.length < HEADER_READ ? (size_t)q->file.length : HEADER_READ;
    uint8_t *hdr = malloc(len ? len : 1);
    if (!hdr)
        return HK_ENOMEM;
    int r = blk_file_pread(&q->file, hdr, len, 0);
    if (r == 0)
        r = qcow2_header_parse(hdr, len, q->file.length, &q->h, err, errlen);
    free(hdr);
    if (r == 0)
        r = check_features(&q->h, q->writable, err, errlen);
    if (r < 0)
        return r;
    const struct qcow2_header *h = &q->h;
    q->cluster_bits = h->cluster_bits;
    q->cluster_size = 1ull << h->cluster_bits;
    q->l2_bits = h->cluster_bits - 3;
    q->refcount_order = h->refcount_order;
    q->rb_bits = h->cluster_bits + 3 - h->refcount_order;
    q->csize_shift = 62 - (h->cluster_bits - 8);
    q->l1_size = h->l1_size;
    q->reftable_entries = (uint64_t)h->refcount_table_clusters << (h->cluster_bits - 3);
    q->end_cluster = (q->file.length + q->cluster_size - 1) >> q->cluster_bits;
    q->free_hint = 1;
    r = load_table(q, h->l1_table_offset, h->l1_size, &q->l1);
    if (r == 0)
        r = load_table(q, h->refcount_table_offset, q->reftable_entries, &q->reftable);
    int slots = (int)((8u << 20) >> h->cluster_bits);
    slots = slots < 16 ? 16 : slots > 64 ? 64 : slots;
    if (r == 0)
        r = qcow2_cache_init(&q->l2_cache, slots, q->cluster_size);
    if (r == 0)
        r = qcow2_cache_init(&q->rb_cache, slots, q->cluster_size);
    if (r < 0)
        return blk_fail(err, errlen, r, "cannot read the qcow2 tables");
    if (h->backing_file[0] && !no_backing) {
        r = open_backing(q, path, opts, depth, err, errlen);
        if (r < 0)
            return r;
    }
    if (q->writable && clear_autoclear(q) < 0)
        return blk_fail(err, errlen, HK_EIO, "cannot update the qcow2 header");
    return 0;
}

static int qcow2_flush(struct blk *b)
{
    struct qcow2 *q = b->priv;
    return blk_file_sync(&q->file) < 0 ? HK_EIO : 0;
}

static void destroy(struct qcow2 *q)
{
    if (q->writable) {
        pthread_mutex_lock(&q->lock);
        qcow2_alloc_release(q);
        pthread_mutex_unlock(&q->lock);
        blk_file_sync(&q->file);
    }
    blk_close(q->backing);
    qcow2_cache_destroy(&q->l2_cache);
    qcow2_cache_destroy(&q->rb_cache);
    free(q->l1);
    free(q->reftable);
    free(q->pool);
    blk_file_close(&q->file);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static void qcow2_close(struct blk *b)
{
    destroy(b->priv);
}

static const struct blk_ops qcow2_ops = {
    .preadv = qcow2_preadv,
    .pwritev = qcow2_pwritev,
    .discard = qcow2_discard,
    .write_zeroes = qcow2_write_zeroes,
    .flush = qcow2_flush,
    .close = qcow2_close,
};

int qcow2_open(struct blk *b, const char *path, const struct blk_opts *opts, int depth,
               bool no_backing, char *err, size_t errlen)
{
    struct qcow2 *q = calloc(1, sizeof(*q));
    if (!q)
        return blk_fail(err, errlen, HK_ENOMEM, "%s: out of memory", path);
    pthread_mutex_init(&q->lock, NULL);
    q->file.fd = q->file.dfd = -1;
    q->writable = !opts->readonly;
    q->punch = opts->discard && !opts->readonly;
    int r = blk_file_open(path, opts, &q->file, err, errlen);
    if (r < 0) {
        q->writable = false;
        destroy(q);
        return r;
    }
    char why[768] = "";
    r = setup(q, path, opts, depth, no_backing, why, sizeof(why));
    if (r < 0) {
        q->writable = false; /* nothing to give back */
        destroy(q);
        return blk_fail(err, errlen, r, "%s: %s", path, why[0] ? why : "cannot open");
    }
    b->ops = &qcow2_ops;
    b->priv = q;
    b->size = q->h.size & ~511ull;
    return 0;
}
