/* Block-device I/O for the disk tests and bench/disk-bench.sh, run in the
 * guest: busybox dd has no O_DIRECT, and the crash test needs each write's
 * flush to complete before it is reported.
 *
 *   diskio seqwrite DEV MIB      O_DIRECT 1 MiB writes, then fdatasync
 *   diskio seqread DEV MIB       O_DIRECT 1 MiB reads
 *   diskio randread DEV COUNT    O_DIRECT 4 KiB reads at pseudo-random
 *                                4 KiB-aligned offsets over the device
 *   diskio pattern DEV MIB       O_DIRECT 1 MiB writes of a pseudo-random
 *                                stream, then fdatasync; the stream also
 *                                goes to stdout (for sha256sum)
 *   diskio verify DEV MIB        O_DIRECT reads compared with that stream
 *   diskio flushloop DEV STRIDE_KIB
 *                                write 4 KiB record i at i * STRIDE_KIB,
 *                                fdatasync, print "flushed i"; until the
 *                                device is full
 *
 * Each measured operation prints "diskio: OP start" just before its timer
 * starts and "diskio: OP bytes=N ops=N usec=N" when it ends: the host may
 * time the two lines itself or take the guest's figure (the host does the
 * math, so the guest needs no floating point). Exit 1 with a line on
 * stderr on error. */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#define BLOCK 4096
#define CHUNK (1 << 20)

static void die(const char *what)
{
    fflush(stdout);
    fprintf(stderr, "diskio: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void *aligned_buf(size_t size)
{
    void *p;
    if (posix_memalign(&p, BLOCK, size) != 0)
        die("posix_memalign");
    return p;
}

static uint64_t dev_size(int fd)
{
    uint64_t size;
    if (ioctl(fd, BLKGETSIZE64, &size) < 0)
        die("BLKGETSIZE64");
    return size;
}

/* The whole transfer or an error: O_DIRECT on a block device transfers
 * whole requests, so a short count means the end of the device. */
static void full_io(int fd, int write_op, void *buf, size_t len, uint64_t off)
{
    ssize_t n = write_op ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);
    if (n < 0)
        die(write_op ? "pwrite" : "pread");
    if ((size_t)n != len) {
        errno = EIO;
        die("short transfer");
    }
}

static void started(const char *op)
{
    printf("diskio: %s start\n", op);
    fflush(stdout);
}

static void report(const char *op, uint64_t bytes, uint64_t ops, uint64_t usec)
{
    printf("diskio: %s bytes=%" PRIu64 " ops=%" PRIu64 " usec=%" PRIu64 "\n", op, bytes, ops,
           usec ? usec : 1);
    fflush(stdout);
}

static void seq(const char *dev, int write_op, uint64_t mib)
{
    int fd = open(dev, (write_op ? O_WRONLY : O_RDONLY) | O_DIRECT);
    if (fd < 0)
        die(dev);
    if (mib * CHUNK > dev_size(fd)) {
        errno = ENOSPC;
        die("device smaller than the transfer");
    }
    unsigned char *buf = aligned_buf(CHUNK);
    for (size_t i = 0; i < CHUNK; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    started(write_op ? "seqwrite" : "seqread");
    uint64_t t0 = now_usec();
    for (uint64_t i = 0; i < mib; i++)
        full_io(fd, write_op, buf, CHUNK, i * CHUNK);
    if (write_op && fdatasync(fd) < 0)
        die("fdatasync");
    report(write_op ? "seqwrite" : "seqread", mib * CHUNK, mib, now_usec() - t0);
    close(fd);
}

static void randread(const char *dev, uint64_t count)
{
    int fd = open(dev, O_RDONLY | O_DIRECT);
    if (fd < 0)
        die(dev);
    uint64_t blocks = dev_size(fd) / BLOCK;
    if (blocks == 0) {
        errno = ENOSPC;
        die("empty device");
    }
    void *buf = aligned_buf(BLOCK);
    uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64: the same offsets every run */
    started("randread");
    uint64_t t0 = now_usec();
    for (uint64_t i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        full_io(fd, 0, buf, BLOCK, (x % blocks) * BLOCK);
    }
    report("randread", count * BLOCK, count, now_usec() - t0);
    close(fd);
}

/* The pattern: xorshift64 words from a fixed seed, so any run (and the
 * verify pass) produces the same bytes; cheap next to hashing them. */
static void fill_stream(uint64_t *state, unsigned char *buf, size_t len)
{
    uint64_t x = *state;
    for (size_t i = 0; i < len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(buf + i, &x, 8);
    }
    *state = x;
}

static void write_all(int fd, const unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("write to stdout");
        buf += n;
        len -= (size_t)n;
    }
}

static void pattern(const char *dev, int verify, uint64_t mib)
{
    int fd = open(dev, (verify ? O_RDONLY : O_WRONLY) | O_DIRECT);
    if (fd < 0)
        die(dev);
    if (mib * CHUNK > dev_size(fd)) {
        errno = ENOSPC;
        die("device smaller than the pattern");
    }
    unsigned char *want = aligned_buf(CHUNK), *got = aligned_buf(CHUNK);
    uint64_t state = 0x2545f4914f6cdd1dull;
    for (uint64_t i = 0; i < mib; i++) {
        fill_stream(&state, want, CHUNK);
        if (!verify) {
            full_io(fd, 1, want, CHUNK, i * CHUNK);
            write_all(STDOUT_FILENO, want, CHUNK);
            continue;
        }
        full_io(fd, 0, got, CHUNK, i * CHUNK);
        for (size_t j = 0; j < CHUNK; j++) {
            if (got[j] != want[j]) {
                printf("diskio: verify bad at byte %" PRIu64 "\n", i * CHUNK + j);
                exit(1);
            }
        }
    }
    if (!verify && fdatasync(fd) < 0)
        die("fdatasync");
    if (verify)
        printf("diskio: verify ok bytes=%" PRIu64 "\n", mib * CHUNK);
    close(fd);
}

/* Record i: its text line, then zeros to 4 KiB; the host rebuilds the
 * same bytes with printf to compare (tests/linux/test_disk_data.sh). */
static void flushloop(const char *dev, uint64_t stride_kib)
{
    int fd = open(dev, O_WRONLY | O_DIRECT);
    if (fd < 0)
        die(dev);
    uint64_t stride = stride_kib * 1024;
    if (stride < BLOCK || stride % BLOCK) {
        errno = EINVAL;
        die("stride must be a multiple of 4 KiB");
    }
    uint64_t records = dev_size(fd) / stride;
    char *buf = aligned_buf(BLOCK);
    for (uint64_t i = 0; i < records; i++) {
        memset(buf, 0, BLOCK);
        snprintf(buf, BLOCK, "hyperkit flush record %" PRIu64 "\n", i);
        full_io(fd, 1, buf, BLOCK, i * stride);
        if (fdatasync(fd) < 0)
            die("fdatasync");
        printf("flushed %" PRIu64 "\n", i);
        fflush(stdout);
    }
    printf("diskio: flushloop done records=%" PRIu64 "\n", records);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        printf("usage: diskio seqwrite|seqread|randread|pattern|verify|flushloop DEV N\n");
        return 2;
    }
    uint64_t n = strtoull(argv[3], NULL, 0);
    if (!strcmp(argv[1], "seqwrite"))
        seq(argv[2], 1, n);
    else if (!strcmp(argv[1], "seqread"))
        seq(argv[2], 0, n);
    else if (!strcmp(argv[1], "randread"))
        randread(argv[2], n);
    else if (!strcmp(argv[1], "pattern"))
        pattern(argv[2], 0, n);
    else if (!strcmp(argv[1], "verify"))
        pattern(argv[2], 1, n);
    else if (!strcmp(argv[1], "flushloop"))
        flushloop(argv[2], n);
    else {
        printf("diskio: unknown operation %s\n", argv[1]);
        return 2;
    }
    return 0;
}
