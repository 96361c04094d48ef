/*
 * The autopty backend: a fresh pseudo-terminal whose slave side a user
 * attaches to later (screen /dev/pts/N), optionally reached through a
 * symlink at a fixed path.
 *
 * We keep our own slave descriptor open for the pty's lifetime. Without
 * it the master reports POLLHUP and read() fails with EIO whenever nobody
 * is attached, which would spin the event loop and end input for good
 * before anyone connected. The slave is put in raw mode so the line
 * discipline never echoes guest output back to us as guest input.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/chardev_priv.h"

/* Output to a pty waits at most this long before being dropped: with no
 * reader attached the pty buffer fills and stays full. */
#define PTY_WAIT_MS 50

/* Create link -> target, replacing a stale symlink from an earlier run but
 * never a file that is not a symlink. */
static int make_link(const char *target, const char *link, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(link, &st) == 0) {
        if (!S_ISLNK(st.st_mode))
            return chardev_fail(err, errlen, link, EEXIST);
        if (unlink(link) < 0)
            return chardev_fail(err, errlen, link, errno);
    }
    if (symlink(target, link) < 0)
        return chardev_fail(err, errlen, link, errno);
    return HK_OK;
}

static int open_master(struct chardev *cd, char *name, size_t namelen, char *err,
                       size_t errlen)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return chardev_fail(err, errlen, "cannot open a pseudo-terminal", errno);
    cd->in_fd = cd->out_fd = fd;
    cd->close_in = true;
    if (grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, name, namelen) != 0)
        return chardev_fail(err, errlen, "cannot set up the pseudo-terminal", errno);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return chardev_fail(err, errlen, name, errno);
    return HK_OK;
}

int chardev_open_autopty(struct chardev *cd, const struct hk_com *cfg, char *err, size_t errlen)
{
    char name[PATH_MAX];
    int r = open_master(cd, name, sizeof(name), err, errlen);
    if (r)
        return r;
    cd->pty_slave_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (cd->pty_slave_fd < 0)
        return chardev_fail(err, errlen, name, errno);
    r = chardev_make_raw(cd, cd->pty_slave_fd, false);
    if (r < 0)
        return chardev_fail(err, errlen, name, -r);
    /* The pty dies with us: no settings to restore on close. */
    cd->tty_fd = -1;
    cd->out_wait_ms = PTY_WAIT_MS;
    if (!(cd->desc = strdup(name)))
        return chardev_fail(err, errlen, name, ENOMEM);
    if (cfg->path && *cfg->path) {
        r = make_link(name, cfg->path, err, errlen);
        if (r)
            return r;
        if (!(cd->link_path = strdup(cfg->path))) {
            unlink(cfg->path);
            return chardev_fail(err, errlen, cfg->path, ENOMEM);
        }
    }
    return HK_OK;
}

void chardev_close_autopty(struct chardev *cd)
{
    /* Remove the link only if it is still ours: another VM may have
     * replaced it since. */
    if (cd->link_path && cd->desc) {
        char target[PATH_MAX];
        ssize_t n = readlink(cd->link_path, target, sizeof(target) - 1);
        if (n >= 0) {
            target[n] = '\0';
            if (strcmp(target, cd->desc) == 0)
                unlink(cd->link_path);
        }
    }
    free(cd->link_path);
    cd->link_path = NULL;
    if (cd->pty_slave_fd >= 0)
        close(cd->pty_slave_fd);
    cd->pty_slave_fd = -1;
}
