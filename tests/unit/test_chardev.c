/* Serial-port character streams: each backend, errors, dead readers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/chardev.h"
#include "test.h"

static struct hk_com com_of(enum hk_com_backend b, char *path)
{
    return (struct hk_com){.backend = b, .path = path, .in_fd = -1, .out_fd = -1};
}

static void test_null(void)
{
    struct hk_com com = com_of(HK_COM_NULL, NULL);
    struct chardev *cd = NULL;
    char err[200];
    CHECK_EQ(chardev_open(&com, "com1", &cd, err, sizeof(err)), 0, "chardev null opens");
    chardev_write(cd, "discard", 7);
    CHECK_EQ(chardev_input_fd(cd), -1, "chardev null has no input");
    CHECK(strcmp(chardev_describe(cd), "null") == 0, "chardev null describes itself");
    chardev_close(cd);
    chardev_close(NULL);
}

static void test_log(const char *dir)
{
    char path[PATH_MAX], err[PATH_MAX + 100];
    snprintf(path, sizeof(path), "%s/com.log", dir);
    struct hk_com com = com_of(HK_COM_LOG, path);
    struct chardev *cd = NULL;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(chardev_open(&com, "com1", &cd, err, sizeof(err)), 0, "chardev log opens");
        chardev_write(cd, "line\n", 5);
        CHECK_EQ(chardev_input_fd(cd), -1, "chardev log has no input");
        chardev_close(cd);
    }
    char buf[32] = "";
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    CHECK(n == 10 && strcmp(buf, "line\nline\n") == 0, "chardev log appends across opens");
    snprintf(path, sizeof(path), "%s/missing/com.log", dir);
    CHECK_EQ(chardev_open(&com, "com1", &cd, err, sizeof(err)), HK_ENOENT,
             "chardev log in a missing directory fails HK_ENOENT");
    CHECK(strstr(err, path) && strstr(err, "No such file") && !strchr(err, '\n'),
          "chardev error is one line with the path and reason");
    com.path = NULL;
    CHECK_EQ(chardev_open(&com, "com1", &cd, err, sizeof(err)), HK_EINVAL,
             "chardev log without a path fails");
}

static void test_device(const char *dir)
{
    char path[PATH_MAX], err[PATH_MAX + 100];
    snprintf(path, sizeof(path), "%s/missing-device", dir);
    struct hk_com com = com_of(HK_COM_DEVICE, path);
    struct chardev *cd = NULL;
    CHECK_EQ(chardev_open(&com, "com2", &cd, err, sizeof(err)), HK_ENOENT,
             "chardev missing device fails HK_ENOENT");
    snprintf(path, sizeof(path), "%s/device-file", dir);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    CHECK_EQ(chardev_open(&com, "com2", &cd, err, sizeof(err)), 0,
             "chardev device on a plain file opens");
    chardev_write(cd, "dev", 3);
    CHECK(strcmp(chardev_describe(cd), path) == 0, "chardev device describes its path");
    chardev_close(cd);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 3, "chardev device output written");
}

static void test_fds(void)
{
    int in[2], out[2];
    if (pipe(in) < 0 || pipe(out) < 0)
        exit(1);
    struct hk_com com = {.backend = HK_COM_FDS, .in_fd = in[0], .out_fd = out[1]};
    struct chardev *cd = NULL;
    char err[200];
    CHECK_EQ(chardev_open(&com, "com1", &cd, err, sizeof(err)), 0, "chardev fds opens");
    CHECK_EQ(chardev_input_fd(cd), in[0], "chardev fds input is in_fd");
    char buf[8];
    CHECK_EQ(chardev_read(cd, buf, sizeof(buf)), 0, "chardev read with nothing ready is 0");
    CHECK_EQ(write(in[1], "hey", 3), 3, "chardev test wrote input");
    CHECK_EQ(chardev_read(cd, buf, sizeof(buf)), 3, "chardev read returns what is there");
    chardev_write(cd, "out", 3);
    CHECK(read(out[0], buf, sizeof(buf)) == 3 && memcmp(buf, "out", 3) == 0,
          "chardev fds output reaches out_fd");
    close(in[1]);
    CHECK(chardev_read(cd, buf, sizeof(buf)) < 0, "chardev read at EOF reports the end");
    close(out[0]);
    chardev_write(cd, "gone", 4);   /* must not die of SIGPIPE */
    chardev_write(cd, "gone", 4);
    CHECK(1, "chardev write to a pipe without reader is dropped quietly");
    chardev_close(cd);
    CHECK(fcntl(in[0], F_GETFD) >= 0 && fcntl(out[1], F_GETFD) >= 0,
          "chardev close leaves the embedder's fds open");
    close(in[0]);
    close(out[1]);
    com = (struct hk_com){.backend = HK_COM_FDS, .in_fd = -1, .out_fd = 999};
    CHECK_EQ(chardev_open(&com, "com1", &cd, err, sizeof(err)), HK_EINVAL,
             "chardev fds with a closed fd refused");
}

/* A stuck reader costs one bounded wait, not one per byte. */
static void test_stuck_reader(void)
{
    int out[2];
    if (pipe(out) < 0)
        exit(1);
    fcntl(out[1], F_SETPIPE_SZ, 4096);
    struct hk_com com = {.backend = HK_COM_FDS, .in_fd = -1, .out_fd = out[1]};
    struct chardev *cd = NULL;
    char err[200], block[1024];
    memset(block, 'x', sizeof(block));
    chardev_open(&com, "com1", &cd, err, sizeof(err));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 64; i++)
        chardev_write(cd, block, sizeof(block));
    for (int i = 0; i < 1000; i++)
        chardev_write(cd, "y", 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(s < 5.0, "chardev stuck reader stalls once, then output is dropped");
    char buf[4096];
    while (read(out[0], buf, sizeof(buf)) == sizeof(buf))
        ;
    chardev_write(cd, "z", 1);
    char last = 0;
    CHECK(read(out[0], &last, 1) == 1 && last == 'z', "chardev output resumes once drained");
    chardev_close(cd);
    close(out[0]);
    close(out[1]);
}

static void test_autopty(const char *dir)
{
    char link[PATH_MAX], err[PATH_MAX + 100], target[PATH_MAX] = "";
    snprintf(link, sizeof(link), "%s/tty-link", dir);
    struct hk_com com = com_of(HK_COM_AUTOPTY, link);
    struct chardev *cd = NULL;
    int r = chardev_open(&com, "com1", &cd, err, sizeof(err));
    if (r == HK_EIO && strstr(err, "pseudo-terminal")) {
        CHECK(1, "chardev autopty skipped: no ptys on this host");
        return;
    }
    CHECK_EQ(r, 0, "chardev autopty opens");
    const char *name = chardev_describe(cd);
    CHECK(strncmp(name, "/dev/pts/", 9) == 0, "chardev autopty describes its /dev/pts name");
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    CHECK(n > 0 && strcmp(target, name) == 0, "chardev autopty link points at the pty");
    int slave = open(name, O_RDWR | O_NOCTTY);
    chardev_write(cd, "to-user", 7);
    char buf[32] = "";
    CHECK(read(slave, buf, sizeof(buf)) == 7 && memcmp(buf, "to-user", 7) == 0,
          "chardev autopty output reaches the attached user");
    CHECK_EQ(chardev_read(cd, buf, sizeof(buf)), 0, "chardev autopty does not echo output");
    CHECK_EQ(write(slave, "key", 3), 3, "chardev test typed into the pty");
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    CHECK_EQ(chardev_read(cd, buf, sizeof(buf)), 3, "chardev autopty input from the user");
    close(slave);
    char block[4096];
    memset(block, 'x', sizeof(block));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 64; i++)
        chardev_write(cd, block, sizeof(block));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(t1.tv_sec - t0.tv_sec < 2, "chardev autopty without reader drops, never stalls");
    CHECK_EQ(chardev_read(cd, buf, sizeof(buf)), 0, "chardev autopty no input when detached");
    chardev_close(cd);
    struct stat st;
    CHECK(lstat(link, &st) < 0 && errno == ENOENT, "chardev autopty link removed on close");
    close(open(link, O_CREAT | O_WRONLY, 0600));
    CHECK_EQ(chardev_open(&com, "com1", &cd, err, sizeof(err)), HK_EEXIST,
             "chardev autopty refuses to replace a regular file");
    unlink(link);
}

int main(void)
{
    char dir[] = "/tmp/hk-chardev-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_null();
    test_log(dir);
    test_device(dir);
    test_fds();
    test_stuck_reader();
    test_autopty(dir);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    TEST_EXIT();
}
