/*
 * A 9P2000.L file server sharing one host directory, as the host user.
 *
 * Confinement: every fid holds an O_PATH descriptor of its file, and a
 * walk opens one name at a time relative to the previous descriptor with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS).
 * Names with '/' or NUL are refused, symlinks are never followed by the
 * server (the guest reads them and walks on itself), and ".." above the
 * shared root stays at the root. No path string is ever built from guest
 * names, so a symlink swapped in during a lookup cannot lead outside.
 * Files are opened by reopening the fid's own descriptor, which names an
 * inode, not a path. A read-only share refuses every change with EROFS.
 *
 * Not thread-safe: one thread (the device's queue worker) calls
 * p9_server_handle.
 */
#ifndef HK_BACKENDS_P9_P9_SERVER_H
#define HK_BACKENDS_P9_P9_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest message we negotiate (Tversion msize). */
#define P9_MAX_MSIZE (512u * 1024)
#define P9_MIN_MSIZE 4096u
/* Fids at once: each holds up to three host descriptors. */
#define P9_MAX_FIDS 8192

struct p9_server;

/* Share directory `path`: 0, or a negative HK_E* (HK_ENOENT: not an
 * existing directory). */
int p9_server_new(const char *path, bool readonly, struct p9_server **out);
void p9_server_free(struct p9_server *s);

/* The negotiated msize (P9_MAX_MSIZE before a Tversion). */
uint32_t p9_server_msize(const struct p9_server *s);

/* Answer one request msg[0..len) into reply[0..cap): the reply's length,
 * or 0 when no reply can be given (cap under an Rlerror, or a message
 * too short to carry a tag). A malformed message gets Rlerror(EINVAL)
 * or Rlerror(EPROTO); nothing the message says is trusted. */
size_t p9_server_handle(struct p9_server *s, const uint8_t *msg, size_t len, uint8_t *reply,
                        size_t cap);

#endif
