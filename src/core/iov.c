/* Scatter-gather helpers: slices of a guest's buffer list, and copies. */
#include "core/iov.h"

#include <stdint.h>
#include <string.h>

size_t iov_total(const struct iovec *iov, int iovcnt)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > SIZE_MAX - total)
            return SIZE_MAX;
        total += iov[i].iov_len;
    }
    return total;
}

int iov_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len, struct iovec *dst)
{
    int n = 0;
    for (int i = 0; i < iovcnt && len; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t take = l - skip < len ? l - skip : len;
        dst[n].iov_base = (char *)iov[i].iov_base + skip;
        dst[n].iov_len = take;
        n++;
        len -= take;
        skip = 0;
    }
    return n;
}

/* Walk [skip, skip+len) of iov, calling fn on each piece with its offset
 * inside the range. */
static void walk(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
                 void (*fn)(void *piece, size_t at, size_t n, void *ctx), void *ctx)
{
    size_t at = 0;
    for (int i = 0; i < iovcnt && at < len; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t take = l - skip < len - at ? l - skip : len - at;
        fn((char *)iov[i].iov_base + skip, at, take, ctx);
        at += take;
        skip = 0;
    }
}

static void to_buf(void *piece, size_t at, size_t n, void *ctx)
{
    memcpy((char *)ctx + at, piece, n);
}

static void from_buf(void *piece, size_t at, size_t n, void *ctx)
{
    memcpy(piece, (const char *)ctx + at, n);
}

static void set_bytes(void *piece, size_t at, size_t n, void *ctx)
{
    memset(piece, *(const int *)ctx, n);
}

void iov_to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len)
{
    walk(iov, iovcnt, skip, len, to_buf, buf);
}

void iov_from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf,
                      size_t len)
{
    walk(iov, iovcnt, skip, len, from_buf, (void *)buf);
}

void iov_memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len)
{
    walk(iov, iovcnt, skip, len, set_bytes, &c);
}
