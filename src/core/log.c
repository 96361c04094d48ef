/* Library logging: format once, hand the line to the configured callback. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/vm.h"

static void log_to_stderr(void *opaque, enum hk_log_level level, const char *msg)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "hyperkit: %s: %s\n", names[level], msg);
}

void vm_log(const struct vm *vm, enum hk_log_level level, const char *fmt, ...)
{
    if (level > vm->cfg.log_level)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hk_log_fn fn = vm->cfg.log_fn ? vm->cfg.log_fn : log_to_stderr;
    fn(vm->cfg.log_opaque, level, msg);
}
