/* Dispatch -f to its loader, and the file loading they share. */
#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/linux.h"
#include "core/vm.h"

int boot_load(struct vm *vm, const struct hk_boot *boot, char *err, size_t errlen)
{
    switch (boot->kind) {
    case HK_BOOT_FLAT64:
        return boot_flat64(vm, boot->kernel, err, errlen);
    case HK_BOOT_KEXEC:
        return boot_linux(vm, boot, err, errlen);
    case HK_BOOT_MULTIBOOT:
        return boot_multiboot(vm, boot, err, errlen);
    default:
        snprintf(err, errlen, "-f: this boot mode is not implemented yet");
        return HK_ENOTSUP;
    }
}

int boot_load_file(struct vm *vm, const char *path, uint64_t gpa, uint64_t *size, char *err,
                   size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int r = boot_read_file(path, vm->mem.ram_bytes, &buf, &len, err, errlen);
    if (r)
        return r;
    if (gmem_write(&vm->mem, gpa, buf, len)) {
        snprintf(err, errlen, "%s: %zu bytes do not fit in guest RAM at %#llx", path, len,
                 (unsigned long long)gpa);
        r = HK_EINVAL;
    }
    free(buf);
    *size = len;
    return r;
}

int boot_read_file(const char *path, uint64_t max, uint8_t **out, size_t *len, char *err,
                   size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? HK_ENOENT : HK_EIO;
    }
    struct stat st;
    int r = HK_OK;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        r = HK_EINVAL;
    } else if ((uint64_t)st.st_size > max) {
        snprintf(err, errlen, "%s: %lld bytes is too large (at most %llu)", path,
                 (long long)st.st_size, (unsigned long long)max);
        r = HK_EINVAL;
    } else if (!(buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
        r = HK_ENOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
    }
    for (off_t done = 0; r == HK_OK && done < st.st_size;) {
        ssize_t n = read(fd, buf + done, (size_t)(st.st_size - done));
        if (n <= 0) {
            snprintf(err, errlen, "%s: read failed: %s", path, n ? strerror(errno) : "short file");
            r = HK_EIO;
        }
        done += n > 0 ? n : 0;
    }
    close(fd);
    if (r) {
        free(buf);
        return r;
    }
    *out = buf;
    *len = (size_t)st.st_size;
    return HK_OK;
}
