/*
 * ACPI tables (ACPI 6.3 chapter 5): RSDP -> RSDT and XSDT -> FADT (-> FACS,
 * DSDT) and MADT. The FADT describes the fixed hardware of
 * devices/lpc/acpi_pm.c, the MADT the interrupt controllers of
 * devices/irqchip (one LAPIC per vCPU, the I/O APIC with ISA IRQ 0 on
 * pin 2, the SCI level-triggered). No HPET, MCFG or SRAT: nothing
 * behind them is emulated.
 */
#include "firmware/acpi.h"

#include <string.h>

#include "devices/irqchip/ioapic.h"
#include "devices/irqchip/lapic.h"
#include "devices/lpc/acpi_pm.h"
#include "devices/lpc/rtc.h"
#include "hyperkit.h"

#define TABLE_ALIGN 16
#define FACS_ALIGN 64     /* 5.2.10: "aligned on a 64-byte boundary" */

/* 5.2.9 P_LVL2_LAT > 100 and P_LVL3_LAT > 1000: no C2, no C3. */
#define NO_C2_LATENCY 101
#define NO_C3_LATENCY 1001

void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + ACPI_HDR_LENGTH, len);
    t[ACPI_HDR_REVISION] = rev;
    memcpy(t + ACPI_HDR_OEM_ID, ACPI_OEM_ID, 6);
    memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
    put32(t + 24, 1);                      /* OEM revision */
    memcpy(t + 28, ACPI_CREATOR_ID, 4);
    put32(t + 32, 1);                      /* creator revision */
}

void acpi_finish(uint8_t *t)
{
    uint32_t len = t[ACPI_HDR_LENGTH] | (uint32_t)t[ACPI_HDR_LENGTH + 1] << 8 |
                   (uint32_t)t[ACPI_HDR_LENGTH + 2] << 16 | (uint32_t)t[ACPI_HDR_LENGTH + 3] << 24;
    t[ACPI_HDR_CHECKSUM] = 0;
    t[ACPI_HDR_CHECKSUM] = fw_checksum(t, len);
}

/* 5.2.3.2 Generic Address Structure for a system I/O register block. */
static void gas_io(uint8_t *g, uint16_t port, unsigned len, uint8_t access)
{
    g[0] = GAS_SYSTEM_IO;
    g[1] = (uint8_t)(8 * len);   /* bit width: ACPICA checks it against the 32-bit LEN field */
    g[2] = 0;                    /* bit offset */
    g[3] = access;
    put64(g + 4, port);
}

/* 5.2.10 FACS: no firmware waking vector (S3 is not supported), no
 * global lock users. It has no checksum. */
static int build_facs(struct fw_area *a, uint32_t *gpa)
{
    uint8_t *t = fw_alloc(a, FACS_SIZE, FACS_ALIGN, gpa);
    if (!t)
        return HK_ENOMEM;
    memcpy(t, "FACS", 4);
    put32(t + 4, FACS_SIZE);
    t[FACS_VERSION] = 2;
    return HK_OK;
}

/*
 * IAPC_BOOT_ARCH (5.2.9.3): LEGACY_DEVICES, since the UARTs and the RTC
 * sit on the LPC bus; 8042 clear, because there is no keyboard controller
 * (ports 0x60/0x64 read 0xff, only its reset command is honoured): Linux
 * then marks the i8042 absent and does not probe it; VGA Not Present,
 * since there is no VGA; the CMOS RTC is present.
 */
#define FW_IAPC_BOOT_ARCH (IAPC_LEGACY_DEVICES | IAPC_VGA_NOT_PRESENT)

/* Fixed feature flags (Table 5-35): WBINVD works, C1 is HLT, no sleep
 * button (the power button is the fixed one, PWRBTN_STS), RTC wake status
 * is not in PM1 (FIX_RTC), a 32-bit PM timer, the 0xcf9 reset register;
 * not hardware-reduced. */
#define FW_FADT_FLAGS                                                                   \
    (FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_FIX_RTC |              \
     (ACPI_PM_TMR_32BIT ? FADT_F_TMR_VAL_EXT : 0) | FADT_F_RESET_REG_SUP)

/* 5.2.9 FADT, revision 6.3. Each register block is given both as the
 * 32-bit field and as its X_ GAS; the FACS only by FIRMWARE_CTRL, since
 * 5.2.9 wants X_FIRMWARE_CTRL zero when FIRMWARE_CTRL is set. */
static int build_fadt(struct fw_area *a, uint32_t facs, uint32_t dsdt, uint32_t *gpa)
{
    uint8_t *t = fw_alloc(a, FADT_SIZE, TABLE_ALIGN, gpa);
    if (!t)
        return HK_ENOMEM;
    acpi_header(t, "FACP", FADT_SIZE, FADT_REVISION);
    put32(t + FADT_FIRMWARE_CTRL, facs);
    put32(t + FADT_DSDT, dsdt);
    t[FADT_PM_PROFILE] = 0;                          /* unspecified */
    put16(t + FADT_SCI_INT, ACPI_PM_SCI_IRQ);
    put32(t + FADT_SMI_CMD, ACPI_PM_SMI_CMD);
    t[FADT_ACPI_ENABLE] = ACPI_PM_ACPI_ENABLE;
    t[FADT_ACPI_DISABLE] = ACPI_PM_ACPI_DISABLE;
    put32(t + FADT_PM1A_EVT_BLK, ACPI_PM1A_EVT_BLK);
    put32(t + FADT_PM1A_CNT_BLK, ACPI_PM1A_CNT_BLK);
    put32(t + FADT_PM_TMR_BLK, ACPI_PM_TMR_BLK);
    t[FADT_PM1_EVT_LEN] = ACPI_PM1_EVT_LEN;
    t[FADT_PM1_CNT_LEN] = ACPI_PM1_CNT_LEN;
    t[FADT_PM_TMR_LEN] = ACPI_PM_TMR_LEN;
    put16(t + FADT_P_LVL2_LAT, NO_C2_LATENCY);
    put16(t + FADT_P_LVL3_LAT, NO_C3_LATENCY);
    t[FADT_CENTURY] = RTC_CENTURY;
    put16(t + FADT_IAPC_BOOT_ARCH, FW_IAPC_BOOT_ARCH);
    put32(t + FADT_FLAGS, FW_FADT_FLAGS);
    gas_io(t + FADT_RESET_REG, ACPI_RESET_PORT, 1, GAS_ACCESS_BYTE);
    t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
    t[FADT_MINOR_VERSION] = FADT_MINOR;
    put64(t + FADT_X_DSDT, dsdt);
    gas_io(t + FADT_X_PM1A_EVT_BLK, ACPI_PM1A_EVT_BLK, ACPI_PM1_EVT_LEN, GAS_ACCESS_WORD);
    gas_io(t + FADT_X_PM1A_CNT_BLK, ACPI_PM1A_CNT_BLK, ACPI_PM1_CNT_LEN, GAS_ACCESS_WORD);
    gas_io(t + FADT_X_PM_TMR_BLK, ACPI_PM_TMR_BLK, ACPI_PM_TMR_LEN, GAS_ACCESS_DWORD);
    acpi_finish(t);
    return HK_OK;
}

/* 5.2.12 MADT entries, appended at e; returns the bytes written. */
static uint32_t madt_entries(uint8_t *e, const struct fw_platform *p)
{
    uint8_t *start = e;
    for (int i = 0; i < p->ncpus; i++) {
        /* 5.2.12.2: ACPI Processor UID i (the DSDT's CPUi _UID), APIC ID i, Enabled. */
        e[0] = MADT_LAPIC;
        e[1] = 8;
        e[2] = (uint8_t)i;
        e[3] = (uint8_t)i;
        put32(e + 4, 1);
        e += 8;
    }
    /* 5.2.12.3: the I/O APIC; its 24 inputs are GSIs 0-23. */
    e[0] = MADT_IOAPIC;
    e[1] = 12;
    e[2] = FW_IOAPIC_ID;
    put32(e + 4, (uint32_t)IOAPIC_BASE);
    put32(e + 8, 0);
    e += 12;
    /* 5.2.12.5: ISA IRQ 0 (the PIT) is wired to pin 2 (irqchip.c); the
     * SCI is level-triggered, active high (acpi_pm.c holds the line while
     * an enabled event is pending), as bhyve describes it. */
    static const struct {
        uint8_t irq;
        uint32_t gsi;
        uint16_t flags;
    } iso[] = {
        {0, 2, MPS_EDGE | MPS_ACTIVE_HIGH},
        {ACPI_PM_SCI_IRQ, ACPI_PM_SCI_IRQ, MPS_LEVEL | MPS_ACTIVE_HIGH},
    };
    for (size_t i = 0; i < sizeof(iso) / sizeof(iso[0]); i++) {
        e[0] = MADT_ISO;
        e[1] = 10;
        e[2] = 0;   /* bus: ISA */
        e[3] = iso[i].irq;
        put32(e + 4, iso[i].gsi);
        put16(e + 8, iso[i].flags);
        e += 10;
    }
    /* 5.2.12.7: NMI on LINT1 of every processor (UID 0xff), bus-conforming. */
    e[0] = MADT_LAPIC_NMI;
    e[1] = 6;
    e[2] = 0xff;
    put16(e + 3, 0);
    e[5] = 1;
    e += 6;
    return (uint32_t)(e - start);
}

#define MADT_MAX (MADT_ENTRIES + 8 * FW_MAX_CPUS + 12 + 2 * 10 + 6)

static int build_madt(struct fw_area *a, const struct fw_platform *p, uint32_t *gpa)
{
    uint8_t tmp[MADT_MAX] = {0};
    uint32_t len = MADT_ENTRIES + madt_entries(tmp + MADT_ENTRIES, p);
    uint8_t *t = fw_alloc(a, len, TABLE_ALIGN, gpa);
    if (!t)
        return HK_ENOMEM;
    memcpy(t, tmp, len);
    acpi_header(t, "APIC", len, MADT_REVISION);
    put32(t + MADT_LAPIC_ADDR, (uint32_t)LAPIC_BASE);
    put32(t + MADT_FLAGS, MADT_PCAT_COMPAT);   /* the 8259s are there too */
    acpi_finish(t);
    return HK_OK;
}

/* 5.2.7 RSDT (32-bit entries) and 5.2.8 XSDT (64-bit entries). */
static int build_sdt(struct fw_area *a, const char *sig, unsigned width, const uint32_t *tables,
                     unsigned n, uint32_t *gpa)
{
    uint32_t len = ACPI_HDR_SIZE + width * n;
    uint8_t *t = fw_alloc(a, len, TABLE_ALIGN, gpa);
    if (!t)
        return HK_ENOMEM;
    acpi_header(t, sig, len, 1);
    for (unsigned i = 0; i < n; i++) {
        if (width == 8)
            put64(t + ACPI_HDR_SIZE + 8 * i, tables[i]);
        else
            put32(t + ACPI_HDR_SIZE + 4 * i, tables[i]);
    }
    acpi_finish(t);
    return HK_OK;
}

/* 5.2.5.3 RSDP, revision 2: the ACPI 1.0 checksum covers the first 20
 * bytes, the extended checksum all 36. */
static void fill_rsdp(uint8_t *r, uint32_t rsdt, uint32_t xsdt)
{
    memcpy(r, RSDP_SIGNATURE, 8);
    memcpy(r + RSDP_OEM_ID, ACPI_OEM_ID, 6);
    r[RSDP_REVISION] = 2;
    put32(r + RSDP_RSDT, rsdt);
    put32(r + RSDP_LENGTH, RSDP_SIZE);
    put64(r + RSDP_XSDT, xsdt);
    r[RSDP_CHECKSUM] = fw_checksum(r, RSDP_V1_SIZE);
    r[RSDP_EXT_CHECKSUM] = fw_checksum(r, RSDP_SIZE);
}

int acpi_build(struct fw_area *a, const struct fw_platform *p, uint32_t *rsdp_gpa)
{
    if (p->ncpus < 1 || p->ncpus > FW_MAX_CPUS)
        return HK_EINVAL;
    /* The RSDP first: at the start of the area, 16-byte aligned (5.2.5.1). */
    uint32_t rsdp = 0, facs = 0, dsdt = 0, fadt = 0, madt = 0, rsdt = 0, xsdt = 0;
    uint8_t *r = fw_alloc(a, RSDP_SIZE, TABLE_ALIGN, &rsdp);
    if (!r)
        return HK_ENOMEM;
    int err = build_facs(a, &facs);
    if (!err)
        err = acpi_dsdt_build(a, p, &dsdt);
    if (!err)
        err = build_fadt(a, facs, dsdt, &fadt);
    if (!err)
        err = build_madt(a, p, &madt);
    const uint32_t tables[] = {fadt, madt};
    if (!err)
        err = build_sdt(a, "RSDT", 4, tables, 2, &rsdt);
    if (!err)
        err = build_sdt(a, "XSDT", 8, tables, 2, &xsdt);
    if (err)
        return err;
    fill_rsdp(r, rsdt, xsdt);
    *rsdp_gpa = rsdp;
    return HK_OK;
}
