/*
 * The PCI-to-ISA (LPC) bridge at -s 31,lpc, with bhyve's identity: the
 * Intel 82371SB PIIX3 ISA bridge 0x8086:0x7000, class 06/01. The ISA
 * devices behind it (UARTs, RTC, ACPI PM, PIT, PICs) exist on their fixed
 * ports whether or not the bridge is configured. PIRQ route control
 * registers 0x60-0x63 (82371SB 2.2.16) read back what is written and
 * start disabled (0x80); routing follows the ACPI _PRT, not them.
 */
#include "devices/pci/pci.h"

int lpc_create(struct pci_bus *bus, int slot, int func)
{
    struct pci_func *f;
    int r = pci_add_func(bus, slot, func, 0x8086, 0x7000, 0x060100, NULL, NULL, &f);
    if (r)
        return r;
    pci_set_cfg(f, 0x60, 4, 0x80808080);
    pci_set_wmask(f, 0x60, 4, 0x8f8f8f8f);
    return 0;
}
