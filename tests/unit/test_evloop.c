/* The event loop: callbacks on readable fds, enable/disable, removal. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/evloop.h"
#include "hyperkit.h"
#include "test.h"

struct counter {
    atomic_int calls;
    int pipe[2];
    struct evloop *loop;
    int id;
    bool remove_self;
};

static void on_readable(void *opaque, int fd)
{
    struct counter *c = opaque;
    char buf[64];
    if (read(fd, buf, sizeof(buf)) < 0)
        return;
    atomic_fetch_add(&c->calls, 1);
    if (c->remove_self)
        evloop_remove(c->loop, c->id);
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

static bool wait_calls(struct counter *c, int want)
{
    for (int i = 0; i < 2000 && atomic_load(&c->calls) < want; i++)
        sleep_ms(1);
    return atomic_load(&c->calls) >= want;
}

static void counter_init(struct counter *c, struct evloop *loop)
{
    atomic_store(&c->calls, 0);
    c->loop = loop;
    c->remove_self = false;
    if (pipe(c->pipe) < 0)
        exit(1);
}

static void poke(struct counter *c)
{
    if (write(c->pipe[1], "x", 1) != 1)
        exit(1);
}

static void test_basic(void)
{
    struct evloop *loop;
    CHECK_EQ(evloop_create(&loop), 0, "evloop create");
    struct counter c;
    counter_init(&c, loop);
    CHECK_EQ(evloop_add_fd(loop, c.pipe[0], on_readable, &c, &c.id), 0,
             "evloop add before start");
    CHECK_EQ(evloop_start(loop), 0, "evloop start");
    CHECK_EQ(evloop_start(loop), HK_ESTATE, "evloop second start refused");
    poke(&c);
    CHECK(wait_calls(&c, 1), "evloop callback runs when the fd is readable");
    CHECK_EQ(evloop_enable(loop, c.id, false), 0, "evloop disable");
    poke(&c);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&c.calls), 1, "evloop disabled watch does not fire");
    CHECK_EQ(evloop_enable(loop, c.id, true), 0, "evloop enable");
    CHECK(wait_calls(&c, 2), "evloop re-enabled watch fires for pending data");
    evloop_remove(loop, c.id);
    poke(&c);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&c.calls), 2, "evloop removed watch does not fire");
    CHECK_EQ(evloop_enable(loop, c.id, true), HK_EINVAL, "evloop enable of removed id fails");
    evloop_remove(loop, c.id);   /* twice: harmless */
    evloop_destroy(loop);
    close(c.pipe[0]);
    close(c.pipe[1]);
}

static void test_remove_from_callback(void)
{
    struct evloop *loop;
    evloop_create(&loop);
    evloop_start(loop);
    struct counter c;
    counter_init(&c, loop);
    c.remove_self = true;
    evloop_add_fd(loop, c.pipe[0], on_readable, &c, &c.id);
    poke(&c);
    CHECK(wait_calls(&c, 1), "evloop callback that removes itself runs");
    poke(&c);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&c.calls), 1, "evloop self-removed watch stays removed");
    evloop_destroy(loop);
    close(c.pipe[0]);
    close(c.pipe[1]);
}

static void test_many_watches(void)
{
    struct evloop *loop;
    evloop_create(&loop);
    evloop_start(loop);
    enum { N = 20 };
    struct counter c[N];
    bool added = true;
    for (int i = 0; i < N; i++) {
        counter_init(&c[i], loop);
        added &= evloop_add_fd(loop, c[i].pipe[0], on_readable, &c[i], &c[i].id) == 0;
    }
    CHECK(added, "evloop takes 20 watches");
    for (int i = 0; i < N; i += 2)
        evloop_remove(loop, c[i].id);
    struct counter extra;
    counter_init(&extra, loop);
    evloop_add_fd(loop, extra.pipe[0], on_readable, &extra, &extra.id);
    CHECK(extra.id < N, "evloop reuses a removed slot");
    for (int i = 1; i < N; i += 2)
        poke(&c[i]);
    poke(&extra);
    bool all = wait_calls(&extra, 1);
    for (int i = 1; i < N; i += 2)
        all &= wait_calls(&c[i], 1);
    CHECK(all, "evloop every live watch fires");
    evloop_destroy(loop);
    for (int i = 0; i < N; i++) {
        close(c[i].pipe[0]);
        close(c[i].pipe[1]);
    }
    close(extra.pipe[0]);
    close(extra.pipe[1]);
}

static void test_errors(void)
{
    struct evloop *loop;
    evloop_create(&loop);
    int id = -1;
    char path[] = "/tmp/hk-evloop-XXXXXX";
    int fd = mkstemp(path);
    CHECK_EQ(evloop_add_fd(loop, fd, on_readable, NULL, &id), HK_ENOTSUP,
             "evloop regular file cannot be watched");
    CHECK_EQ(evloop_add_fd(loop, -1, on_readable, NULL, &id), HK_EINVAL,
             "evloop negative fd refused");
    CHECK_EQ(evloop_enable(loop, 99, true), HK_EINVAL, "evloop enable of unknown id fails");
    evloop_remove(loop, 99);
    close(fd);
    unlink(path);
    evloop_destroy(loop);   /* never started */
    CHECK(1, "evloop destroy without start");
}

/* A hung-up pipe while disabled must not spin or fire. */
static void test_hangup_disabled(void)
{
    struct evloop *loop;
    evloop_create(&loop);
    evloop_start(loop);
    struct counter c;
    counter_init(&c, loop);
    evloop_add_fd(loop, c.pipe[0], on_readable, &c, &c.id);
    evloop_enable(loop, c.id, false);
    close(c.pipe[1]);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&c.calls), 0, "evloop disabled hung-up fd does not fire");
    evloop_destroy(loop);
    close(c.pipe[0]);
}

/* Two watches on one descriptor (com1 and com2 on one stream). */
static void test_same_fd_twice(void)
{
    struct evloop *loop;
    evloop_create(&loop);
    evloop_start(loop);
    struct counter a, b;
    counter_init(&a, loop);
    b = (struct counter){.loop = loop};
    atomic_store(&b.calls, 0);
    CHECK_EQ(evloop_add_fd(loop, a.pipe[0], on_readable, &a, &a.id), 0, "evloop first watch");
    CHECK_EQ(evloop_add_fd(loop, a.pipe[0], on_readable, &b, &b.id), 0,
             "evloop second watch on the same fd");
    evloop_remove(loop, a.id);
    poke(&a);
    CHECK(wait_calls(&b, 1), "evloop the other watch on a shared fd still fires");
    evloop_destroy(loop);
    close(a.pipe[0]);
    close(a.pipe[1]);
}

int main(void)
{
    test_same_fd_twice();
    test_basic();
    test_remove_from_callback();
    test_many_watches();
    test_errors();
    test_hangup_disabled();
    TEST_EXIT();
}
