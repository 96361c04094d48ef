/* vCPU threads: the run loop that turns accelerator exits into device calls. */
#ifndef HK_CORE_VCPU_H
#define HK_CORE_VCPU_H

#include <stdbool.h>

struct vm;

int vcpus_start(struct vm *vm);
/* Wait for every vCPU thread to end (after vm_request_exit). */
void vcpus_join(struct vm *vm);
/* Pause (and wait until every vCPU is parked) or resume. */
int vcpus_pause(struct vm *vm, bool pause);

#endif
