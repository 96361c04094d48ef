/*
 * QEMU's isa-debug-exit device: a guest write of value V ends the VM with
 * exit status (V << 1) | 1, so test guests can report pass/fail.
 */
#ifndef HK_DEVICES_DEBUG_EXIT_H
#define HK_DEVICES_DEBUG_EXIT_H

#include <stdint.h>

#include "core/iobus.h"

struct dev_env;

/* Width of the port range, as QEMU's default iosize. */
#define DEBUG_EXIT_NPORTS 2

/* Register the device at port (and port + 1). Returns 0 or HK_EEXIST /
 * HK_EINVAL / HK_ENOMEM. */
int debug_exit_create(struct dev_env *env, uint16_t port);

/* The port handlers; opaque is the struct dev_env. Exposed for tests. */
extern const struct io_ops debug_exit_io_ops;

#endif
