/*
 * kill -9 in the middle of qcow2 writes: a child writes and flushes in a
 * loop, telling the parent through a pipe which writes completed and which
 * are flushed; the parent kills it at a varying point, then `qemu-img
 * check` must find no corruption (leaked clusters are allowed: exit 0 or
 * 3) and every flushed write must read back from `qemu-img convert`.
 * Several rounds on one image: each round also writes to an image that the
 * last one left with leaks. SKIP without qemu-img.
 */
#include <errno.h>
#include <signal.h>

#include "backends/block/blk.h"
#include "hyperkit.h"
#include "qemu_img.h"
#include "test.h"

static char dir[] = "/tmp/hk-qcrash-XXXXXX";
static char img[300], base[300], tmp[300];

struct variant {
    const char *name;
    unsigned cluster;
    bool backing;
    size_t size;
    size_t slot;            /* each write inside its own slot: no overlaps */
};

struct msg {
    uint32_t kind;          /* 1: write i completed; 2: writes < i flushed */
    uint32_t i;
};

/* Write i: which slot (a fixed permutation), where in it, what bytes. */
static void write_params(const struct variant *v, uint32_t i, uint64_t *off, size_t *len)
{
    size_t slots = v->size / v->slot;
    uint64_t slot = ((uint64_t)i * 2654435761u) % slots; /* odd multiplier: a permutation */
    uint64_t s = 0x9e3779b97f4a7c15ull * (i + 1);
    size_t start = 512 * (size_t)((s >> 7) % (v->slot / 512));
    size_t maxlen = v->slot - start;
    *len = 512 * (1 + (size_t)((s >> 29) % (maxlen / 512)));
    *off = slot * v->slot + start;
}

static void write_bytes(uint32_t i, uint8_t *buf, size_t len)
{
    uint64_t x = 0x2545f4914f6cdd1dull ^ ((uint64_t)i << 32 | i);
    for (size_t k = 0; k < len; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[k] = (uint8_t)x;
    }
}

static void send_msg(int fd, uint32_t kind, uint32_t i)
{
    struct msg m = {kind, i};
    if (write(fd, &m, sizeof(m)) != sizeof(m))
        _exit(3);
}

static void child(const struct variant *v, uint32_t first, int fd)
{
    struct blk *b;
    char err[512];
    struct blk_opts o = {.discard = true};
    if (blk_open(img, &o, &b, err, sizeof(err)) < 0) {
        fprintf(stderr, "child: %s\n", err);
        _exit(2);
    }
    uint8_t *buf = malloc(v->slot);
    uint64_t r = first;
    for (uint32_t i = first; i < v->size / v->slot; i++) {
        uint64_t off;
        size_t len;
        write_params(v, i, &off, &len);
        write_bytes(i, buf, len);
        struct iovec iov = {buf, len};
        if (blk_pwritev(b, &iov, 1, off) < 0)
            _exit(4);
        send_msg(fd, 1, i);
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        if ((r >> 60) % 3 == 0) {
            if (blk_flush(b) < 0)
                _exit(5);
            send_msg(fd, 2, i + 1);
        }
    }
    blk_flush(b);
    send_msg(fd, 2, (uint32_t)(v->size / v->slot));
    pause(); /* wait for the kill */
    _exit(0);
}

/* One round: writes from `first` on, killed once `target` are flushed.
 * Returns the first write index the next round may use. */
static uint32_t round_run(const struct variant *v, uint32_t first, uint32_t target, int round)
{
    int p[2];
    if (pipe(p) < 0)
        return UINT32_MAX;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child(v, first, p[1]);
    }
    close(p[1]);
    uint32_t flushed = first, written = first, extra = (uint32_t)(bt_rand() % 6);
    bool killed = false;
    struct msg m;
    for (;;) {
        ssize_t n = read(p[0], &m, sizeof(m));
        if (n < 0 && errno == EINTR)
            continue;
        if (n != sizeof(m))
            break; /* end: the child is gone */
        if (m.kind == 1 && m.i + 1 > written)
            written = m.i + 1;
        if (m.kind == 2 && m.i > flushed)
            flushed = m.i;
        /* Then a few more writes, so the kill lands anywhere in the loop. */
        if (!killed && flushed >= target && written >= target + extra) {
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    char name[160];
    snprintf(name, sizeof(name), "%s round %d: the child ran until killed (%u flushed, %u written)",
             v->name, round, flushed - first, written - first);
    CHECK(killed && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, name);
    int rc = qi_check(img);
    snprintf(name, sizeof(name), "%s round %d: qemu-img check finds no corruption (exit %d)",
             v->name, round, rc);
    CHECK(rc == 0 || rc == 3, name);
    /* Every flushed write, as qemu sees the image. */
    unlink(tmp);
    bool ok = qi_run("qemu-img convert -O raw '%s' '%s'", img, tmp) == 0;
    size_t rawlen = 0;
    uint8_t *raw = ok ? bt_read_file(tmp, &rawlen) : NULL, *want = malloc(v->slot);
    ok = raw && rawlen == v->size;
    for (uint32_t i = first; ok && i < flushed; i++) {
        uint64_t off;
        size_t len;
        write_params(v, i, &off, &len);
        write_bytes(i, want, len);
        ok = !memcmp(raw + off, want, len);
        if (!ok)
            printf("  write %u (%zu bytes at %llu) is missing\n", i, len, (unsigned long long)off);
    }
    snprintf(name, sizeof(name), "%s round %d: every flushed write is there", v->name, round);
    CHECK(ok, name);
    free(raw);
    free(want);
    unlink(tmp);
    return written + 1; /* the write after the last reported may be half done */
}

static void run_variant(const struct variant *v)
{
    unlink(img);
    unlink(base);
    char name[160];
    bool made;
    if (v->backing) {
        uint8_t *b = malloc(v->size);
        qi_fill(b, v->size);
        made = bt_write_file(base, b, v->size) &&
               qi_run("qemu-img create -f qcow2 -o cluster_size=%u -b '%s' -F raw '%s'",
                      v->cluster, base, img) == 0;
        free(b);
    } else {
        made = qi_run("qemu-img create -f qcow2 -o cluster_size=%u '%s' %zu", v->cluster, img,
                      v->size) == 0;
    }
    snprintf(name, sizeof(name), "%s: create", v->name);
    CHECK(made, name);
    uint32_t next = 0, total = (uint32_t)(v->size / v->slot);
    for (int round = 1; made && round <= 6 && next + 60 < total; round++) {
        uint32_t target = next + 5 + (uint32_t)(bt_rand() % 30);
        next = round_run(v, next, target, round);
    }
}

int main(void)
{
    if (!qi_setup("qcow2 crash", dir))
        return 0;
    snprintf(img, sizeof(img), "%s/disk.qcow2", dir);
    snprintf(base, sizeof(base), "%s/base.raw", dir);
    snprintf(tmp, sizeof(tmp), "%s/out.raw", dir);
    const struct variant vs[] = {
        {"64k", 65536, false, 32u << 20, 96u << 10},
        {"4k over raw", 4096, true, 16u << 20, 40u << 10},
        /* One refcount block covers 128 KiB, the first table 8 MiB:
         * blocks are made, and the table grows, under the kill. */
        {"512 B", 512, false, 24u << 20, 48u << 10},
    };
    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
        run_variant(&vs[i]);
    qi_run("rm -rf '%s'", dir);
    TEST_EXIT();
}
