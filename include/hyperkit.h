/*
 * libhyperkit: create and run x86-64 virtual machines from any application.
 *
 * This is the library's only public header. Everything is reached through
 * opaque handles; functions return 0 (HK_OK) or a negative HK_E* code that
 * hk_strerror() turns into text. Nothing here keeps process-wide state, so
 * one process may run several VMs at once.
 */
#ifndef HYPERKIT_H
#define HYPERKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HK_VERSION "0.1.0"

/* Error codes: 0 is success, every error is negative. */
enum hk_error {
    HK_OK = 0,
    HK_EINVAL = -1,   /* a bad argument or option value */
    HK_ENOMEM = -2,   /* out of memory */
    HK_ENOENT = -3,   /* a named file does not exist */
    HK_EIO = -4,      /* a host I/O error */
    HK_ENOTSUP = -5,  /* valid, but not implemented in this build yet */
    HK_EEXIST = -6,   /* already exists or already configured */
    HK_ESTATE = -7,   /* call not valid in the VM's current state */
    HK_ENOACCEL = -8, /* no usable accelerator (engine) */
    HK_EGUEST = -9,   /* the guest did something the VM cannot run */
};

/* A one-line description of an HK_E* code (never NULL). */
const char *hk_strerror(int err);

/* Library version string, e.g. "0.1.0". */
const char *hk_version(void);

/* Names of the accelerators compiled into this build, NULL-terminated. */
const char *const *hk_accel_names(void);

/* --- Logging ------------------------------------------------------------ */

enum hk_log_level { HK_LOG_ERROR, HK_LOG_WARN, HK_LOG_INFO, HK_LOG_DEBUG };
typedef void (*hk_log_fn)(void *opaque, enum hk_log_level level, const char *msg);

/* --- Configuration ------------------------------------------------------ */

typedef struct hk_config hk_config;

int hk_config_new(hk_config **out);
void hk_config_free(hk_config *cfg);

/*
 * The last error a hk_config_* call reported, as one line naming the
 * offending value ("" if none). Valid until the next call on cfg.
 */
const char *hk_config_error(const hk_config *cfg);

/*
 * Each of these takes the same text as the hyperkit option named in the
 * comment, so the command line is a thin client of the library.
 */
int hk_config_set_memory(hk_config *cfg, const char *size);   /* -m 512M */
int hk_config_set_vcpus(hk_config *cfg, const char *count);   /* -c 1 */
int hk_config_add_pci(hk_config *cfg, const char *spec);      /* -s 0:0,hostbridge */
int hk_config_add_lpc(hk_config *cfg, const char *spec);      /* -l com1,stdio */
int hk_config_set_boot(hk_config *cfg, const char *spec);     /* -f kexec,K,I,"C" */
int hk_config_set_uuid(hk_config *cfg, const char *uuid);     /* -U uuid */
int hk_config_set_gdb_port(hk_config *cfg, const char *port); /* -g port */

/* Boolean switches, by hyperkit option letter. */
enum hk_flag {
    HK_FLAG_ACPI,            /* -A: build ACPI tables */
    HK_FLAG_CORE_GUESTMEM,   /* -C: include guest memory in core dumps */
    HK_FLAG_EXIT_ON_UNHANDLED_IO, /* -e: unhandled port/MMIO access ends the VM */
    HK_FLAG_EXIT_ON_HLT,     /* -H: vCPU exits to the VMM on HLT */
    HK_FLAG_EXIT_ON_PAUSE,   /* -P: vCPU exits to the VMM on PAUSE */
    HK_FLAG_RTC_UTC,         /* -u: RTC keeps UTC */
    HK_FLAG_IGNORE_BAD_MSR,  /* -w: ignore unimplemented MSRs */
    HK_FLAG_VIRTIO_MSIX_OFF, /* -W: force virtio PCI devices to use MSI */
    HK_FLAG_X2APIC,          /* -x: local APIC in x2APIC mode */
    HK_FLAG_NO_MPTABLE,      /* -Y: no MP table */
    HK_FLAG_COUNT
};
int hk_config_set_flag(hk_config *cfg, enum hk_flag flag, bool on);

/*
 * The engine that runs guest code: "auto" (default: kvm when /dev/kvm is
 * usable, else emu), "emu" or "kvm". The CLI also reads $HYPERKIT_ACCEL.
 */
int hk_config_set_accel(hk_config *cfg, const char *name);

/*
 * QEMU isa-debug-exit semantics: a guest write of value V to the port ends
 * the VM with exit status (V << 1) | 1. port 0 disables it (default).
 */
int hk_config_set_debug_exit(hk_config *cfg, uint16_t port);

/*
 * Console streams for an LPC serial port (com = 1 or 2) given as host file
 * descriptors, for embedding applications. in_fd may be -1 (no input).
 * The VM does not close them. Equivalent to -l comN,... with a stream.
 */
int hk_config_set_com_fds(hk_config *cfg, int com, int in_fd, int out_fd);

/*
 * Write an execution trace to path (engines that support it: emu): every
 * exception and interrupt taken, and the recent instruction addresses and
 * registers when a vCPU shuts down. NULL turns it off.
 */
int hk_config_set_trace(hk_config *cfg, const char *path);

/* Log messages from the library go to fn (default: stderr, warnings up). */
void hk_config_set_log(hk_config *cfg, hk_log_fn fn, void *opaque,
                       enum hk_log_level max_level);

/* --- Virtual machines --------------------------------------------------- */

typedef struct hk_vm hk_vm;

/* Why a VM stopped running. */
enum hk_exit_reason {
    HK_EXIT_NONE = 0,     /* still running */
    HK_EXIT_POWEROFF,     /* ACPI power-off, or stopped on request */
    HK_EXIT_HALT,         /* every vCPU halted with interrupts off */
    HK_EXIT_REBOOT,       /* the guest asked for a reset */
    HK_EXIT_TRIPLE_FAULT, /* a vCPU triple-faulted */
    HK_EXIT_DEBUG_EXIT,   /* the guest wrote the debug-exit port */
    HK_EXIT_ERROR,        /* the VMM failed, or the guest did what it cannot run */
};

struct hk_exit {
    enum hk_exit_reason reason;
    int status;          /* for HK_EXIT_DEBUG_EXIT: (value << 1) | 1 */
    char message[160];   /* a one-line explanation, may be empty */
};

/*
 * Build a VM from cfg (cfg may be freed afterwards). On failure the one-line
 * reason is left in cfg, readable with hk_config_error().
 */
int hk_vm_create(hk_config *cfg, hk_vm **out);

/* The accelerator the VM runs on ("emu", "kvm"). */
const char *hk_vm_accel_name(const hk_vm *vm);

/* Start the vCPUs in their own threads. */
int hk_vm_start(hk_vm *vm);

/* Block until the VM stops; fills *exit if non-NULL. */
int hk_vm_wait(hk_vm *vm, struct hk_exit *exit);

/* Non-blocking: has it stopped? (returns 1 if stopped, 0 if running) */
int hk_vm_poll(hk_vm *vm, struct hk_exit *exit);

/* Ask the VM to stop; hk_vm_wait() then reports HK_EXIT_POWEROFF. */
int hk_vm_request_stop(hk_vm *vm);

/* Pause and resume every vCPU. */
int hk_vm_pause(hk_vm *vm);
int hk_vm_resume(hk_vm *vm);

/* Stop (if running) and free everything. */
void hk_vm_destroy(hk_vm *vm);

/* Connect to port `port` of the guest through its (first) virtio-sock
 * device, as a host program does through DIR/connect: *fd is a stream
 * socket carrying the connection once the guest accepts it; if the guest
 * refuses or resets it, reads see EOF. The caller closes *fd. HK_ENOENT:
 * the VM has no virtio-sock device. */
int hk_vm_vsock_connect(hk_vm *vm, uint32_t port, int *fd);

/* Add (add true) or remove a host->guest port forward of the user-mode
 * (-s S,virtio-net) device in PCI slot `slot` (-1: the first virtio-net),
 * before the VM starts or while it runs. spec is QEMU's hostfwd syntax, as
 * hostfwd= takes it: "tcp:127.0.0.1:8080-:80", "udp::5353-:53"; a removal
 * matches the protocol, host address and host port; when it returns, the
 * host port is closed (free to be forwarded again). Returns 0 or HK_EINVAL
 * (bad spec), HK_ENOENT (no such device; on removal, no such forward),
 * HK_EEXIST (cannot listen on the host port: taken), HK_ENOTSUP (the device
 * is virtio-tap). err (NULL allowed) receives a one-line reason. Safe to call
 * from any thread, not concurrently with hk_vm_destroy(). */
int hk_vm_net_hostfwd(hk_vm *vm, int slot, const char *spec, bool add, char *err,
                      size_t errlen);

/* Map a reason to hyperkit's exit status: 0 off/halt, 1 error, 2 reboot,
 * 3 triple fault, 100 unknown; debug-exit gives its own status. */
int hk_exit_status(const struct hk_exit *exit);

#ifdef __cplusplus
}
#endif
#endif
