/* Scatter-gather lists: totals, slices and copies at a byte offset, for
 * the block backends and the virtio devices that hand them guest buffers. */
#ifndef HK_CORE_IOV_H
#define HK_CORE_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Total bytes, or SIZE_MAX when the sum overflows. */
size_t iov_total(const struct iovec *iov, int iovcnt);
/* Describe bytes [skip, skip+len) of iov in dst (at most iovcnt entries
 * are needed); returns the entry count. */
int iov_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len, struct iovec *dst);
/* Copy, or set, bytes [skip, skip+len) of iov; what lies past its end is
 * left alone. */
void iov_to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len);
void iov_from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf, size_t len);
void iov_memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len);

#endif
