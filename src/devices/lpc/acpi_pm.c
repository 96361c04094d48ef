/*
 * ACPI PM1a event/control blocks and PM timer (ACPI 6.x 4.8.3 and 4.8.4;
 * "4.7" in ACPI 5): status bits are write-one-to-clear, the SCI is the OR
 * of enabled status bits while SCI_EN is set, SLP_EN with SLP_TYP enters
 * a sleep state (only S5, soft-off, is supported: it powers the VM off;
 * the DSDT offers no other \_Sx, and any other SLP_TYP wakes at once).
 * The timer counts at 3.579545 MHz from the clock; TMR_STS is computed
 * when read (the timer's SCI is not polled: Linux never enables TMR_EN).
 */
#include "devices/lpc/acpi_pm.h"

#include <pthread.h>
#include <stdlib.h>

#include "devices/devenv.h"
#include "hyperkit.h"

struct acpi_pm {
    pthread_mutex_t lock;
    const struct devclock *clk;
    struct acpi_pm_hooks hooks;
    void *opaque;
    uint16_t sts, en, cnt;
    uint64_t base_ns;
    uint32_t tmr_seen;     /* the counter at the last look, for TMR_STS */
    bool sci;
    bool refused;          /* an unsupported sleep type was reported */
};

static uint32_t timer_value(struct acpi_pm *pm, uint64_t now)
{
    return (uint32_t)devclock_muldiv(now - pm->base_ns, ACPI_PM_TMR_HZ, 1000000000ull);
}

/* TMR_STS: the counter's top bit toggled since the last look. */
static void timer_update(struct acpi_pm *pm, uint64_t now)
{
    uint32_t v = timer_value(pm, now);
    if ((v ^ pm->tmr_seen) & 0x80000000u || v - pm->tmr_seen >= 0x80000000u)
        pm->sts |= ACPI_PM1_TMR;
    pm->tmr_seen = v;
}

static void update_sci(struct acpi_pm *pm)
{
    bool level = (pm->cnt & ACPI_PM1_SCI_EN) && (pm->sts & pm->en);
    if (level != pm->sci) {
        pm->sci = level;
        if (pm->hooks.sci)
            pm->hooks.sci(pm->opaque, level);
    }
}

int acpi_pm_new(const struct devclock *clk, const struct acpi_pm_hooks *hooks, void *opaque,
                struct acpi_pm **out)
{
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return HK_ENOMEM;
    pthread_mutex_init(&pm->lock, NULL);
    pm->clk = clk;
    if (hooks)
        pm->hooks = *hooks;
    pm->opaque = opaque;
    pm->base_ns = devclock_now(clk);
    *out = pm;
    return HK_OK;
}

void acpi_pm_free(struct acpi_pm *pm)
{
    if (!pm)
        return;
    pthread_mutex_destroy(&pm->lock);
    free(pm);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->sts |= ACPI_PM1_PWRBTN;
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

/* Byte lanes: a 16-bit register read or written in parts. */
static uint16_t merge16(uint16_t old, uint64_t offset, unsigned size, uint64_t value)
{
    if (size >= 2 && !(offset & 1))
        return (uint16_t)value;
    unsigned shift = (offset & 1) * 8;
    return (uint16_t)((old & ~(0xffu << shift)) | ((value & 0xff) << shift));
}

static uint64_t evt_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    timer_update(pm, devclock_now(pm->clk));
    uint32_t v = (uint32_t)pm->sts | (uint32_t)pm->en << 16;
    pthread_mutex_unlock(&pm->lock);
    v >>= 8 * (offset & 3);
    return size >= 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void evt_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    timer_update(pm, devclock_now(pm->clk));
    if (offset < 2) {
        uint16_t clear = merge16(0, offset, size, value);
        pm->sts &= (uint16_t)~clear;   /* write one to clear */
        if (size == 4)
            pm->en = (uint16_t)(value >> 16);
    } else if (offset < 4) {
        pm->en = merge16(pm->en, offset - 2, size, value) &
                 (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC);
    }
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

static uint64_t cnt_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    uint16_t v = pm->cnt;
    pthread_mutex_unlock(&pm->lock);
    return offset & 1 ? v >> 8 : (size == 1 ? v & 0xff : v);
}

/* A sleep type we do not implement (no \_Sx names it, so an OS writes
 * one only by mistake or on purpose). Chipsets leave reserved SLP_TYP
 * encodings undefined and QEMU ignores them; but an OSPM that wrote
 * SLP_EN polls WAK_STS until it is set (ACPI 6.3 16.1, Sleeping States;
 * ACPICA's legacy sleep does), so an ignored write leaves the guest
 * spinning for good. Setting WAK_STS at once, as a wake event that came
 * immediately (4.8.4.1; WAK_STS raises no SCI), lets it carry on: Linux
 * resumes from a sleep that returned. Only the first is reported: a guest
 * repeating it must not flood the log. Called with the lock held. */
static void refuse_sleep(struct acpi_pm *pm)
{
    pm->sts |= ACPI_PM1_WAK;
    pm->refused = true;
}

static void cnt_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    uint16_t v = merge16(pm->cnt, offset, size, value);
    /* SCI_EN is owned by the SMI_CMD handshake; GBL_RLS and SLP_EN are
     * write-only and read as 0 (ACPI 4.8.4.2.1). */
    pm->cnt = (uint16_t)((pm->cnt & ACPI_PM1_SCI_EN) | (v & 0x1c02));
    bool sleep = v & ACPI_PM1_SLP_EN;
    unsigned typ = (v >> 10) & 7;
    bool report = sleep && (typ == ACPI_PM_SLP_TYP_S5 || !pm->refused);
    if (sleep && typ != ACPI_PM_SLP_TYP_S5)
        refuse_sleep(pm);
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
    if (report && pm->hooks.sleep)
        pm->hooks.sleep(pm->opaque, typ);
}

static uint64_t tmr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    uint64_t now = devclock_now(pm->clk);
    timer_update(pm, now);
    uint32_t v = pm->tmr_seen;
    pthread_mutex_unlock(&pm->lock);
    v >>= 8 * (offset & 3);
    return size >= 4 ? v : v & ((1u << (size * 8)) - 1);
}

static uint64_t smi_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void smi_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    if ((uint8_t)value == ACPI_PM_ACPI_ENABLE)
        pm->cnt |= ACPI_PM1_SCI_EN;
    else if ((uint8_t)value == ACPI_PM_ACPI_DISABLE)
        pm->cnt &= (uint16_t)~ACPI_PM1_SCI_EN;
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

const struct io_ops acpi_pm_evt_ops = {.read = evt_read, .write = evt_write};
const struct io_ops acpi_pm_cnt_ops = {.read = cnt_read, .write = cnt_write};
const struct io_ops acpi_pm_tmr_ops = {.read = tmr_read};
const struct io_ops acpi_pm_smi_ops = {.read = smi_read, .write = smi_write};

/* --- VM glue ------------------------------------------------------------------ */

/* The model and its environment: the SCI is one interrupt source. */
struct pm_glue {
    struct acpi_pm *pm;
    struct dev_env *env;
    struct dev_irq sci;
};

static void pm_sci(void *opaque, bool level)
{
    struct pm_glue *g = opaque;
    dev_irq_set(&g->sci, level);   /* serialised by the PM lock the hook runs under */
}

static void pm_sleep(void *opaque, unsigned typ)
{
    struct pm_glue *g = opaque;
    if (typ == ACPI_PM_SLP_TYP_S5)
        g->env->ops->request_exit(g->env->ctx, HK_EXIT_POWEROFF, 0,
                                  "the guest powered off (ACPI S5)");
    else
        dev_log(g->env, HK_LOG_WARN,
                "acpi: sleep type %u is not supported (only S5); the guest is woken at once",
                typ);
}

static void pm_destroy(void *opaque)
{
    struct pm_glue *g = opaque;
    acpi_pm_free(g->pm);
    free(g);
}

int acpi_pm_create(struct dev_env *env, struct acpi_pm **out)
{
    static const struct acpi_pm_hooks hooks = {pm_sci, pm_sleep};
    if (!env)
        return HK_EINVAL;
    struct pm_glue *g = calloc(1, sizeof(*g));
    if (!g)
        return HK_ENOMEM;
    g->env = env;
    dev_irq_init(&g->sci, env, ACPI_PM_SCI_IRQ);
    int r = acpi_pm_new(NULL, &hooks, g, &g->pm);
    if (r) {
        free(g);
        return r;
    }
    if ((r = env->ops->add_teardown(env->ctx, "acpi-pm", g, pm_destroy)) != 0) {
        pm_destroy(g);
        return r;
    }
    struct acpi_pm *pm = g->pm;
    const struct {
        uint16_t port, len;
        const struct io_ops *ops;
        const char *name;
    } blocks[] = {
        {ACPI_PM1A_EVT_BLK, ACPI_PM1_EVT_LEN, &acpi_pm_evt_ops, "pm1a-evt"},
        {ACPI_PM1A_CNT_BLK, ACPI_PM1_CNT_LEN, &acpi_pm_cnt_ops, "pm1a-cnt"},
        {ACPI_PM_TMR_BLK, ACPI_PM_TMR_LEN, &acpi_pm_tmr_ops, "pm-tmr"},
        {ACPI_PM_SMI_CMD, 1, &acpi_pm_smi_ops, "smi-cmd"},
    };
    for (size_t i = 0; !r && i < sizeof(blocks) / sizeof(blocks[0]); i++)
        r = iobus_register(env->pio, blocks[i].port, blocks[i].len, blocks[i].ops, pm,
                           blocks[i].name);
    if (!r && out)
        *out = pm;
    return r;
}
