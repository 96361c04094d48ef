/*
 * One event thread per VM that watches host file descriptors (console
 * input, later sockets and taps) and calls device callbacks when they are
 * readable. Devices turn interest off while they cannot accept more data.
 */
#ifndef HK_CORE_EVLOOP_H
#define HK_CORE_EVLOOP_H

#include <stdbool.h>

struct evloop;
typedef void (*evloop_fn)(void *opaque, int fd);

int evloop_create(struct evloop **out);
/* Start the thread; after this, add/enable may be called from any thread. */
int evloop_start(struct evloop *loop);
/* Stop and join the thread: no callback runs after this returns, and
 * add/enable/remove still work (so devices can remove their watches in
 * their teardown). Idempotent; the loop cannot be started again. */
void evloop_stop(struct evloop *loop);
/* Stop (if still running), then free. */
void evloop_destroy(struct evloop *loop);

/* Watch fd for readability; *id identifies the watch. Starts enabled. */
int evloop_add_fd(struct evloop *loop, int fd, evloop_fn fn, void *opaque, int *id);
/* Turn a watch on or off (e.g. off while a receive FIFO is full). */
int evloop_enable(struct evloop *loop, int id, bool on);
void evloop_remove(struct evloop *loop, int id);

#endif
