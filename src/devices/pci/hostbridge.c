/*
 * The host bridge (class 06/00) at -s N,hostbridge: bhyve's IDs, which
 * no guest driver binds to (an Intel 440FX ID would draw Linux's PIIX
 * and 440FX quirks for hardware that is not there). amd_hostbridge
 * gives AMD's ID as bhyve does.
 */
#include "devices/pci/pci.h"

int hostbridge_create(struct pci_bus *bus, int slot, int func, bool amd)
{
    uint16_t vendor = amd ? 0x1022 : 0x1275, device = amd ? 0x7432 : 0x1275;
    return pci_add_func(bus, slot, func, vendor, device, 0x060000, NULL, NULL, NULL);
}
