/* Choosing an accelerator: by name, or the first usable one. */
#include "accel/accel.h"

#include <string.h>

#include "hyperkit.h"

/* Preference order for "auto": hardware first. */
static const struct accel_ops *const engines[] = {
    &accel_kvm_ops,
    &accel_emu_ops,
    NULL,
};

const struct accel_ops *const *accel_list(void)
{
    return engines;
}

const char *const *hk_accel_names(void)
{
    static const char *const names[] = {
        "kvm",
        "emu",
        NULL,
    };
    return names;
}

const struct accel_ops *accel_select(const char *name, int *err)
{
    bool any = !name || !*name || strcmp(name, "auto") == 0;
    *err = any ? HK_ENOACCEL : HK_ENOTSUP;
    for (int i = 0; engines[i]; i++) {
        if (!any && strcmp(engines[i]->name, name) != 0)
            continue;
        int r = engines[i]->probe();
        if (r == 0)
            return engines[i];
        *err = r;
    }
    return NULL;
}
