/* VM lifecycle: start, wait, pause, stop, destroy (board/machine.c builds one). */
#include "core/vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_copy.h"
#include "core/evloop.h"
#include "core/vcpu.h"

const char *hk_version(void)
{
    return HK_VERSION;
}

int vm_add_device(struct vm *vm, const char *name, void *opaque, void (*destroy)(void *))
{
    if (vm->ndevices == VM_MAX_DEVICES)
        return HK_ENOMEM;
    vm->devices[vm->ndevices++] = (struct vm_device){name, opaque, destroy};
    return HK_OK;
}

void vm_request_exit(struct vm *vm, enum hk_exit_reason reason, int status, const char *fmt, ...)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->exit.reason == HK_EXIT_NONE) {
        vm->exit.reason = reason;
        vm->exit.status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(vm->exit.message, sizeof(vm->exit.message), fmt, ap);
        va_end(ap);
        atomic_store(&vm->stopping, true);
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].accel)
            vm->accel_ops->vcpu_kick(vm->vcpus[i].accel);
}

int vm_new(const struct hk_config *cfg, struct vm **out, char *err, size_t errlen)
{
    *out = NULL;
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm) {
        snprintf(err, errlen, "out of memory");
        return HK_ENOMEM;
    }
    pthread_mutex_init(&vm->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* HLT sleeps to timer deadlines */
    pthread_cond_init(&vm->cond, &ca);
    pthread_condattr_destroy(&ca);
    iobus_init(&vm->pio);
    iobus_init(&vm->mmio);
    int r = config_copy(&vm->cfg, cfg);
    if (r) {
        snprintf(err, errlen, "out of memory");
    } else if ((r = evloop_create(&vm->evloop)) != 0) {
        snprintf(err, errlen, "cannot create the event loop: %s", hk_strerror(r));
    }
    if (r) {
        hk_vm_destroy((hk_vm *)(void *)vm);
        return r;
    }
    *out = vm;
    return HK_OK;
}

/* hk_vm is the public name of struct vm: handles are converted here only. */
static struct vm *vm_of(hk_vm *handle)
{
    return (struct vm *)(void *)handle;
}

const char *hk_vm_accel_name(const hk_vm *handle)
{
    const struct vm *vm = (const struct vm *)(const void *)handle;
    return vm->accel_ops ? vm->accel_ops->name : "none";
}

int hk_vm_start(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    pthread_mutex_lock(&vm->lock);
    if (vm->state != VM_CREATED) {
        pthread_mutex_unlock(&vm->lock);
        return HK_ESTATE;
    }
    vm->state = VM_RUNNING;
    pthread_mutex_unlock(&vm->lock);
    int r = evloop_start(vm->evloop);
    if (r) {
        vm_request_exit(vm, HK_EXIT_ERROR, 0, "cannot start the event loop");
        return r;
    }
    return vcpus_start(vm);
}

static void copy_exit(struct vm *vm, struct hk_exit *exit)
{
    if (exit)
        *exit = vm->exit;
}

int hk_vm_wait(hk_vm *handle, struct hk_exit *exit)
{
    struct vm *vm = vm_of(handle);
    pthread_mutex_lock(&vm->lock);
    if (vm->state == VM_CREATED) {
        pthread_mutex_unlock(&vm->lock);
        return HK_ESTATE;
    }
    while (vm->state != VM_STOPPED)
        pthread_cond_wait(&vm->cond, &vm->lock);
    copy_exit(vm, exit);
    pthread_mutex_unlock(&vm->lock);
    return HK_OK;
}

int hk_vm_poll(hk_vm *handle, struct hk_exit *exit)
{
    struct vm *vm = vm_of(handle);
    pthread_mutex_lock(&vm->lock);
    int stopped = vm->state == VM_STOPPED;
    if (stopped)
        copy_exit(vm, exit);
    pthread_mutex_unlock(&vm->lock);
    return stopped;
}

int hk_vm_request_stop(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    vm_request_exit(vm, HK_EXIT_POWEROFF, 0, "stopped on request");
    return HK_OK;
}

int hk_vm_pause(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    return vcpus_pause(vm, true);
}

int hk_vm_resume(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    return vcpus_pause(vm, false);
}

void hk_vm_destroy(hk_vm *handle)
{
    struct vm *vm = vm_of(handle);
    if (!vm)
        return;
    if (vm->state == VM_RUNNING)
        hk_vm_request_stop(handle);
    vcpus_join(vm);
    /* Stop the event thread first so no device callback runs while the
     * devices are destroyed; their evloop_remove still works. */
    evloop_stop(vm->evloop);
    for (int i = vm->ndevices - 1; i >= 0; i--)
        vm->devices[i].destroy(vm->devices[i].opaque);
    evloop_destroy(vm->evloop);
    vm->evloop = NULL;
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].accel)
            vm->accel_ops->vcpu_destroy(vm->vcpus[i].accel);
    if (vm->accel)
        vm->accel_ops->vm_destroy(vm->accel);
    gmem_fini(&vm->mem);
    iobus_fini(&vm->pio);
    iobus_fini(&vm->mmio);
    config_release(&vm->cfg);
    pthread_cond_destroy(&vm->cond);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

int hk_exit_status(const struct hk_exit *exit)
{
    switch (exit->reason) {
    case HK_EXIT_POWEROFF:
    case HK_EXIT_HALT:
        return 0;
    case HK_EXIT_ERROR:
        return 1;
    case HK_EXIT_REBOOT:
        return 2;
    case HK_EXIT_TRIPLE_FAULT:
        return 3;
    case HK_EXIT_DEBUG_EXIT:
        return exit->status;
    default:
        return 100;
    }
}
