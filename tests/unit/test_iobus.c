/* The I/O bus: registration rules, dispatch, and ranges that move while
 * other threads dispatch (a guest moving a BAR under running vCPUs). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/iobus.h"
#include "hyperkit.h"
#include "test.h"

#define LEN 0x100
#define A_LOW 0x1000
#define A_HIGH 0x2000
#define B_BASE 0x3000

struct dev {
    uint64_t tag;
    atomic_long accesses;
};

static uint64_t dev_read(void *opaque, uint64_t offset, unsigned size)
{
    struct dev *d = opaque;
    atomic_fetch_add(&d->accesses, 1);
    return d->tag << 32 | offset;
}

static const struct io_ops dev_ops = {.read = dev_read};

static struct iobus bus;
static struct dev dev_a = {.tag = 0xa}, dev_b = {.tag = 0xb};
static atomic_bool mover_done;
static atomic_long bad, a_hits, a_misses;

/* Read one address in each window until the mover is done: A is at one
 * of its two places or in between (then the read is unclaimed, all
 * ones); B never moves, so it always answers. */
static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&mover_done)) {
        uint64_t off = (uint64_t)(rand_r(&seed) % LEN);
        static const uint64_t at[] = {A_LOW, A_HIGH};
        uint64_t v;
        for (int i = 0; i < 2; i++) {
            bool hit = iobus_access(&bus, at[i] + off, 4, false, &v);
            if (hit && v == (0xaull << 32 | off))
                atomic_fetch_add(&a_hits, 1);
            else if (!hit && v == 0xffffffffull)
                atomic_fetch_add(&a_misses, 1);
            else
                atomic_fetch_add(&bad, 1);
        }
        if (!iobus_access(&bus, B_BASE + off, 2, false, &v) || v != (0xbull << 32 | off))
            atomic_fetch_add(&bad, 1);
    }
    return NULL;
}

static atomic_int move_errors;

static void *mover(void *arg)
{
    int moves = *(int *)arg;
    uint64_t at = A_LOW;
    for (int i = 0; i < moves; i++) {
        uint64_t to = at == A_LOW ? A_HIGH : A_LOW;
        if (iobus_unregister(&bus, at, &dev_a) != HK_OK ||
            iobus_register(&bus, to, LEN, &dev_ops, &dev_a, "a") != HK_OK)
            atomic_fetch_add(&move_errors, 1);
        at = to;
    }
    atomic_store(&mover_done, true);
    return NULL;
}

static void test_concurrent_moves(void)
{
    iobus_init(&bus);
    CHECK_EQ(iobus_register(&bus, A_LOW, LEN, &dev_ops, &dev_a, "a"), HK_OK, "iobus A registered");
    CHECK_EQ(iobus_register(&bus, B_BASE, LEN, &dev_ops, &dev_b, "b"), HK_OK, "iobus B registered");
    pthread_t r[2], m;
    int moves = 20000;
    for (int i = 0; i < 2; i++)
        pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i + 1));
    pthread_create(&m, NULL, mover, &moves);
    pthread_join(m, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    CHECK_EQ(atomic_load(&move_errors), 0, "iobus every move unregisters and registers");
    CHECK_EQ(atomic_load(&bad), 0, "iobus dispatch during moves sees a whole range or none");
    CHECK(atomic_load(&a_hits) > 0, "iobus the moving range answered readers");
    CHECK_EQ(bus.nranges, 2, "iobus two ranges after the moves");
    uint64_t v;
    CHECK(iobus_access(&bus, A_LOW + 4, 4, false, &v) && v == (0xaull << 32 | 4),
          "iobus A ends where an even number of moves leaves it");
    iobus_fini(&bus);
}

/* A handler that moves its own range, as a BAR write does. */
static struct iobus *self_bus;
static struct dev dev_c = {.tag = 0xc};

static const struct io_ops move_ops;

static void self_move_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    if (iobus_unregister(self_bus, 0x4000, opaque) == HK_OK)
        iobus_register(self_bus, value, LEN, &move_ops, opaque, "c");
}

static const struct io_ops move_ops = {.read = dev_read, .write = self_move_write};

static void test_rules_and_reentry(void)
{
    struct iobus b;
    iobus_init(&b);
    self_bus = &b;
    CHECK_EQ(iobus_register(&b, 0x10, 0, &dev_ops, &dev_a, "z"), HK_EINVAL, "iobus empty range");
    CHECK_EQ(iobus_register(&b, ~0ull - 1, 4, &dev_ops, &dev_a, "w"), HK_EINVAL,
             "iobus range wrapping past 2^64");
    CHECK_EQ(iobus_register(&b, 0x100, 0x10, &dev_ops, &dev_a, "a"), HK_OK, "iobus register");
    CHECK_EQ(iobus_register(&b, 0x10f, 1, &dev_ops, &dev_b, "b"), HK_EEXIST, "iobus overlap");
    CHECK_EQ(iobus_register(&b, 0xf0, 0x11, &dev_ops, &dev_b, "b"), HK_EEXIST,
             "iobus overlap from below");
    CHECK_EQ(iobus_unregister(&b, 0x100, &dev_b), HK_ENOENT, "iobus unregister needs the owner");
    CHECK_EQ(iobus_unregister(&b, 0x104, &dev_a), HK_ENOENT, "iobus unregister needs the base");
    CHECK_EQ(iobus_unregister(&b, 0x100, &dev_a), HK_OK, "iobus unregister");
    uint64_t v = 0;
    CHECK(!iobus_access(&b, 0x100, 2, false, &v) && v == 0xffff, "iobus gone: reads all ones");
    CHECK_EQ(iobus_register(&b, 0x4000, LEN, &move_ops, &dev_c, "c"), HK_OK, "iobus mover");
    v = 0x9000;
    CHECK(iobus_access(&b, 0x4000, 4, true, &v), "iobus write to a self-moving range");
    CHECK(!iobus_access(&b, 0x4000, 4, false, &v), "iobus handler unregistered its range");
    CHECK(iobus_access(&b, 0x9010, 4, false, &v) && v == (0xcull << 32 | 0x10),
          "iobus handler registered its range elsewhere");
    iobus_fini(&b);
}

int main(void)
{
    test_rules_and_reentry();
    test_concurrent_moves();
    TEST_EXIT();
}
