/*
 * The accelerator seam: the one interface through which the VM core runs
 * guest code. Shaped after what KVM and Hypervisor.framework offer: map
 * memory, create vCPUs, run one until it needs the VMM, get/set state.
 *
 * I/O completion follows KVM: when vcpu_run returns a port-I/O or MMIO read,
 * the VMM stores the value in exit->io.data / exit->mmio.data and passes the
 * same exit record to the next vcpu_run, which completes the instruction.
 */
#ifndef HK_ACCEL_H
#define HK_ACCEL_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

enum accel_exit_reason {
    ACCEL_EXIT_NONE = 0,
    ACCEL_EXIT_IO,        /* port I/O: io */
    ACCEL_EXIT_MMIO,      /* access outside RAM: mmio */
    ACCEL_EXIT_HLT,       /* HLT; hlt.interrupts_enabled, nmi_unblocked: what can wake it */
    ACCEL_EXIT_SHUTDOWN,  /* triple fault */
    ACCEL_EXIT_RESET,     /* the CPU was asked to reset */
    ACCEL_EXIT_KICKED,    /* vcpu_kick() or a budget ran out: just re-check state */
    ACCEL_EXIT_INTERNAL,  /* the engine cannot go on: internal.why */
};

struct accel_exit {
    enum accel_exit_reason reason;
    union {
        struct {
            uint16_t port;
            uint8_t size;      /* 1, 2 or 4 */
            bool is_write;
            uint32_t data;     /* written value, or where the VMM puts a read */
        } io;
        struct {
            uint64_t gpa;
            uint8_t size;      /* 1, 2, 4 or 8 */
            bool is_write;
            uint64_t data;
        } mmio;
        struct {
            bool interrupts_enabled;
            /* NMIs are not blocked (SDM Vol. 3A 6.7.1): one wakes the CPU
             * whatever IF is (SDM HLT). */
            bool nmi_unblocked;
        } hlt;
        struct {
            char why[120];
        } internal;
    };
};

/* Segment attributes in VMX access-rights layout: type 0-3, S 4, DPL 5-6,
 * P 7, AVL 12, L 13, D/B 14, G 15. */
struct accel_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint16_t attr;
};

struct accel_regs {
    uint64_t gpr[16];          /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
    uint64_t rip, rflags;
};

struct accel_dtable {
    uint64_t base;
    uint16_t limit;
};

struct accel_sregs {
    struct accel_segment es, cs, ss, ds, fs, gs, ldt, tr;
    struct accel_dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
};

struct accel_vm;
struct accel_vcpu;

/* A guest write the engine turns into an eventfd signal instead of an
 * exit (KVM_IOEVENTFD): len bytes at addr, in port space when pio, and
 * with match only when the value written is data. */
struct accel_ioeventfd {
    uint64_t addr;
    uint8_t len;               /* 1, 2, 4 or 8 */
    bool pio;
    bool match;
    uint64_t data;
    int fd;                    /* an eventfd */
};

/*
 * For engines with no interrupt controllers of their own (emu): how a vCPU
 * reaches its local APIC. Called on the vCPU's thread. MSR hooks return 0,
 * -1 for #GP, or 1 when the MSR is not the APIC's.
 */
struct accel_irq_ops {
    int (*pending)(void *opaque, uint64_t now_ns); /* vector to take, or -1 */
    void (*accept)(void *opaque, int vector);
    int (*msr_read)(void *opaque, uint32_t index, uint64_t *value);
    int (*msr_write)(void *opaque, uint32_t index, uint64_t value);
    /* Optional (NULL: none). nmi takes a latched NMI request: true once per
     * NMI; the engine asks only when NMIs are not blocked (SDM Vol. 3A
     * 6.7.1). tpr_read/tpr_write are the task-priority register behind
     * CR8 (CR8 = TPR[7:4], SDM 10.8.6.1). */
    bool (*nmi)(void *opaque);
    uint32_t (*tpr_read)(void *opaque);
    void (*tpr_write)(void *opaque, uint32_t tpr);
    /* Optional. poll runs the timers due at now_ns (they only advance when
     * the CPU looks): before nmi and pending, whatever IF is, as a timer may
     * be routed as an NMI. nmi_armed: whether an NMI can come without the
     * CPU doing anything (one latched, or a line in NMI mode), cheap and
     * lock-free: with IF=0 the engine polls timers only then. */
    void (*poll)(void *opaque, uint64_t now_ns);
    bool (*nmi_armed)(void *opaque);
};

struct accel_ops {
    const char *name;
    /* 0 if this engine can run on this host, else a negative HK_E* code. */
    int (*probe)(void);
    int (*vm_create)(struct vm *vm, struct accel_vm **out);
    void (*vm_destroy)(struct accel_vm *avm);
    /* Map host memory hva at guest-physical gpa (called once per region). */
    int (*map_memory)(struct accel_vm *avm, uint64_t gpa, void *hva, uint64_t size);
    int (*vcpu_create)(struct accel_vm *avm, int id, struct accel_vcpu **out);
    void (*vcpu_destroy)(struct accel_vcpu *vcpu);
    /* Run until an exit; returns 0 with *exit filled, or a negative code. */
    int (*vcpu_run)(struct accel_vcpu *vcpu, struct accel_exit *exit);
    /* Make a running (or about to run) vcpu_run return ACCEL_EXIT_KICKED
     * soon. Safe from any thread. */
    void (*vcpu_kick)(struct accel_vcpu *vcpu);
    int (*get_regs)(struct accel_vcpu *vcpu, struct accel_regs *regs);
    int (*set_regs)(struct accel_vcpu *vcpu, const struct accel_regs *regs);
    int (*get_sregs)(struct accel_vcpu *vcpu, struct accel_sregs *sregs);
    int (*set_sregs)(struct accel_vcpu *vcpu, const struct accel_sregs *sregs);
    int (*get_msr)(struct accel_vcpu *vcpu, uint32_t index, uint64_t *value);
    int (*set_msr)(struct accel_vcpu *vcpu, uint32_t index, uint64_t value);
    /* Connect a vCPU to its local APIC model; NULL for engines whose
     * kernel side has the interrupt controllers (KVM). */
    int (*attach_irq)(struct accel_vcpu *vcpu, const struct accel_irq_ops *ops, void *opaque);
    /* Drive an interrupt line of the engine's own (in-kernel) interrupt
     * controllers; NULL when the VM core models them (emu). */
    int (*set_irq)(struct accel_vm *avm, int gsi, bool level);
    /* Deliver a PCI MSI/MSI-X message (address, data) through the
     * engine's own interrupt controllers (KVM_SIGNAL_MSI); NULL when the VM
     * core models them (emu: irqchip_msi). */
    int (*signal_msi)(struct accel_vm *avm, uint64_t addr, uint32_t data);
    /* Optional (NULL: none; emu, whose exits are function calls, gains
     * nothing). Register (assign) or remove exactly that registration
     * (!assign) of a write that signals e->fd in the kernel, with no exit.
     * 0, or a negative code (HK_EEXIST: the same write is taken;
     * HK_ENOTSUP: the host cannot): the write then keeps exiting as
     * before. Safe from any thread while vCPUs run. */
    int (*ioeventfd)(struct accel_vm *avm, const struct accel_ioeventfd *e, bool assign);
};

/* Find an engine by name ("auto" picks the first usable one: kvm, emu).
 * Returns NULL with *err set when none fits. */
const struct accel_ops *accel_select(const char *name, int *err);

/* Engines compiled into this build, NULL-terminated. */
const struct accel_ops *const *accel_list(void);

extern const struct accel_ops accel_emu_ops;
extern const struct accel_ops accel_kvm_ops;

#endif
