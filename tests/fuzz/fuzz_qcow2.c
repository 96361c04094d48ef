/*
 * libFuzzer target for the qcow2 backend: the input is an image file,
 * held in a memfd. It is opened read-only (the header parser, the L1 and
 * refcount tables) and read through the L1/L2 map at spread offsets
 * (data, zero, compressed and unallocated clusters); then, when it opens
 * read-write, it takes writes, write-zeroes, discards and a flush, which
 * walk the allocator and refcount code over hostile metadata, and the
 * written ranges are read back. Backing files are not followed.
 *
 * Promise: whatever the bytes, no crash, no sanitizer report, no hang,
 * and every call returns 0 or an error code from blk.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/block/blk_priv.h"

static void check_rc(int r, const char *what)
{
    if (r != 0 && r != HK_EIO && r != HK_EINVAL) {
        fprintf(stderr, "fuzz_qcow2: %s returned %d\n", what, r);
        abort();
    }
}

static uint8_t buf[1 << 16];

static void read_at(struct blk *b, uint64_t off, size_t len)
{
    uint64_t size = blk_size(b);
    off &= ~511ull;
    if (off >= size)
        return;
    if (len > size - off)
        len = (size_t)(size - off);
    /* Two pieces, so the scatter-gather split runs too. */
    struct iovec v[2] = {{buf, len / 3 & ~511ul}, {buf + (len / 3 & ~511ul), 0}};
    v[1].iov_len = len - v[0].iov_len;
    check_rc(blk_preadv(b, v, 2, off), "read");
}

static void reads(struct blk *b)
{
    uint64_t size = blk_size(b);
    read_at(b, 0, sizeof(buf));
    for (int i = 1; i < 16; i++)
        read_at(b, size / 16 * (uint64_t)i, 4096);
    if (size >= 4096)
        read_at(b, size - 4096, 4096);
}

static void writes(struct blk *b, const uint8_t *data, size_t n)
{
    uint64_t size = blk_size(b), h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i += 61)
        h = (h ^ data[i]) * 1099511628211ull;
    for (int i = 0; i < 6 && size >= 512; i++) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t off = ((h >> 16) % size) & ~511ull;
        size_t len = 512 * (1 + (size_t)(h >> 56) % 64);
        if (len > size - off)
            len = (size_t)(size - off);
        memset(buf, 0xa5 ^ i, len);
        struct iovec v = {buf, len};
        switch (i % 3) {
        case 0:
            check_rc(blk_pwritev(b, &v, 1, off), "write");
            break;
        case 1:
            check_rc(blk_write_zeroes(b, off, len, i & 1), "write-zeroes");
            break;
        default:
            check_rc(blk_discard(b, off, len), "discard");
        }
        check_rc(blk_preadv(b, &v, 1, off), "read back");
    }
    check_rc(blk_flush(b), "flush");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char path[64], err[512] = "";
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct blk *b;
    struct blk_opts ro = {.format = BLK_FORMAT_QCOW2, .readonly = true};
    if (blk_open_depth(path, &ro, 0, true, &b, err, sizeof(err)) == 0) {
        reads(b);
        blk_close(b);
        struct blk_opts rw = {.format = BLK_FORMAT_QCOW2, .discard = true};
        if (blk_open_depth(path, &rw, 0, true, &b, err, sizeof(err)) == 0) {
            writes(b, data, size);
            reads(b);
            blk_close(b);
        }
    } else if (strchr(err, '\n')) {
        abort(); /* errors are one line */
    }
    close(fd);
    return 0;
}
