/*
 * Helpers shared by the configuration parsers (config.c, config_devices.c,
 * config_boot.c, board/config_pci.c). Private to those files.
 */
#ifndef HK_CORE_CONFIG_PRIV_H
#define HK_CORE_CONFIG_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"

/* Record a one-line message in cfg->error and return err. */
int config_fail(struct hk_config *cfg, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear cfg->error and return HK_OK. */
int config_ok(struct hk_config *cfg);

/*
 * Parse a whole string of decimal digits (no sign, no spaces) into *out.
 * Returns false on junk or a value above max.
 */
bool config_parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * Check that path names an existing non-directory. On failure records
 * "<opt>: <what> '<path>' does not exist" (HK_ENOENT) or similar.
 */
int config_check_file(struct hk_config *cfg, const char *opt, const char *what,
                      const char *path);

/* strdup that tolerates NULL; sets *failed when memory runs out. */
char *config_strdup(const char *s, bool *failed);

/*
 * Parse a -f spec into *out without checking that its loader exists (so
 * unit tests can see what kexec and multiboot specs parse to).
 * hk_config_set_boot() is this plus the "implemented yet?" check.
 */
int config_parse_boot(struct hk_config *cfg, const char *spec, struct hk_boot *out);

/* Free the strings of a parsed boot spec and zero it. */
void config_boot_release(struct hk_boot *b);

#endif
