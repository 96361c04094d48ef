/*
 * qcow2 images through blk.h, with qemu-img as the oracle: images made by
 * qemu-img (version 2 and 3, 64 KiB, 4 KiB and 512-byte clusters, 1- to
 * 64-bit refcounts, with and without raw or qcow2 backing files) take a
 * random workload of writes, reads, write-zeroes and discards checked
 * against a shadow copy; then `qemu-img check` must be clean and `qemu-img
 * convert -O raw` must equal the shadow. Compressed images (zlib, zstd)
 * read back and take writes; features we refuse give one line.
 * SKIP without qemu-img.
 */
#include "backends/block/blk.h"
#include "hyperkit.h"
#include "qemu_img.h"
#include "test.h"

static char dir[] = "/tmp/hk-qcow2-XXXXXX";
static char img[300], base[300], base2[300], tmp[300];

struct cfg {
    const char *name;
    unsigned cluster;
    const char *compat;     /* "0.10" (v2) or "1.1" (v3) */
    int backing;            /* 0 none, 1 raw, 2 qcow2 over raw */
    unsigned refcount_bits;
    size_t size, backing_size;
    int ops;
};

/* Make the image (and its backing file) and the shadow of what it reads. */
static bool create(const struct cfg *c, uint8_t *shadow, uint8_t *backing)
{
    unlink(img);
    unlink(base);
    unlink(base2);
    memset(shadow, 0, c->size);
    const char *fmt = "raw", *bpath = base;
    if (c->backing) {
        qi_fill(backing, c->backing_size);
        if (!bt_write_file(base, backing, c->backing_size))
            return false;
        memcpy(shadow, backing, c->backing_size < c->size ? c->backing_size : c->size);
        if (c->backing == 2) {
            if (qi_run("qemu-img convert -O qcow2 -o cluster_size=4096 '%s' '%s'", base,
                       base2) != 0)
                return false;
            fmt = "qcow2";
            bpath = "base2.qcow2"; /* relative: next to the image */
        }
        return qi_run("qemu-img create -f qcow2 -o cluster_size=%u,compat=%s,refcount_bits=%u "
                      "-b '%s' -F %s '%s' %zu",
                      c->cluster, c->compat, c->refcount_bits, bpath, fmt, img, c->size) == 0;
    }
    return qi_run("qemu-img create -f qcow2 -o cluster_size=%u,compat=%s,refcount_bits=%u '%s' %zu",
                  c->cluster, c->compat, c->refcount_bits, img, c->size) == 0;
}

static bool read_equals(struct blk *b, uint64_t off, size_t len, const uint8_t *want, uint8_t *buf)
{
    struct iovec iov[4];
    int n = bt_split(buf, len, iov);
    return blk_preadv(b, iov, n, off) == 0 && !memcmp(buf, want, len);
}

/* A random range: 512-byte aligned, up to three clusters (or 256 KiB). */
static void pick(const struct cfg *c, uint64_t *off, size_t *len)
{
    size_t max = 3 * (size_t)c->cluster < (256u << 10) ? 3 * (size_t)c->cluster : 256u << 10;
    *len = 512 * (1 + bt_rand() % (max / 512));
    *off = 512 * (bt_rand() % ((c->size - *len) / 512 + 1));
    if (bt_rand() % 4 == 0) /* cluster-aligned, whole clusters */
        *off -= *off % c->cluster, *len = c->cluster * (1 + bt_rand() % 3);
    if (*off + *len > c->size)
        *len = c->size - *off;
}

/* After a discard each sector reads zeros, what it held, or the backing
 * file's bytes (version 2 with a backing file); the shadow takes it. */
static bool discard_ok(const struct cfg *c, struct blk *b, uint64_t off, size_t len, uint8_t *shadow,
                       const uint8_t *backing, uint8_t *buf)
{
    struct iovec v = {buf, len};
    if (blk_preadv(b, &v, 1, off) < 0)
        return false;
    static const uint8_t zeros[512];
    for (size_t s = 0; s < len; s += 512) {
        uint64_t o = off + s;
        bool ok = !memcmp(buf + s, zeros, 512) || !memcmp(buf + s, shadow + o, 512) ||
                  (c->backing && o + 512 <= c->backing_size && !memcmp(buf + s, backing + o, 512));
        if (!ok)
            return false;
    }
    memcpy(shadow + off, buf, len);
    return true;
}

static bool workload(const struct cfg *c, struct blk *b, uint8_t *shadow, const uint8_t *backing)
{
    uint8_t *buf = malloc((256u << 10) + 3 * (size_t)c->cluster);
    bool ok = true;
    for (int i = 0; i < c->ops && ok; i++) {
        uint64_t off;
        size_t len;
        pick(c, &off, &len);
        struct iovec iov[4];
        switch (bt_rand() % 10) {
        case 0 ... 5:
            for (size_t j = 0; j < len; j++)
                buf[j] = (uint8_t)bt_rand();
            ok = blk_pwritev(b, iov, bt_split(buf, len, iov), off) == 0;
            memcpy(shadow + off, buf, len);
            if (!ok)
                printf("  write %zu at %llu failed\n", len, (unsigned long long)off);
            break;
        case 6:
            ok = read_equals(b, off, len, shadow + off, buf);
            if (!ok)
                printf("  read %zu at %llu differs\n", len, (unsigned long long)off);
            break;
        case 7:
            ok = blk_write_zeroes(b, off, len, bt_rand() % 2) == 0;
            memset(shadow + off, 0, len);
            break;
        case 8:
            ok = blk_discard(b, off, len) == 0 && discard_ok(c, b, off, len, shadow, backing, buf);
            if (!ok)
                printf("  discard %zu at %llu\n", len, (unsigned long long)off);
            break;
        default:
            ok = blk_flush(b) == 0;
        }
    }
    free(buf);
    return ok;
}

static bool read_all(struct blk *b, const uint8_t *shadow, size_t size)
{
    uint8_t *buf = malloc(size);
    struct iovec v = {buf, size};
    bool ok = blk_preadv(b, &v, 1, 0) == 0 && !memcmp(buf, shadow, size);
    free(buf);
    return ok;
}

static void run_cfg(const struct cfg *c)
{
    uint8_t *shadow = malloc(c->size), *backing = malloc(c->backing_size + 1);
    char name[200], err[512] = "";
    struct blk *b = NULL;
    snprintf(name, sizeof(name), "%s: create with qemu-img", c->name);
    bool made = create(c, shadow, backing);
    CHECK(made, name);
    struct blk_opts o = {.discard = true};
    int r = made ? blk_open(img, &o, &b, err, sizeof(err)) : -1;
    snprintf(name, sizeof(name), "%s: open", c->name);
    CHECK_EQ(r, 0, name);
    if (r < 0) {
        printf("  %s\n", err);
        goto out;
    }
    snprintf(name, sizeof(name), "%s: size", c->name);
    CHECK_EQ(blk_size(b), c->size, name);
    snprintf(name, sizeof(name), "%s: reads the backing file", c->name);
    CHECK(read_all(b, shadow, c->size), name);
    snprintf(name, sizeof(name), "%s: %d random operations against the shadow", c->name, c->ops);
    CHECK(workload(c, b, shadow, backing), name);
    snprintf(name, sizeof(name), "%s: everything reads back", c->name);
    CHECK(read_all(b, shadow, c->size), name);
    snprintf(name, sizeof(name), "%s: flush", c->name);
    CHECK_EQ(blk_flush(b), 0, name);
    blk_close(b);
    snprintf(name, sizeof(name), "%s: qemu-img check is clean", c->name);
    CHECK_EQ(qi_check(img), 0, name);
    snprintf(name, sizeof(name), "%s: qemu-img convert equals the shadow", c->name);
    CHECK(qi_raw_equals(img, tmp, shadow, c->size), name);
    struct blk_opts ro = {.readonly = true};
    r = blk_open(img, &ro, &b, err, sizeof(err));
    snprintf(name, sizeof(name), "%s: reopened read-only, it reads the same", c->name);
    CHECK(r == 0 && read_all(b, shadow, c->size), name);
    if (r == 0)
        blk_close(b);
out:
    free(shadow);
    free(backing);
}

static void test_configs(void)
{
    const size_t M = 1u << 20;
    const struct cfg cfgs[] = {
        {"v3 64k", 65536, "1.1", 0, 16, 8 * M, 0, 400},
        {"v3 4k", 4096, "1.1", 0, 16, 8 * M, 0, 400},
        {"v2 64k", 65536, "0.10", 0, 16, 8 * M, 0, 400},
        {"v2 4k", 4096, "0.10", 0, 16, 4 * M, 0, 300},
        {"v3 64k raw backing", 65536, "1.1", 1, 16, 8 * M, 8 * M, 400},
        {"v3 4k raw backing", 4096, "1.1", 1, 16, 4 * M, 4 * M, 300},
        {"v2 64k raw backing", 65536, "0.10", 1, 16, 8 * M, 8 * M, 400},
        {"v2 4k raw backing", 4096, "0.10", 1, 16, 4 * M, 4 * M, 300},
        {"v3 64k qcow2 backing, larger", 65536, "1.1", 2, 16, 6 * M, 4 * M, 300},
        {"v3 4k 1-bit refcounts", 4096, "1.1", 0, 1, 2 * M, 0, 200},
        {"v3 4k 4-bit refcounts", 4096, "1.1", 0, 4, 2 * M, 0, 200},
        {"v3 4k 64-bit refcounts", 4096, "1.1", 0, 64, 2 * M, 0, 200},
        {"v3 2M clusters", 2u << 20, "1.1", 1, 16, 16 * M, 16 * M, 60},
    };
    for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++)
        run_cfg(&cfgs[i]);
}

/* 512-byte clusters with 16-bit refcounts: one refcount block covers 128
 * KiB and the first refcount table 8 MiB, so 12 MiB of writes make new
 * blocks and grow the table (twice: 1-bit counts grow it sooner). */
static void test_refcount_growth(unsigned refcount_bits)
{
    size_t size = 12u << 20;
    char name[128];
    snprintf(name, sizeof(name), "growth %u-bit: create", refcount_bits);
    unlink(img);
    CHECK_EQ(qi_run("qemu-img create -f qcow2 -o cluster_size=512,refcount_bits=%u '%s' %zu",
                    refcount_bits, img, size), 0, name);
    uint8_t *shadow = malloc(size), *buf = malloc(1 << 20);
    struct blk *b;
    char err[512];
    struct blk_opts o = {0};
    bool ok = blk_open(img, &o, &b, err, sizeof(err)) == 0;
    for (size_t off = 0; ok && off < size; off += 1 << 20) {
        qi_fill(buf, 1 << 20);
        memcpy(shadow + off, buf, 1 << 20);
        struct iovec v = {buf, 1 << 20};
        ok = blk_pwritev(b, &v, 1, off) == 0;
    }
    snprintf(name, sizeof(name), "growth %u-bit: 12 MiB written", refcount_bits);
    CHECK(ok, name);
    if (ok) {
        snprintf(name, sizeof(name), "growth %u-bit: reads back", refcount_bits);
        CHECK(read_all(b, shadow, size), name);
        blk_close(b);
    }
    snprintf(name, sizeof(name), "growth %u-bit: qemu-img check is clean", refcount_bits);
    CHECK_EQ(qi_check(img), 0, name);
    snprintf(name, sizeof(name), "growth %u-bit: convert equals", refcount_bits);
    CHECK(qi_raw_equals(img, tmp, shadow, size), name);
    free(shadow);
    free(buf);
}

static void test_compressed(const char *type)
{
    size_t size = 4u << 20;
    uint8_t *shadow = malloc(size), *buf = malloc(65536);
    qi_fill(shadow, size);
    memset(shadow + (1 << 20), 0, 256 << 10); /* some clusters qemu-img leaves out */
    char name[128], err[512];
    snprintf(name, sizeof(name), "compressed %s: convert -c", type);
    unlink(img);
    CHECK(bt_write_file(base, shadow, size) &&
              qi_run("qemu-img convert -c -O qcow2 -o compression_type=%s '%s' '%s'", type,
                     base, img) == 0,
          name);
    struct blk *b;
    struct blk_opts o = {0};
    int r = blk_open(img, &o, &b, err, sizeof(err));
    snprintf(name, sizeof(name), "compressed %s: open", type);
    CHECK_EQ(r, 0, name);
    if (r < 0) {
        printf("  %s\n", err);
        goto out;
    }
    snprintf(name, sizeof(name), "compressed %s: reads back equal", type);
    CHECK(read_all(b, shadow, size), name);
    /* Writes into compressed clusters: copy-on-write of the decompressed
     * cluster, then the compressed one's references dropped. */
    bool ok = true;
    for (int i = 0; i < 100 && ok; i++) {
        size_t len = 512 * (1 + bt_rand() % 128);
        uint64_t off = 512 * (bt_rand() % ((size - len) / 512));
        qi_fill(buf, len);
        memcpy(shadow + off, buf, len);
        struct iovec v = {buf, len};
        ok = blk_pwritev(b, &v, 1, off) == 0;
    }
    snprintf(name, sizeof(name), "compressed %s: partial writes", type);
    CHECK(ok && read_all(b, shadow, size), name);
    blk_close(b);
    snprintf(name, sizeof(name), "compressed %s: qemu-img check is clean", type);
    CHECK_EQ(qi_check(img), 0, name);
    snprintf(name, sizeof(name), "compressed %s: convert equals", type);
    CHECK(qi_raw_equals(img, tmp, shadow, size), name);
out:
    free(shadow);
    free(buf);
}

/* Patch a copy of a fresh v3 image, open it; expect refusal (naming the
 * image, one line, containing want) or success read-only. */
static void patch(size_t at, const uint8_t *bytes, size_t n)
{
    int fd = open(img, O_WRONLY);
    if (fd < 0 || pwrite(fd, bytes, n, (off_t)at) != (ssize_t)n)
        perror("patch");
    close(fd);
}

static void expect_refused(const char *what, bool readonly, const char *want)
{
    struct blk *b = NULL;
    char err[512] = "", name[160];
    struct blk_opts o = {.readonly = readonly};
    int r = blk_open(img, &o, &b, err, sizeof(err));
    snprintf(name, sizeof(name), "refused: %s%s", what, readonly ? " (ro)" : "");
    CHECK(r < 0 && !b && !strncmp(err, img, strlen(img)) && strstr(err, want) &&
              !strchr(err, '\n'),
          name);
    if (r == 0)
        blk_close(b);
    else if (!strstr(err, want) || getenv("QI_VERBOSE"))
        printf("  got: %s\n", err);
}

static void expect_opens(const char *what, bool readonly)
{
    struct blk *b = NULL;
    char err[512] = "", name[160];
    struct blk_opts o = {.readonly = readonly};
    int r = blk_open(img, &o, &b, err, sizeof(err));
    snprintf(name, sizeof(name), "opens: %s%s", what, readonly ? " (ro)" : "");
    CHECK_EQ(r, 0, name);
    if (r == 0)
        blk_close(b);
    else
        printf("  %s\n", err);
}

static void fresh(void)
{
    unlink(img);
    qi_run("qemu-img create -f qcow2 '%s' 1M", img);
}

static void test_refused(void)
{
    uint8_t be8[8] = {0}, one[4] = {0, 0, 0, 1}, two[4] = {0, 0, 0, 2};
    fresh();
    patch(32, one, 4);
    expect_refused("AES encryption", true, "encrypted");
    patch(32, two, 4);
    expect_refused("LUKS encryption", false, "encrypted");
    struct { const char *what; int bit; const char *want; } bits[] = {
        {"external data file", 2, "external data"},
        {"extended L2", 4, "extended L2"},
        {"unknown incompatible bit", 20, "unknown qcow2 incompatible"},
    };
    for (size_t i = 0; i < 3; i++) {
        fresh();
        memset(be8, 0, 8);
        be8[7 - bits[i].bit / 8] = (uint8_t)(1u << (bits[i].bit % 8));
        patch(72, be8, 8);
        expect_refused(bits[i].what, false, bits[i].want);
    }
    fresh();
    memset(be8, 0, 8);
    be8[7] = 1; /* dirty */
    patch(72, be8, 8);
    expect_refused("dirty", false, "qemu-img check -r all");
    expect_opens("dirty", true);
    be8[7] = 2; /* corrupt */
    patch(72, be8, 8);
    expect_refused("corrupt", false, "qemu-img check -r all");
    expect_opens("corrupt", true);
    fresh();
    uint8_t ct = 7;
    patch(104, &ct, 1);
    expect_refused("compression type 7", true, "compression type");
    fresh();
    patch(4, (uint8_t[]){0, 0, 0, 4}, 4);
    expect_refused("version 4", true, "version 4");
    fresh();
    patch(20, (uint8_t[]){0, 0, 0, 22}, 4);
    expect_refused("4 MiB clusters", true, "cluster size");
    fresh();
    patch(36, (uint8_t[]){0, 0, 0, 0}, 4);
    expect_refused("L1 too small", true, "L1 table");
    fresh();
    patch(48, (uint8_t[]){0, 0, 0, 0, 0x10, 0, 0, 0}, 8);
    expect_refused("refcount table past the end", true, "refcount table");
    /* Internal snapshots: read-only is fine, read-write refused. */
    fresh();
    qi_run("qemu-io -c 'write -P 0x5a 0 64k' '%s'", img);
    qi_run("qemu-img snapshot -c snap1 '%s'", img);
    expect_refused("internal snapshots", false, "snapshots");
    struct blk *b;
    char err[512];
    struct blk_opts ro = {.readonly = true};
    bool ok = blk_open(img, &ro, &b, err, sizeof(err)) == 0;
    uint8_t buf[512];
    struct iovec v = {buf, sizeof(buf)};
    ok = ok && blk_preadv(b, &v, 1, 0) == 0 && buf[0] == 0x5a && buf[511] == 0x5a;
    CHECK(ok, "opens: snapshots, read-only, and reads the active layer");
    if (ok)
        blk_close(b);
    /* Missing backing file: one line naming both. */
    unlink(img);
    qi_run("qemu-img create -f qcow2 -u -b nothere.raw -F raw '%s' 1M", img);
    expect_refused("missing backing file", true, "nothere.raw");
    /* A backing chain that loops. */
    fresh();
    unlink(base2);
    qi_run("qemu-img create -f qcow2 -b '%s' -F qcow2 '%s' 1M", img, base2);
    qi_run("qemu-img rebase -u -b '%s' -F qcow2 '%s'", base2, img);
    expect_refused("backing chain loop", true, "deeper than");
}

/* Locks: a backing file is shared read-only; the image itself is not. */
static void test_locks(void)
{
    unlink(img);
    unlink(base);
    qi_run("qemu-img create -f raw '%s' 1M", base);
    qi_run("qemu-img create -f qcow2 -b '%s' -F raw '%s' 1M", base, img);
    struct blk *a = NULL, *b = NULL, *c = NULL;
    char err[512];
    struct blk_opts rw = {0}, ro = {.readonly = true};
    CHECK_EQ(blk_open(img, &rw, &a, err, sizeof(err)), 0, "locks: overlay open");
    CHECK(blk_open(img, &ro, &b, err, sizeof(err)) < 0 && strstr(err, "locked"),
          "locks: the overlay is taken");
    CHECK_EQ(blk_open(base, &ro, &b, err, sizeof(err)), 0, "locks: the backing file can be read");
    CHECK(blk_open(base, &rw, &c, err, sizeof(err)) < 0 && strstr(err, "locked"),
          "locks: the backing file cannot be written");
    blk_close(b);
    blk_close(a);
}

/* Discard and write-zeroes over a 1 TiB image: stretches without L2
 * tables are skipped whole, not cluster by cluster. */
static void test_huge_ranges(void)
{
    uint64_t size = 1ull << 40;
    unlink(img);
    qi_run("qemu-img create -f qcow2 '%s' 1T", img);
    struct blk *b;
    char err[512];
    struct blk_opts o = {.discard = true};
    if (blk_open(img, &o, &b, err, sizeof(err)) < 0) {
        CHECK(0, "huge: open");
        return;
    }
    static uint8_t buf[65536];
    memset(buf, 0x5a, sizeof(buf));
    struct iovec v = {buf, sizeof(buf)};
    bool ok = blk_pwritev(b, &v, 1, 0) == 0 && blk_pwritev(b, &v, 1, size / 2) == 0 &&
              blk_pwritev(b, &v, 1, size - sizeof(buf)) == 0;
    CHECK(ok, "huge: writes at the start, middle and end");
    CHECK_EQ(blk_write_zeroes(b, 0, size, false), 0, "huge: write-zeroes of 1 TiB");
    ok = blk_preadv(b, &v, 1, size / 2) == 0 && buf[0] == 0 && buf[65535] == 0;
    CHECK(ok, "huge: reads zeros");
    memset(buf, 0x5a, sizeof(buf));
    blk_pwritev(b, &v, 1, size / 4);
    CHECK_EQ(blk_discard(b, 0, size), 0, "huge: discard of 1 TiB");
    ok = blk_preadv(b, &v, 1, size / 4) == 0 && buf[0] == 0 && buf[65535] == 0;
    CHECK(ok, "huge: discarded reads zeros");
    blk_close(b);
    CHECK_EQ(qi_check(img), 0, "huge: qemu-img check is clean");
}

/* Interleaved 12 KiB slots: neighbours share 64 KiB clusters. */
static uint64_t thread_off(int id, int i)
{
    return ((uint64_t)(i % 50) * 4 + (uint64_t)id) * 12288;
}

static void test_threads(void)
{
    unlink(img);
    qi_run("qemu-img create -f qcow2 '%s' 8M", img);
    struct blk *b;
    char err[512];
    struct blk_opts o = {0};
    if (blk_open(img, &o, &b, err, sizeof(err)) < 0) {
        CHECK(0, "threads: open");
        return;
    }
    bool ok = bt_threads(b, &(struct bt_load){150, 12288, thread_off});
    CHECK(ok, "threads: four writers allocating in shared clusters");
    blk_close(b);
    CHECK_EQ(qi_check(img), 0, "threads: qemu-img check is clean");
}

int main(void)
{
    if (!qi_setup("qcow2", dir))
        return 0;
    snprintf(img, sizeof(img), "%s/disk.qcow2", dir);
    snprintf(base, sizeof(base), "%s/base.raw", dir);
    snprintf(base2, sizeof(base2), "%s/base2.qcow2", dir);
    snprintf(tmp, sizeof(tmp), "%s/out.raw", dir);
    test_configs();
    test_refcount_growth(16);
    test_refcount_growth(1);
    test_compressed("zlib");
    test_compressed("zstd");
    test_refused();
    test_locks();
    test_threads();
    test_huge_ranges();
    qi_run("rm -rf '%s'", dir);
    TEST_EXIT();
}
