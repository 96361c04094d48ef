/*
 * isa-debug-exit, following QEMU hw/misc/debugexit.c: a two-port range
 * (QEMU's default iosize), accesses of 1 to 4 bytes, reads return 0, and
 * any write stops the VM with status (V << 1) | 1, where V is the value
 * written at its access width. The status is always odd, so a guest
 * cannot make it look like a clean power-off (0); test harnesses map the
 * value they expect for success themselves.
 */
#include "devices/debug_exit.h"

#include <stdio.h>

#include "devices/devenv.h"

static bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4;
}

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    if (!valid_size(size))
        return;   /* QEMU drops accesses outside its valid sizes too */
    uint32_t v = (uint32_t)(value & (size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1));
    /* The shift is done in 32 bits: a process exit status keeps only the
     * low byte anyway, as with QEMU's exit((V << 1) | 1). */
    int status = (int)((v << 1) | 1u);
    struct dev_env *env = opaque;
    char why[64];
    snprintf(why, sizeof(why), "guest wrote %#x to the debug-exit port", (unsigned)v);
    env->ops->request_exit(env->ctx, HK_EXIT_DEBUG_EXIT, status, why);
}

const struct io_ops debug_exit_io_ops = {.read = debug_exit_read, .write = debug_exit_write};

int debug_exit_create(struct dev_env *env, uint16_t port)
{
    if (!env || port == 0)
        return HK_EINVAL;
    return iobus_register(env->pio, port, DEBUG_EXIT_NPORTS, &debug_exit_io_ops, env,
                          "debug-exit");
}
