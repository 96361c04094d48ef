/*
 * -s (PCI slots) and -l (LPC serial ports), with moby/hyperkit's syntax:
 *   -s [bus:]slot[:func],emulation[,conf]   (pci_emul.c pci_parse_slot)
 *   -l com1|com2[,backend]                  (pci_lpc.c, uart_emul.c)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/config_priv.h"

#define PCI_MAX_BUS 255
#define PCI_MAX_SLOT 31
#define PCI_MAX_FUNC 7

/*
 * Every emulation name moby/hyperkit knows. A device lands by flipping its
 * `implemented` flag; until then a known name is HK_ENOTSUP, not EINVAL,
 * so users can tell "not yet" from "typo".
 */
static const struct pci_emulation {
    const char *name;
    bool implemented;
} pci_emulations[] = {
    {"hostbridge", true},
    {"amd_hostbridge", true},
    {"lpc", true},
    {"virtio-blk", false},
    {"virtio-net", false},   /* vmnet on macOS */
    {"virtio-tap", false},
    {"virtio-vpnkit", false},
    {"virtio-rnd", false},
    {"virtio-sock", false},
    {"virtio-9p", false},
    {"ahci-hd", false},
    {"ahci-cd", false},
    {"uart", false},
    {"dummy", false},
};

static const struct pci_emulation *pci_emulation_find(const char *name)
{
    for (size_t i = 0; i < sizeof(pci_emulations) / sizeof(pci_emulations[0]); i++) {
        if (strcmp(pci_emulations[i].name, name) == 0)
            return &pci_emulations[i];
    }
    return NULL;
}

/*
 * Parse the len bytes at s, "a[:b[:c]]" in decimal: one field is the slot,
 * two are slot:func, three are bus:slot:func. Returns false on junk.
 */
static bool pci_parse_address(const char *s, size_t len, struct hk_pci_slot *slot)
{
    uint64_t f[3];
    int n = 0;
    char buf[32];
    if (len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (char *p = buf;;) {
        char *colon = strchr(p, ':');
        if (colon)
            *colon = '\0';
        if (n == 3 || !config_parse_uint(p, 1000, &f[n++]))
            return false;
        if (!colon)
            break;
        p = colon + 1;
    }
    uint64_t bus = n == 3 ? f[0] : 0;
    uint64_t sl = n == 3 ? f[1] : f[0];
    uint64_t fn = n == 3 ? f[2] : n == 2 ? f[1] : 0;
    if (bus > PCI_MAX_BUS || sl > PCI_MAX_SLOT || fn > PCI_MAX_FUNC)
        return false;
    slot->bus = (uint8_t)bus;
    slot->slot = (uint8_t)sl;
    slot->func = (uint8_t)fn;
    return true;
}

static int pci_check_slot(struct hk_config *cfg, const char *spec, const struct hk_pci_slot *s)
{
    for (int i = 0; i < cfg->npci; i++) {
        const struct hk_pci_slot *o = &cfg->pci[i];
        if (o->bus == s->bus && o->slot == s->slot && o->func == s->func)
            return config_fail(cfg, HK_EEXIST, "-s %s: PCI slot %d:%d:%d is already used by %s",
                               spec, s->bus, s->slot, s->func, o->emulation);
    }
    if (cfg->npci >= HK_MAX_PCI_SLOTS)
        return config_fail(cfg, HK_EINVAL, "-s %s: too many PCI devices (at most %d)", spec,
                           HK_MAX_PCI_SLOTS);
    return HK_OK;
}

int hk_config_add_pci(hk_config *cfg, const char *spec)
{
    if (cfg == NULL)
        return HK_EINVAL;
    if (spec == NULL)
        return config_fail(cfg, HK_EINVAL, "-s: missing PCI slot configuration");
    struct hk_pci_slot s = {0};
    const char *comma = strchr(spec, ',');
    size_t alen = comma ? (size_t)(comma - spec) : strlen(spec);
    if (!pci_parse_address(spec, alen, &s))
        return config_fail(cfg, HK_EINVAL,
                           "-s %s: invalid PCI slot '%.*s' (expected [bus:]slot[:func] with bus "
                           "0-255, slot 0-31, function 0-7)", spec, (int)alen, spec);
    if (comma == NULL || comma[1] == '\0' || comma[1] == ',')
        return config_fail(cfg, HK_EINVAL,
                           "-s %s: missing emulation (expected [bus:]slot[:func],emulation[,conf])",
                           spec);
    const char *emul = comma + 1;
    const char *conf = strchr(emul, ',');
    size_t elen = conf ? (size_t)(conf - emul) : strlen(emul);
    if (elen >= sizeof(s.emulation))
        return config_fail(cfg, HK_EINVAL, "-s %s: unknown PCI emulation '%.*s'", spec, (int)elen,
                           emul);
    memcpy(s.emulation, emul, elen);
    int rc = pci_check_slot(cfg, spec, &s);
    if (rc != HK_OK)
        return rc;
    const struct pci_emulation *pe = pci_emulation_find(s.emulation);
    if (pe == NULL)
        return config_fail(cfg, HK_EINVAL, "-s %s: unknown PCI emulation '%s'", spec, s.emulation);
    if (!pe->implemented)
        return config_fail(cfg, HK_ENOTSUP, "-s %s: PCI emulation '%s' is not implemented yet",
                           spec, s.emulation);
    if (conf && conf[1] != '\0' && (s.conf = strdup(conf + 1)) == NULL)
        return config_fail(cfg, HK_ENOMEM, "-s %s: out of memory", spec);
    cfg->pci[cfg->npci++] = s;
    return config_ok(cfg);
}

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
