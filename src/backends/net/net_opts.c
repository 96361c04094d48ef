/* Option strings of the network backends (net.h): QEMU's hostfwd syntax
 * and net=ADDR/N. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/net/net.h"
#include "hyperkit.h"

/* "[ADDR]:PORT" up to end (ADDR empty: 0): 0 or -1. */
static int addr_port(const char *s, const char *end, uint32_t *addr, uint16_t *port)
{
    const char *colon = memchr(s, ':', (size_t)(end - s));
    if (!colon)
        return -1;
    char a[INET_ADDRSTRLEN], p[8];
    size_t al = (size_t)(colon - s), pl = (size_t)(end - colon - 1);
    if (al >= sizeof(a) || pl == 0 || pl >= sizeof(p))
        return -1;
    memcpy(a, s, al);
    a[al] = 0;
    memcpy(p, colon + 1, pl);
    p[pl] = 0;
    *addr = 0;
    struct in_addr in;
    if (al && inet_pton(AF_INET, a, &in) != 1)
        return -1;
    if (al)
        *addr = in.s_addr;
    char *e;
    unsigned long v = strtoul(p, &e, 10);
    if (*e || v == 0 || v > 65535 || p[0] < '0' || p[0] > '9')
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int netbe_parse_hostfwd(const char *s, struct netbe_fwd *f, char *err, size_t errlen)
{
    const char *orig = s;
    memset(f, 0, sizeof(*f));
    if (strncmp(s, "tcp:", 4) == 0) {
        s += 4;
    } else if (strncmp(s, "udp:", 4) == 0) {
        f->udp = true;
        s += 4;
    }
    const char *dash = strchr(s, '-');
    if (!dash || addr_port(s, dash, &f->host_addr, &f->host_port) ||
        addr_port(dash + 1, dash + 1 + strlen(dash + 1), &f->guest_addr, &f->guest_port)) {
        snprintf(err, errlen,
                 "bad hostfwd '%s' (want [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)", orig);
        return HK_EINVAL;
    }
    return HK_OK;
}

int netbe_parse_net(const char *s, uint32_t *net, uint32_t *mask, char *err, size_t errlen)
{
    char a[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t al = slash ? (size_t)(slash - s) : strlen(s);
    unsigned long bits = 24;
    char *e = NULL;
    if (slash)
        bits = strtoul(slash + 1, &e, 10);
    struct in_addr in;
    if (al >= sizeof(a) || (slash && (*e || slash[1] == 0)) || bits < 8 || bits > 30)
        goto bad;
    memcpy(a, s, al);
    a[al] = 0;
    if (inet_pton(AF_INET, a, &in) != 1)
        goto bad;
    uint32_t m = 0xffffffffu << (32 - bits);
    *mask = htonl(m);
    *net = htonl(ntohl(in.s_addr) & m);
    return HK_OK;
bad:
    snprintf(err, errlen, "bad net '%s' (want A.B.C.D/N, N from 8 to 30)", s);
    return HK_EINVAL;
}
