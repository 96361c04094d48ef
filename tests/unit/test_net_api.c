/*
 * hk_vm_net_hostfwd from an embedding application's side, on a VM built
 * (not started) with a user-mode virtio-net: a forward added at run time
 * listens on the host (a real loopback connect succeeds, a UDP bind of
 * its port fails), and after removal the port is free again (connect
 * refused, bind succeeds, at once: the same forward can be added again).
 * Errors: bad spec, duplicate, removing what is
 * not there, no device in the slot or in the VM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hyperkit.h"
#include "test.h"

#define SLOT 3

static hk_vm *make_vm(const char *pci)
{
    hk_config *cfg;
    hk_vm *vm = NULL;
    char boot[600];
    const char *dir = getenv("GUESTS");
    snprintf(boot, sizeof(boot), "flat64,%s/halt.bin", dir ? dir : "build/guests");
    if (hk_config_new(&cfg))
        return NULL;
    int rc = hk_config_set_memory(cfg, "64M");
    if (!rc) rc = hk_config_set_boot(cfg, boot);
    if (!rc) rc = hk_config_set_accel(cfg, "emu");
    if (!rc) rc = hk_config_add_pci(cfg, pci);
    if (!rc) rc = hk_vm_create(cfg, &vm);
    if (rc)
        fprintf(stderr, "create: %s\n", hk_config_error(cfg));
    hk_config_free(cfg);
    return vm;
}

/* A port nobody uses now, of type type (SOCK_STREAM / SOCK_DGRAM). */
static int free_port(int type)
{
    int s = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
        getsockname(s, (struct sockaddr *)&a, &l))
        return -1;
    close(s);
    return ntohs(a.sin_port);
}

/* connect() (TCP) or bind() (UDP) to 127.0.0.1:port: 0 or errno. */
static int try_port(int type, int port)
{
    int s = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int r = type == SOCK_STREAM ? connect(s, (struct sockaddr *)&a, sizeof(a))
                                : bind(s, (struct sockaddr *)&a, sizeof(a));
    int e = r ? errno : 0;
    close(s);
    return e;
}

static void test_add_remove(void)
{
    char pci[64], spec[80], err[200];
    snprintf(pci, sizeof(pci), "%d,virtio-net", SLOT);
    hk_vm *vm = make_vm(pci);
    CHECK(vm != NULL, "fwd: VM with virtio-net built");
    if (!vm)
        return;
    int tp = free_port(SOCK_STREAM), up = free_port(SOCK_DGRAM);
    snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d-:80", tp);
    CHECK_EQ(try_port(SOCK_STREAM, tp), ECONNREFUSED, "fwd: tcp port closed before");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, spec, true, err, sizeof(err)), 0, "fwd: tcp added");
    CHECK_EQ(try_port(SOCK_STREAM, tp), 0, "fwd: tcp port listens after add");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, spec, true, err, sizeof(err)), HK_EEXIST,
             "fwd: duplicate add refused");
    CHECK(strstr(err, "in use") != NULL, "fwd: duplicate message says why");
    CHECK_EQ(hk_vm_net_hostfwd(vm, -1, spec, false, err, sizeof(err)), 0,
             "fwd: tcp removed (slot -1: the first virtio-net)");
    CHECK_EQ(try_port(SOCK_STREAM, tp), ECONNREFUSED, "fwd: tcp connect refused after removal");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, spec, true, err, sizeof(err)), 0,
             "fwd: the same forward again at once");
    CHECK_EQ(try_port(SOCK_STREAM, tp), 0, "fwd: listens again");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, spec, false, err, sizeof(err)), 0, "fwd: removed again");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, spec, false, err, sizeof(err)), HK_ENOENT,
             "fwd: removing it twice: no such forward");
    CHECK(strstr(err, "no tcp forward") != NULL, "fwd: removal message names it");

    snprintf(spec, sizeof(spec), "udp:127.0.0.1:%d-:53", up);
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, spec, true, err, sizeof(err)), 0, "fwd: udp added");
    CHECK_EQ(try_port(SOCK_DGRAM, up), EADDRINUSE, "fwd: udp port taken after add");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, spec, false, NULL, 0), 0, "fwd: udp removed, err NULL");
    CHECK_EQ(try_port(SOCK_DGRAM, up), 0, "fwd: udp port free as soon as it is removed");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, spec, true, err, sizeof(err)), 0,
             "fwd: udp again at once");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, spec, false, err, sizeof(err)), 0,
             "fwd: udp removed again");

    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, "tcp:127.0.0.1:80", true, err, sizeof(err)), HK_EINVAL,
             "fwd: bad spec");
    CHECK(strstr(err, "bad hostfwd") != NULL, "fwd: bad spec message");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT, NULL, true, err, sizeof(err)), HK_EINVAL, "fwd: no spec");
    CHECK_EQ(hk_vm_net_hostfwd(vm, SLOT + 1, "tcp::1-:2", true, err, sizeof(err)), HK_ENOENT,
             "fwd: no virtio-net in that slot");
    CHECK(strstr(err, "slot 4") != NULL, "fwd: the message names the slot");
    hk_vm_destroy(vm);
    CHECK_EQ(try_port(SOCK_STREAM, tp), ECONNREFUSED, "fwd: nothing left listening after destroy");
}

static void test_no_net(void)
{
    char err[200];
    hk_vm *vm = make_vm("4,virtio-rnd");
    CHECK(vm != NULL, "fwd: VM without virtio-net built");
    if (!vm)
        return;
    CHECK_EQ(hk_vm_net_hostfwd(vm, -1, "tcp::1-:2", true, err, sizeof(err)), HK_ENOENT,
             "fwd: no virtio-net at all");
    CHECK(strstr(err, "no virtio-net") != NULL, "fwd: says there is none");
    CHECK_EQ(hk_vm_net_hostfwd(NULL, -1, "tcp::1-:2", true, err, sizeof(err)), HK_EINVAL,
             "fwd: no VM");
    hk_vm_destroy(vm);
}

int main(void)
{
    test_add_remove();
    test_no_net();
    TEST_EXIT();
}
