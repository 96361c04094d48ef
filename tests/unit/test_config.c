/*
 * The option parsers behind hk_config_*: values, ranges, the error codes
 * and the one-line messages. Mostly through the public API; the parsed
 * form is read from struct hk_config (core/config.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_copy.h"
#include "core/config_priv.h"
#include "hyperkit.h"
#include "test.h"

#define MIB (1024ull * 1024)

/* Scratch files standing in for kernels, initrds and modules. */
static char kernel[64], initrd[64], module1[64], module2[64];

static void make_file(char *path, size_t size)
{
    snprintf(path, size, "/tmp/hk-test-config-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, "x", 1) != 1) {
        perror("mkstemp");
        exit(1);
    }
    close(fd);
}

static hk_config *fresh(void)
{
    hk_config *cfg = NULL;
    if (hk_config_new(&cfg) != HK_OK) {
        printf("FAIL: hk_config_new\n");
        exit(1);
    }
    return cfg;
}

/* The last message contains want, is one line, and has no "hyperkit:" prefix. */
static int msg_has(const hk_config *cfg, const char *want)
{
    const char *m = hk_config_error(cfg);
    return strstr(m, want) != NULL && strchr(m, '\n') == NULL && strncmp(m, "hyperkit", 8) != 0;
}

static void test_defaults(void)
{
    hk_config *cfg = fresh();
    CHECK_EQ(cfg->memory_bytes, 256 * MIB, "default memory is 256 MiB");
    CHECK_EQ(cfg->vcpus, 1, "default vCPU count is 1");
    CHECK(strcmp(cfg->accel, "auto") == 0, "default accel is auto");
    CHECK_EQ(cfg->log_level, HK_LOG_WARN, "default log level is warn");
    CHECK(cfg->log_fn == NULL, "default log goes to stderr");
    CHECK_EQ(cfg->com[0].in_fd, -1, "default com1 in_fd is -1");
    CHECK_EQ(cfg->boot.kind, HK_BOOT_NONE, "default boot is none");
    CHECK(strcmp(hk_config_error(cfg), "") == 0, "new config has an empty error");
    CHECK_EQ(hk_config_new(NULL), HK_EINVAL, "hk_config_new(NULL) is EINVAL");
    hk_config_free(cfg);
    hk_config_free(NULL);
}

static void mem_ok(const char *text, unsigned long long want, const char *name)
{
    hk_config *cfg = fresh();
    int rc = hk_config_set_memory(cfg, text);
    CHECK(rc == HK_OK && cfg->memory_bytes == want, name);
    hk_config_free(cfg);
}

static void mem_bad(const char *text, const char *want_msg, const char *name)
{
    hk_config *cfg = fresh();
    int rc = hk_config_set_memory(cfg, text);
    CHECK(rc == HK_EINVAL && msg_has(cfg, want_msg) && cfg->memory_bytes == 256 * MIB, name);
    hk_config_free(cfg);
}

static void test_memory(void)
{
    mem_ok("512M", 512 * MIB, "memory 512M");
    mem_ok("512m", 512 * MIB, "memory 512m lower case");
    mem_ok("512MB", 512 * MIB, "memory 512MB with trailing B");
    mem_ok("1G", 1024 * MIB, "memory 1G");
    mem_ok("2g", 2048 * MIB, "memory 2g lower case");
    mem_ok("4096K", 4 * MIB, "memory 4096K");
    mem_ok("1T", 1ull << 40, "memory 1T is the upper bound");
    mem_ok("2048", 2048 * MIB, "memory bare 2048 is MiB");
    mem_ok("1", MIB, "memory bare 1 is 1 MiB");
    mem_ok("1048576", MIB, "memory bare 1048576 is bytes");
    mem_ok("2097152", 2 * MIB, "memory bare 2097152 is bytes");
    mem_ok("0x200", 512 * MIB, "memory hex 0x200 is MiB");
    mem_ok("16777216b", 16 * MIB, "memory b suffix means bytes");
    mem_bad("0", "at least 1 MiB", "memory 0 rejected");
    mem_bad("0M", "at least 1 MiB", "memory 0M rejected");
    mem_bad("512K", "at least 1 MiB", "memory 512K below 1 MiB rejected");
    mem_bad("1048575b", "at least 1 MiB", "memory 1048575 bytes rejected");
    mem_bad("12Q", "invalid memory size", "memory 12Q rejected");
    mem_bad("-5", "invalid memory size", "memory -5 rejected");
    mem_bad("", "invalid memory size", "memory empty rejected");
    mem_bad("M", "invalid memory size", "memory bare suffix rejected");
    mem_bad(" 512", "invalid memory size", "memory leading space rejected");
    mem_bad("512M ", "invalid memory size", "memory trailing space rejected");
    mem_bad("512MX", "invalid memory size", "memory junk after suffix rejected");
    mem_bad("0x", "invalid memory size", "memory bare 0x rejected");
    mem_bad("2T", "1 TiB", "memory 2T above limit rejected");
    mem_bad("99999999999999999999", "1 TiB", "memory overflowing number rejected");
    mem_bad("16777216T", "1 TiB", "memory overflowing shift rejected");
    mem_bad("1048577", "multiple of 4 KiB", "memory not page multiple rejected");

    hk_config *cfg = fresh();
    hk_config_set_memory(cfg, "junk");
    CHECK(strlen(hk_config_error(cfg)) > 0, "memory failure sets error");
    CHECK(msg_has(cfg, "-m junk"), "memory message names the value");
    CHECK_EQ(hk_config_set_memory(cfg, "1G"), HK_OK, "memory success after failure");
    CHECK(strcmp(hk_config_error(cfg), "") == 0, "memory success clears error");
    CHECK_EQ(hk_config_set_memory(cfg, NULL), HK_EINVAL, "memory NULL rejected");
    hk_config_free(cfg);
}

static void test_vcpus(void)
{
    hk_config *cfg = fresh();
    CHECK_EQ(hk_config_set_vcpus(cfg, "1"), HK_OK, "vcpus 1 accepted");
    CHECK_EQ(hk_config_set_vcpus(cfg, "2"), HK_ENOTSUP, "vcpus 2 is ENOTSUP");
    CHECK(msg_has(cfg, "SMP is not implemented yet"), "vcpus 2 message says SMP");
    CHECK_EQ(hk_config_set_vcpus(cfg, "64"), HK_ENOTSUP, "vcpus 64 is ENOTSUP");
    CHECK_EQ(hk_config_set_vcpus(cfg, "0"), HK_EINVAL, "vcpus 0 rejected");
    CHECK_EQ(hk_config_set_vcpus(cfg, "-1"), HK_EINVAL, "vcpus -1 rejected");
    CHECK_EQ(hk_config_set_vcpus(cfg, "abc"), HK_EINVAL, "vcpus abc rejected");
    CHECK_EQ(hk_config_set_vcpus(cfg, ""), HK_EINVAL, "vcpus empty rejected");
    CHECK_EQ(hk_config_set_vcpus(cfg, "1x"), HK_EINVAL, "vcpus 1x rejected");
    CHECK_EQ(hk_config_set_vcpus(cfg, "99999999999"), HK_EINVAL, "vcpus overflow rejected");
    CHECK(msg_has(cfg, "-c 99999999999"), "vcpus message names the value");
    CHECK_EQ(cfg->vcpus, 1, "vcpus unchanged by failures");
    hk_config_free(cfg);
}

static void pci_expect(const char *spec, int want, const char *want_msg, const char *name)
{
    hk_config *cfg = fresh();
    int rc = hk_config_add_pci(cfg, spec);
    CHECK(rc == want && msg_has(cfg, want_msg) && cfg->npci == 0, name);
    if (rc != want || !msg_has(cfg, want_msg))
        printf("  got %d: %s\n", rc, hk_config_error(cfg));
    hk_config_free(cfg);
}

static void test_pci(void)
{
    const char *ns = "is not implemented yet";
    const char *bad = "invalid PCI slot";
    hk_config *cfg = fresh();
    CHECK_EQ(hk_config_add_pci(cfg, "0:0,hostbridge"), HK_OK, "pci hostbridge accepted");
    CHECK_EQ(hk_config_add_pci(cfg, "31,lpc"), HK_OK, "pci lpc accepted");
    CHECK_EQ(cfg->npci, 2, "pci hostbridge and lpc stored");
    CHECK_EQ(hk_config_add_pci(cfg, "3,ahci-hd"), HK_ENOTSUP, "pci ahci-hd is ENOTSUP");
    CHECK(strcmp(hk_config_error(cfg),
                 "-s 3,ahci-hd: PCI emulation 'ahci-hd' is not implemented yet") == 0,
          "pci ENOTSUP message exact");
    CHECK_EQ(hk_config_add_pci(cfg, "3,virtio-sock"), HK_EINVAL, "pci virtio-sock needs options");
    CHECK(msg_has(cfg, "guest_cid=N and path=DIR are both required"), "pci virtio-sock message");
    CHECK_EQ(hk_config_add_pci(cfg, "6,virtio-sock,guest_cid=3,path=/tmp"), HK_OK,
             "pci virtio-sock accepted");
    CHECK_EQ(hk_config_add_pci(cfg, "3,virtio-blk"), HK_EINVAL, "pci virtio-blk needs a path");
    CHECK(strcmp(hk_config_error(cfg),
                 "-s 3,virtio-blk: virtio-blk: a disk image path is required") == 0,
          "pci virtio-blk message exact");
    CHECK_EQ(hk_config_add_pci(cfg, "3,virtio-blk,/tmp/disk.img,ro,sectorsize=4096"), HK_OK,
             "pci virtio-blk with options accepted");
    CHECK_EQ(hk_config_add_pci(cfg, "4,virtio-blk,/d.img,bogus"), HK_EINVAL,
             "pci virtio-blk bad option rejected");
    CHECK(msg_has(cfg, "invalid option 'bogus'"), "pci virtio-blk bad option named");
    CHECK_EQ(hk_config_add_pci(cfg, "4,virtio-rnd,x"), HK_EINVAL, "pci virtio-rnd takes no options");
    CHECK_EQ(hk_config_add_pci(cfg, "4,virtio-rnd"), HK_OK, "pci virtio-rnd accepted");
    hk_config_free(cfg);
    pci_expect("3,foo", HK_EINVAL, "unknown PCI emulation 'foo'", "pci unknown emulation");
    const char *known[] = {"ahci-hd", "ahci-cd", "uart", "dummy"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        char spec[64], name[96];
        snprintf(spec, sizeof(spec), "5,%s", known[i]);
        snprintf(name, sizeof(name), "pci emulation %s is known", known[i]);
        pci_expect(spec, HK_ENOTSUP, ns, name);
    }
    pci_expect("5,virtio-9p", HK_EINVAL, "needs path=DIR", "pci virtio-9p needs a path");
    pci_expect("5,virtio-vpnkit", HK_EINVAL, "virtio-vpnkit: needs path=SOCK",
               "pci virtio-vpnkit needs a path");
    cfg = fresh();
    CHECK_EQ(hk_config_add_pci(cfg, "5,virtio-net"), HK_OK, "pci virtio-net (slirp) accepted");
    CHECK(hk_config_add_pci(cfg, "6,virtio-tap") != HK_OK && cfg->npci == 1,
          "pci virtio-tap needs a tap name");
    hk_config_free(cfg);
    cfg = fresh();
    CHECK_EQ(hk_config_add_pci(cfg, "5,virtio-9p,port=564,tag=t"), HK_OK,
             "pci virtio-9p port relay accepted");
    hk_config_free(cfg);
    pci_expect("5,virtio-9p,port=564,path=/tmp", HK_EINVAL, "either port= or path=",
               "pci virtio-9p port and path refused");
    pci_expect("31,ahci-hd", HK_ENOTSUP, ns, "pci slot 31 valid");
    pci_expect("32,virtio-rnd", HK_EINVAL, bad, "pci slot 32 rejected");
    pci_expect("1:7,ahci-hd", HK_ENOTSUP, ns, "pci function 7 valid");
    pci_expect("1:8,virtio-rnd", HK_EINVAL, bad, "pci function 8 rejected");
    pci_expect("255:31:7,ahci-hd", HK_ENOTSUP, ns, "pci bus 255 valid");
    pci_expect("256:0:0,virtio-rnd", HK_EINVAL, bad, "pci bus 256 rejected");
    pci_expect("x,virtio-rnd", HK_EINVAL, bad, "pci junk slot rejected");
    pci_expect("1x,virtio-rnd", HK_EINVAL, bad, "pci slot with junk suffix rejected");
    pci_expect("-1,virtio-rnd", HK_EINVAL, bad, "pci negative slot rejected");
    pci_expect("1::2,virtio-rnd", HK_EINVAL, bad, "pci empty field rejected");
    pci_expect(":1,virtio-rnd", HK_EINVAL, bad, "pci leading colon rejected");
    pci_expect("1:2:3:4,virtio-rnd", HK_EINVAL, bad, "pci four fields rejected");
    pci_expect(",virtio-rnd", HK_EINVAL, bad, "pci empty slot rejected");
    pci_expect("3", HK_EINVAL, "missing emulation", "pci missing emulation");
    pci_expect("3,", HK_EINVAL, "missing emulation", "pci empty emulation");
    pci_expect("3,virtio-blk-but-much-longer-than-any-name", HK_EINVAL, "unknown PCI emulation",
               "pci overlong emulation name");
}

/* No emulation is implemented yet, so seed an occupied slot by hand. */
static void test_pci_duplicates(void)
{
    hk_config *cfg = fresh();
    cfg->pci[0] = (struct hk_pci_slot){.bus = 0, .slot = 3, .func = 0, .emulation = "virtio-blk"};
    cfg->npci = 1;
    CHECK_EQ(hk_config_add_pci(cfg, "3,virtio-rnd"), HK_EEXIST, "pci duplicate slot rejected");
    CHECK(msg_has(cfg, "already used by virtio-blk"), "pci duplicate message names owner");
    CHECK_EQ(hk_config_add_pci(cfg, "0:3:0,virtio-rnd"), HK_EEXIST,
             "pci duplicate in bus:slot:func form rejected");
    CHECK_EQ(hk_config_add_pci(cfg, "3:0,virtio-rnd"), HK_EEXIST,
             "pci duplicate in slot:func form rejected");
    CHECK_EQ(hk_config_add_pci(cfg, "3:1,ahci-hd"), HK_ENOTSUP,
             "pci other function of same slot is free");
    CHECK_EQ(hk_config_add_pci(cfg, "1:3:0,ahci-hd"), HK_ENOTSUP,
             "pci same slot on other bus is free");
    CHECK_EQ(cfg->npci, 1, "pci failures add nothing");
    hk_config_free(cfg);
}

static void test_lpc(void)
{
    hk_config *cfg = fresh();
    CHECK_EQ(hk_config_add_lpc(cfg, "com1,stdio"), HK_OK, "lpc com1 stdio accepted");
    CHECK_EQ(cfg->com[0].backend, HK_COM_STDIO, "lpc com1 backend is stdio");
    CHECK_EQ(hk_config_add_lpc(cfg, "com2,stdio"), HK_EEXIST, "lpc stdio twice rejected");
    CHECK(msg_has(cfg, "stdio is already used by com1"), "lpc stdio twice message");
    CHECK_EQ(hk_config_add_lpc(cfg, "com1,null"), HK_EEXIST, "lpc same port twice rejected");
    CHECK(msg_has(cfg, "com1 is already configured"), "lpc same port twice message");
    CHECK_EQ(hk_config_add_lpc(cfg, "COM2,autopty=/tmp/hk-pty-link"), HK_OK,
             "lpc upper-case COM2 autopty=FILE accepted");
    CHECK(cfg->com[1].backend == HK_COM_AUTOPTY && cfg->com[1].path &&
              strcmp(cfg->com[1].path, "/tmp/hk-pty-link") == 0,
          "lpc autopty=FILE keeps the link path");
    hk_config_free(cfg);

    cfg = fresh();
    CHECK_EQ(hk_config_add_lpc(cfg, "com1,autopty"), HK_OK, "lpc autopty accepted");
    CHECK(cfg->com[0].backend == HK_COM_AUTOPTY && cfg->com[0].path == NULL,
          "lpc autopty has no link path");
    CHECK_EQ(hk_config_add_lpc(cfg, "com2,log=/tmp/hk-com2.log"), HK_OK, "lpc log= accepted");
    CHECK(cfg->com[1].backend == HK_COM_LOG && strcmp(cfg->com[1].path, "/tmp/hk-com2.log") == 0,
          "lpc log= keeps the path");
    hk_config_free(cfg);

    cfg = fresh();
    CHECK_EQ(hk_config_add_lpc(cfg, "com1,/dev/null"), HK_OK, "lpc device path accepted");
    CHECK(cfg->com[0].backend == HK_COM_DEVICE && strcmp(cfg->com[0].path, "/dev/null") == 0,
          "lpc device path stored");
    CHECK_EQ(hk_config_add_lpc(cfg, "com2,/nonexistent/tty"), HK_ENOENT,
             "lpc missing device is ENOENT");
    CHECK(msg_has(cfg, "'/nonexistent/tty'"), "lpc missing device message names it");
    CHECK_EQ(cfg->com[1].backend, HK_COM_NONE, "lpc failure leaves port unconfigured");
    CHECK_EQ(hk_config_add_lpc(cfg, "com2,stdi0"), HK_ENOENT, "lpc backend typo rejected");
    CHECK_EQ(hk_config_add_lpc(cfg, "com2,log="), HK_EINVAL, "lpc empty log= rejected");
    CHECK_EQ(hk_config_add_lpc(cfg, "com2,autopty="), HK_EINVAL, "lpc empty autopty= rejected");
    CHECK_EQ(hk_config_add_lpc(cfg, "com2,asl"), HK_ENOTSUP, "lpc asl is ENOTSUP");
    CHECK_EQ(hk_config_add_lpc(cfg, "com2,autopty,log=/tmp/x"), HK_ENOTSUP,
             "lpc combined backends ENOTSUP");
    CHECK_EQ(hk_config_add_lpc(cfg, "com3,stdio"), HK_EINVAL, "lpc com3 rejected");
    CHECK(msg_has(cfg, "unknown LPC device 'com3'"), "lpc com3 message");
    CHECK_EQ(hk_config_add_lpc(cfg, "bootrom,/tmp/rom"), HK_EINVAL, "lpc bootrom rejected");
    CHECK(msg_has(cfg, "-f bootrom"), "lpc bootrom message points at -f");
    CHECK_EQ(hk_config_add_lpc(cfg, ""), HK_EINVAL, "lpc empty rejected");
    CHECK_EQ(hk_config_add_lpc(cfg, "com2"), HK_OK, "lpc bare com2 accepted");
    CHECK_EQ(cfg->com[1].backend, HK_COM_NULL, "lpc bare com2 has a null backend");
    hk_config_free(cfg);
}

static void test_com_fds(void)
{
    hk_config *cfg = fresh();
    CHECK_EQ(hk_config_set_com_fds(cfg, 1, 0, 1), HK_OK, "com fds accepted");
    CHECK(cfg->com[0].backend == HK_COM_FDS && cfg->com[0].in_fd == 0 && cfg->com[0].out_fd == 1,
          "com fds stored");
    CHECK_EQ(hk_config_set_com_fds(cfg, 2, -1, 2), HK_OK, "com fds without input accepted");
    CHECK_EQ(hk_config_set_com_fds(cfg, 1, 0, 1), HK_EEXIST, "com fds twice rejected");
    CHECK_EQ(hk_config_add_lpc(cfg, "com1,null"), HK_EEXIST, "lpc after com fds rejected");
    CHECK_EQ(hk_config_set_com_fds(cfg, 3, 0, 1), HK_EINVAL, "com fds port 3 rejected");
    CHECK_EQ(hk_config_set_com_fds(cfg, 0, 0, 1), HK_EINVAL, "com fds port 0 rejected");
    hk_config_free(cfg);
    cfg = fresh();
    CHECK_EQ(hk_config_set_com_fds(cfg, 1, 0, -1), HK_EINVAL, "com fds bad out_fd rejected");
    hk_config_free(cfg);
}

static void test_kexec(void)
{
    char spec[512];
    struct hk_boot b;
    hk_config *cfg = fresh();
    snprintf(spec, sizeof(spec), "kexec,%s,%s,\"console=ttyS0,115200 root=/dev/vda a=\"b,c\"\"",
             kernel, initrd);
    CHECK_EQ(config_parse_boot(cfg, spec, &b), HK_OK, "kexec parses");
    CHECK_EQ(b.kind, HK_BOOT_KEXEC, "kexec kind");
    CHECK(b.kernel && strcmp(b.kernel, kernel) == 0, "kexec kernel path");
    CHECK(b.initrd && strcmp(b.initrd, initrd) == 0, "kexec initrd path");
    CHECK(b.cmdline && strcmp(b.cmdline, "console=ttyS0,115200 root=/dev/vda a=\"b,c\"") == 0,
          "kexec cmdline keeps commas and inner quotes, outer quotes stripped");
    config_boot_release(&b);

    snprintf(spec, sizeof(spec), "kexec,%s,,\"quiet\"", kernel);
    CHECK_EQ(config_parse_boot(cfg, spec, &b), HK_OK, "kexec empty initrd parses");
    CHECK(b.initrd == NULL && b.cmdline && strcmp(b.cmdline, "quiet") == 0,
          "kexec empty initrd field means none");
    config_boot_release(&b);

    snprintf(spec, sizeof(spec), "kexec,%s,%s,a=1,b=2", kernel, initrd);
    CHECK_EQ(config_parse_boot(cfg, spec, &b), HK_OK, "kexec unquoted cmdline parses");
    CHECK(b.cmdline && strcmp(b.cmdline, "a=1,b=2") == 0, "kexec unquoted cmdline with commas");
    config_boot_release(&b);

    snprintf(spec, sizeof(spec), "kexec,%s", kernel);
    CHECK_EQ(config_parse_boot(cfg, spec, &b), HK_OK, "kexec kernel only parses");
    CHECK(b.initrd == NULL && b.cmdline == NULL, "kexec kernel only has no initrd or cmdline");
    config_boot_release(&b);

    CHECK_EQ(hk_config_set_boot(cfg, "kexec,/nonexistent/vmlinuz"), HK_ENOENT,
             "kexec missing kernel is ENOENT");
    CHECK(msg_has(cfg, "'/nonexistent/vmlinuz'"), "kexec missing kernel message names it");
    snprintf(spec, sizeof(spec), "kexec,%s,/nonexistent/initrd", kernel);
    CHECK_EQ(hk_config_set_boot(cfg, spec), HK_ENOENT, "kexec missing initrd is ENOENT");
    CHECK(msg_has(cfg, "initrd '/nonexistent/initrd'"), "kexec missing initrd message");
    CHECK_EQ(hk_config_set_boot(cfg, "kexec"), HK_EINVAL, "kexec without kernel rejected");
    CHECK_EQ(hk_config_set_boot(cfg, "kexec,,x"), HK_EINVAL, "kexec empty kernel rejected");
    CHECK_EQ(hk_config_set_boot(cfg, "kexec,/tmp"), HK_EINVAL, "kexec directory kernel rejected");
    CHECK_EQ(cfg->boot.kind, HK_BOOT_NONE, "kexec errors leave boot unset");
    snprintf(spec, sizeof(spec), "kexec,%s,%s,\"console=ttyS0\"", kernel, initrd);
    CHECK_EQ(hk_config_set_boot(cfg, spec), HK_OK, "kexec is accepted");
    CHECK_EQ(cfg->boot.kind, HK_BOOT_KEXEC, "kexec sets the boot kind");
    CHECK(cfg->boot.cmdline && strcmp(cfg->boot.cmdline, "console=ttyS0") == 0,
          "kexec keeps the unquoted command line");
    hk_config_free(cfg);
}

static void test_multiboot(void)
{
    char spec[512];
    struct hk_boot b;
    hk_config *cfg = fresh();
    snprintf(spec, sizeof(spec), "multiboot,%s,%s;arg1 arg2:%s,console=ttyS0,x", kernel, module1,
             module2);
    CHECK_EQ(config_parse_boot(cfg, spec, &b), HK_OK, "multiboot parses");
    CHECK_EQ(b.kind, HK_BOOT_MULTIBOOT, "multiboot kind");
    CHECK(b.kernel && strcmp(b.kernel, kernel) == 0, "multiboot kernel path");
    CHECK_EQ(b.nmodules, 2, "multiboot two modules");
    CHECK(strcmp(b.modules[0].path, module1) == 0 && b.modules[0].cmdline &&
              strcmp(b.modules[0].cmdline, "arg1 arg2") == 0,
          "multiboot module 1 path and cmdline");
    CHECK(strcmp(b.modules[1].path, module2) == 0 && b.modules[1].cmdline == NULL,
          "multiboot module 2 without cmdline");
    CHECK(b.cmdline && strcmp(b.cmdline, "console=ttyS0,x") == 0, "multiboot kernel cmdline");
    config_boot_release(&b);

    snprintf(spec, sizeof(spec), "multiboot,%s,,\"quiet\"", kernel);
    CHECK_EQ(config_parse_boot(cfg, spec, &b), HK_OK, "multiboot no modules parses");
    CHECK(b.nmodules == 0 && b.cmdline && strcmp(b.cmdline, "quiet") == 0,
          "multiboot no modules, quoted cmdline");
    config_boot_release(&b);

    snprintf(spec, sizeof(spec), "multiboot,%s,%s::%s", kernel, module1, module2);
    CHECK_EQ(config_parse_boot(cfg, spec, &b), HK_EINVAL, "multiboot empty module rejected");
    snprintf(spec, sizeof(spec), "multiboot,%s,/nonexistent/mod;x", kernel);
    CHECK_EQ(config_parse_boot(cfg, spec, &b), HK_ENOENT, "multiboot missing module ENOENT");
    CHECK(msg_has(cfg, "module '/nonexistent/mod'"), "multiboot missing module message");
    int n = snprintf(spec, sizeof(spec), "multiboot,%s,", kernel);
    for (int i = 0; i < HK_MAX_BOOT_MODULES + 1; i++)
        n += snprintf(spec + n, sizeof(spec) - (size_t)n, "%s%s", i ? ":" : "", module1);
    CHECK_EQ(config_parse_boot(cfg, spec, &b), HK_EINVAL, "multiboot too many modules rejected");

    snprintf(spec, sizeof(spec), "multiboot,%s", kernel);
    CHECK_EQ(hk_config_set_boot(cfg, spec), HK_OK, "multiboot is accepted");
    CHECK_EQ(cfg->boot.kind, HK_BOOT_MULTIBOOT, "multiboot sets the boot kind");
    hk_config_free(cfg);
}

static void test_boot_other(void)
{
    char spec[512];
    hk_config *cfg = fresh();
    snprintf(spec, sizeof(spec), "bootrom,%s", kernel);
    CHECK_EQ(hk_config_set_boot(cfg, spec), HK_ENOTSUP, "bootrom is ENOTSUP for now");
    CHECK(msg_has(cfg, "-f bootrom:"), "bootrom ENOTSUP message");
    CHECK_EQ(hk_config_set_boot(cfg, "bootrom,/nonexistent/rom"), HK_ENOENT, "bootrom missing ROM");
    CHECK_EQ(hk_config_set_boot(cfg, "fbsd,a,b"), HK_ENOTSUP, "fbsd is ENOTSUP");
    CHECK_EQ(hk_config_set_boot(cfg, "bogus,x"), HK_EINVAL, "unknown firmware rejected");
    CHECK(msg_has(cfg, "unknown firmware 'bogus'"), "unknown firmware message");
    CHECK_EQ(hk_config_set_boot(cfg, "kexecx,/tmp"), HK_EINVAL, "firmware prefix match rejected");
    CHECK_EQ(hk_config_set_boot(cfg, ""), HK_EINVAL, "empty firmware rejected");
    CHECK_EQ(hk_config_set_boot(cfg, "flat64,/nonexistent/guest.bin"), HK_ENOENT,
             "flat64 missing file ENOENT");
    CHECK(msg_has(cfg, "'/nonexistent/guest.bin'"), "flat64 missing file message names it");
    snprintf(spec, sizeof(spec), "flat64,%s,extra", kernel);
    CHECK_EQ(hk_config_set_boot(cfg, spec), HK_EINVAL, "flat64 extra field rejected");
    CHECK_EQ(hk_config_set_boot(cfg, "flat64"), HK_EINVAL, "flat64 without file rejected");
    CHECK_EQ(cfg->boot.kind, HK_BOOT_NONE, "boot unset after failures");

    snprintf(spec, sizeof(spec), "flat64,%s", kernel);
    CHECK_EQ(hk_config_set_boot(cfg, spec), HK_OK, "flat64 accepted");
    CHECK(cfg->boot.kind == HK_BOOT_FLAT64 && strcmp(cfg->boot.kernel, kernel) == 0,
          "flat64 stores the file");
    CHECK(strcmp(hk_config_error(cfg), "") == 0, "flat64 success clears error");
    CHECK_EQ(hk_config_set_boot(cfg, spec), HK_EEXIST, "-f twice rejected");
    CHECK(msg_has(cfg, "already set"), "-f twice message");
    hk_config_free(cfg);
}

static void test_uuid(void)
{
    hk_config *cfg = fresh();
    CHECK_EQ(hk_config_set_uuid(cfg, "01234567-89ab-CDEF-0123-456789abcdef"), HK_OK,
             "uuid accepted");
    static const uint8_t want[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                     0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    CHECK(cfg->has_uuid && memcmp(cfg->uuid, want, 16) == 0, "uuid bytes in text order");
    const char *bad[] = {"", "01234567-89ab-cdef-0123-456789abcde",
                         "01234567-89ab-cdef-0123-456789abcdef0", "0123456789abcdef0123456789abcdef",
                         "01234567-89ab-cdef-0123_456789abcdef", "0123456-789ab-cdef-0123-456789abcdef",
                         "g1234567-89ab-cdef-0123-456789abcdef", "{1234567-89ab-cdef-0123-456789abcde}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char name[96];
        snprintf(name, sizeof(name), "uuid bad form %zu rejected", i);
        CHECK(hk_config_set_uuid(cfg, bad[i]) == HK_EINVAL && msg_has(cfg, "invalid UUID"), name);
    }
    CHECK_EQ(hk_config_set_uuid(cfg, NULL), HK_EINVAL, "uuid NULL rejected");
    CHECK(memcmp(cfg->uuid, want, 16) == 0, "uuid unchanged by failures");
    hk_config_free(cfg);
}

static void test_gdb_flags_accel(void)
{
    hk_config *cfg = fresh();
    CHECK_EQ(hk_config_set_gdb_port(cfg, "1234"), HK_ENOTSUP, "gdb port is ENOTSUP");
    CHECK(msg_has(cfg, "GDB stub is not implemented yet"), "gdb ENOTSUP message");
    CHECK_EQ(hk_config_set_gdb_port(cfg, "0"), HK_EINVAL, "gdb port 0 rejected");
    CHECK_EQ(hk_config_set_gdb_port(cfg, "65536"), HK_EINVAL, "gdb port 65536 rejected");
    CHECK_EQ(hk_config_set_gdb_port(cfg, "x"), HK_EINVAL, "gdb port junk rejected");

    const enum hk_flag nyi[] = {HK_FLAG_X2APIC};
    const char *letters[] = {"-x:"};
    for (int i = 0; i < 1; i++) {
        char name[64];
        snprintf(name, sizeof(name), "flag %s on is ENOTSUP naming it", letters[i]);
        CHECK(hk_config_set_flag(cfg, nyi[i], true) == HK_ENOTSUP && msg_has(cfg, letters[i]),
              name);
        snprintf(name, sizeof(name), "flag %s off is accepted", letters[i]);
        CHECK_EQ(hk_config_set_flag(cfg, nyi[i], false), HK_OK, name);
    }
    const enum hk_flag ok[] = {HK_FLAG_CORE_GUESTMEM, HK_FLAG_EXIT_ON_UNHANDLED_IO,
                               HK_FLAG_EXIT_ON_HLT, HK_FLAG_EXIT_ON_PAUSE,
                               HK_FLAG_IGNORE_BAD_MSR, HK_FLAG_NO_MPTABLE, HK_FLAG_RTC_UTC,
                               HK_FLAG_ACPI, HK_FLAG_VIRTIO_MSIX_OFF};
    const char *ok_letters[] = {"-C", "-e", "-H", "-P", "-w", "-Y", "-u", "-A", "-W"};
    for (int i = 0; i < 9; i++) {
        char name[64];
        snprintf(name, sizeof(name), "flag %s accepted and stored", ok_letters[i]);
        CHECK(hk_config_set_flag(cfg, ok[i], true) == HK_OK && cfg->flags[ok[i]], name);
    }
    CHECK_EQ(hk_config_set_flag(cfg, HK_FLAG_COUNT, true), HK_EINVAL, "flag out of range");

    CHECK_EQ(hk_config_set_accel(cfg, "emu"), HK_OK, "accel emu accepted");
    CHECK(strcmp(cfg->accel, "emu") == 0, "accel emu stored");
    CHECK_EQ(hk_config_set_accel(cfg, "kvm"), HK_OK, "accel kvm accepted");
    CHECK_EQ(hk_config_set_accel(cfg, "auto"), HK_OK, "accel auto accepted");
    CHECK_EQ(hk_config_set_accel(cfg, "tcg"), HK_EINVAL, "accel tcg rejected");
    CHECK(msg_has(cfg, "unknown accelerator 'tcg'"), "accel message names it");
    CHECK_EQ(hk_config_set_accel(cfg, NULL), HK_EINVAL, "accel NULL rejected");
    CHECK(strcmp(cfg->accel, "auto") == 0, "accel unchanged by failures");

    CHECK_EQ(hk_config_set_debug_exit(cfg, 0xf4), HK_OK, "debug exit accepted");
    CHECK_EQ(cfg->debug_exit_port, 0xf4, "debug exit port stored");
    hk_config_set_log(cfg, NULL, cfg, HK_LOG_DEBUG);
    CHECK(cfg->log_level == HK_LOG_DEBUG && cfg->log_opaque == cfg, "log settings stored");
    hk_config_free(cfg);
}

static void test_strerror_and_copy(void)
{
    int codes[] = {HK_OK, HK_EINVAL, HK_ENOMEM, HK_ENOENT, HK_EIO, HK_ENOTSUP,
                   HK_EEXIST, HK_ESTATE, HK_ENOACCEL, HK_EGUEST};
    int distinct = 1;
    for (size_t i = 1; i < sizeof(codes) / sizeof(codes[0]); i++)
        distinct &= strcmp(hk_strerror(codes[i]), hk_strerror(codes[i - 1])) != 0;
    CHECK(distinct, "strerror texts are distinct");
    CHECK(strcmp(hk_strerror(-1000), "unknown error") == 0, "strerror unknown code");

    char spec[128];
    hk_config *cfg = fresh();
    snprintf(spec, sizeof(spec), "flat64,%s", kernel);
    hk_config_set_boot(cfg, spec);
    hk_config_add_lpc(cfg, "com1,log=/tmp/hk-copy.log");
    cfg->pci[0] = (struct hk_pci_slot){.slot = 4, .emulation = "virtio-rnd", .conf = strdup("x")};
    cfg->npci = 1;
    struct hk_config copy;
    CHECK_EQ(config_copy(&copy, cfg), HK_OK, "config_copy succeeds");
    CHECK(copy.boot.kernel != cfg->boot.kernel && strcmp(copy.boot.kernel, kernel) == 0,
          "config_copy duplicates the kernel path");
    CHECK(copy.com[0].path != cfg->com[0].path && strcmp(copy.com[0].path, "/tmp/hk-copy.log") == 0,
          "config_copy duplicates com paths");
    CHECK(copy.pci[0].conf != cfg->pci[0].conf && strcmp(copy.pci[0].conf, "x") == 0,
          "config_copy duplicates pci conf");
    hk_config_free(cfg);
    config_release(&copy);
    config_release(&copy);
    CHECK(copy.boot.kernel == NULL && copy.com[0].path == NULL, "config_release is idempotent");
}

int main(void)
{
    make_file(kernel, sizeof(kernel));
    make_file(initrd, sizeof(initrd));
    make_file(module1, sizeof(module1));
    make_file(module2, sizeof(module2));
    test_defaults();
    test_memory();
    test_vcpus();
    test_pci();
    test_pci_duplicates();
    test_lpc();
    test_com_fds();
    test_kexec();
    test_multiboot();
    test_boot_other();
    test_uuid();
    test_gdb_flags_accel();
    test_strerror_and_copy();
    unlink(kernel);
    unlink(initrd);
    unlink(module1);
    unlink(module2);
    TEST_EXIT();
}
