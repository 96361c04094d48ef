/*
 * Helpers for the block tests (test_blk, test_qcow2, test_qcow2_crash):
 * a deterministic PRNG, files written and read whole, a buffer cut into
 * uneven iovecs, and four threads writing and reading back at once.
 */
#ifndef HK_TESTS_BLK_TESTLIB_H
#define HK_TESTS_BLK_TESTLIB_H

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backends/block/blk.h"

/* xorshift64; a test may seed it for its own sequence. */
static uint64_t bt_rng = 0x243f6a8885a308d3ull;

static inline uint64_t bt_rand(void)
{
    bt_rng ^= bt_rng << 13;
    bt_rng ^= bt_rng >> 7;
    bt_rng ^= bt_rng << 17;
    return bt_rng;
}

/* Cut len bytes of buf into 1..4 uneven pieces (some may be empty):
 * guest buffers at odd addresses and lengths. */
static inline int bt_split(uint8_t *buf, size_t len, struct iovec *iov)
{
    int n = 1 + (int)(bt_rand() % 4);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        size_t take = i == n - 1 ? len - at : (size_t)(bt_rand() % (len - at + 1));
        iov[i] = (struct iovec){buf + at, take};
        at += take;
    }
    return n;
}

static inline uint8_t *bt_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *len = got;
    return buf;
}

static inline bool bt_write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Does the file hold exactly want? */
static inline bool bt_file_equals(const char *path, const uint8_t *want, size_t len)
{
    size_t got_len;
    uint8_t *got = bt_read_file(path, &got_len);
    bool ok = got && got_len == len && !memcmp(got, want, len);
    free(got);
    return ok;
}

/* Four threads on one handle: thread id's write i puts len bytes of
 * id * 16 + i % 16 at off(id, i) and reads them straight back. */
struct bt_load {
    int iters;
    size_t len;
    uint64_t (*off)(int id, int i);
};

struct bt_worker {
    struct blk *b;
    const struct bt_load *load;
    int id;
    bool ok;
};

static inline void *bt_worker_run(void *arg)
{
    struct bt_worker *w = arg;
    size_t len = w->load->len;
    uint8_t *buf = malloc(len), *back = malloc(len);
    w->ok = buf && back;
    for (int i = 0; i < w->load->iters && w->ok; i++) {
        memset(buf, w->id * 16 + i % 16, len);
        uint64_t off = w->load->off(w->id, i);
        struct iovec v = {buf, len}, r = {back, len};
        w->ok = blk_pwritev(w->b, &v, 1, off) == 0 && blk_preadv(w->b, &r, 1, off) == 0 &&
                !memcmp(buf, back, len);
    }
    free(buf);
    free(back);
    return NULL;
}

/* True when every thread read back every write. */
static inline bool bt_threads(struct blk *b, const struct bt_load *load)
{
    struct bt_worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct bt_worker){b, load, i, false};
        pthread_create(&t[i], NULL, bt_worker_run, &w[i]);
    }
    bool ok = true;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ok = ok && w[i].ok;
    }
    return ok;
}

#endif
