/*
 * -s (PCI slots), with moby/hyperkit's syntax:
 *   -s [bus:]slot[:func],emulation[,conf]   (pci_emul.c pci_parse_slot)
 * Here rather than in core: the names and their conf parsers are the
 * device-type table's (devices/devtypes.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/config_priv.h"
#include "devices/devtypes.h"

#define PCI_MAX_BUS 255
#define PCI_MAX_SLOT 31
#define PCI_MAX_FUNC 7

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

/* Run the type's parser now, so a bad conf fails when the option is given
 * (the board parses it again when it builds the device). */
static int check_conf(struct hk_config *cfg, const char *spec, const struct dev_type *t,
                      const char *conf)
{
    if (!t->parse)
        return HK_OK;
    char why[160] = "";
    void *parsed = NULL;
    int rc = t->parse(conf, &parsed, why, sizeof(why));
    if (t->free)
        t->free(parsed);
    if (rc != HK_OK)
        return config_fail(cfg, rc, "-s %s: %s", spec, why[0] ? why : hk_strerror(rc));
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
    /* A known name without a constructor is HK_ENOTSUP, not EINVAL, so
     * users can tell "not yet" from "typo". */
    const struct dev_type *t = devtype_find(s.emulation);
    if (t == NULL)
        return config_fail(cfg, HK_EINVAL, "-s %s: unknown PCI emulation '%s'", spec, s.emulation);
    if (!t->create)
        return config_fail(cfg, HK_ENOTSUP, "-s %s: PCI emulation '%s' is not implemented yet",
                           spec, s.emulation);
    if (conf && conf[1] != '\0' && (s.conf = strdup(conf + 1)) == NULL)
        return config_fail(cfg, HK_ENOMEM, "-s %s: out of memory", spec);
    if ((rc = check_conf(cfg, spec, t, s.conf)) != HK_OK) {
        free(s.conf);
        return rc;
    }
    cfg->pci[cfg->npci++] = s;
    return config_ok(cfg);
}

