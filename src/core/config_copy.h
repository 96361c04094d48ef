/*
 * Deep copies of a parsed configuration, for the VM core: hk_vm_create()
 * keeps its own copy so the caller may free its hk_config straight away.
 */
#ifndef HK_CORE_CONFIG_COPY_H
#define HK_CORE_CONFIG_COPY_H

#include "core/config.h"

/*
 * Copy src into dst (whose old contents are ignored), duplicating every
 * string. Returns HK_OK, or HK_ENOMEM with dst left empty but releasable.
 */
int config_copy(struct hk_config *dst, const struct hk_config *src);

/* Free the strings a configuration owns (not cfg itself); idempotent. */
void config_release(struct hk_config *cfg);

#endif
