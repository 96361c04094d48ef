/*
 * Message-signalled interrupts for a PCI function (PCI Local Bus 3.0,
 * 6.8): an MSI-X capability whose table and pending-bit array live in a
 * memory BAR the owner maps (it forwards accesses there to
 * msix_table_read/write and msix_pba_read), and a single-vector MSI
 * capability (hyperkit's -W). Messages leave through env->ops->msi.
 *
 * The owner calls msix_cfg_written / msi_cfg_written from its
 * pci_func_ops.cfg_written hook so enabling or unmasking is seen. All
 * calls are thread-safe (each structure has its own lock).
 */
#ifndef HK_DEVICES_PCI_MSIX_H
#define HK_DEVICES_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/devenv.h"
#include "devices/pci/pci.h"

#define MSIX_MAX_VECTORS 2048
#define MSIX_ENTRY_SIZE 16
/* Bytes of BAR an MSI-X table / PBA of n vectors needs. */
#define MSIX_TABLE_BYTES(n) ((uint64_t)(n) * MSIX_ENTRY_SIZE)
#define MSIX_PBA_BYTES(n) ((((uint64_t)(n) + 63) / 64) * 8)

struct msix_entry {
    uint32_t addr_lo, addr_hi, data, ctrl;  /* ctrl bit 0: vector masked */
};

struct msix {
    struct pci_func *func;
    struct dev_env *env;
    int cap;                        /* offset in configuration space */
    unsigned nvec;
    pthread_mutex_t lock;
    bool enabled, masked;           /* message control bits 15 and 14 */
    struct msix_entry *table;
    uint64_t *pba;
};

/* Add the capability: nvec vectors (1..MSIX_MAX_VECTORS), the table at
 * table_off and the PBA at pba_off of BAR bar (both 8-byte aligned). */
int msix_init(struct msix *m, struct pci_func *f, struct dev_env *env, unsigned nvec, int bar,
              uint32_t table_off, uint32_t pba_off);
void msix_fini(struct msix *m);

/* The owner's BAR handlers, with offsets relative to the table / PBA.
 * Dword and qword accesses to the table; anything else reads 0 and
 * writes nothing (6.8.2: other sizes are undefined). */
uint64_t msix_table_read(struct msix *m, uint64_t off, unsigned size);
void msix_table_write(struct msix *m, uint64_t off, unsigned size, uint64_t value);
uint64_t msix_pba_read(struct msix *m, uint64_t off, unsigned size);

/* From the owner's cfg_written hook. */
void msix_cfg_written(struct msix *m, unsigned offset, unsigned size);

bool msix_enabled(struct msix *m);
/* Send vector vec: delivered now, or left pending while the vector or the
 * function is masked and sent on unmask. Ignored if MSI-X is off or vec
 * is out of range. */
void msix_notify(struct msix *m, unsigned vec);

/* Single-vector MSI with 64-bit addresses. */
struct msi {
    struct pci_func *func;
    struct dev_env *env;
    int cap;
    pthread_mutex_t lock;
    bool enabled;
    uint64_t addr;
    uint16_t data;
};

int msi_init(struct msi *m, struct pci_func *f, struct dev_env *env);
void msi_fini(struct msi *m);
void msi_cfg_written(struct msi *m, unsigned offset, unsigned size);
bool msi_enabled(struct msi *m);
/* Send the message if MSI is enabled; false if it is not. */
bool msi_notify(struct msi *m);

#endif
