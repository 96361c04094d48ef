/*
 * The library API from an embedding application's side: two VMs running at
 * once in one process, console output through file descriptors, pause,
 * resume, stop, and errors reported through hk_config_error().
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hyperkit.h"
#include "test.h"

static const char *guest(const char *name)
{
    static char path[512];
    const char *dir = getenv("GUESTS");
    snprintf(path, sizeof(path), "%s/%s.bin", dir ? dir : "build/guests", name);
    return path;
}

struct vm_run {
    hk_vm *vm;
    int out[2];
    int in[2];
};

static int make_vm(struct vm_run *r, const char *name, bool debug_exit)
{
    hk_config *cfg;
    char boot[600];
    if (hk_config_new(&cfg) || pipe(r->out) || pipe(r->in))
        return -1;
    snprintf(boot, sizeof(boot), "flat64,%s", guest(name));
    int rc = hk_config_set_memory(cfg, "64M");
    if (!rc) rc = hk_config_set_boot(cfg, boot);
    if (!rc) rc = hk_config_set_accel(cfg, "emu");
    if (!rc) rc = hk_config_set_com_fds(cfg, 1, r->in[0], r->out[1]);
    if (!rc && debug_exit) rc = hk_config_set_debug_exit(cfg, 0xf4);
    if (!rc) rc = hk_vm_create(cfg, &r->vm);
    if (rc)
        fprintf(stderr, "create: %s\n", hk_config_error(cfg));
    hk_config_free(cfg);
    return rc;
}

static void read_all(int fd, char *buf, size_t n)
{
    size_t got = 0;
    ssize_t k;
    while (got + 1 < n && (k = read(fd, buf + got, n - 1 - got)) > 0)
        got += (size_t)k;
    buf[got] = '\0';
}

static void close_run(struct vm_run *r)
{
    hk_vm_destroy(r->vm);
    close(r->out[0]);
    close(r->out[1]);
    close(r->in[0]);
    close(r->in[1]);
}

static void test_two_vms_at_once(void)
{
    struct vm_run a, b;
    CHECK(make_vm(&a, "compute", true) == 0, "two VMs: first created");
    CHECK(make_vm(&b, "hello", true) == 0, "two VMs: second created");
    CHECK(strcmp(hk_vm_accel_name(a.vm), "emu") == 0, "two VMs: engine is emu");
    CHECK(hk_vm_start(a.vm) == 0, "two VMs: first started");
    CHECK(hk_vm_start(b.vm) == 0, "two VMs: second started");
    struct hk_exit ea, eb;
    CHECK(hk_vm_wait(a.vm, &ea) == 0, "two VMs: first waited");
    CHECK(hk_vm_wait(b.vm, &eb) == 0, "two VMs: second waited");
    close(a.out[1]);
    close(b.out[1]);
    a.out[1] = b.out[1] = -1;
    char oa[512], ob[64];
    read_all(a.out[0], oa, sizeof(oa));
    read_all(b.out[0], ob, sizeof(ob));
    CHECK(strstr(oa, "0000000000001a6d\n") != NULL, "two VMs: first printed its results");
    CHECK(strcmp(ob, "hello\n") == 0, "two VMs: second printed hello");
    CHECK_EQ(ea.reason, HK_EXIT_DEBUG_EXIT, "two VMs: first ended by debug exit");
    CHECK_EQ(hk_exit_status(&eb), 43, "two VMs: second's status is 43");
    close_run(&a);
    close_run(&b);
}

static void test_pause_resume_stop(void)
{
    struct vm_run r;
    CHECK(make_vm(&r, "echo", true) == 0, "lifecycle: created");
    CHECK_EQ(hk_vm_pause(r.vm), HK_ESTATE, "lifecycle: pause before start is refused");
    CHECK(hk_vm_start(r.vm) == 0, "lifecycle: started");
    CHECK_EQ(hk_vm_start(r.vm), HK_ESTATE, "lifecycle: second start is refused");
    CHECK(hk_vm_pause(r.vm) == 0, "lifecycle: paused");
    CHECK(write(r.in[1], "x", 1) == 1, "lifecycle: input sent while paused");
    usleep(100000);
    struct hk_exit e;
    CHECK_EQ(hk_vm_poll(r.vm, &e), 0, "lifecycle: still running while paused");
    CHECK(hk_vm_resume(r.vm) == 0, "lifecycle: resumed");
    CHECK(write(r.in[1], "q", 1) == 1, "lifecycle: quit sent");
    CHECK(hk_vm_wait(r.vm, &e) == 0, "lifecycle: waited");
    CHECK_EQ(hk_exit_status(&e), 1, "lifecycle: guest quit through debug exit");
    close(r.out[1]);
    r.out[1] = -1;
    char out[128];
    read_all(r.out[0], out, sizeof(out));
    CHECK(strcmp(out, "echo> X\nbye\n") == 0, "lifecycle: input reached the guest after resume");
    close_run(&r);

    CHECK(make_vm(&r, "echo", false) == 0, "stop: created");
    CHECK(hk_vm_start(r.vm) == 0, "stop: started");
    usleep(50000);
    CHECK(hk_vm_request_stop(r.vm) == 0, "stop: requested");
    CHECK(hk_vm_wait(r.vm, &e) == 0, "stop: waited");
    CHECK_EQ(e.reason, HK_EXIT_POWEROFF, "stop: reason is power-off");
    CHECK_EQ(hk_exit_status(&e), 0, "stop: status 0");
    close_run(&r);
}

static void test_create_errors(void)
{
    hk_config *cfg;
    hk_vm *vm = NULL;
    CHECK(hk_config_new(&cfg) == 0, "errors: config");
    CHECK_EQ(hk_vm_create(cfg, &vm), HK_EINVAL, "errors: no boot target is refused");
    CHECK(strstr(hk_config_error(cfg), "-f") != NULL, "errors: message names -f");
    char boot[600];
    snprintf(boot, sizeof(boot), "flat64,%s", guest("hello"));
    CHECK(hk_config_set_boot(cfg, boot) == 0, "errors: boot set");
    CHECK(hk_config_set_accel(cfg, "kvm") == 0, "errors: kvm accepted as a name");
    int rc = hk_vm_create(cfg, &vm);
    if (access("/dev/kvm", R_OK | W_OK) == 0) {
        CHECK(rc == 0 || rc == HK_ENOTSUP, "errors: kvm either works or is reported");
        if (rc == 0)
            hk_vm_destroy(vm);
    } else {
        CHECK(rc != 0, "errors: kvm without /dev/kvm is refused");
        CHECK(strstr(hk_config_error(cfg), "kvm") != NULL, "errors: message names kvm");
    }
    CHECK(hk_strerror(HK_ENOACCEL)[0] != '\0', "errors: hk_strerror has text");
    hk_config_free(cfg);
}

int main(void)
{
    test_two_vms_at_once();
    test_pause_resume_stop();
    test_create_errors();
    TEST_EXIT();
}
