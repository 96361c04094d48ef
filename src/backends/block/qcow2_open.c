/* qcow2: not yet (the next commit reads it). */
#include "backends/block/blk_priv.h"

int qcow2_open(struct blk *b, const char *path, const struct blk_opts *opts, int depth,
               bool no_backing, char *err, size_t errlen)
{
    return blk_fail(err, errlen, HK_ENOTSUP, "%s: qcow2 is not supported yet", path);
}
