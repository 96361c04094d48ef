/*
 * Reads: the map is looked up under the lock, one run of like clusters at
 * a time; the data I/O (file, backing file, decompression) runs outside it.
 */
#include <stdlib.h>

#include "backends/block/qcow2.h"

struct read_req {
    struct qcow2 *q;
    const struct iovec *iov;
    int iovcnt;
    struct iovec *slice;    /* room for iovcnt entries */
    uint8_t *cluster;       /* decompression buffer, allocated on first use */
};

static int read_run(struct read_req *rq, const struct qcow2_map *m, uint64_t goff, size_t at,
                    size_t n)
{
    struct qcow2 *q = rq->q;
    uint64_t in = goff & (q->cluster_size - 1);
    int cnt;
    switch (m->kind) {
    case QCOW2_UNALLOCATED:
        if (!q->backing)
            break;
        cnt = iov_slice(rq->iov, rq->iovcnt, at, n, rq->slice);
        return blk_backing_preadv(q->backing, rq->slice, cnt, goff);
    case QCOW2_ZEROS:
        break;
    case QCOW2_DATA:
        cnt = iov_slice(rq->iov, rq->iovcnt, at, n, rq->slice);
        return blk_file_preadv(&q->file, rq->slice, cnt, m->host + in);
    case QCOW2_COMPRESSED_DATA: {
        if (!rq->cluster && !(rq->cluster = malloc(q->cluster_size)))
            return HK_ENOMEM;
        int r = qcow2_decompress(q, m, rq->cluster);
        if (r == 0)
            iov_from_buf(rq->iov, rq->iovcnt, at, rq->cluster + in, n);
        return r;
    }
    }
    iov_memset(rq->iov, rq->iovcnt, at, 0, n);
    return 0;
}

int qcow2_preadv(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
    struct qcow2 *q = b->priv;
    struct iovec stackv[16];
    struct read_req rq = {q, iov, iovcnt, stackv, NULL};
    if (iovcnt > 16 && !(rq.slice = malloc(sizeof(*rq.slice) * (size_t)iovcnt)))
        return HK_ENOMEM;
    size_t len = iov_total(iov, iovcnt), done = 0;
    int r = 0;
    while (r == 0 && done < len) {
        struct qcow2_map m;
        uint64_t run = 0;
        pthread_mutex_lock(&q->lock);
        r = qcow2_map_run(q, off + done, len - done, &m, &run);
        pthread_mutex_unlock(&q->lock);
        if (r == 0)
            r = read_run(&rq, &m, off + done, done, (size_t)run);
        done += (size_t)run;
    }
    if (rq.slice != stackv)
        free(rq.slice);
    free(rq.cluster);
    return r < 0 ? HK_EIO : 0;
}
