/*
 * virtio-9p driven as a guest driver would: IDs, the mount tag in config
 * space and its feature bit, a Tversion/Tattach through the queue (the
 * request gathered from two readable buffers, the reply scattered over
 * two writable ones), a lying size field and a reply room too small for
 * anything, and the option parser.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/p9/p9_msg.h"
#include "devices/virtio/virtio_9p.h"
#include "test.h"
#include "virtio_driver.h"

#define SLOT 5

static size_t put_msg(uint8_t *p, uint8_t type, const uint8_t *body, size_t n)
{
    put32(p, (uint32_t)(7 + n));
    p[4] = type;
    put16(p + 5, 0x4242);
    memcpy(p + 7, body, n);
    return 7 + n;
}

static void test_device(const char *dir)
{
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct vd d = {.f = &f, .slot = SLOT};
    CHECK_EQ(pci_create(&f.env, &d.bus), 0, "9p: bus");
    char conf[256], err[128];
    snprintf(conf, sizeof(conf), "path=%s,tag=hostshare", dir);
    void *p = NULL;
    CHECK_EQ(virtio_9p_parse(conf, &p, err, sizeof(err)), 0, "9p: options");
    CHECK_EQ(virtio_9p_create(&f.env, d.bus, SLOT, 0, p, err, sizeof(err)), 0, "9p: created");
    virtio_9p_free(p);
    CHECK_EQ(vd_cfg(&d, PCI_DEVICE_ID, 2), 0x1009, "9p: transitional id");
    CHECK_EQ(vd_cfg(&d, PCI_SUBSYS_ID, 2), VIRTIO_ID_9P, "9p: subsystem id");
    vd_map(&d, VD_MEM_BASE);
    CHECK(vd_init_modern(&d, ~0ull, VIRTIO_NO_VECTOR) & VIRTIO_STATUS_DRIVER_OK, "9p: init");
    CHECK(vd_features(&d) & (1ull << VIRTIO_9P_MOUNT_TAG), "9p: MOUNT_TAG offered");
    CHECK_EQ(vd_mr(&d, VIRTIO_PCI_DEVICE_OFF, 2), 9, "9p: tag length");
    char tag[10] = "";
    for (int i = 0; i < 9; i++)
        tag[i] = (char)vd_mr(&d, VIRTIO_PCI_DEVICE_OFF + 2 + i, 1);
    CHECK(!strcmp(tag, "hostshare"), "9p: the tag in config space");

    uint8_t *req = gmem_ptr(&f.mem, VD_BUF, 4096), *rep = gmem_ptr(&f.mem, VD_BUF + 8192, 4096);
    uint8_t body[32];
    put32(body, 8192);
    put16(body + 4, 8);
    memcpy(body + 6, "9P2000.L", 8);
    size_t n = put_msg(req, P9_TVERSION, body, 14);
    memset(rep, 0xee, 4096);
    struct vd_seg s[4] = {{VD_BUF, 5, false}, {VD_BUF + 5, (uint32_t)n - 5, false},
                          {VD_BUF + 8192, 6, true}, {VD_BUF + 8192 + 6, 1000, true}};
    vd_submit(&d, s, 4);
    uint32_t len = 0;
    CHECK(vd_wait(&d, &len), "9p: Tversion answered");
    CHECK_EQ(len, 21, "9p: Rversion length");
    CHECK(rep[4] == P9_TVERSION + 1 && le16(rep + 5) == 0x4242 && le32(rep + 7) == 8192 &&
              !memcmp(rep + 13, "9P2000.L", 8),
          "9p: Rversion scattered over two buffers");
    /* A size field larger than what the chain carries. */
    put32(req, 4000);
    struct vd_seg b[2] = {{VD_BUF, 20, false}, {VD_BUF + 8192, 100, true}};
    vd_submit(&d, b, 2);
    CHECK(vd_wait(&d, &len) && len == 11 && rep[4] == P9_RLERROR && le32(rep + 7) == EPROTO,
          "9p: a lying size gets Rlerror(EPROTO)");
    /* No room for any reply: nothing written, the queue goes on. */
    struct vd_seg t[2] = {{VD_BUF, 20, false}, {VD_BUF + 8192, 4, true}};
    vd_submit(&d, t, 2);
    CHECK(vd_wait(&d, &len) && len == 0, "9p: no room: 0 bytes");
    uint8_t ab[32];
    put32(ab, 0);
    put32(ab + 4, P9_NOFID);
    put16(ab + 8, 0);
    put16(ab + 10, 0);
    put32(ab + 12, 0);
    n = put_msg(req, P9_TATTACH, ab, 16);
    struct vd_seg a[2] = {{VD_BUF, (uint32_t)n, false}, {VD_BUF + 8192, 4096, true}};
    vd_submit(&d, a, 2);
    CHECK(vd_wait(&d, &len) && len == 20 && rep[4] == P9_TATTACH + 1 && rep[7] == P9_QTDIR,
          "9p: Rattach with a directory qid");
    CHECK(!(vd_status(&d) & VIRTIO_STATUS_NEEDS_RESET), "9p: the device is still fine");
    fake_env_fini(&f);
}

static void test_options(const char *dir)
{
    char conf[512], err[128];
    void *p;
    CHECK_EQ(virtio_9p_parse(NULL, &p, err, sizeof(err)), HK_EINVAL, "opt: nothing");
    CHECK_EQ(virtio_9p_parse("tag=x", &p, err, sizeof(err)), HK_EINVAL, "opt: no path");
    snprintf(conf, sizeof(conf), "path=%s,bogus", dir);
    CHECK_EQ(virtio_9p_parse(conf, &p, err, sizeof(err)), HK_EINVAL, "opt: unknown option");
    CHECK_EQ(virtio_9p_parse("port=564,tag=x", &p, err, sizeof(err)), 0, "opt: port relay");
    CHECK(((struct v9p_conf *)p)->relay && ((struct v9p_conf *)p)->port == 564, "opt: port 564");
    virtio_9p_free(p);
    CHECK_EQ(virtio_9p_parse("port=70000", &p, err, sizeof(err)), HK_EINVAL, "opt: bad port");
    CHECK_EQ(virtio_9p_parse("port=564,ro", &p, err, sizeof(err)), HK_EINVAL, "opt: ro relay");
    snprintf(conf, sizeof(conf), "path=%s,port=564", dir);
    CHECK_EQ(virtio_9p_parse(conf, &p, err, sizeof(err)), HK_EINVAL, "opt: port and path");
    char longtag[300];
    memset(longtag, 'a', sizeof(longtag));
    snprintf(conf, sizeof(conf), "path=%s,tag=%.*s", dir, 257, longtag);
    CHECK_EQ(virtio_9p_parse(conf, &p, err, sizeof(err)), HK_EINVAL, "opt: tag too long");
    snprintf(conf, sizeof(conf), "path=%s,ro", dir);
    CHECK_EQ(virtio_9p_parse(conf, &p, err, sizeof(err)), 0, "opt: ro, default tag");
    struct v9p_conf *c = p;
    CHECK(c->ro && !strcmp(c->tag, "plan9"), "opt: ro set, tag plan9");
    virtio_9p_free(p);
    /* A socket path is hyperkit's relay form. */
    char sock[100];
    snprintf(sock, sizeof(sock), "%s/s.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "opt: socket made");
    snprintf(conf, sizeof(conf), "path=%s,tag=t", sock);
    CHECK_EQ(virtio_9p_parse(conf, &p, err, sizeof(err)), 0, "opt: a socket path relays");
    CHECK(((struct v9p_conf *)p)->relay, "opt: relay set for a socket");
    virtio_9p_free(p);
    snprintf(conf, sizeof(conf), "path=%s,tag=t", dir);
    CHECK_EQ(virtio_9p_parse(conf, &p, err, sizeof(err)), 0, "opt: a directory");
    CHECK(!((struct v9p_conf *)p)->relay, "opt: a directory is shared, not relayed");
    virtio_9p_free(p);
    close(fd);
    unlink(sock);
    struct fake_env f;
    fake_env_init(&f, VD_RAM, false);
    struct pci_bus *bus;
    pci_create(&f.env, &bus);
    struct v9p_conf missing = {.path = "/nonexistent/dir", .tag = "t"};
    CHECK(virtio_9p_create(&f.env, bus, SLOT, 0, &missing, err, sizeof(err)) < 0,
          "opt: a missing directory fails creation");
    fake_env_fini(&f);
}

int main(void)
{
    char dir[] = "/tmp/hk-v9p-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_device(dir);
    test_options(dir);
    rmdir(dir);
    TEST_EXIT();
}
