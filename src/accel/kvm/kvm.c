/*
 * The kvm engine: Linux KVM behind the accelerator seam. The kernel keeps
 * the interrupt controllers and the PIT (KVM_CREATE_IRQCHIP, PIT2), so
 * devices' interrupt lines go straight to KVM_IRQ_LINE and their MSIs to
 * KVM_SIGNAL_MSI.
 *
 * Kicking a vCPU out of KVM_RUN needs a signal: one real-time signal with
 * an empty handler, installed once per process (the only process-wide
 * state of the library, set up only when this engine is used), together
 * with kvm_run.immediate_exit so a kick landing outside KVM_RUN is kept.
 *
 * With the in-kernel LAPIC, KVM keeps a halted vCPU inside KVM_RUN and never
 * says it halted (no KVM_EXIT_HLT), so `cli; hlt` would block for ever
 * where the VMM's rule ends the VM. Each vCPU thread therefore has a timer
 * sending the same signal every HALT_CHECK_NS; when it interrupts KVM_RUN
 * the engine asks KVM whether the vCPU is halted with IF=0 and reports that
 * as a HLT exit. The signal is blocked on the thread outside KVM_RUN
 * (KVM_SET_SIGNAL_MASK unblocks it inside), so the VMM's own system calls
 * are never interrupted by it.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/kvm/kvm_cpuid.h"
#include "core/vm.h"

#define KVM_KICK_SIGNAL (SIGRTMIN + 3)
#define TSS_ADDR 0xfffbd000ull        /* three pages below 4 GiB - 256 KiB, as QEMU */
#define IDENTITY_MAP_ADDR 0xfffbc000ull
#define MAX_CPUID_ENTRIES 256
#define HALT_CHECK_NS 100000000L      /* how soon `cli; hlt` is noticed */

struct accel_vm {
    struct vm *vm;
    int kvm_fd, vm_fd;
    int run_size;
    int nslots;
    bool has_ioeventfd;         /* KVM_CAP_IOEVENTFD, not turned off */
    FILE *trace;                /* --trace: the exit counts at the end */
    uint64_t exits[3];          /* EXITS_*: of destroyed vCPUs */
    atomic_uint ioeventfds;     /* registrations made */
};

/* Exits to the VMM by kind, counted for --trace: what ioeventfds save. */
enum { EXITS_IO, EXITS_MMIO, EXITS_OTHER };

struct accel_vcpu {
    struct accel_vm *avm;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    atomic_bool on_thread;      /* thread is valid: vcpu_run has been entered */
    unsigned io_index;          /* item of a string port I/O being handed out */
    timer_t halt_timer;         /* valid when has_timer */
    bool has_timer;
    uint64_t exits[3];          /* EXITS_*, on the vCPU's thread */
};

static void kick_handler(int sig)
{
    (void)sig; /* it only makes KVM_RUN return EINTR */
}

static int kick_handler_result = HK_EIO;

static void install_kick_handler(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    kick_handler_result = sigaction(KVM_KICK_SIGNAL, &sa, NULL) ? HK_EIO : HK_OK;
}

static int kvm_open(void)
{
    return open("/dev/kvm", O_RDWR | O_CLOEXEC);
}

/*
 * /dev/kvm can exist without hardware virtualization: PVM (kvm_pvm) runs
 * guests by paravirtualization and needs guest kernels built for it, so
 * unmodified guests misbehave there. Only VMX or SVM hosts qualify.
 */
static bool host_has_hw_virt(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 5)))      /* VMX */
        return true;
    return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 2)); /* SVM */
}

static int kvm_probe(void)
{
    if (!host_has_hw_virt())
        return HK_ENOTSUP;
    int fd = kvm_open();
    if (fd < 0)
        return errno == ENOENT ? HK_ENOACCEL : HK_ENOTSUP;
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    bool ok = version == KVM_API_VERSION && ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) > 0 &&
              ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0 &&
              ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) > 0;
    close(fd);
    return ok ? HK_OK : HK_ENOTSUP;
}

static void kvm_vm_destroy(struct accel_vm *avm)
{
    if (avm->trace) {
        fprintf(avm->trace, "kvm exits: io=%llu mmio=%llu other=%llu ioeventfds=%u\n",
                (unsigned long long)avm->exits[EXITS_IO],
                (unsigned long long)avm->exits[EXITS_MMIO],
                (unsigned long long)avm->exits[EXITS_OTHER], atomic_load(&avm->ioeventfds));
        fclose(avm->trace);
    }
    if (avm->vm_fd >= 0)
        close(avm->vm_fd);
    if (avm->kvm_fd >= 0)
        close(avm->kvm_fd);
    free(avm);
}

/*
 * GSI routing as the board wires it (devices/irqchip/irqchip.c, the MADT's
 * override and the MP table): ISA IRQ 0, the PIT, reaches I/O APIC pin 2
 * as well as the PIC; IRQ 2 is the PIC cascade only; every other ISA IRQ
 * goes to the PIC and the I/O APIC pin of its number, GSIs 16-23 to the
 * I/O APIC alone. KVM's default table puts IRQ 0 on pin 0, where the guest
 * (told pin 2) never looks.
 */
#define IOAPIC_PINS 24
#define ROUTES (16 - 1 + IOAPIC_PINS - 1)

static void add_route(struct kvm_irq_routing *t, uint32_t gsi, uint32_t chip, uint32_t pin)
{
    struct kvm_irq_routing_entry *e = &t->entries[t->nr++];
    e->gsi = gsi;
    e->type = KVM_IRQ_ROUTING_IRQCHIP;
    e->u.irqchip.irqchip = chip;
    e->u.irqchip.pin = pin;
}

static int setup_gsi_routing(struct accel_vm *avm)
{
    struct kvm_irq_routing *t =
        calloc(1, sizeof(*t) + ROUTES * sizeof(struct kvm_irq_routing_entry));
    if (!t)
        return HK_ENOMEM;
    for (uint32_t gsi = 0; gsi < IOAPIC_PINS; gsi++) {
        if (gsi < 16 && gsi != 2)
            add_route(t, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
        if (gsi != 2)
            add_route(t, gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
    }
    int r = ioctl(avm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0 ? HK_EIO : HK_OK;
    free(t);
    return r;
}

/* The in-kernel PIC, IOAPIC, LAPICs and PIT, and the x86 VMX fixtures. */
static int setup_vm(struct accel_vm *avm)
{
    uint64_t identity = IDENTITY_MAP_ADDR;
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(avm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
        ioctl(avm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0 ||
        ioctl(avm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
        ioctl(avm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return HK_EIO;
    return setup_gsi_routing(avm);
}

static int kvm_vm_create(struct vm *vm, struct accel_vm **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_kick_handler);
    if (kick_handler_result)
        return kick_handler_result;
    struct accel_vm *avm = calloc(1, sizeof(*avm));
    if (!avm)
        return HK_ENOMEM;
    avm->vm = vm;
    avm->vm_fd = -1;
    avm->kvm_fd = kvm_open();
    int r = HK_EIO;
    if (avm->kvm_fd >= 0 && (avm->vm_fd = ioctl(avm->kvm_fd, KVM_CREATE_VM, 0)) >= 0 &&
        (avm->run_size = ioctl(avm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0)) > 0)
        r = setup_vm(avm);
    if (!r && vm->cfg.trace_path && !(avm->trace = fopen(vm->cfg.trace_path, "w")))
        r = HK_EIO;
    /* HYPERKIT_IOEVENTFD=off: every notify exits, to measure what they save. */
    const char *knob = getenv("HYPERKIT_IOEVENTFD");
    if (!r && !(knob && strcmp(knob, "off") == 0))
        avm->has_ioeventfd = ioctl(avm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
    if (r) {
        kvm_vm_destroy(avm);
        return r;
    }
    *out = avm;
    return HK_OK;
}

static int kvm_map_memory(struct accel_vm *avm, uint64_t gpa, void *hva, uint64_t size)
{
    struct kvm_userspace_memory_region region = {
        .slot = (uint32_t)avm->nslots,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)hva,
    };
    if (ioctl(avm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return errno == ENOMEM ? HK_ENOMEM : HK_EIO;
    avm->nslots++;
    return HK_OK;
}

/* CPUID: the model of kvm_cpuid.h, for vCPU id (its APIC ID, as KVM's
 * in-kernel LAPIC takes the vCPU id). */
static int setup_cpuid(struct accel_vcpu *v, int id)
{
    size_t bytes = sizeof(struct kvm_cpuid2) + MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = calloc(1, bytes);
    if (!c)
        return HK_ENOMEM;
    c->nent = MAX_CPUID_ENTRIES;
    int r = HK_OK;
    int kvm_fd = v->avm->kvm_fd;
    if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
        r = HK_EIO;
    } else {
        bool deadline = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
        c->nent = kvm_cpuid_model(c->entries, c->nent, (uint32_t)id, deadline);
        if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
            r = HK_EIO;
    }
    free(c);
    return r;
}

static void kvm_vcpu_destroy(struct accel_vcpu *v)
{
    for (int i = 0; i < 3; i++)
        v->avm->exits[i] += v->exits[i];
    if (v->has_timer)
        timer_delete(v->halt_timer);
    if (v->run)
        munmap(v->run, (size_t)v->avm->run_size);
    if (v->fd >= 0)
        close(v->fd);
    free(v);
}

static int kvm_vcpu_create(struct accel_vm *avm, int id, struct accel_vcpu **out)
{
    struct accel_vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return HK_ENOMEM;
    v->avm = avm;
    v->fd = ioctl(avm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
    int r = HK_EIO;
    if (v->fd >= 0) {
        void *run = mmap(NULL, (size_t)avm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
        v->run = run == MAP_FAILED ? NULL : run;
        r = v->run ? setup_cpuid(v, id) : HK_ENOMEM;
    }
    if (r) {
        kvm_vcpu_destroy(v);
        return r;
    }
    *out = v;
    return HK_OK;
}

/* Hand out item io_index of the current port-I/O exit. */
static void io_item(struct accel_vcpu *v, struct accel_exit *e)
{
    const struct kvm_run *run = v->run;
    const uint8_t *data = (const uint8_t *)run + run->io.data_offset + v->io_index * run->io.size;
    e->reason = ACCEL_EXIT_IO;
    e->io.port = run->io.port;
    e->io.size = run->io.size;
    e->io.is_write = run->io.direction == KVM_EXIT_IO_OUT;
    e->io.data = 0;
    if (e->io.is_write)
        memcpy(&e->io.data, data, run->io.size);
}

/* The VMM answered the previous exit: put read data where KVM expects it.
 * Returns true when more items of a string I/O remain (e is filled). */
static bool complete_previous(struct accel_vcpu *v, struct accel_exit *e)
{
    struct kvm_run *run = v->run;
    if (e->reason == ACCEL_EXIT_IO && run->exit_reason == KVM_EXIT_IO) {
        uint8_t *data = (uint8_t *)run + run->io.data_offset + v->io_index * run->io.size;
        if (run->io.direction == KVM_EXIT_IO_IN)
            memcpy(data, &e->io.data, run->io.size);
        if (++v->io_index < run->io.count) {
            io_item(v, e);
            return true;
        }
    } else if (e->reason == ACCEL_EXIT_MMIO && run->exit_reason == KVM_EXIT_MMIO &&
               !run->mmio.is_write) {
        memcpy(run->mmio.data, &e->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
    }
    return false;
}

static void internal(struct accel_exit *e, const char *fmt, unsigned long long a)
{
    e->reason = ACCEL_EXIT_INTERNAL;
    snprintf(e->internal.why, sizeof(e->internal.why), fmt, a);
}

static void translate_exit(struct accel_vcpu *v, struct accel_exit *e)
{
    struct kvm_run *run = v->run;
    uint32_t why = run->exit_reason;
    v->exits[why == KVM_EXIT_IO ? EXITS_IO : why == KVM_EXIT_MMIO ? EXITS_MMIO : EXITS_OTHER]++;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        v->io_index = 0;
        io_item(v, e);
        break;
    case KVM_EXIT_MMIO:
        e->reason = ACCEL_EXIT_MMIO;
        e->mmio.gpa = run->mmio.phys_addr;
        e->mmio.size = (uint8_t)run->mmio.len;
        e->mmio.is_write = run->mmio.is_write;
        e->mmio.data = 0;
        if (run->mmio.is_write)
            memcpy(&e->mmio.data, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
        break;
    case KVM_EXIT_HLT:
        e->reason = ACCEL_EXIT_HLT;
        /* Only without an in-kernel irqchip: the VMM's wake rules decide. */
        e->hlt.interrupts_enabled = true;
        e->hlt.nmi_unblocked = true;
        break;
    case KVM_EXIT_SHUTDOWN:
        e->reason = ACCEL_EXIT_SHUTDOWN;
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        e->reason = run->system_event.type == KVM_SYSTEM_EVENT_RESET ? ACCEL_EXIT_RESET
                                                                     : ACCEL_EXIT_SHUTDOWN;
        break;
    case KVM_EXIT_INTR:
        e->reason = ACCEL_EXIT_KICKED;
        break;
    case KVM_EXIT_FAIL_ENTRY:
        internal(e, "KVM entry failed, hardware reason %#llx",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        internal(e, "KVM internal error, suberror %llu", run->internal.suberror);
        break;
    default:
        internal(e, "unhandled KVM exit %llu", run->exit_reason);
        break;
    }
}

/* On the vCPU's thread, once: the kick signal reaches it only inside
 * KVM_RUN, and the halt-check timer starts. */
static int setup_thread(struct accel_vcpu *v)
{
    sigset_t kick, outside;
    sigemptyset(&kick);
    sigaddset(&kick, KVM_KICK_SIGNAL);
    if (pthread_sigmask(SIG_BLOCK, &kick, &outside))
        return HK_EIO;
    sigset_t inside = outside;
    sigdelset(&inside, KVM_KICK_SIGNAL);
    /* The kernel's sigset is 8 bytes on x86-64, the head of glibc's. */
    _Alignas(struct kvm_signal_mask) uint8_t buf[sizeof(struct kvm_signal_mask) + 8];
    struct kvm_signal_mask *mask = (struct kvm_signal_mask *)buf;
    mask->len = 8;
    memcpy(mask->sigset, &inside, 8);
    if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, mask) < 0)
        return HK_EIO;
    struct sigevent sev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = KVM_KICK_SIGNAL};
    sev._sigev_un._tid = gettid();
    if (timer_create(CLOCK_MONOTONIC, &sev, &v->halt_timer))
        return HK_EIO;
    v->has_timer = true;
    struct itimerspec period = {{0, HALT_CHECK_NS}, {0, HALT_CHECK_NS}};
    return timer_settime(v->halt_timer, 0, &period, NULL) ? HK_EIO : HK_OK;
}

/* Outside KVM_RUN the signal is blocked, so one that interrupted it stays
 * pending and would end every later KVM_RUN at once: take it. */
static void eat_kick_signals(void)
{
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, KVM_KICK_SIGNAL);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&kick, NULL, &zero) == KVM_KICK_SIGNAL)
        ;
}

/* Whether an NMI can still wake the halted vCPU, as the emu engine's
 * rule: NMIs unblocked, and one pending or LINT0 set to deliver NMIs (the
 * in-kernel PIT's output reaches it). */
static bool nmi_can_wake(struct accel_vcpu *v, const struct kvm_vcpu_events *events)
{
    if (events->nmi.masked)
        return false;
    if (events->nmi.pending || events->nmi.injected)
        return true;
    struct kvm_lapic_state lapic;
    if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
        return true; /* cannot tell: never end a VM that might wake */
    uint32_t lint0;
    memcpy(&lint0, &lapic.regs[0x350], sizeof(lint0));
    return !(lint0 & (1u << 16)) && ((lint0 >> 8) & 7) == 4; /* unmasked, NMI mode */
}

/* After a signal interrupted KVM_RUN: is the vCPU halted for good, with
 * interrupts off and no NMI that could wake it? Then it is a HLT exit the
 * VMM's wake rules end the VM for. */
static bool halted_interrupts_off(struct accel_vcpu *v, struct accel_exit *e)
{
    struct kvm_mp_state mp;
    struct kvm_regs regs;
    struct kvm_vcpu_events events;
    if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0 || mp.mp_state != KVM_MP_STATE_HALTED ||
        ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || (regs.rflags & (1u << 9)) ||
        ioctl(v->fd, KVM_GET_VCPU_EVENTS, &events) < 0 || nmi_can_wake(v, &events))
        return false;
    e->reason = ACCEL_EXIT_HLT;
    e->hlt.interrupts_enabled = false;
    e->hlt.nmi_unblocked = !events.nmi.masked;
    return true;
}

static int kvm_vcpu_run(struct accel_vcpu *v, struct accel_exit *e)
{
    if (!atomic_load(&v->on_thread)) {
        v->thread = pthread_self();
        atomic_store(&v->on_thread, true);
        if (setup_thread(v)) {
            memset(e, 0, sizeof(*e));
            internal(e, "cannot set up the vCPU thread's signals and halt timer (errno %llu)",
                     (unsigned long long)errno);
            return 0;
        }
    }
    if (complete_previous(v, e))
        return 0;
    memset(e, 0, sizeof(*e));
    if (ioctl(v->fd, KVM_RUN, 0) < 0) {
        int err = errno;
        bool kicked = v->run->immediate_exit;
        v->run->immediate_exit = 0;
        if (err == EINTR || err == EAGAIN) {
            eat_kick_signals();
            v->run->exit_reason = KVM_EXIT_INTR;
            /* A kick first: the VMM wants to look at its own state. */
            if (kicked || !halted_interrupts_off(v, e))
                e->reason = ACCEL_EXIT_KICKED;
            return 0;
        }
        internal(e, "KVM_RUN failed: errno %llu", (unsigned long long)err);
        return 0;
    }
    translate_exit(v, e);
    return 0;
}

static void kvm_vcpu_kick(struct accel_vcpu *v)
{
    v->run->immediate_exit = 1;
    if (atomic_load(&v->on_thread))
        pthread_kill(v->thread, KVM_KICK_SIGNAL);
}

static int kvm_set_irq(struct accel_vm *avm, int gsi, bool level)
{
    struct kvm_irq_level irq = {.irq = (uint32_t)gsi, .level = level};
    return ioctl(avm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? HK_EIO : HK_OK;
}

/* KVM_SIGNAL_MSI (KVM API 4.71, KVM_CAP_SIGNAL_MSI): the in-kernel LAPICs
 * decode the message. It returns >0 when delivered and 0 when the guest
 * blocked it (no enabled APIC matches): a dropped MSI, as on hardware,
 * not an error. flags stays 0 (the device ID is for arm64's ITS). */
static int kvm_signal_msi(struct accel_vm *avm, uint64_t addr, uint32_t data)
{
    struct kvm_msi msi = {
        .address_lo = (uint32_t)addr,
        .address_hi = (uint32_t)(addr >> 32),
        .data = data,
    };
    if (ioctl(avm->vm_fd, KVM_SIGNAL_MSI, &msi) >= 0)
        return HK_OK;
    return errno == ENOTTY ? HK_ENOTSUP : HK_EIO;
}

/* KVM_IOEVENTFD (KVM API 4.59): a matching guest write signals the
 * eventfd inside the kernel and the vCPU goes on without an exit. Removal
 * names the same address, length, space, match and eventfd. A write that
 * does not match (another length or value) still exits. */
static int kvm_ioeventfd(struct accel_vm *avm, const struct accel_ioeventfd *e, bool assign)
{
    if (!avm->has_ioeventfd)
        return HK_ENOTSUP;
    struct kvm_ioeventfd k = {
        .datamatch = e->match ? e->data : 0,
        .addr = e->addr,
        .len = e->len,
        .fd = e->fd,
        .flags = (e->pio ? KVM_IOEVENTFD_FLAG_PIO : 0u) |
                 (e->match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0u) |
                 (assign ? 0u : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    if (ioctl(avm->vm_fd, KVM_IOEVENTFD, &k) == 0) {
        if (assign)
            atomic_fetch_add(&avm->ioeventfds, 1);
        return HK_OK;
    }
    switch (errno) {
    case EEXIST: return HK_EEXIST;
    case ENOENT: return HK_ENOENT;
    case ENOMEM: case ENOSPC: return HK_ENOMEM;
    case EINVAL: return HK_EINVAL;
    default: return HK_EIO;
    }
}

/* --- Register state ------------------------------------------------------ */

static int kvm_get_regs(struct accel_vcpu *v, struct accel_regs *r)
{
    struct kvm_regs k;
    if (ioctl(v->fd, KVM_GET_REGS, &k) < 0)
        return HK_EIO;
    const uint64_t gpr[16] = {k.rax, k.rcx, k.rdx, k.rbx, k.rsp, k.rbp, k.rsi, k.rdi,
                              k.r8,  k.r9,  k.r10, k.r11, k.r12, k.r13, k.r14, k.r15};
    memcpy(r->gpr, gpr, sizeof(gpr));
    r->rip = k.rip;
    r->rflags = k.rflags;
    return HK_OK;
}

static int kvm_set_regs(struct accel_vcpu *v, const struct accel_regs *r)
{
    const uint64_t *g = r->gpr;
    struct kvm_regs k = {
        .rax = g[0], .rcx = g[1], .rdx = g[2], .rbx = g[3], .rsp = g[4], .rbp = g[5],
        .rsi = g[6], .rdi = g[7], .r8 = g[8], .r9 = g[9], .r10 = g[10], .r11 = g[11],
        .r12 = g[12], .r13 = g[13], .r14 = g[14], .r15 = g[15], .rip = r->rip,
        .rflags = r->rflags,
    };
    return ioctl(v->fd, KVM_SET_REGS, &k) < 0 ? HK_EIO : HK_OK;
}

/* accel_segment.attr is the VMX access-rights layout; KVM splits it. */
static struct accel_segment seg_from_kvm(const struct kvm_segment *k)
{
    uint16_t attr = (uint16_t)((k->type & 0xf) | (k->s << 4) | (k->dpl << 5) | (k->present << 7) |
                               (k->avl << 12) | (k->l << 13) | (k->db << 14) | (k->g << 15));
    return (struct accel_segment){k->base, k->limit, k->selector, attr};
}

static struct kvm_segment seg_to_kvm(const struct accel_segment *s)
{
    uint16_t a = s->attr;
    return (struct kvm_segment){
        .base = s->base, .limit = s->limit, .selector = s->selector,
        .type = a & 0xf, .s = (a >> 4) & 1, .dpl = (a >> 5) & 3, .present = (a >> 7) & 1,
        .avl = (a >> 12) & 1, .l = (a >> 13) & 1, .db = (a >> 14) & 1, .g = (a >> 15) & 1,
        .unusable = !((a >> 7) & 1),
    };
}

static int kvm_get_sregs(struct accel_vcpu *v, struct accel_sregs *s)
{
    struct kvm_sregs k;
    if (ioctl(v->fd, KVM_GET_SREGS, &k) < 0)
        return HK_EIO;
    s->es = seg_from_kvm(&k.es);
    s->cs = seg_from_kvm(&k.cs);
    s->ss = seg_from_kvm(&k.ss);
    s->ds = seg_from_kvm(&k.ds);
    s->fs = seg_from_kvm(&k.fs);
    s->gs = seg_from_kvm(&k.gs);
    s->ldt = seg_from_kvm(&k.ldt);
    s->tr = seg_from_kvm(&k.tr);
    s->gdt = (struct accel_dtable){k.gdt.base, k.gdt.limit};
    s->idt = (struct accel_dtable){k.idt.base, k.idt.limit};
    s->cr0 = k.cr0;
    s->cr2 = k.cr2;
    s->cr3 = k.cr3;
    s->cr4 = k.cr4;
    s->cr8 = k.cr8;
    s->efer = k.efer;
    return HK_OK;
}

static int kvm_set_sregs(struct accel_vcpu *v, const struct accel_sregs *s)
{
    struct kvm_sregs k;
    if (ioctl(v->fd, KVM_GET_SREGS, &k) < 0) /* keeps apic_base and pending interrupts */
        return HK_EIO;
    k.es = seg_to_kvm(&s->es);
    k.cs = seg_to_kvm(&s->cs);
    k.ss = seg_to_kvm(&s->ss);
    k.ds = seg_to_kvm(&s->ds);
    k.fs = seg_to_kvm(&s->fs);
    k.gs = seg_to_kvm(&s->gs);
    k.ldt = seg_to_kvm(&s->ldt);
    k.tr = seg_to_kvm(&s->tr);
    k.gdt.base = s->gdt.base;
    k.gdt.limit = s->gdt.limit;
    k.idt.base = s->idt.base;
    k.idt.limit = s->idt.limit;
    k.cr0 = s->cr0;
    k.cr2 = s->cr2;
    k.cr3 = s->cr3;
    k.cr4 = s->cr4;
    k.cr8 = s->cr8;
    k.efer = s->efer;
    return ioctl(v->fd, KVM_SET_SREGS, &k) < 0 ? HK_EIO : HK_OK;
}

struct one_msr {
    struct kvm_msrs head;
    struct kvm_msr_entry entry;
};

static int kvm_get_msr(struct accel_vcpu *v, uint32_t index, uint64_t *value)
{
    struct one_msr m = {.head.nmsrs = 1, .entry.index = index};
    if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1)
        return HK_EINVAL;
    *value = m.entry.data;
    return HK_OK;
}

static int kvm_set_msr(struct accel_vcpu *v, uint32_t index, uint64_t value)
{
    struct one_msr m = {.head.nmsrs = 1, .entry.index = index, .entry.data = value};
    return ioctl(v->fd, KVM_SET_MSRS, &m) == 1 ? HK_OK : HK_EINVAL;
}

const struct accel_ops accel_kvm_ops = {
    .name = "kvm",
    .probe = kvm_probe,
    .vm_create = kvm_vm_create,
    .vm_destroy = kvm_vm_destroy,
    .map_memory = kvm_map_memory,
    .vcpu_create = kvm_vcpu_create,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .get_regs = kvm_get_regs,
    .set_regs = kvm_set_regs,
    .get_sregs = kvm_get_sregs,
    .set_sregs = kvm_set_sregs,
    .get_msr = kvm_get_msr,
    .set_msr = kvm_set_msr,
    .attach_irq = NULL,
    .set_irq = kvm_set_irq,
    .signal_msi = kvm_signal_msi,
    .ioeventfd = kvm_ioeventfd,
};
