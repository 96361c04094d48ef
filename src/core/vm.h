/*
 * struct vm (the library's hk_vm): owns guest memory, the I/O buses, the
 * vCPU threads, the accelerator and the list of things to tear down. No
 * globals anywhere: all state of a VM hangs off this struct. What the
 * machine is made of (devices, interrupt controllers) is the board's
 * business (src/board): the core sees it only through vm_platform_ops and
 * the teardown list.
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

/* What the vCPU loop asks the platform about a halted vCPU i (installed by
 * the board; NULL when the engine's interrupt controllers are its own). */
struct vm_platform_ops {
    /* When its next timer event is due (UINT64_MAX: none). */
    uint64_t (*next_event)(void *ctx, int i);
    /* Whether something it can take is already waiting (after running the
     * timers due): an interrupt if irq_ok (IF=1), an NMI if nmi_ok. */
    bool (*interrupt_pending)(void *ctx, int i, uint64_t now_ns, bool irq_ok, bool nmi_ok);
    /* Whether an NMI can ever come to it while halted with IF=0 (one
     * latched, or a line that timers or devices drive in NMI mode). */
    bool (*nmi_armed)(void *ctx, int i);
};

struct vm {
    struct hk_config cfg;               /* private copy (strings duplicated) */
    struct guest_mem mem;
    struct iobus pio, mmio;
    const struct accel_ops *accel_ops;
    struct accel_vm *accel;
    struct evloop *evloop;
    const struct vm_platform_ops *platform;   /* NULL: nothing to ask */
    void *platform_ctx;
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

/* A VM with its locks, buses, private copy of cfg and event loop, and
 * nothing else yet (the board builds the rest: board/machine.c). On
 * failure returns HK_E* with one line in err; *out is then NULL. */
int vm_new(const struct hk_config *cfg, struct vm **out, char *err, size_t errlen);

/* Register something to destroy with the VM (reverse order of adding). */
int vm_add_device(struct vm *vm, const char *name, void *opaque, void (*destroy)(void *));

/* Decide how the VM ends (the first caller wins) and stop all vCPUs. */
void vm_request_exit(struct vm *vm, enum hk_exit_reason reason, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
