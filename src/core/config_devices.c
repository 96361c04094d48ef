/*
 * -l (LPC serial ports), with moby/hyperkit's syntax:
 *   -l com1|com2[,backend]                  (pci_lpc.c, uart_emul.c)
 * -s is parsed in board/config_pci.c, next to the device-type table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/config_priv.h"

/* --- -l ------------------------------------------------------------------- */

/* The port a -l name stands for (0-based), or -1. hyperkit ignores case. */
static int lpc_com_index(const char *name, size_t len)
{
    static const char *const names[HK_MAX_COM] = {"com1", "com2"};
    for (int i = 0; i < HK_MAX_COM; i++) {
        if (len == strlen(names[i]) && strncasecmp(name, names[i], len) == 0)
            return i;
    }
    return -1;
}

/* Fill com from one backend word; path is strdup'ed on success. */
static int lpc_parse_backend(struct hk_config *cfg, const char *spec, const char *be,
                             struct hk_com *com)
{
    const char *path = NULL;
    if (strcmp(be, "stdio") == 0) {
        com->backend = HK_COM_STDIO;
    } else if (strcmp(be, "null") == 0) {
        com->backend = HK_COM_NULL;
    } else if (strcmp(be, "autopty") == 0) {
        com->backend = HK_COM_AUTOPTY;
    } else if (strncmp(be, "autopty=", 8) == 0) {
        com->backend = HK_COM_AUTOPTY;
        path = be + 8;
    } else if (strncmp(be, "log=", 4) == 0) {
        com->backend = HK_COM_LOG;
        path = be + 4;
    } else if (strcmp(be, "asl") == 0) {
        return config_fail(cfg, HK_ENOTSUP,
                           "-l %s: the Apple System Log backend is not available on Linux", spec);
    } else {
        int rc = config_check_file(cfg, "-l", "serial device", be);
        /* A typo of a backend name lands here too, so name both readings. */
        if (rc == HK_ENOENT)
            return config_fail(cfg, rc, "-l %s: no such serial backend or device '%s'", spec, be);
        if (rc != HK_OK)
            return rc;
        com->backend = HK_COM_DEVICE;
        path = be;
    }
    if (path && *path == '\0')
        return config_fail(cfg, HK_EINVAL, "-l %s: missing file name after '='", spec);
    if (path && (com->path = strdup(path)) == NULL)
        return config_fail(cfg, HK_ENOMEM, "-l %s: out of memory", spec);
    return HK_OK;
}

static int lpc_check_conflicts(struct hk_config *cfg, const char *spec, int idx,
                               enum hk_com_backend backend)
{
    if (cfg->com[idx].backend != HK_COM_NONE)
        return config_fail(cfg, HK_EEXIST, "-l %s: com%d is already configured", spec, idx + 1);
    for (int i = 0; backend == HK_COM_STDIO && i < HK_MAX_COM; i++) {
        if (cfg->com[i].backend == HK_COM_STDIO)
            return config_fail(cfg, HK_EEXIST, "-l %s: stdio is already used by com%d", spec,
                               i + 1);
    }
    return HK_OK;
}

int hk_config_add_lpc(hk_config *cfg, const char *spec)
{
    if (cfg == NULL)
        return HK_EINVAL;
    if (spec == NULL)
        return config_fail(cfg, HK_EINVAL, "-l: missing LPC device configuration");
    const char *comma = strchr(spec, ',');
    size_t nlen = comma ? (size_t)(comma - spec) : strlen(spec);
    int idx = lpc_com_index(spec, nlen);
    if (idx < 0 && nlen == 7 && strncasecmp(spec, "bootrom", 7) == 0)
        return config_fail(cfg, HK_EINVAL, "-l %s: hyperkit takes the boot ROM as -f bootrom,ROM",
                           spec);
    if (idx < 0)
        return config_fail(cfg, HK_EINVAL,
                           "-l %s: unknown LPC device '%.*s' (expected com1 or com2)", spec,
                           (int)nlen, spec);
    const char *be = comma ? comma + 1 : "";
    if (strchr(be, ','))
        return config_fail(cfg, HK_ENOTSUP,
                           "-l %s: combining several serial backends is not implemented yet", spec);
    /* hyperkit's "-l com1" makes the port with nothing behind it. */
    struct hk_com com = {.backend = HK_COM_NULL, .in_fd = -1, .out_fd = -1};
    int rc = *be ? lpc_parse_backend(cfg, spec, be, &com) : HK_OK;
    if (rc == HK_OK)
        rc = lpc_check_conflicts(cfg, spec, idx, com.backend);
    if (rc != HK_OK) {
        free(com.path);
        return rc;
    }
    cfg->com[idx] = com;
    return config_ok(cfg);
}

int hk_config_set_com_fds(hk_config *cfg, int com, int in_fd, int out_fd)
{
    if (cfg == NULL)
        return HK_EINVAL;
    if (com < 1 || com > HK_MAX_COM)
        return config_fail(cfg, HK_EINVAL, "serial port %d does not exist (expected 1 or 2)", com);
    if (out_fd < 0 || in_fd < -1)
        return config_fail(cfg, HK_EINVAL, "com%d: invalid file descriptors %d, %d", com, in_fd,
                           out_fd);
    if (cfg->com[com - 1].backend != HK_COM_NONE)
        return config_fail(cfg, HK_EEXIST, "com%d is already configured", com);
    cfg->com[com - 1] = (struct hk_com){.backend = HK_COM_FDS, .in_fd = in_fd, .out_fd = out_fd};
    return config_ok(cfg);
}
