/* vCPU threads and their run loop. */
#include "core/vcpu.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "core/vm.h"

/* Port I/O or MMIO nobody claims: ignored (reads see all ones) unless -e. */
static void unhandled_access(struct vm *vm, const char *kind, uint64_t addr, bool is_write)
{
    if (vm->cfg.flags[HK_FLAG_EXIT_ON_UNHANDLED_IO])
        vm_request_exit(vm, HK_EXIT_ERROR, 0, "unhandled %s %s at %#llx", kind,
                        is_write ? "write" : "read", (unsigned long long)addr);
}

static void handle_io(struct vm *vm, struct accel_exit *e)
{
    uint64_t v = e->io.data;
    if (!iobus_access(&vm->pio, e->io.port, e->io.size, e->io.is_write, &v))
        unhandled_access(vm, "port I/O", e->io.port, e->io.is_write);
    if (!e->io.is_write)
        e->io.data = (uint32_t)v;
}

static void handle_mmio(struct vm *vm, struct accel_exit *e)
{
    uint64_t v = e->mmio.data;
    if (!iobus_access(&vm->mmio, e->mmio.gpa, e->mmio.size, e->mmio.is_write, &v))
        unhandled_access(vm, "MMIO", e->mmio.gpa, e->mmio.is_write);
    if (!e->mmio.is_write)
        e->mmio.data = v;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool nmi_armed(struct vm *vm, int i)
{
    return vm->platform && vm->platform->nmi_armed(vm->platform_ctx, i);
}

static bool interrupt_pending(struct vm *vm, int i, uint64_t now, bool irq_ok, bool nmi_ok)
{
    return vm->platform &&
           vm->platform->interrupt_pending(vm->platform_ctx, i, now, irq_ok, nmi_ok);
}

static uint64_t next_event(struct vm *vm, int i)
{
    return vm->platform ? vm->platform->next_event(vm->platform_ctx, i) : UINT64_MAX;
}

/* Whether a halted CPU can ever wake: with IF=1, yes; with IF=0 only an
 * NMI wakes it (SDM HLT), so only if NMIs are unblocked and a line can
 * deliver one. Else the guest has halted for good: `cli; hlt` ends it. */
static bool hlt_can_wake(struct vcpu *vcpu, const struct accel_exit *e)
{
    return e->hlt.interrupts_enabled ||
           (e->hlt.nmi_unblocked && nmi_armed(vcpu->vm, vcpu->id));
}

/* Sleep until an interrupt or NMI the CPU can take arrives, the next timer
 * event is due, or the VM is stopped or paused. The interrupt check happens
 * outside vm->lock: a timer poll may raise an IRQ, whose wakeup takes it. */
static void handle_hlt(struct vcpu *vcpu, struct accel_exit *e)
{
    struct vm *vm = vcpu->vm;
    if (!hlt_can_wake(vcpu, e)) {
        vm_request_exit(vm, HK_EXIT_HALT, 0, "the guest halted with interrupts disabled");
        return;
    }
    pthread_mutex_lock(&vm->lock);
    uint64_t seq = vcpu->wake_seq;
    pthread_mutex_unlock(&vm->lock);
    if (interrupt_pending(vm, vcpu->id, now_ns(), e->hlt.interrupts_enabled,
                          e->hlt.nmi_unblocked))
        return;
    uint64_t deadline = next_event(vm, vcpu->id);
    struct timespec ts = {(time_t)(deadline / 1000000000ull), (long)(deadline % 1000000000ull)};
    pthread_mutex_lock(&vm->lock);
    while (vcpu->wake_seq == seq && !atomic_load(&vm->stopping) && !vm->paused) {
        int r = deadline == UINT64_MAX ? pthread_cond_wait(&vm->cond, &vm->lock)
                                       : pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
        if (r == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&vm->lock);
}

static void handle_exit(struct vcpu *vcpu, struct accel_exit *e)
{
    struct vm *vm = vcpu->vm;
    switch (e->reason) {
    case ACCEL_EXIT_IO:
        handle_io(vm, e);
        break;
    case ACCEL_EXIT_MMIO:
        handle_mmio(vm, e);
        break;
    case ACCEL_EXIT_HLT:
        handle_hlt(vcpu, e);
        break;
    case ACCEL_EXIT_SHUTDOWN:
        vm_request_exit(vm, HK_EXIT_TRIPLE_FAULT, 0, "vCPU %d triple fault", vcpu->id);
        break;
    case ACCEL_EXIT_RESET:
        vm_request_exit(vm, HK_EXIT_REBOOT, 0, "vCPU %d reset", vcpu->id);
        break;
    case ACCEL_EXIT_INTERNAL: {
        struct accel_regs regs = {0};
        vm->accel_ops->get_regs(vcpu->accel, &regs);
        vm_request_exit(vm, HK_EXIT_ERROR, 0, "vCPU %d: %s (rip %#llx)", vcpu->id,
                        e->internal.why, (unsigned long long)regs.rip);
        break;
    }
    case ACCEL_EXIT_KICKED:
    case ACCEL_EXIT_NONE:
        break;
    }
}

/* Park while paused; returns false when the VM is stopping. */
static bool vcpu_wait_runnable(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    while (vm->paused && !atomic_load(&vm->stopping)) {
        vm->parked_vcpus++;
        pthread_cond_broadcast(&vm->cond);
        pthread_cond_wait(&vm->cond, &vm->lock);
        vm->parked_vcpus--;
    }
    bool go = !atomic_load(&vm->stopping);
    pthread_mutex_unlock(&vm->lock);
    return go;
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *vcpu = arg;
    struct vm *vm = vcpu->vm;
    struct accel_exit exit = {0};
    while (vcpu_wait_runnable(vm)) {
        int r = vm->accel_ops->vcpu_run(vcpu->accel, &exit);
        if (r) {
            vm_request_exit(vm, HK_EXIT_ERROR, 0, "vCPU %d: %s", vcpu->id, hk_strerror(r));
            break;
        }
        handle_exit(vcpu, &exit);
    }
    pthread_mutex_lock(&vm->lock);
    if (--vm->running_vcpus == 0)
        vm->state = VM_STOPPED;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    return NULL;
}

int vcpus_start(struct vm *vm)
{
    for (int i = 0; i < vm->nvcpus; i++) {
        pthread_mutex_lock(&vm->lock);
        vm->running_vcpus++;
        pthread_mutex_unlock(&vm->lock);
        if (pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i])) {
            pthread_mutex_lock(&vm->lock);
            if (--vm->running_vcpus == 0)
                vm->state = VM_STOPPED;
            pthread_mutex_unlock(&vm->lock);
            vm_request_exit(vm, HK_EXIT_ERROR, 0, "cannot start vCPU %d thread", i);
            return HK_ENOMEM;
        }
        vm->vcpus[i].thread_started = true;
    }
    return HK_OK;
}

void vcpus_join(struct vm *vm)
{
    for (int i = 0; i < vm->nvcpus; i++) {
        if (vm->vcpus[i].thread_started) {
            pthread_join(vm->vcpus[i].thread, NULL);
            vm->vcpus[i].thread_started = false;
        }
    }
}

int vcpus_pause(struct vm *vm, bool pause)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->state != VM_RUNNING) {
        pthread_mutex_unlock(&vm->lock);
        return HK_ESTATE;
    }
    vm->paused = pause;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    if (!pause)
        return HK_OK;
    for (int i = 0; i < vm->nvcpus; i++)
        vm->accel_ops->vcpu_kick(vm->vcpus[i].accel);
    pthread_mutex_lock(&vm->lock);
    while (vm->parked_vcpus < vm->running_vcpus && !atomic_load(&vm->stopping))
        pthread_cond_wait(&vm->cond, &vm->lock);
    pthread_mutex_unlock(&vm->lock);
    return HK_OK;
}
