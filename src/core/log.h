/* Library logging through the configured callback. */
#ifndef HK_CORE_LOG_H
#define HK_CORE_LOG_H

#include "hyperkit.h"

struct vm;

void vm_log(const struct vm *vm, enum hk_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
