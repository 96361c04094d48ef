/* The device environment's one out-of-line helper. */
#include "devices/devenv.h"

#include <stdarg.h>
#include <stdio.h>

void dev_log(struct dev_env *env, enum hk_log_level level, const char *fmt, ...)
{
    if (!env || !env->ops->log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    env->ops->log(env->ctx, level, msg);
}
