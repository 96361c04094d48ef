/*
 * ACPI fixed hardware (ACPI 6.x section 4.8, "ACPI Hardware Model"): the
 * PM1a event and control blocks, the PM timer, and the SMI command port
 * that switches between legacy and ACPI mode. Port numbers follow bhyve;
 * the FADT/DSDT writer takes them from here.
 */
#ifndef HK_DEVICES_LPC_ACPI_PM_H
#define HK_DEVICES_LPC_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/iobus.h"
#include "devices/irqchip/devclock.h"

/* FADT fields. */
#define ACPI_PM_SCI_IRQ 9            /* SCI_INT: level, shared (ISA IRQ 9) */
#define ACPI_PM_SMI_CMD 0xb2         /* SMI_CMD */
#define ACPI_PM_ACPI_ENABLE 0xa0     /* ACPI_ENABLE: written to SMI_CMD */
#define ACPI_PM_ACPI_DISABLE 0xa1    /* ACPI_DISABLE */
#define ACPI_PM1A_EVT_BLK 0x400      /* PM1a_EVT_BLK, PM1_EVT_LEN 4 */
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1A_CNT_BLK 0x404      /* PM1a_CNT_BLK, PM1_CNT_LEN 2 */
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR_BLK 0x408        /* PM_TMR_BLK, PM_TMR_LEN 4 */
#define ACPI_PM_TMR_LEN 4
#define ACPI_PM_TMR_32BIT 1          /* set FADT flag TMR_VAL_EXT (bit 8) */
#define ACPI_PM_TMR_HZ 3579545u
/* RESET_REG: system I/O 0xcf9, value 6 (reset.c), FADT flag RESET_REG_SUP. */
#define ACPI_RESET_PORT 0xcf9
#define ACPI_RESET_VALUE 0x06
/* The DSDT's \_S5 package must give this SLP_TYP (bhyve's value). */
#define ACPI_PM_SLP_TYP_S5 5

/* PM1 status/enable bits (ACPI 4.8.4.1). */
#define ACPI_PM1_TMR (1u << 0)
#define ACPI_PM1_GBL (1u << 5)
#define ACPI_PM1_PWRBTN (1u << 8)
#define ACPI_PM1_SLPBTN (1u << 9)
#define ACPI_PM1_RTC (1u << 10)
#define ACPI_PM1_WAK (1u << 15)
/* PM1 control bits (ACPI 4.8.4.2). */
#define ACPI_PM1_SCI_EN (1u << 0)
#define ACPI_PM1_SLP_EN (1u << 13)

struct dev_env;
struct acpi_pm;

struct acpi_pm_hooks {
    void (*sci)(void *opaque, bool level);        /* called with the PM lock held */
    /* SLP_EN written; no lock held. S5 always; another type only the
     * first time (the model has already set WAK_STS: it wakes at once). */
    void (*sleep)(void *opaque, unsigned slp_typ);
};

int acpi_pm_new(const struct devclock *clk, const struct acpi_pm_hooks *hooks, void *opaque,
                struct acpi_pm **out);
void acpi_pm_free(struct acpi_pm *pm);

/* The power button was pressed (PWRBTN_STS; an SCI if enabled). */
void acpi_pm_power_button(struct acpi_pm *pm);

extern const struct io_ops acpi_pm_evt_ops;   /* PM1a_EVT_BLK, 4 ports */
extern const struct io_ops acpi_pm_cnt_ops;   /* PM1a_CNT_BLK, 2 ports */
extern const struct io_ops acpi_pm_tmr_ops;   /* PM_TMR_BLK, 4 ports */
extern const struct io_ops acpi_pm_smi_ops;   /* SMI_CMD, 1 port */

/* Register the blocks in env: S5 ends the VM with HK_EXIT_POWEROFF, the
 * SCI is IRQ 9. Optionally returns the model (for a power button). */
int acpi_pm_create(struct dev_env *env, struct acpi_pm **out);

/* 0xcf9 reset control, the 8042's pulse-reset command (0xfe to port 0x64,
 * ports 0x60/0x64 otherwise reading as an absent controller), port 0x92
 * fast reset, and the port 0x80 POST-code sink: resets end the VM with
 * HK_EXIT_REBOOT. Port 0x61 lives with the PIT (irqchip/pit.c). */
int reset_create(struct dev_env *env);
extern const struct io_ops reset_cf9_ops, reset_kbc_ops, reset_port92_ops, reset_post_ops;

#endif
