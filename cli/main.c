/*
 * hyperkit: run an x86-64 VM from the command line, with moby/hyperkit's
 * options. A thin client of libhyperkit: every option goes straight to the
 * hk_config_* call that takes the same text.
 *
 * Bad input gets exactly one "hyperkit: ..." line on stderr and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define DEBUG_EXIT_DEFAULT_PORT 0xf4 /* QEMU isa-debug-exit's usual iobase */

enum { OPT_ACCEL = 256, OPT_DEBUG_EXIT, OPT_TRACE };

/* Leading '+': stop at the first non-option, as BSD getopt does in hyperkit.
 * Leading ':' (after it): report a missing argument as ':'. */
static const char short_opts[] = "+:AbCc:ef:F:g:hHl:m:MPs:uU:vwWxY";

static const struct option long_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {"accel", required_argument, NULL, OPT_ACCEL},
    {"debug-exit", optional_argument, NULL, OPT_DEBUG_EXIT},
    {"trace", required_argument, NULL, OPT_TRACE},
    {NULL, 0, NULL, 0},
};

/* hyperkit's boolean letters and the library flag each one sets. */
static const struct {
    char letter;
    enum hk_flag flag;
} flag_letters[] = {
    {'A', HK_FLAG_ACPI},          {'C', HK_FLAG_CORE_GUESTMEM},
    {'e', HK_FLAG_EXIT_ON_UNHANDLED_IO}, {'H', HK_FLAG_EXIT_ON_HLT},
    {'P', HK_FLAG_EXIT_ON_PAUSE}, {'u', HK_FLAG_RTC_UTC},
    {'w', HK_FLAG_IGNORE_BAD_MSR}, {'W', HK_FLAG_VIRTIO_MSIX_OFF},
    {'x', HK_FLAG_X2APIC},        {'Y', HK_FLAG_NO_MPTABLE},
};

struct cli {
    hk_config *cfg;
    const char *pidfile;
    const char *accel;      /* --accel, else $HYPERKIT_ACCEL */
    bool have_firmware;
    bool pidfile_made;
};

/* What an option asks of main(). */
enum opt_result { OPT_OK, OPT_FAIL, OPT_EXIT_OK };

int cli_fail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "hyperkit: %s\n", msg);
    return 1;
}

/* The result of a hk_config_* call: print its message if it failed. */
static enum opt_result config_result(struct cli *cli, int rc)
{
    if (rc == HK_OK)
        return OPT_OK;
    const char *msg = hk_config_error(cli->cfg);
    cli_fail("%s", *msg ? msg : hk_strerror(rc));
    return OPT_FAIL;
}

static enum opt_result set_debug_exit(struct cli *cli, const char *arg)
{
    unsigned long port = DEBUG_EXIT_DEFAULT_PORT;
    if (arg != NULL) {
        char *end;
        errno = 0;
        port = strtoul(arg, &end, 0);
        if (*arg == '\0' || *arg == '-' || *end != '\0' || errno != 0 || port > 0xffff) {
            cli_fail("--debug-exit=%s: invalid port (expected 0-0xffff)", arg);
            return OPT_FAIL;
        }
    }
    return config_result(cli, hk_config_set_debug_exit(cli->cfg, (uint16_t)port));
}

static enum opt_result set_flag_letter(struct cli *cli, int c)
{
    for (size_t i = 0; i < sizeof(flag_letters) / sizeof(flag_letters[0]); i++) {
        if (flag_letters[i].letter == c)
            return config_result(cli, hk_config_set_flag(cli->cfg, flag_letters[i].flag, true));
    }
    cli_fail("internal error: option -%c has no handler", c);
    return OPT_FAIL;
}

static enum opt_result apply_option(struct cli *cli, int c, const char *arg)
{
    hk_config *cfg = cli->cfg;
    switch (c) {
    case 'h': cli_usage(stdout); return OPT_EXIT_OK;
    case 'v': cli_version(stdout); return OPT_EXIT_OK;
    case 'c': return config_result(cli, hk_config_set_vcpus(cfg, arg));
    case 'm': return config_result(cli, hk_config_set_memory(cfg, arg));
    case 's': return config_result(cli, hk_config_add_pci(cfg, arg));
    case 'l': return config_result(cli, hk_config_add_lpc(cfg, arg));
    case 'U': return config_result(cli, hk_config_set_uuid(cfg, arg));
    case 'g': return config_result(cli, hk_config_set_gdb_port(cfg, arg));
    case 'F': cli->pidfile = arg; return OPT_OK;
    case OPT_ACCEL: cli->accel = arg; return OPT_OK;
    case OPT_DEBUG_EXIT: return set_debug_exit(cli, arg);
    case OPT_TRACE: return config_result(cli, hk_config_set_trace(cli->cfg, arg));
    case 'f':
        cli->have_firmware = true;
        return config_result(cli, hk_config_set_boot(cfg, arg));
    case 'b':
        /* bhyve's bvm console: a FreeBSD-only paravirtual console port. */
        cli_fail("-b: the bvm console is not supported");
        return OPT_FAIL;
    case 'M':
        /* xhyve's "print the vmnet MAC address and exit"; moby/hyperkit
         * dropped its handler, and vmnet is macOS-only. */
        cli_fail("-M: printing the vmnet MAC address is not supported (vmnet is macOS-only)");
        return OPT_FAIL;
    default: return set_flag_letter(cli, c);
    }
}

/*
 * Name the option getopt_long() just rejected: cur is the argument it was
 * looking at (a long option is always a whole argument of its own).
 */
static void rejected_option(const char *cur, char *buf, size_t size)
{
    if (cur && strncmp(cur, "--", 2) == 0)
        snprintf(buf, size, "%.*s", (int)strcspn(cur, "="), cur);
    else
        snprintf(buf, size, "-%c", optopt);
}

static enum opt_result parse_options(struct cli *cli, int argc, char *argv[])
{
    char name[64];
    opterr = 0; /* we print our own one-line messages */
    for (;;) {
        const char *cur = optind < argc ? argv[optind] : NULL;
        int c = getopt_long(argc, argv, short_opts, long_opts, NULL);
        if (c == -1)
            break;
        if (c == '?' || c == ':') {
            rejected_option(cur, name, sizeof(name));
            if (c == ':')
                cli_fail("option %s needs a value (see hyperkit -h)", name);
            else if (strncmp(name, "--", 2) == 0 && optopt != 0)
                cli_fail("option %s takes no value (see hyperkit -h)", name);
            else
                cli_fail("unknown option %s (see hyperkit -h)", name);
            return OPT_FAIL;
        }
        enum opt_result r = apply_option(cli, c, optarg);
        if (r != OPT_OK)
            return r;
    }
    if (optind < argc) {
        cli_fail("unexpected argument '%s' (see hyperkit -h)", argv[optind]);
        return OPT_FAIL;
    }
    if (!cli->have_firmware) {
        cli_fail("no firmware given: use -f kexec,KERNEL[,INITRD][,\"CMDLINE\"] (see hyperkit -h)");
        return OPT_FAIL;
    }
    const char *accel_from = "--accel";
    if (cli->accel == NULL) {
        cli->accel = getenv("HYPERKIT_ACCEL");
        accel_from = "HYPERKIT_ACCEL";
    }
    if (cli->accel != NULL && hk_config_set_accel(cli->cfg, cli->accel) != HK_OK) {
        cli_fail("%s: %s", accel_from, hk_config_error(cli->cfg));
        return OPT_FAIL;
    }
    return OPT_OK;
}

/* hyperkit's pidfile: created exclusively so two VMs never share one. */
static int pidfile_create(struct cli *cli)
{
    if (cli->pidfile == NULL)
        return 0;
    int fd = open(cli->pidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return cli_fail("-F %s: %s", cli->pidfile, strerror(errno));
    cli->pidfile_made = true;
    char buf[24];
    int len = snprintf(buf, sizeof(buf), "%ld", (long)getpid());
    bool ok = write(fd, buf, (size_t)len) == len;
    if (close(fd) != 0)
        ok = false;
    if (!ok)
        return cli_fail("-F %s: cannot write the pid: %s", cli->pidfile, strerror(errno));
    return 0;
}

static void pidfile_remove(struct cli *cli)
{
    if (cli->pidfile_made && unlink(cli->pidfile) != 0)
        cli_fail("-F %s: cannot remove the pidfile: %s", cli->pidfile, strerror(errno));
    cli->pidfile_made = false;
}

/* Create, start and wait for the VM; returns the process exit status. */
static int run_vm(struct cli *cli)
{
    struct cli_signals sigs;
    hk_vm *vm = NULL;
    if (cli_signals_block(&sigs) != 0)
        return cli_fail("cannot block signals: %s", strerror(errno));
    int rc = hk_vm_create(cli->cfg, &vm);
    if (rc != HK_OK) {
        const char *msg = hk_config_error(cli->cfg);
        return cli_fail("%s", *msg ? msg : hk_strerror(rc));
    }
    int status = 1;
    struct hk_exit ex = {0};
    if ((rc = hk_vm_start(vm)) != HK_OK) {
        cli_fail("cannot start the VM: %s", hk_strerror(rc));
    } else if (cli_signals_start(&sigs, vm) != 0) {
        cli_fail("cannot start the signal thread");
        hk_vm_request_stop(vm);
        hk_vm_wait(vm, &ex);
    } else if ((rc = hk_vm_wait(vm, &ex)) != HK_OK) {
        cli_fail("%s", hk_strerror(rc));
    } else {
        status = hk_exit_status(&ex);
        if (ex.reason == HK_EXIT_ERROR && ex.message[0])
            cli_fail("%s", ex.message);
    }
    cli_signals_stop(&sigs);
    hk_vm_destroy(vm);
    return status;
}

int main(int argc, char *argv[])
{
    struct cli cli = {0};
    if (hk_config_new(&cli.cfg) != HK_OK)
        return cli_fail("out of memory");
    int status = 1;
    enum opt_result r = parse_options(&cli, argc, argv);
    if (r == OPT_EXIT_OK)
        status = 0;
    else if (r == OPT_OK && pidfile_create(&cli) == 0)
        status = run_vm(&cli);
    pidfile_remove(&cli);
    hk_config_free(cli.cfg);
    return status;
}
