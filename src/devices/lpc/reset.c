/*
 * The ways a PC guest asks for a reset: the chipset's Reset Control
 * register at 0xcf9 (PIIX3 82371SB 4.1.18: a 0->1 write of RST_CPU, bit
 * 2, resets; bit 1 SYS_RST and bit 3 FULL_RST read back), the 8042
 * keyboard controller's pulse-output command 0xfe on port 0x64, and bit 0
 * of port 0x92 (PS/2 System Control Port A, fast reset). Port 0x80 takes
 * POST codes (and Linux's I/O delays). All end the VM with HK_EXIT_REBOOT.
 *
 * There is no keyboard controller: ports 0x60/0x64 read 0xff, which
 * Linux's i8042 probe takes for "no controller" without waiting.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/devenv.h"
#include "devices/lpc/acpi_pm.h"
#include "hyperkit.h"

struct reset_ctl {
    struct dev_env *env;
    pthread_mutex_t lock;
    uint8_t cf9, port92, post;
};

static void do_reset(struct reset_ctl *rc, const char *why)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "the guest reset the machine (%s)", why);
    rc->env->ops->request_exit(rc->env->ctx, HK_EXIT_REBOOT, 0, msg);
}

static uint64_t cf9_read(void *opaque, uint64_t offset, unsigned size)
{
    struct reset_ctl *rc = opaque;
    pthread_mutex_lock(&rc->lock);
    uint8_t v = rc->cf9;
    pthread_mutex_unlock(&rc->lock);
    return v;
}

static void cf9_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct reset_ctl *rc = opaque;
    if (size != 1)
        return;   /* only byte accesses reach 0xcf9; dwords at 0xcf8 are PCI's */
    pthread_mutex_lock(&rc->lock);
    bool reset = (value & 0x04) && !(rc->cf9 & 0x04);
    rc->cf9 = (uint8_t)value & 0x0a;
    pthread_mutex_unlock(&rc->lock);
    if (reset)
        do_reset(rc, "0xcf9");
}

static uint64_t kbc_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0xff;
}

static void kbc_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    /* The ranges are 0x60 and 0x64, one port each: opaque tells which. */
    struct reset_ctl *rc = opaque;
    if ((uint8_t)value == 0xfe)
        do_reset(rc, "8042 command 0xfe");
}

static void kbc_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
}

static uint64_t port92_read(void *opaque, uint64_t offset, unsigned size)
{
    struct reset_ctl *rc = opaque;
    pthread_mutex_lock(&rc->lock);
    uint8_t v = rc->port92 | 0x02;   /* A20 is always enabled */
    pthread_mutex_unlock(&rc->lock);
    return v;
}

static void port92_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct reset_ctl *rc = opaque;
    pthread_mutex_lock(&rc->lock);
    bool reset = (value & 1) && !(rc->port92 & 1);
    rc->port92 = (uint8_t)value & 0x01;
    pthread_mutex_unlock(&rc->lock);
    if (reset)
        do_reset(rc, "port 0x92");
}

static uint64_t post_read(void *opaque, uint64_t offset, unsigned size)
{
    struct reset_ctl *rc = opaque;
    pthread_mutex_lock(&rc->lock);
    uint8_t v = rc->post;
    pthread_mutex_unlock(&rc->lock);
    return v;
}

static void post_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct reset_ctl *rc = opaque;
    pthread_mutex_lock(&rc->lock);
    rc->post = (uint8_t)value;
    pthread_mutex_unlock(&rc->lock);
}

const struct io_ops reset_cf9_ops = {.read = cf9_read, .write = cf9_write};
const struct io_ops reset_kbc_ops = {.read = kbc_read, .write = kbc_write};
static const struct io_ops kbc_data_ops = {.read = kbc_read, .write = kbc_data_write};
const struct io_ops reset_port92_ops = {.read = port92_read, .write = port92_write};
const struct io_ops reset_post_ops = {.read = post_read, .write = post_write};

static void reset_destroy(void *opaque)
{
    struct reset_ctl *rc = opaque;
    pthread_mutex_destroy(&rc->lock);
    free(rc);
}

int reset_create(struct dev_env *env)
{
    if (!env)
        return HK_EINVAL;
    struct reset_ctl *rc = calloc(1, sizeof(*rc));
    if (!rc)
        return HK_ENOMEM;
    rc->env = env;
    pthread_mutex_init(&rc->lock, NULL);
    int r = env->ops->add_teardown(env->ctx, "reset", rc, reset_destroy);
    if (r) {
        reset_destroy(rc);
        return r;
    }
    const struct {
        uint16_t port;
        const struct io_ops *ops;
        const char *name;
    } ports[] = {
        {ACPI_RESET_PORT, &reset_cf9_ops, "reset-control"},
        {0x60, &kbc_data_ops, "kbc-data"},
        {0x64, &reset_kbc_ops, "kbc-cmd"},
        {0x80, &reset_post_ops, "post"},
        {0x92, &reset_port92_ops, "port92"},
    };
    for (size_t i = 0; !r && i < sizeof(ports) / sizeof(ports[0]); i++)
        r = iobus_register(env->pio, ports[i].port, 1, ports[i].ops, rc, ports[i].name);
    return r;
}
