/* ACPI PM1 blocks, PM timer, SMI_CMD, S5 power-off; the other resets. */
#include <stdlib.h>

#include "devices/lpc/acpi_pm.h"
#include "fake_env.h"
#include "test.h"

static uint64_t fake_now = 7000000000ull;
static uint64_t fake_clock(void *opaque)
{
    return fake_now;
}
static const struct devclock clk = {fake_clock, NULL};
static bool sci;
static int slept = -1;

static void on_sci(void *opaque, bool level)
{
    sci = level;
}

static void on_sleep(void *opaque, unsigned typ)
{
    slept = (int)typ;
}

static void test_model(void)
{
    static const struct acpi_pm_hooks hooks = {on_sci, on_sleep};
    struct acpi_pm *pm;
    if (acpi_pm_new(&clk, &hooks, NULL, &pm))
        return;
    CHECK_EQ(acpi_pm_tmr_ops.read(pm, 0, 4), 0, "pm timer starts at 0");
    fake_now += 1000000000ull;
    CHECK_EQ(acpi_pm_tmr_ops.read(pm, 0, 4), ACPI_PM_TMR_HZ, "pm timer counts 3579545 a second");
    CHECK_EQ(acpi_pm_cnt_ops.read(pm, 0, 2) & 1, 0, "pm SCI_EN off in legacy mode");
    acpi_pm_smi_ops.write(pm, 0, 1, ACPI_PM_ACPI_ENABLE);
    CHECK_EQ(acpi_pm_cnt_ops.read(pm, 0, 2) & 1, 1, "pm ACPI_ENABLE on SMI_CMD sets SCI_EN");
    acpi_pm_power_button(pm);
    CHECK(!sci, "pm power button without PWRBTN_EN raises no SCI");
    CHECK_EQ(acpi_pm_evt_ops.read(pm, 0, 2) & ACPI_PM1_PWRBTN, ACPI_PM1_PWRBTN,
             "pm PWRBTN_STS set");
    acpi_pm_evt_ops.write(pm, 2, 2, ACPI_PM1_PWRBTN);
    CHECK(sci, "pm enabling PWRBTN_EN raises the SCI");
    CHECK_EQ(acpi_pm_evt_ops.read(pm, 2, 2), ACPI_PM1_PWRBTN, "pm PM1 enable reads back");
    acpi_pm_evt_ops.write(pm, 0, 2, ACPI_PM1_PWRBTN);
    CHECK(!sci, "pm writing 1 to PWRBTN_STS clears it and the SCI");
    fake_now += 2400000000ull;   /* past 2^23 ticks: bit 23 toggled, not bit 31 */
    CHECK_EQ(acpi_pm_evt_ops.read(pm, 0, 2) & ACPI_PM1_TMR, 0,
             "pm 32-bit timer: TMR_STS waits for bit 31");
    fake_now += 600000000000ull;   /* about 2^31 ticks later */
    CHECK_EQ(acpi_pm_evt_ops.read(pm, 0, 2) & ACPI_PM1_TMR, ACPI_PM1_TMR,
             "pm TMR_STS when bit 31 of the timer toggles");
    CHECK_EQ(acpi_pm_evt_ops.read(pm, 0, 2) & ACPI_PM1_WAK, 0, "pm WAK_STS clear before a sleep");
    acpi_pm_cnt_ops.write(pm, 0, 2, 1u << 10 | ACPI_PM1_SLP_EN);
    CHECK_EQ(slept, 1, "pm SLP_EN reports the sleep type written");
    CHECK_EQ(acpi_pm_cnt_ops.read(pm, 0, 2) & ACPI_PM1_SLP_EN, 0, "pm SLP_EN reads 0");
    /* Only S5 is implemented: another type wakes at once, so an OSPM
     * polling WAK_STS after SLP_EN carries on instead of spinning. */
    CHECK_EQ(acpi_pm_evt_ops.read(pm, 0, 2) & ACPI_PM1_WAK, ACPI_PM1_WAK,
             "pm unsupported sleep type (S1) sets WAK_STS at once");
    CHECK(!sci, "pm WAK_STS raises no SCI");
    acpi_pm_evt_ops.write(pm, 0, 2, ACPI_PM1_WAK);
    CHECK_EQ(acpi_pm_evt_ops.read(pm, 0, 2) & ACPI_PM1_WAK, 0, "pm writing 1 to WAK_STS clears it");
    slept = -1;
    acpi_pm_cnt_ops.write(pm, 1, 1, (3u << 10 | ACPI_PM1_SLP_EN) >> 8);
    CHECK_EQ(acpi_pm_evt_ops.read(pm, 0, 2) & ACPI_PM1_WAK, ACPI_PM1_WAK,
             "pm S3 written to the high byte wakes at once too");
    CHECK_EQ(slept, -1, "pm an unsupported sleep type is reported once, not on every write");
    acpi_pm_smi_ops.write(pm, 0, 1, ACPI_PM_ACPI_DISABLE);
    CHECK_EQ(acpi_pm_cnt_ops.read(pm, 0, 2) & 1, 0, "pm ACPI_DISABLE clears SCI_EN");
    acpi_pm_free(pm);
}

static void out(struct fake_env *f, uint16_t port, unsigned size, uint64_t v)
{
    fake_env_out(f, port, size, v);
}

static void test_power_off_and_resets(void)
{
    struct fake_env f;
    fake_env_init(&f, 0, false);
    CHECK_EQ(acpi_pm_create(&f.env, NULL), 0, "pm created in an environment");
    out(&f, ACPI_PM1A_CNT_BLK, 2, 3u << 10 | ACPI_PM1_SLP_EN);
    CHECK_EQ(f.exit_reason, HK_EXIT_NONE, "pm S3 does not end the VM");
    uint64_t sts = 0;
    iobus_access(&f.pio, ACPI_PM1A_EVT_BLK, 2, false, &sts);
    CHECK_EQ(sts & ACPI_PM1_WAK, ACPI_PM1_WAK, "pm S3 is refused by waking at once (WAK_STS)");
    out(&f, ACPI_PM1A_CNT_BLK, 2, 1u << 10 | ACPI_PM1_SLP_EN);
    CHECK_EQ(f.exit_reason, HK_EXIT_NONE, "pm S1 does not end the VM");
    out(&f, ACPI_PM1A_CNT_BLK, 2, ACPI_PM_SLP_TYP_S5 << 10);
    CHECK_EQ(f.exit_reason, HK_EXIT_NONE, "pm SLP_TYP without SLP_EN does nothing");
    out(&f, ACPI_PM1A_CNT_BLK, 2, ACPI_PM_SLP_TYP_S5 << 10 | ACPI_PM1_SLP_EN);
    CHECK_EQ(f.exit_reason, HK_EXIT_POWEROFF, "pm S5 powers the VM off");
    fake_env_fini(&f);

    fake_env_init(&f, 0, false);
    CHECK_EQ(reset_create(&f.env), 0, "reset ports created");
    uint64_t v;
    iobus_access(&f.pio, 0x64, 1, false, &v);
    CHECK_EQ(v, 0xff, "8042 status reads as no controller");
    out(&f, 0x80, 1, 0x42);
    iobus_access(&f.pio, 0x80, 1, false, &v);
    CHECK(v == 0x42 && f.exit_reason == HK_EXIT_NONE, "port 0x80 keeps the POST code");
    out(&f, 0x64, 1, 0xd1);
    CHECK_EQ(f.exit_reason, HK_EXIT_NONE, "8042 other commands are ignored");
    out(&f, 0x64, 1, 0xfe);
    CHECK_EQ(f.exit_reason, HK_EXIT_REBOOT, "8042 command 0xfe reboots");
    fake_env_fini(&f);

    fake_env_init(&f, 0, false);
    reset_create(&f.env);
    iobus_access(&f.pio, 0x92, 1, false, &v);
    CHECK_EQ(v & 2, 2, "port 0x92 shows A20 enabled");
    out(&f, 0x92, 1, 0x01);
    CHECK_EQ(f.exit_reason, HK_EXIT_REBOOT, "port 0x92 fast reset reboots");
    fake_env_fini(&f);
}

int main(void)
{
    test_model();
    test_power_off_and_resets();
    TEST_EXIT();
}
