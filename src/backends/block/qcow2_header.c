/*
 * The qcow2 header and its extensions (cluster 0). Every field is checked
 * against the file size and QEMU's limits before anything uses it: this
 * parser reads hostile files (tests/fuzz/fuzz_qcow2.c).
 */
#include <string.h>

#include "backends/block/qcow2.h"

#define EXT_END            0x00000000u
#define EXT_BACKING_FORMAT 0xe2792acau

static bool aligned(uint64_t v, uint64_t cs)
{
    return (v & (cs - 1)) == 0;
}

/* [off, off+len) inside [0, limit). */
static bool inside(uint64_t off, uint64_t len, uint64_t limit)
{
    return off <= limit && len <= limit - off;
}

static void read_fields(const uint8_t *b, struct qcow2_header *h)
{
    h->version = qcow2_be32(b + 4);
    h->backing_file_offset = qcow2_be64(b + 8);
    h->backing_file_size = qcow2_be32(b + 16);
    h->cluster_bits = qcow2_be32(b + 20);
    h->size = qcow2_be64(b + 24);
    h->crypt_method = qcow2_be32(b + 32);
    h->l1_size = qcow2_be32(b + 36);
    h->l1_table_offset = qcow2_be64(b + 40);
    h->refcount_table_offset = qcow2_be64(b + 48);
    h->refcount_table_clusters = qcow2_be32(b + 56);
    h->nb_snapshots = qcow2_be32(b + 60);
    h->snapshots_offset = qcow2_be64(b + 64);
    h->refcount_order = 4; /* version 2: 16-bit refcounts */
    h->header_length = 72;
}

static int read_v3(const uint8_t *b, size_t len, struct qcow2_header *h, char *err,
                   size_t errlen)
{
    if (len < 104)
        return blk_fail(err, errlen, HK_EINVAL, "qcow2 header truncated");
    h->incompatible = qcow2_be64(b + 72);
    h->compatible = qcow2_be64(b + 80);
    h->autoclear = qcow2_be64(b + 88);
    h->refcount_order = qcow2_be32(b + 96);
    h->header_length = qcow2_be32(b + 100);
    if (h->header_length < 104 || h->header_length % 8 ||
        h->header_length > (1u << h->cluster_bits) || h->header_length > len)
        return blk_fail(err, errlen, HK_EINVAL, "bad qcow2 header length %u", h->header_length);
    if (h->refcount_order > 6)
        return blk_fail(err, errlen, HK_EINVAL, "bad qcow2 refcount order %u",
                        h->refcount_order);
    h->compression_type = h->header_length > 104 ? b[104] : QCOW2_COMPRESS_ZLIB;
    return 0;
}

static int check_tables(const struct qcow2_header *h, uint64_t file_size, char *err,
                        size_t errlen)
{
    uint64_t cs = 1ull << h->cluster_bits;
    unsigned map_bits = 2 * h->cluster_bits - 3; /* bytes one L1 entry maps */
    uint64_t l1_need = (h->size >> map_bits) + ((h->size & ((1ull << map_bits) - 1)) != 0);
    if ((uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES || l1_need > h->l1_size)
        return blk_fail(err, errlen, HK_EINVAL, "qcow2 L1 table (%u entries) does not fit size %llu",
                        h->l1_size, (unsigned long long)h->size);
    if (h->l1_size && (!aligned(h->l1_table_offset, cs) || h->l1_table_offset < cs ||
                       !inside(h->l1_table_offset, (uint64_t)h->l1_size * 8, file_size)))
        return blk_fail(err, errlen, HK_EINVAL, "qcow2 L1 table outside the file");
    uint64_t rt_bytes = (uint64_t)h->refcount_table_clusters << h->cluster_bits;
    if (!h->refcount_table_clusters || rt_bytes > QCOW2_MAX_REFTABLE_BYTES ||
        !aligned(h->refcount_table_offset, cs) || h->refcount_table_offset < cs ||
        !inside(h->refcount_table_offset, rt_bytes, file_size))
        return blk_fail(err, errlen, HK_EINVAL, "qcow2 refcount table outside the file");
    if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS ||
        (h->nb_snapshots && (!aligned(h->snapshots_offset, 8) ||
                             h->snapshots_offset >= file_size)))
        return blk_fail(err, errlen, HK_EINVAL, "bad qcow2 snapshot table");
    return 0;
}

/* A name stored in the header: no NUL inside. */
static bool copy_name(char *dst, size_t dstlen, const uint8_t *src, size_t n)
{
    if (n >= dstlen || memchr(src, 0, n))
        return false;
    memcpy(dst, src, n);
    dst[n] = 0;
    return true;
}

static int read_backing(const uint8_t *b, uint64_t end, struct qcow2_header *h, char *err,
                        size_t errlen)
{
    if (!h->backing_file_offset)
        return 0;
    if (!h->backing_file_size || h->backing_file_size > QCOW2_MAX_BACKING_NAME ||
        h->backing_file_offset < h->header_length ||
        !inside(h->backing_file_offset, h->backing_file_size, end) ||
        !copy_name(h->backing_file, sizeof(h->backing_file), b + h->backing_file_offset,
                   h->backing_file_size))
        return blk_fail(err, errlen, HK_EINVAL, "bad qcow2 backing file name");
    return 0;
}

/* Extensions follow the header up to the backing file name or the end of
 * cluster 0: type (4), length (4), data padded to 8 bytes. */
static int read_extensions(const uint8_t *b, uint64_t end, struct qcow2_header *h, char *err,
                           size_t errlen)
{
    if (h->backing_file_offset && h->backing_file_offset < end)
        end = h->backing_file_offset;
    uint64_t pos = h->header_length;
    while (pos + 8 <= end) {
        uint32_t type = qcow2_be32(b + pos), len = qcow2_be32(b + pos + 4);
        pos += 8;
        if (type == EXT_END)
            break;
        if (len > end - pos)
            return blk_fail(err, errlen, HK_EINVAL, "qcow2 header extension 0x%x too long",
                            type);
        if (type == EXT_BACKING_FORMAT &&
            !copy_name(h->backing_format, sizeof(h->backing_format), b + pos, len))
            return blk_fail(err, errlen, HK_EINVAL, "bad qcow2 backing format name");
        pos += ((uint64_t)len + 7) & ~7ull;
    }
    return 0;
}

int qcow2_header_parse(const uint8_t *b, size_t len, uint64_t file_size,
                       struct qcow2_header *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    if (len > file_size)
        len = (size_t)file_size;
    if (len < 72 || !qcow2_has_magic(b))
        return blk_fail(err, errlen, HK_EINVAL, "not a qcow2 image");
    read_fields(b, h);
    if (h->version != 2 && h->version != 3)
        return blk_fail(err, errlen, HK_EINVAL, "qcow2 version %u is not supported",
                        h->version);
    if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return blk_fail(err, errlen, HK_EINVAL, "bad qcow2 cluster size 2^%u", h->cluster_bits);
    int r = h->version == 3 ? read_v3(b, len, h, err, errlen) : 0;
    if (r < 0)
        return r;
    r = check_tables(h, file_size, err, errlen);
    if (r < 0)
        return r;
    /* Names and extensions live in cluster 0. */
    uint64_t end = 1ull << h->cluster_bits;
    if (end > len)
        end = len;
    r = read_backing(b, end, h, err, errlen);
    return r < 0 ? r : read_extensions(b, end, h, err, errlen);
}
