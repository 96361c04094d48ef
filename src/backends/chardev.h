/*
 * Character streams for serial ports: where a UART's output goes and its
 * input comes from (-l comN,stdio|null|autopty[=link]|log=FILE|DEVICE, or
 * descriptors from hk_config_set_com_fds()).
 *
 * Output never blocks a vCPU for long: a reader that stops reading costs at
 * most one short wait, after which bytes are dropped until it drains again;
 * a reader that went away (EPIPE, EIO, hang-up) turns output off for good.
 * Not thread-safe: the owner serialises writes (the UART holds its lock),
 * and only the event-loop thread reads.
 */
#ifndef HK_BACKENDS_CHARDEV_H
#define HK_BACKENDS_CHARDEV_H

#include <stddef.h>
#include <sys/types.h>

#include "core/config.h"

struct chardev;

/*
 * Open the stream cfg describes; label ("com1") names it in messages.
 * Returns 0, or a negative HK_E* code with one line in err naming the path
 * and the reason (no label prefix: the caller adds its own).
 */
int chardev_open(const struct hk_com *cfg, const char *label, struct chardev **out, char *err,
                 size_t errlen);

/* Write all of buf, or drop what the peer cannot take (see above). */
void chardev_write(struct chardev *cd, const void *buf, size_t n);

/* The descriptor to watch for input, or -1 when the stream has none. */
int chardev_input_fd(const struct chardev *cd);

/*
 * Non-blocking read: bytes read (> 0), 0 when nothing is ready now, or a
 * negative HK_E* code when input has ended for good (EOF, hang-up, error).
 */
ssize_t chardev_read(struct chardev *cd, void *buf, size_t n);

/* What the stream is connected to: the pty name (/dev/pts/N) for autopty,
 * the path for log and device, else "stdio", "null" or "fds". */
const char *chardev_describe(const struct chardev *cd);

/* Restore any terminal settings, remove the autopty link, close what was
 * opened here (never the descriptors of HK_COM_FDS or stdio). NULL is ok. */
void chardev_close(struct chardev *cd);

#endif
