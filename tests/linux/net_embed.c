/*
 * A small libhyperkit embedder for tests/linux/test_net.sh: it takes the
 * hyperkit options the Linux tests use (-m -c -s -l -f -A -U --accel=E)
 * and runs the VM as the CLI would, and meanwhile reads commands from the
 * fifo $NET_EMBED_CTL, one a line, to change port forwards at run time
 * through the public API:
 *   add SPEC | del SPEC   hk_vm_net_hostfwd(vm, -1, SPEC, add|remove)
 * Each command's answer is one line appended to $NET_EMBED_OUT:
 *   "fwd N rc=R MESSAGE" (N counts commands from 1, R the HK_E* code).
 * Exit status as hyperkit's.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hyperkit.h"

struct ctl {
    hk_vm *vm;
    FILE *in, *out;
    pthread_mutex_t mu;         /* held over each call: destroy waits for it */
    bool done;
};

static void *ctl_thread(void *arg)
{
    struct ctl *c = arg;
    char line[300], err[200];
    for (int n = 1; fgets(line, sizeof(line), c->in); n++) {
        line[strcspn(line, "\n")] = 0;
        bool add = strncmp(line, "add ", 4) == 0;
        int rc = HK_EINVAL;
        snprintf(err, sizeof(err), "want 'add SPEC' or 'del SPEC'");
        pthread_mutex_lock(&c->mu);
        if (c->done) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        if (add || strncmp(line, "del ", 4) == 0)
            rc = hk_vm_net_hostfwd(c->vm, -1, line + 4, add, err, sizeof(err));
        pthread_mutex_unlock(&c->mu);
        fprintf(c->out, "fwd %d rc=%d %s\n", n, rc, rc ? err : "ok");
        fflush(c->out);
    }
    return NULL;
}

static int configure(hk_config *cfg, int argc, char **argv)
{
    static const struct option lo[] = {{"accel", required_argument, NULL, 'E'}, {0}};
    int o, rc = HK_OK;
    while (rc == HK_OK && (o = getopt_long(argc, argv, "m:c:s:l:f:U:A", lo, NULL)) != -1) {
        switch (o) {
        case 'm': rc = hk_config_set_memory(cfg, optarg); break;
        case 'c': rc = hk_config_set_vcpus(cfg, optarg); break;
        case 's': rc = hk_config_add_pci(cfg, optarg); break;
        case 'l': rc = hk_config_add_lpc(cfg, optarg); break;
        case 'f': rc = hk_config_set_boot(cfg, optarg); break;
        case 'U': rc = hk_config_set_uuid(cfg, optarg); break;
        case 'A': rc = hk_config_set_flag(cfg, HK_FLAG_ACPI, true); break;
        case 'E': rc = hk_config_set_accel(cfg, optarg); break;
        default: return HK_EINVAL;
        }
    }
    if (rc)
        fprintf(stderr, "net_embed: %s\n", hk_config_error(cfg));
    return rc;
}

int main(int argc, char **argv)
{
    const char *in = getenv("NET_EMBED_CTL"), *out = getenv("NET_EMBED_OUT");
    struct ctl c = {.mu = PTHREAD_MUTEX_INITIALIZER};
    hk_config *cfg;
    if (!in || !out || hk_config_new(&cfg)) {
        fprintf(stderr, "net_embed: set NET_EMBED_CTL (a fifo) and NET_EMBED_OUT\n");
        return 1;
    }
    /* O_RDWR: the fifo never reports EOF between the test's writers. */
    int fd = open(in, O_RDWR | O_CLOEXEC);
    if (fd < 0 || !(c.in = fdopen(fd, "r")) || !(c.out = fopen(out, "a"))) {
        perror("net_embed: control files");
        return 1;
    }
    if (configure(cfg, argc, argv) || hk_vm_create(cfg, &c.vm)) {
        fprintf(stderr, "net_embed: %s\n", hk_config_error(cfg));
        return 1;
    }
    hk_config_free(cfg);
    pthread_t t;
    struct hk_exit ex = {0};
    if (pthread_create(&t, NULL, ctl_thread, &c) || hk_vm_start(c.vm) || hk_vm_wait(c.vm, &ex))
        return 1;
    pthread_mutex_lock(&c.mu);
    c.done = true;
    hk_vm_destroy(c.vm);
    pthread_mutex_unlock(&c.mu);
    return hk_exit_status(&ex);
}
