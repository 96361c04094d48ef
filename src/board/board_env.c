/* The board's implementation of the device environment (board_env.h). */
#include "board/board_env.h"

#include <stdio.h>

#include "core/log.h"
#include "core/vm.h"
#include "devices/irqchip/irqchip.h"

/* A line changed after counting (router lock held). */
static void set_line(void *ctx, int gsi, bool level)
{
    struct board_env *be = ctx;
    struct vm *vm = be->vm;
    if (vm->accel_ops && vm->accel_ops->set_irq)
        vm->accel_ops->set_irq(vm->accel, gsi, level);
    else if (be->irqchip)
        irqchip_set_irq(be->irqchip, gsi, level);
}

static void env_irq_line(void *ctx, int gsi, bool asserted)
{
    struct board_env *be = ctx;
    irq_router_line(&be->router, gsi, asserted);
}

static void env_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct board_env *be = ctx;
    struct vm *vm = be->vm;
    if (vm->accel_ops && vm->accel_ops->signal_msi) {
        int r = vm->accel_ops->signal_msi(vm->accel, addr, data);
        if (r)
            vm_log(vm, HK_LOG_DEBUG, "MSI %#llx/%#x not delivered: %s",
                   (unsigned long long)addr, (unsigned)data, hk_strerror(r));
    } else if (be->irqchip) {
        irqchip_msi(be->irqchip, addr, data);
    }
}

static void env_request_exit(void *ctx, enum hk_exit_reason reason, int status, const char *why)
{
    struct board_env *be = ctx;
    vm_request_exit(be->vm, reason, status, "%s", why);
}

static int env_add_teardown(void *ctx, const char *name, void *opaque, void (*destroy)(void *))
{
    struct board_env *be = ctx;
    return vm_add_device(be->vm, name, opaque, destroy);
}

static void env_log(void *ctx, enum hk_log_level level, const char *msg)
{
    struct board_env *be = ctx;
    vm_log(be->vm, level, "%s", msg);
}

static int env_ioeventfd(void *ctx, const struct dev_ioeventfd *e, bool assign)
{
    struct board_env *be = ctx;
    struct vm *vm = be->vm;
    if (!vm->accel_ops || !vm->accel_ops->ioeventfd || !vm->accel)
        return HK_ENOTSUP;
    struct accel_ioeventfd a = {.addr = e->addr, .len = e->len, .pio = e->pio,
                                .match = e->match, .data = e->data, .fd = e->fd};
    return vm->accel_ops->ioeventfd(vm->accel, &a, assign);
}

static const struct dev_env_ops board_env_ops = {
    .irq_line = env_irq_line,
    .msi = env_msi,
    .request_exit = env_request_exit,
    .add_teardown = env_add_teardown,
    .log = env_log,
    .ioeventfd = env_ioeventfd,
};

void board_env_init(struct board_env *be, struct vm *vm)
{
    be->vm = vm;
    be->irqchip = NULL;
    irq_router_init(&be->router, set_line, be);
    be->env = (struct dev_env){
        .ops = &board_env_ops,
        .ctx = be,
        .pio = &vm->pio,
        .mmio = &vm->mmio,
        .mem = &vm->mem,
        .evloop = vm->evloop,
        .uuid = vm->cfg.has_uuid ? vm->cfg.uuid : NULL,
        .rtc_utc = vm->cfg.flags[HK_FLAG_RTC_UTC],
        .virtio_msix_off = vm->cfg.flags[HK_FLAG_VIRTIO_MSIX_OFF],
    };
}

void board_env_fini(struct board_env *be)
{
    irq_router_fini(&be->router);
}
