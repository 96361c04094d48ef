/*
 * qcow2 images inside the block layer (the format's private header).
 *
 * The layout follows QEMU's docs/interop/qcow2.txt: a header in cluster 0,
 * a two-level map (L1 table -> L2 tables -> data clusters) from guest
 * offsets to host clusters, and refcounts (refcount table -> refcount
 * blocks) saying how many references each host cluster has.
 *
 * Metadata is written through: every change goes to the file at once, in
 * an order that keeps the image consistent if the process dies between
 * any two writes (see qcow2_alloc.c). One mutex guards the metadata; reads,
 * and writes to clusters that are already ours, do their data I/O outside it.
 */
#ifndef HK_BACKENDS_BLOCK_QCOW2_H
#define HK_BACKENDS_BLOCK_QCOW2_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/block/blk_priv.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

static inline bool qcow2_has_magic(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) ==
           QCOW2_MAGIC;
}

static inline uint64_t qcow2_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline uint32_t qcow2_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void qcow2_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline void qcow2_put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Incompatible feature bits (header offset 72). */
#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)

#define QCOW2_COMPRESS_ZLIB 0
#define QCOW2_COMPRESS_ZSTD 1

/* Offsets in the header, for the fields written after open. */
#define QCOW2_HDR_REFTABLE 48  /* refcount_table_offset (8) + clusters (4) */
#define QCOW2_HDR_AUTOCLEAR 88

/* Table entries. */
#define QCOW2_COPIED     (1ull << 63) /* refcount is exactly 1: writable in place */
#define QCOW2_COMPRESSED (1ull << 62)
#define QCOW2_ZERO       1ull         /* v3: the cluster reads as zeros */
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull

/* Limits (QEMU's own, so any image it makes opens here). */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_NAME 1023

struct qcow2_header {
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompatible, compatible, autoclear;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
    char backing_file[QCOW2_MAX_BACKING_NAME + 1]; /* "" when there is none */
    char backing_format[32];                        /* "" when not named */
};

/* Parse and check the header in buf, the first len bytes of a file of
 * file_size bytes (len is at least min(file_size, 2 MiB)). Checks every
 * field against the file size and QEMU's limits; feature policy (what a
 * read-write open refuses) is qcow2_open's. 0 or HK_EINVAL with a line. */
int qcow2_header_parse(const uint8_t *buf, size_t len, uint64_t file_size,
                       struct qcow2_header *h, char *err, size_t errlen);

/* A write-through cache of cluster-sized tables (L2 tables, refcount
 * blocks), least recently used out. Pointers it returns stay valid until
 * the next call on the cache. */
struct qcow2_cache_slot {
    uint64_t off;      /* 0: empty */
    uint64_t used;
    uint8_t *data;
};

struct qcow2_cache {
    struct qcow2_cache_slot *slots;
    int nslots;
    size_t table_size;
    uint64_t tick;
};

int qcow2_cache_init(struct qcow2_cache *c, int nslots, size_t table_size);
void qcow2_cache_destroy(struct qcow2_cache *c);
int qcow2_cache_get(struct qcow2_cache *c, struct blk_file *f, uint64_t off, uint8_t **data);
/* A table just written with content: cache it without reading it back. */
void qcow2_cache_insert(struct qcow2_cache *c, uint64_t off, const uint8_t *content);

struct qcow2 {
    struct blk_file file;
    struct qcow2_header h;
    struct blk *backing;            /* NULL: unallocated clusters read zeros */
    pthread_mutex_t lock;
    bool writable;
    bool punch;                     /* punch holes where clusters are freed */
    unsigned cluster_bits;
    uint64_t cluster_size;
    unsigned l2_bits;               /* log2 entries per L2 table */
    uint64_t *l1;                   /* host order */
    uint32_t l1_size;
    uint64_t *reftable;             /* host order */
    uint64_t reftable_entries;
    unsigned rb_bits;               /* log2 refcounts per refcount block */
    unsigned refcount_order;        /* log2 bits per refcount */
    unsigned csize_shift;           /* compressed descriptor split (x) */
    struct qcow2_cache l2_cache, rb_cache;
    /* Allocation (qcow2_alloc.c): */
    uint64_t free_hint;             /* no free cluster below this index */
    uint64_t end_cluster;           /* past every cluster the file may use */
    uint64_t *pool;                 /* reserved clusters: refcount 1, unused */
    size_t pool_len, pool_pos, pool_next;
};

/* What a guest cluster maps to (qcow2_map.c). */
enum qcow2_kind { QCOW2_UNALLOCATED, QCOW2_ZEROS, QCOW2_DATA, QCOW2_COMPRESSED_DATA };

struct qcow2_map {
    enum qcow2_kind kind;
    uint64_t entry;                 /* the raw L2 entry (0 with no L2 table) */
    uint64_t host;                  /* DATA: cluster offset; COMPRESSED: byte offset */
    uint64_t csize;                 /* COMPRESSED: bytes of compressed data */
    bool in_place;                  /* DATA with COPIED and no zero flag */
};

/* The mapping of the run starting at guest offset off (at most len bytes,
 * clusters of the same kind and, for data, contiguous on the host): its
 * first cluster's map and the run's length. Under q->lock. */
int qcow2_map_run(struct qcow2 *q, uint64_t off, uint64_t len, struct qcow2_map *m,
                  uint64_t *run);
/* Decode one L2 entry. HK_EIO for a corrupt one. */
int qcow2_map_decode(const struct qcow2 *q, uint64_t entry, struct qcow2_map *m);
/* The L2 table for guest cluster gc, allocated when alloc is set (else
 * *l2 = 0 when there is none). Under q->lock. */
int qcow2_map_l2(struct qcow2 *q, uint64_t gc, bool alloc, uint64_t *l2);
/* Set guest cluster gc's L2 entry (its L2 table exists). Under q->lock. */
int qcow2_map_set(struct qcow2 *q, uint64_t gc, uint64_t entry);

/* Refcounts and allocation (qcow2_refcount.c, qcow2_alloc.c), all under
 * q->lock. Cluster numbers are host offsets >> cluster_bits. */
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *value);
int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t value);
/* Make sure a refcount block covers cluster (creating it, and growing the
 * refcount table, when needed). */
int qcow2_refcount_cover(struct qcow2 *q, uint64_t cluster);
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *off);
/* Drop one reference to each host cluster of [off, off+len). */
int qcow2_free_range(struct qcow2 *q, uint64_t off, uint64_t len);
/* Drop the reference an L2 entry holds (data or compressed). */
int qcow2_free_entry(struct qcow2 *q, const struct qcow2_map *m);
/* Give reserved clusters back (clean close). */
int qcow2_alloc_release(struct qcow2 *q);
void qcow2_note_end(struct qcow2 *q, uint64_t end_off);

/* The decompressed cluster behind a compressed map entry (qcow2_compress.c). */
int qcow2_decompress(struct qcow2 *q, const struct qcow2_map *m, uint8_t *out);

/* The read and write paths (qcow2_read.c, qcow2_write.c). */
int qcow2_preadv(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off);
int qcow2_pwritev(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off);
int qcow2_discard(struct blk *b, uint64_t off, uint64_t len);
int qcow2_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool may_unmap);

#endif
