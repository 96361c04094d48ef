/*
 * PCI bus 0 behind configuration mechanism #1 (CONFIG_ADDRESS, a dword at
 * 0xcf8; CONFIG_DATA at 0xcfc-0xcff). Each function has a 256-byte
 * configuration space with a per-byte write mask; BARs follow the sizing
 * protocol (write all ones, read back the size mask and type bits).
 * Devices add functions, set their IDs, class and BARs, and may hook
 * accesses to their own registers.
 */
#ifndef HK_DEVICES_PCI_H
#define HK_DEVICES_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/iobus.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_SLOTS 32
#define PCI_FUNCS 8
#define PCI_NBARS 6

/* Standard header offsets (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_SUBSYS_ID 0x2e
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CMD_IO 0x0001
#define PCI_CMD_MEM 0x0002

enum pci_bar_type { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bus;
struct pci_func;

/* Optional device hooks, called without the bus lock held. */
struct pci_func_ops {
    /* Device-specific registers: return true and fill *value to answer a
     * read yourself; false for the generic configuration space. */
    bool (*cfg_read)(void *opaque, unsigned offset, unsigned size, uint32_t *value);
    /* After a write has been applied to the configuration space. */
    void (*cfg_written)(void *opaque, unsigned offset, unsigned size, uint32_t value);
    /* A BAR's decoded address changed (moved, or decoding switched on or
     * off through COMMAND): addr is where it now decodes, or 0 for off. */
    void (*bar_moved)(void *opaque, int bar, uint64_t addr);
};

struct dev_env;
/* The bus raises its functions' INTx lines through env (NULL: not
 * connected), one dev_irq source per function. */
int pci_bus_new(struct dev_env *env, struct pci_bus **out);
void pci_bus_free(struct pci_bus *bus);

/* Add function slot:func with its IDs and class (class << 16 | subclass
 * << 8 | prog-if). HK_EEXIST if taken. */
int pci_add_func(struct pci_bus *bus, int slot, int func, uint16_t vendor, uint16_t device,
                 uint32_t class_code, const struct pci_func_ops *ops, void *opaque,
                 struct pci_func **out);

/* A BAR of `size` bytes (a power of two: at least 4 for I/O, 16 for
 * memory; MEM64 takes bar and bar+1). Call before the guest runs. */
int pci_set_bar(struct pci_func *f, int bar, enum pci_bar_type type, uint64_t size,
                bool prefetchable);
/* Set configuration bytes and which bits the guest may change there. */
void pci_set_cfg(struct pci_func *f, unsigned offset, unsigned size, uint32_t value);
void pci_set_wmask(struct pci_func *f, unsigned offset, unsigned size, uint32_t mask);
uint32_t pci_get_cfg(struct pci_func *f, unsigned offset, unsigned size);
/* Where BAR n decodes now (0: not enabled or not set). */
uint64_t pci_bar_addr(struct pci_func *f, int bar);

/* Capabilities (PCI 3.0, 6.7): add one of len bytes (id at +0, next
 * pointer at +1 filled in) to the function's list. Returns its offset in
 * configuration space (>= 0x40), or HK_ENOMEM when the space is full. */
int pci_add_cap(struct pci_func *f, uint8_t id, unsigned len);

/* Legacy INTx: the function uses pin 1-4 (INTA#-INTD#); the bus routes it
 * to a GSI by slot (pci_intx_gsi, the same routing the DSDT's _PRT and the
 * MP table describe: IOAPIC pins 16-23, level, active low) and drives it
 * as one dev_irq source per function, so the router ORs functions sharing
 * a line. pci_set_intx asserts or deasserts this function's pin (callers
 * serialise per function); pci_intx_gsi is -1 for a bad slot or pin. */
int pci_set_irq_pin(struct pci_func *f, int pin);
void pci_set_intx(struct pci_func *f, bool level);
int pci_intx_gsi(int slot, int pin);

/* Whether the guest has disabled INTx for this function (COMMAND bit 10):
 * pci_set_intx then keeps the pin deasserted. */
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_INTX 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

/* A configuration access by bus/slot/func/offset, as mechanism #1 does.
 * Absent functions read all ones. size 1, 2 or 4 within one dword. */
uint32_t pci_cfg_read(struct pci_bus *bus, int busno, int slot, int func, unsigned offset,
                      unsigned size);
void pci_cfg_write(struct pci_bus *bus, int busno, int slot, int func, unsigned offset,
                   unsigned size, uint32_t value);

/* CONFIG_ADDRESS (registered as the one port 0xcf8: the handler takes
 * only dword accesses, so byte accesses to 0xcf9 can be the reset
 * register's) and CONFIG_DATA (4 ports at 0xcfc). opaque: the bus. */
extern const struct io_ops pci_addr_io_ops;
extern const struct io_ops pci_data_io_ops;

struct dev_env;
/* Bus 0 with its ports on env->pio (torn down with the environment). */
int pci_create(struct dev_env *env, struct pci_bus **out);

/* -s N,hostbridge (amd = false: 0x1275:0x1275 as bhyve; amd_hostbridge:
 * 0x1022:0x7432) and -s 31,lpc (Intel 82371SB PIIX3 ISA bridge 0x8086:0x7000,
 * as bhyve): configuration-space functions only. */
int hostbridge_create(struct pci_bus *bus, int slot, int func, bool amd);
int lpc_create(struct pci_bus *bus, int slot, int func);

#endif
