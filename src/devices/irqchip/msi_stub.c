/*
 * TEMPORARY, replaced by the irq branch (which implements irqchip_msi in
 * the LAPIC routing): lets the board's MSI path link until then. No device
 * uses MSI yet, so nothing reaches it; a message that did would be dropped,
 * as irqchip.h allows for malformed ones. Delete this file on merge.
 */
#include "devices/irqchip/irqchip.h"

void irqchip_msi(struct irqchip *chip, uint64_t addr, uint32_t data)
{
    (void)chip;
    (void)addr;
    (void)data;
}
