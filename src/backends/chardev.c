/*
 * Character streams: stdio, null, log file, host device, embedder fds.
 * The pseudo-terminal backend is in chardev_pty.c.
 */
#include "backends/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/chardev_priv.h"

/* A reader that stops reading stalls the vCPU this long once, then output
 * is dropped until the reader catches up (chardev_write). */
#define CHARDEV_WAIT_MS 2000

int chardev_fail(char *err, size_t errlen, const char *what, int e)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what, strerror(e));
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ENXIO:
        return HK_ENOENT;
    case EEXIST:
        return HK_EEXIST;
    case ENOMEM:
        return HK_ENOMEM;
    case EINVAL:
        return HK_EINVAL;
    default:
        return HK_EIO;
    }
}

int chardev_make_raw(struct chardev *cd, int fd, bool keep_opost)
{
    struct termios tio;
    if (tcgetattr(fd, &cd->tty_saved) < 0)
        return -errno;
    tio = cd->tty_saved;
    cfmakeraw(&tio);
    /* CLOCAL: a host serial line without carrier must not block or hang us
     * up. OPOST (stdio only) lets the host terminal turn a guest's bare
     * "\n" into "\r\n", as QEMU's stdio backend does. */
    tio.c_cflag |= CLOCAL | CREAD;
    if (keep_opost)
        tio.c_oflag |= OPOST | ONLCR;
    if (tcsetattr(fd, TCSANOW, &tio) < 0)
        return -errno;
    cd->tty_fd = fd;
    return 0;
}

static int open_stdio(struct chardev *cd, char *err, size_t errlen)
{
    cd->in_fd = STDIN_FILENO;
    cd->out_fd = STDOUT_FILENO;
    cd->out_shared = true;
    /* Raw mode so keys (Ctrl-C included) reach the guest one by one. */
    if (isatty(STDIN_FILENO)) {
        int r = chardev_make_raw(cd, STDIN_FILENO, true);
        if (r < 0)
            return chardev_fail(err, errlen, "stdin", -r);
    }
    return HK_OK;
}

static int open_log(struct chardev *cd, const struct hk_com *cfg, char *err, size_t errlen)
{
    int fd = open(cfg->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return chardev_fail(err, errlen, cfg->path, errno);
    cd->out_fd = fd;
    cd->close_out = true;
    cd->out_shared = true;   /* opened blocking (a FIFO would refuse O_NONBLOCK) */
    return HK_OK;
}

static int open_device(struct chardev *cd, const struct hk_com *cfg, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a tty without carrier would otherwise block. */
    int fd = open(cfg->path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return chardev_fail(err, errlen, cfg->path, errno);
    cd->in_fd = cd->out_fd = fd;
    cd->close_in = true;
    if (isatty(fd)) {
        int r = chardev_make_raw(cd, fd, false);
        if (r < 0)
            return chardev_fail(err, errlen, cfg->path, -r);
    }
    return HK_OK;
}

static int open_fds(struct chardev *cd, const struct hk_com *cfg, char *err, size_t errlen)
{
    if (cfg->out_fd < 0 || fcntl(cfg->out_fd, F_GETFD) < 0 ||
        (cfg->in_fd >= 0 && fcntl(cfg->in_fd, F_GETFD) < 0)) {
        snprintf(err, errlen, "invalid file descriptors %d, %d", cfg->in_fd, cfg->out_fd);
        return HK_EINVAL;
    }
    cd->in_fd = cfg->in_fd;
    cd->out_fd = cfg->out_fd;
    cd->out_shared = true;
    return HK_OK;
}

static int open_backend(struct chardev *cd, const struct hk_com *cfg, char *err, size_t errlen)
{
    bool needs_path = cfg->backend == HK_COM_LOG || cfg->backend == HK_COM_DEVICE;
    if (needs_path && (!cfg->path || !*cfg->path)) {
        snprintf(err, errlen, "no path given");
        return HK_EINVAL;
    }
    switch (cfg->backend) {
    case HK_COM_STDIO:
        return open_stdio(cd, err, errlen);
    case HK_COM_NULL:
        return HK_OK;
    case HK_COM_AUTOPTY:
        return chardev_open_autopty(cd, cfg, err, errlen);
    case HK_COM_LOG:
        return open_log(cd, cfg, err, errlen);
    case HK_COM_DEVICE:
        return open_device(cd, cfg, err, errlen);
    case HK_COM_FDS:
        return open_fds(cd, cfg, err, errlen);
    default:
        snprintf(err, errlen, "no serial backend configured");
        return HK_EINVAL;
    }
}

static const char *default_desc(enum hk_com_backend kind)
{
    switch (kind) {
    case HK_COM_STDIO:
        return "stdio";
    case HK_COM_FDS:
        return "fds";
    default:
        return "null";
    }
}

int chardev_open(const struct hk_com *cfg, const char *label, struct chardev **out, char *err,
                 size_t errlen)
{
    char dummy[1];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    if (!cfg || !out) {
        snprintf(err, errlen, "invalid arguments");
        return HK_EINVAL;
    }
    struct chardev *cd = calloc(1, sizeof(*cd));
    if (!cd) {
        snprintf(err, errlen, "out of memory");
        return HK_ENOMEM;
    }
    *cd = (struct chardev){.kind = cfg->backend, .in_fd = -1, .out_fd = -1, .tty_fd = -1,
                           .pty_slave_fd = -1, .out_wait_ms = CHARDEV_WAIT_MS};
    snprintf(cd->label, sizeof(cd->label), "%s", label ? label : "serial");
    int r = open_backend(cd, cfg, err, errlen);
    struct stat st;
    if (!r && cd->out_fd >= 0 && fstat(cd->out_fd, &st) == 0)
        cd->out_sigpipe = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
    if (!r && !cd->desc) {
        bool has_path = cfg->backend == HK_COM_LOG || cfg->backend == HK_COM_DEVICE;
        cd->desc = strdup(has_path ? cfg->path : default_desc(cfg->backend));
        if (!cd->desc) {
            snprintf(err, errlen, "out of memory");
            r = HK_ENOMEM;
        }
    }
    if (r) {
        chardev_close(cd);
        return r;
    }
    *out = cd;
    return HK_OK;
}

/*
 * Wait until out_fd takes more bytes. A reader that is slow gets up to
 * out_wait_ms; one that has already timed out once gets no wait at all
 * until a write succeeds again, so a stuck reader cannot stall the vCPU
 * byte after byte. Returns false when the bytes should be dropped.
 */
static bool wait_writable(struct chardev *cd)
{
    struct pollfd p = {.fd = cd->out_fd, .events = POLLOUT};
    int r;
    do {
        r = poll(&p, 1, cd->out_stalled ? 0 : cd->out_wait_ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0 || (p.revents & (POLLERR | POLLNVAL)) ||
        ((p.revents & POLLHUP) && !(p.revents & POLLOUT))) {
        cd->out_dead = r != 0;
        return false;
    }
    if (r == 0) {
        cd->out_stalled = true;
        return false;
    }
    return true;
}

/*
 * write() that cannot kill the process with SIGPIPE when a pipe or socket
 * reader has gone: the signal is blocked in this thread only (the process's
 * disposition belongs to the application) and a SIGPIPE it raised is
 * consumed before unblocking, so the caller just sees EPIPE.
 */
static ssize_t write_nosigpipe(struct chardev *cd, const void *p, size_t n)
{
    if (!cd->out_sigpipe)
        return write(cd->out_fd, p, n);
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = write(cd->out_fd, p, n);
    int e = errno;
    if (w < 0 && e == EPIPE && !sigismember(&old, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return w;
}

void chardev_write(struct chardev *cd, const void *buf, size_t n)
{
    if (!cd || cd->out_fd < 0 || cd->out_dead)
        return;
    const char *p = buf;
    while (n > 0) {
        /* A shared descriptor may be blocking: only write once poll says
         * it has room, and no more than a pipe takes atomically. */
        if (cd->out_shared && !wait_writable(cd))
            return;
        size_t chunk = cd->out_shared && n > PIPE_BUF ? PIPE_BUF : n;
        ssize_t w = write_nosigpipe(cd, p, chunk);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            cd->out_stalled = false;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!cd->out_shared && !wait_writable(cd))
                return;
        } else {
            cd->out_dead = true;   /* EPIPE, EIO, ENOSPC...: stop trying */
            return;
        }
    }
}

int chardev_input_fd(const struct chardev *cd)
{
    return cd ? cd->in_fd : -1;
}

ssize_t chardev_read(struct chardev *cd, void *buf, size_t n)
{
    if (!cd || cd->in_fd < 0)
        return HK_EIO;
    if (n == 0)
        return 0;
    /* stdin and embedder fds may be blocking, and their O_NONBLOCK flag is
     * shared with other processes: ask poll() instead of changing it. */
    struct pollfd p = {.fd = cd->in_fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & POLLNVAL)
        return HK_EIO;
    ssize_t r = read(cd->in_fd, buf, n);
    if (r > 0)
        return r;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    return HK_EIO;   /* EOF, hang-up or an error: input is over */
}

const char *chardev_describe(const struct chardev *cd)
{
    return cd && cd->desc ? cd->desc : "null";
}

void chardev_close(struct chardev *cd)
{
    if (!cd)
        return;
    if (cd->tty_fd >= 0)
        tcsetattr(cd->tty_fd, TCSANOW, &cd->tty_saved);
    if (cd->kind == HK_COM_AUTOPTY)
        chardev_close_autopty(cd);
    if (cd->close_in && cd->in_fd >= 0)
        close(cd->in_fd);
    if (cd->close_out && cd->out_fd >= 0 && cd->out_fd != cd->in_fd)
        close(cd->out_fd);
    free(cd->desc);
    free(cd);
}
