/*
 * struct vm (the library's hk_vm): owns guest memory, the I/O buses, the
 * devices, the vCPU threads and the accelerator. No globals anywhere: all
 * state of a VM hangs off this struct.
 */
#ifndef HK_CORE_VM_H
#define HK_CORE_VM_H

#include <pthread.h>
#include <stdatomic.h>

#include "accel/accel.h"
#include "core/config.h"
#include "core/guest_mem.h"
#include "core/iobus.h"

struct evloop;
struct irqchip;
struct pci_bus;
struct acpi_pm;

#define VM_MAX_VCPUS 1
#define VM_MAX_DEVICES 64

struct vcpu {
    struct vm *vm;
    int id;
    struct accel_vcpu *accel;
    pthread_t thread;
    bool thread_started;
    uint64_t wake_seq;           /* bumped (under vm->lock) when an interrupt arrives */
};

/* Something the VM must tear down: every device registers one. */
struct vm_device {
    const char *name;
    void *opaque;
    void (*destroy)(void *opaque);
};

enum vm_state { VM_CREATED, VM_RUNNING, VM_STOPPED };

struct vm {
    struct hk_config cfg;               /* private copy (strings duplicated) */
    struct guest_mem mem;
    struct iobus pio, mmio;
    const struct accel_ops *accel_ops;
    struct accel_vm *accel;
    struct evloop *evloop;
    struct irqchip *irqchip;            /* NULL when the engine has its own */
    struct pci_bus *pci;
    struct acpi_pm *pm;
    int nvcpus;
    struct vcpu vcpus[VM_MAX_VCPUS];
    int ndevices;
    struct vm_device devices[VM_MAX_DEVICES];

    pthread_mutex_t lock;               /* guards everything below */
    pthread_cond_t cond;
    enum vm_state state;
    bool paused;
    int running_vcpus;
    int parked_vcpus;                   /* paused vCPUs waiting to resume */
    struct hk_exit exit;
    atomic_bool stopping;               /* set once exit.reason is decided */
};

/* Register something to destroy with the VM (reverse order of adding). */
int vm_add_device(struct vm *vm, const char *name, void *opaque, void (*destroy)(void *));

/* Decide how the VM ends (the first caller wins) and stop all vCPUs. */
void vm_request_exit(struct vm *vm, enum hk_exit_reason reason, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Raise or lower an interrupt line (GSI). Until the emu engine has its
 * interrupt controllers this only records the level. */
void vm_set_irq(struct vm *vm, int gsi, bool level);

#endif
