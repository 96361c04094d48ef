/*
 * The board's side of the device environment: shared interrupt lines
 * counted (irq_router), and board_env's ops reaching the engine and the VM
 * core; then the device-type table.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "board/board_env.h"
#include "board/irq_router.h"
#include "core/vm.h"
#include "devices/devtypes.h"
#include "devices/pci/pci.h"
#include "fake_env.h"
#include "test.h"

/* What the interrupt controller saw, in order. */
static int nsets;
static int set_gsi[64];
static bool set_level[64];

static void record_set(void *ctx, int gsi, bool level)
{
    if (nsets < 64) {
        set_gsi[nsets] = gsi;
        set_level[nsets] = level;
    }
    nsets++;
}

static void test_router_sharing(void)
{
    struct irq_router r;
    irq_router_init(&r, record_set, NULL);
    nsets = 0;
    irq_router_line(&r, 16, true);    /* slot A's INTA# */
    irq_router_line(&r, 16, true);    /* slot B's, same GSI */
    CHECK(nsets == 1 && set_gsi[0] == 16 && set_level[0], "router: first source raises the line once");
    CHECK_EQ(irq_router_count(&r, 16), 2, "router: two sources counted");
    irq_router_line(&r, 16, false);
    CHECK_EQ(nsets, 1, "router: line stays up while another source holds it");
    irq_router_line(&r, 16, false);
    CHECK(nsets == 2 && set_gsi[1] == 16 && !set_level[1], "router: last source lowers the line");
    irq_router_line(&r, 16, false);
    CHECK(nsets == 2 && irq_router_count(&r, 16) == 0, "router: a stray deassert changes nothing");
    irq_router_line(&r, -1, true);
    irq_router_line(&r, IRQ_ROUTER_LINES, true);
    CHECK_EQ(nsets, 2, "router: lines out of range are ignored");
    /* An edge source (pulse) on a free line gives a 0-1-0; on a line held
     * by a level source there is no edge to give. */
    irq_router_line(&r, 4, true);
    irq_router_line(&r, 4, false);
    CHECK(nsets == 4 && set_level[2] && !set_level[3], "router: a pulse on a free line is an edge");
    irq_router_line(&r, 17, true);
    irq_router_line(&r, 17, true);
    irq_router_line(&r, 17, false);
    CHECK(nsets == 5 && irq_router_count(&r, 17) == 1, "router: a pulse on a held line keeps it up");
    irq_router_fini(&r);
}

/* Many threads toggling sources on one line: it ends low, and what the
 * controller saw alternates 1, 0, 1, 0 (no transition lost or repeated). */
struct toggler {
    struct irq_router *r;
    int rounds;
};

static void *toggle(void *arg)
{
    struct toggler *t = arg;
    for (int i = 0; i < t->rounds; i++) {
        irq_router_line(t->r, 18, true);
        irq_router_line(t->r, 18, false);
    }
    return NULL;
}

static int nalt;
static bool alt_ok = true, alt_last;

static void record_alternation(void *ctx, int gsi, bool level)
{
    if (level == alt_last)
        alt_ok = false;
    alt_last = level;
    nalt++;
}

static void test_router_threads(void)
{
    struct irq_router r;
    irq_router_init(&r, record_alternation, NULL);
    pthread_t th[4];
    struct toggler t = {&r, 20000};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, toggle, &t);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK(alt_ok && nalt > 0 && !alt_last, "router: concurrent sources give alternating transitions");
    CHECK_EQ(irq_router_count(&r, 18), 0, "router: concurrent sources end with the line free");
    irq_router_fini(&r);
}

/* --- board_env on a VM without devices ------------------------------------ */

static int engine_msis;
static uint64_t engine_msi_addr;
static int engine_set_irq(struct accel_vm *avm, int gsi, bool level)
{
    record_set(NULL, gsi, level);
    return 0;
}
static int engine_signal_msi(struct accel_vm *avm, uint64_t addr, uint32_t data)
{
    engine_msis++;
    engine_msi_addr = addr;
    return 0;
}

static int nlogs;
static char last_log[256];
static void on_log(void *opaque, enum hk_log_level level, const char *msg)
{
    nlogs++;
    snprintf(last_log, sizeof(last_log), "%s", msg);
}

static int destroyed;
static void on_destroy(void *opaque)
{
    destroyed++;
}

static void test_board_env(void)
{
    static const struct accel_ops engine = {.name = "fake", .set_irq = engine_set_irq,
                                            .signal_msi = engine_signal_msi};
    struct vm *vm = calloc(1, sizeof(*vm));
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    iobus_init(&vm->pio);
    iobus_init(&vm->mmio);
    vm->accel_ops = &engine;
    vm->cfg.log_fn = on_log;
    vm->cfg.log_level = HK_LOG_INFO;
    vm->cfg.flags[HK_FLAG_RTC_UTC] = true;
    struct board_env be;
    board_env_init(&be, vm);
    struct dev_env *env = &be.env;
    CHECK(env->pio == &vm->pio && env->mmio == &vm->mmio && env->mem == &vm->mem &&
              env->rtc_utc && !env->uuid, "board env: buses, memory and flags from the VM");

    struct dev_irq a, b;
    dev_irq_init(&a, env, 19);
    dev_irq_init(&b, env, 19);
    nsets = 0;
    dev_irq_set(&a, true);
    dev_irq_set(&a, true);      /* the same source again: no change */
    dev_irq_set(&b, true);
    dev_irq_set(&a, false);
    CHECK(nsets == 1 && set_gsi[0] == 19 && set_level[0], "board env: shared INTx line ORed");
    dev_irq_set(&b, false);
    CHECK(nsets == 2 && !set_level[1], "board env: line low when both sources are");
    struct dev_irq none;
    dev_irq_init(&none, env, -1);
    dev_irq_pulse(&none);
    CHECK_EQ(nsets, 2, "board env: an unconnected source drives nothing");

    env->ops->msi(env->ctx, 0xfee00000, 0x41);
    CHECK(engine_msis == 1 && engine_msi_addr == 0xfee00000, "board env: MSI goes to the engine");

    env->ops->request_exit(env->ctx, HK_EXIT_POWEROFF, 0, "first");
    env->ops->request_exit(env->ctx, HK_EXIT_REBOOT, 0, "second");
    CHECK(vm->exit.reason == HK_EXIT_POWEROFF && strcmp(vm->exit.message, "first") == 0,
          "board env: the first exit request wins");

    CHECK_EQ(env->ops->add_teardown(env->ctx, "x", NULL, on_destroy), 0, "board env: teardown added");
    CHECK_EQ(vm->ndevices, 1, "board env: teardown is on the VM's list");
    vm->devices[0].destroy(vm->devices[0].opaque);
    CHECK_EQ(destroyed, 1, "board env: the VM runs the teardown");

    dev_log(env, HK_LOG_WARN, "dev %d", 7);
    dev_log(env, HK_LOG_DEBUG, "hidden");
    CHECK(nlogs == 1 && strcmp(last_log, "dev 7") == 0, "board env: log lines reach the VM's log");

    board_env_fini(&be);
    iobus_fini(&vm->pio);
    iobus_fini(&vm->mmio);
    pthread_cond_destroy(&vm->cond);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

/* --- the device-type table -------------------------------------------------- */

static void test_devtypes(void)
{
    static const char *const hyperkit_names[] = {
        "hostbridge", "amd_hostbridge", "lpc", "virtio-blk", "virtio-net", "virtio-tap",
        "virtio-vpnkit", "virtio-rnd", "virtio-sock", "virtio-9p", "ahci-hd", "ahci-cd",
        "uart", "dummy"};
    bool all = true;
    for (size_t i = 0; i < sizeof(hyperkit_names) / sizeof(hyperkit_names[0]); i++)
        all = all && devtype_find(hyperkit_names[i]) != NULL;
    CHECK(all, "devtypes: every emulation name hyperkit knows has a row");
    CHECK(devtype_find("virtio-foo") == NULL && devtype_find(NULL) == NULL,
          "devtypes: unknown names have none");
    bool unique = true, pins = true;
    for (size_t i = 0; devtype_at(i); i++) {
        pins = pins && devtype_at(i)->intx_pin >= 0 && devtype_at(i)->intx_pin <= 4;
        for (size_t j = i + 1; devtype_at(j); j++)
            unique = unique && strcmp(devtype_at(i)->name, devtype_at(j)->name) != 0;
    }
    CHECK(unique && pins, "devtypes: names unique, INTx pins 0-4");

    struct fake_env f;
    fake_env_init(&f, 0, false);
    struct pci_bus *bus;
    char err[160] = "";
    CHECK_EQ(pci_create(&f.env, &bus), 0, "devtypes: bus for the constructors");
    const struct dev_type *hb = devtype_find("hostbridge");
    CHECK_EQ(hb->create(&f.env, bus, 0, 0, NULL, err, sizeof(err)), 0, "devtypes: hostbridge built");
    CHECK_EQ(pci_cfg_read(bus, 0, 0, 0, 0, 4), 0x12751275, "devtypes: hostbridge answers at 0:0.0");
    CHECK_EQ(hb->create(&f.env, bus, 0, 0, NULL, err, sizeof(err)), HK_EEXIST,
             "devtypes: a taken slot is refused");
    CHECK(err[0] && !strchr(err, '\n'), "devtypes: with one line of error");
    CHECK_EQ(devtype_find("amd_hostbridge")->create(&f.env, bus, 1, 0, NULL, err, sizeof(err)), 0,
             "devtypes: amd_hostbridge built");
    CHECK_EQ(pci_cfg_read(bus, 0, 1, 0, 0, 4), 0x74321022, "devtypes: AMD's IDs");
    CHECK_EQ(devtype_find("lpc")->create(&f.env, bus, 31, 0, NULL, err, sizeof(err)), 0,
             "devtypes: lpc built");
    fake_env_fini(&f);
}

int main(void)
{
    test_router_sharing();
    test_router_threads();
    test_board_env();
    test_devtypes();
    TEST_EXIT();
}
