/*
 * Every PCI emulation name moby/hyperkit knows (-s SLOT,NAME[,CONF]), one
 * row each: how to check its configuration string when the option is
 * given, how to build it on the bus, and which INTx pin it uses (for the
 * firmware's routing tables). Option parsing and the board both use this
 * table; a new device adds its own files and one row in devtypes.c.
 *
 * A row without create is a name hyperkit has and we do not yet: -s with
 * it fails with HK_ENOTSUP ("not implemented yet"), not as a typo.
 */
#ifndef HK_DEVICES_DEVTYPES_H
#define HK_DEVICES_DEVTYPES_H

#include <stddef.h>

struct dev_env;
struct pci_bus;

struct dev_type {
    const char *name;
    /* Check conf (NULL when the option has none) and turn it into what
     * create takes (*parsed; may stay NULL). On error: HK_E* and one line
     * in err, without the "-s ..." prefix. NULL: any conf is ignored. */
    int (*parse)(const char *conf, void **parsed, char *err, size_t errlen);
    /* Free what parse made (called with NULL too). NULL: nothing to free. */
    void (*free)(void *parsed);
    /* Build the function at slot:func on bus 0. parsed stays the caller's
     * (freed after the call): keep a copy of what is needed. On error:
     * HK_E* and one line in err. NULL: not implemented yet. */
    int (*create)(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                  char *err, size_t errlen);
    /* The INTx pin it raises (1-4: INTA#-INTD#), 0 for none. */
    int intx_pin;
};

/* The row named name, or NULL. */
const struct dev_type *devtype_find(const char *name);

/* The rows in order, for walking: NULL past the last. */
const struct dev_type *devtype_at(size_t i);

#endif
