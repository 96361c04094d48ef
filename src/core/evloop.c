/*
 * The per-VM event loop: one thread blocked in epoll_wait(), calling a
 * device's callback when one of its descriptors is readable.
 *
 * Watches live in a table indexed by id; the epoll cookie carries the id
 * and a generation number so an event that was already fetched for a watch
 * removed meanwhile (or whose slot was reused) is recognised and dropped.
 *
 * Each watch registers its own dup of the caller's descriptor: epoll
 * refuses one open file twice under the same fd number, and two devices
 * may well share a descriptor (com1 and com2 on one stream).
 *
 * Locking: loop->lock guards the table and is never held while a callback
 * runs, so a callback may call evloop_enable()/evloop_remove() and a device
 * may call evloop_enable() while holding its own lock. epoll_ctl() changes
 * are seen by an epoll_wait() already in progress, so add/enable/remove need
 * no wake-up; only destroy writes the eventfd to make the thread return.
 */
#include "core/evloop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hyperkit.h"

#define EVLOOP_MAX_EVENTS 16
#define EVLOOP_WAKE_COOKIE UINT64_MAX

struct evloop_watch {
    int fd;              /* the caller's, passed to the callback */
    int epoll_fd;        /* our dup of it, the one in the epoll set */
    evloop_fn fn;
    void *opaque;
    uint32_t gen;        /* bumped on remove: stale events don't match */
    bool used, enabled;
};

struct evloop {
    int epfd, wakefd;
    pthread_t thread;
    bool started;
    bool stopping;       /* guarded by lock */

    pthread_mutex_t lock;
    pthread_cond_t idle; /* signalled when a callback returns */
    int running_id;      /* watch whose callback is running, or -1 */
    struct evloop_watch *watches;
    int nwatches, cap;
};

static uint64_t cookie_of(int id, uint32_t gen)
{
    return (uint64_t)gen << 32 | (uint32_t)id;
}

int evloop_create(struct evloop **out)
{
    struct evloop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return HK_ENOMEM;
    loop->running_id = -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EVLOOP_WAKE_COOKIE};
    if (loop->epfd < 0 || loop->wakefd < 0 ||
        epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0) {
        int err = errno == ENOMEM || errno == EMFILE ? HK_ENOMEM : HK_EIO;
        if (loop->epfd >= 0)
            close(loop->epfd);
        if (loop->wakefd >= 0)
            close(loop->wakefd);
        free(loop);
        return err;
    }
    pthread_mutex_init(&loop->lock, NULL);
    pthread_cond_init(&loop->idle, NULL);
    *out = loop;
    return HK_OK;
}

/* Look up the watch an event belongs to; NULL if it went away. */
static struct evloop_watch *watch_for_cookie(struct evloop *loop, uint64_t cookie)
{
    int id = (int)(uint32_t)cookie;
    if (id < 0 || id >= loop->nwatches)
        return NULL;
    struct evloop_watch *w = &loop->watches[id];
    if (!w->used || !w->enabled || cookie_of(id, w->gen) != cookie)
        return NULL;
    return w;
}

static void dispatch(struct evloop *loop, uint64_t cookie)
{
    pthread_mutex_lock(&loop->lock);
    struct evloop_watch *w = watch_for_cookie(loop, cookie);
    if (!w || loop->stopping) {
        pthread_mutex_unlock(&loop->lock);
        return;
    }
    evloop_fn fn = w->fn;
    void *opaque = w->opaque;
    int fd = w->fd;
    loop->running_id = (int)(uint32_t)cookie;
    pthread_mutex_unlock(&loop->lock);

    fn(opaque, fd);

    pthread_mutex_lock(&loop->lock);
    loop->running_id = -1;
    pthread_cond_broadcast(&loop->idle);
    pthread_mutex_unlock(&loop->lock);
}

static bool should_stop(struct evloop *loop)
{
    pthread_mutex_lock(&loop->lock);
    bool stop = loop->stopping;
    pthread_mutex_unlock(&loop->lock);
    return stop;
}

static void *evloop_thread(void *arg)
{
    struct evloop *loop = arg;
    struct epoll_event evs[EVLOOP_MAX_EVENTS];
    while (!should_stop(loop)) {
        int n = epoll_wait(loop->epfd, evs, EVLOOP_MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++)
            if (evs[i].data.u64 != EVLOOP_WAKE_COOKIE)
                dispatch(loop, evs[i].data.u64);
    }
    return NULL;
}

int evloop_start(struct evloop *loop)
{
    /* The lock is held across pthread_create so loop->thread is set before
     * the thread can run a callback that compares itself against it. */
    pthread_mutex_lock(&loop->lock);
    int r = HK_OK;
    if (loop->started || loop->stopping)
        r = HK_ESTATE;
    else if (pthread_create(&loop->thread, NULL, evloop_thread, loop) != 0)
        r = HK_ENOMEM;
    else
        loop->started = true;
    pthread_mutex_unlock(&loop->lock);
    return r;
}

void evloop_stop(struct evloop *loop)
{
    if (!loop)
        return;
    pthread_mutex_lock(&loop->lock);
    loop->stopping = true;
    bool started = loop->started;
    loop->started = false;
    pthread_mutex_unlock(&loop->lock);
    if (started) {
        uint64_t one = 1;
        /* An eventfd write only fails when the counter would overflow,
         * which one write per stop cannot reach. */
        if (write(loop->wakefd, &one, sizeof(one)) < 0)
            (void)0;
        pthread_join(loop->thread, NULL);
    }
}

void evloop_destroy(struct evloop *loop)
{
    if (!loop)
        return;
    evloop_stop(loop);
    close(loop->epfd);
    close(loop->wakefd);
    pthread_cond_destroy(&loop->idle);
    pthread_mutex_destroy(&loop->lock);
    for (int i = 0; i < loop->nwatches; i++)
        if (loop->watches[i].used)
            close(loop->watches[i].epoll_fd);
    free(loop->watches);
    free(loop);
}

static int errno_to_hk(int e)
{
    switch (e) {
    case ENOMEM:
    case ENOSPC:
        return HK_ENOMEM;
    case EPERM:          /* regular files and /dev/null cannot be polled */
        return HK_ENOTSUP;
    case EBADF:
    case EINVAL:
        return HK_EINVAL;
    default:
        return HK_EIO;
    }
}

/* Arm or disarm w in epoll. Disarming deletes the fd rather than clearing
 * its event mask: epoll always reports EPOLLHUP/EPOLLERR, and a hung-up
 * descriptor would otherwise wake the thread in a busy loop. */
static int watch_arm(struct evloop *loop, int id, bool on)
{
    struct evloop_watch *w = &loop->watches[id];
    if (w->enabled == on)
        return HK_OK;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = cookie_of(id, w->gen)};
    int r = on ? epoll_ctl(loop->epfd, EPOLL_CTL_ADD, w->epoll_fd, &ev)
               : epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->epoll_fd, NULL);
    if (r < 0)
        return errno_to_hk(errno);
    w->enabled = on;
    return HK_OK;
}

static int watch_slot(struct evloop *loop)
{
    for (int i = 0; i < loop->nwatches; i++)
        if (!loop->watches[i].used)
            return i;
    if (loop->nwatches == loop->cap) {
        int cap = loop->cap ? loop->cap * 2 : 8;
        struct evloop_watch *w = realloc(loop->watches, (size_t)cap * sizeof(*w));
        if (!w)
            return HK_ENOMEM;
        loop->watches = w;
        loop->cap = cap;
    }
    loop->watches[loop->nwatches] = (struct evloop_watch){.fd = -1, .epoll_fd = -1};
    return loop->nwatches++;
}

int evloop_add_fd(struct evloop *loop, int fd, evloop_fn fn, void *opaque, int *id)
{
    if (!loop || fd < 0 || !fn || !id)
        return HK_EINVAL;
    int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0)
        return errno_to_hk(errno);
    pthread_mutex_lock(&loop->lock);
    int r = watch_slot(loop);
    if (r >= 0) {
        int slot = r;
        struct evloop_watch *w = &loop->watches[slot];
        *w = (struct evloop_watch){.fd = fd, .epoll_fd = dupfd, .fn = fn, .opaque = opaque,
                                   .gen = w->gen, .used = true};
        r = watch_arm(loop, slot, true);
        if (r)
            w->used = false;
        else
            *id = slot;
    }
    pthread_mutex_unlock(&loop->lock);
    if (r)
        close(dupfd);
    return r;
}

int evloop_enable(struct evloop *loop, int id, bool on)
{
    if (!loop)
        return HK_EINVAL;
    pthread_mutex_lock(&loop->lock);
    int r = HK_EINVAL;
    if (id >= 0 && id < loop->nwatches && loop->watches[id].used)
        r = watch_arm(loop, id, on);
    pthread_mutex_unlock(&loop->lock);
    return r;
}

/* After this returns the callback is not running and will not run again
 * (unless called from the callback itself, which is then still running),
 * so the caller may free opaque and close the fd. */
void evloop_remove(struct evloop *loop, int id)
{
    if (!loop)
        return;
    pthread_mutex_lock(&loop->lock);
    if (id >= 0 && id < loop->nwatches && loop->watches[id].used) {
        struct evloop_watch *w = &loop->watches[id];
        watch_arm(loop, id, false);
        close(w->epoll_fd);
        w->epoll_fd = -1;
        w->used = false;
        w->gen++;
        bool on_loop_thread = loop->started && pthread_equal(pthread_self(), loop->thread);
        while (loop->running_id == id && !on_loop_thread)
            pthread_cond_wait(&loop->idle, &loop->lock);
    }
    pthread_mutex_unlock(&loop->lock);
}
