/*
 * The DSDT (ACPI 6.3 5.2.11.1), written as AML with acpi_aml.c. In ASL:
 *
 *   Name (\_S5, Package () {5, 5, 0, 0})       7.4.2.5: soft-off
 *   Scope (\_SB) {
 *     Device (CP00) { Name (_HID, "ACPI0007") Name (_UID, 0) }   8.4
 *     Device (PCI0) {                          PCI host bridge, bus 0
 *       Name (_HID, EisaId ("PNP0A03")) Name (_UID, 0) Name (_BBN, 0)
 *       Name (_CRS, ResourceTemplate () {      the bridge's windows
 *         WordBusNumber 0-0xff, IO 0xcf8/8, WordIO 0-0xcf7 and
 *         0xd00-0xffff, DWordMemory 0xc0000000 to below the I/O APIC })
 *       Name (_PRT, Package () {               INTx routing, 6.2.13
 *         Package () {0x0000FFFF, 0, 0, 16}, ...   slot << 16 | 0xffff, pin,
 *       })                                          GSI (pci_intx_gsi)
 *       Device (COM1) ... Device (COM2) ...    PNP0501, if configured
 *       Device (RTC) ... Device (TIMR) ...     PNP0B00, PNP0100
 *     }
 *   }
 *
 * No _OSC or MCFG: there is no PCIe extended configuration space.
 */
#include <stdio.h>
#include <string.h>

#include "core/guest_mem.h"
#include "devices/irqchip/ioapic.h"
#include "devices/irqchip/pit.h"
#include "devices/lpc/acpi_pm.h"
#include "devices/lpc/rtc.h"
#include "devices/pci/pci.h"
#include "firmware/acpi.h"
#include "firmware/acpi_aml.h"
#include "hyperkit.h"

#define DSDT_REVISION 2    /* 64-bit integers (5.2.11.1) */
#define DSDT_MAX 8192

/* COM1 and COM2 as uart8250_vm.c places them. */
static const struct {
    const char *name;
    uint16_t port;
    unsigned irq;
} uarts[2] = {{"COM1", 0x3f8, 4}, {"COM2", 0x2f8, 3}};
#define UART_NPORTS 8

/* An ISA device with one I/O range and an optional IRQ (irq < 0: none). */
static void isa_device(struct aml *a, const char *name, const char *hid, int uid, uint16_t port,
                       uint8_t len, int irq)
{
    size_t dev = aml_device_open(a, name);
    aml_name(a, "_HID");
    aml_eisaid(a, hid);
    if (uid >= 0) {
        aml_name(a, "_UID");
        aml_integer(a, (uint64_t)uid);
    }
    aml_name(a, "_CRS");
    size_t rt = aml_restemplate_open(a);
    aml_res_io(a, port, len);
    if (irq >= 0)
        aml_res_irq(a, (unsigned)irq);
    aml_restemplate_close(a, rt);
    aml_close(a, dev);
}

/* The root bridge's resources (6.4; what Linux's pci_root takes as the
 * windows to place BARs in). 0xcf8-0xcff is the bridge's own config port;
 * the legacy ISA ports below it are forwarded to the LPC devices. */
static void pci0_crs(struct aml *a)
{
    aml_name(a, "_CRS");
    size_t rt = aml_restemplate_open(a);
    aml_res_word_bus(a, 0, 0xff);
    aml_res_io(a, PCI_CONFIG_ADDRESS, 8);
    aml_res_word_io(a, 0, PCI_CONFIG_ADDRESS - 1);
    aml_res_word_io(a, PCI_CONFIG_ADDRESS + 8, 0xffff);
    /* The 32-bit PCI hole, up to the I/O APIC: 0xfec00000 and up holds
     * the I/O APIC and the local APIC (guest_mem.h). */
    aml_res_dword_mem(a, (uint32_t)GMEM_LOWMEM_LIMIT, (uint32_t)IOAPIC_BASE - 1);
    aml_restemplate_close(a, rt);
}

/* 6.2.13 _PRT: every slot's four pins, straight to a global system
 * interrupt (Source 0: no link device) as the bus routes them (pci.c).
 * The MADT has no override for GSIs 16-23, so an OS takes them as PCI
 * interrupts are: level-triggered, active low. */
static void pci0_prt(struct aml *a)
{
    aml_name(a, "_PRT");
    size_t prt = aml_package_open(a, PCI_SLOTS * 4);
    for (int slot = 0; slot < PCI_SLOTS; slot++) {
        for (int pin = 0; pin < 4; pin++) {
            size_t e = aml_package_open(a, 4);
            aml_integer(a, (uint64_t)slot << 16 | 0xffff);   /* any function */
            aml_integer(a, (uint64_t)pin);                   /* 0: INTA# */
            aml_integer(a, 0);
            aml_integer(a, (uint64_t)pci_intx_gsi(slot, pin + 1));
            aml_close(a, e);
        }
    }
    aml_close(a, prt);
}

static void pci0(struct aml *a, const struct fw_platform *p)
{
    size_t dev = aml_device_open(a, "PCI0");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0A03");
    aml_name(a, "_UID");
    aml_integer(a, 0);
    aml_name(a, "_BBN");
    aml_integer(a, 0);
    pci0_crs(a);
    pci0_prt(a);
    for (int i = 0; i < 2; i++)
        if (p->com[i])
            isa_device(a, uarts[i].name, "PNP0501", i + 1, uarts[i].port, UART_NPORTS,
                       (int)uarts[i].irq);
    isa_device(a, "RTC", "PNP0B00", -1, RTC_BASE, RTC_NPORTS, RTC_IRQ);
    isa_device(a, "TIMR", "PNP0100", -1, PIT_BASE, PIT_NPORTS, 0);
    aml_close(a, dev);
}

/* 8.4 (Declaring Processors): a processor device per MADT entry, its _UID
 * the entry's ACPI Processor UID. */
static void cpus(struct aml *a, const struct fw_platform *p)
{
    for (int i = 0; i < p->ncpus; i++) {
        char name[5];
        snprintf(name, sizeof(name), "CP%02X", (unsigned)i & 0xff);
        size_t dev = aml_device_open(a, name);
        aml_name(a, "_HID");
        aml_string(a, "ACPI0007");
        aml_name(a, "_UID");
        aml_integer(a, (uint64_t)i);
        aml_close(a, dev);
    }
}

/* 7.4.2 \_Sx: {PM1a SLP_TYP, PM1b SLP_TYP, reserved, reserved}. The S5
 * value is the one acpi_pm.c powers off on. */
static void sleep_s5(struct aml *a)
{
    aml_name(a, "\\_S5");
    size_t pkg = aml_package_open(a, 4);
    aml_integer(a, ACPI_PM_SLP_TYP_S5);
    aml_integer(a, ACPI_PM_SLP_TYP_S5);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_close(a, pkg);
}

int acpi_dsdt_build(struct fw_area *area, const struct fw_platform *p, uint32_t *gpa)
{
    uint8_t buf[DSDT_MAX];
    struct aml a;
    aml_init(&a, buf, sizeof(buf));
    aml_bytes(&a, (uint8_t[ACPI_HDR_SIZE]){0}, ACPI_HDR_SIZE);
    sleep_s5(&a);
    size_t sb = aml_scope_open(&a, "\\_SB");
    cpus(&a, p);
    pci0(&a, p);
    aml_close(&a, sb);
    if (a.overflow)
        return HK_ENOMEM;
    uint8_t *t = fw_alloc(area, (uint32_t)a.len, 16, gpa);
    if (!t)
        return HK_ENOMEM;
    memcpy(t, buf, a.len);
    acpi_header(t, "DSDT", (uint32_t)a.len, DSDT_REVISION);
    acpi_finish(t);
    return HK_OK;
}
