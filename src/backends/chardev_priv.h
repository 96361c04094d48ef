/* Internals shared by chardev.c and chardev_pty.c. */
#ifndef HK_BACKENDS_CHARDEV_PRIV_H
#define HK_BACKENDS_CHARDEV_PRIV_H

#include <stdbool.h>
#include <termios.h>

#include "backends/chardev.h"

struct chardev {
    enum hk_com_backend kind;
    char label[16];
    int in_fd, out_fd;          /* -1: none */
    bool close_in, close_out;   /* opened here (in_fd == out_fd: closed once) */
    bool out_shared;            /* someone else's blocking fd: poll before write */
    bool out_sigpipe;           /* a pipe or socket: writing may raise SIGPIPE */
    int out_wait_ms;            /* longest wait for a reader that stopped reading */
    bool out_stalled;           /* last wait timed out: drop until a write succeeds */
    bool out_dead;              /* the reader is gone for good */

    int tty_fd;                 /* terminal whose settings we changed, or -1 */
    struct termios tty_saved;

    int pty_slave_fd;           /* autopty: our own slave end, or -1 */
    char *link_path;            /* autopty: symlink we created, or NULL */
    char *desc;                 /* what chardev_describe() returns */
};

/* One line "<what>: <strerror(e)>" in err; returns the HK_E* code for e. */
int chardev_fail(char *err, size_t errlen, const char *what, int e);

/* Put a terminal in raw mode, saving its settings in cd for close. */
int chardev_make_raw(struct chardev *cd, int fd, bool keep_opost);

int chardev_open_autopty(struct chardev *cd, const struct hk_com *cfg, char *err, size_t errlen);
void chardev_close_autopty(struct chardev *cd);

#endif
