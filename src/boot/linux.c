/*
 * -f kexec,KERNEL[,INITRD][,CMDLINE]: Linux through the 64-bit boot
 * protocol (Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL"), no
 * BIOS and no real-mode setup code. Guest-physical layout:
 *
 *   0x000500  GDT: __BOOT_CS 0x10 (64-bit code), __BOOT_DS 0x18 (data)
 *   0x001000  PML4, PDPT, 4 page directories: the low 4 GiB identity-
 *             mapped with 2 MiB pages (boot.rst asks for the kernel, the
 *             zero page and the command line to be identity-mapped)
 *   0x007000  zero page (struct boot_params)
 *   0x008000  command line
 *   0x080000  initial stack top (the kernel sets its own at once)
 *   1 MiB up  the kernel: the vmlinux ELF segments at their p_paddr
 *             (16 MiB for Debian's), or the bzImage's protected-mode
 *             part at pref_address
 *   top       the initrd, page-aligned, as high as initrd_addr_max and
 *             low RAM allow (boot.rst: "as high in memory as possible")
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/linux.h"
#include "core/log.h"
#include "core/vm.h"
#include "firmware/firmware.h"

#define ZERO_PAGE_ADDR 0x7000ull
#define CMDLINE_ADDR 0x8000ull
#define CMDLINE_MAX 0x8000ull       /* up to 0x10000 */
#define STACK_TOP 0x80000ull
#define KERNEL_MIN 0x100000ull
#define IDENT_MAP_END 0x100000000ull
#define BZ_ENTRY_64 0x200           /* boot.rst: 64-bit entry is load address + 0x200 */
#define KERNEL_FILE_MAX (512ull << 20)
#define BOOT_CS 0x10
#define BOOT_DS 0x18

#define PAGE_MASK 0xfffull

/* What the kernel file turned out to be, and what we do with it. */
struct kernel_file {
    const char *path;
    uint8_t *data;
    size_t size;
    bool is_elf;                 /* a bare vmlinux */
    struct bzimage bz;           /* when !is_elf */
    bool host_decompress;
};

static enum linux_decompress pick_mode(enum linux_decompress mode)
{
    const char *env = getenv("HYPERKIT_KEXEC_DECOMPRESS");
    if (mode != LINUX_DECOMPRESS_AUTO || !env)
        return mode;
    if (strcmp(env, "guest") == 0)
        return LINUX_DECOMPRESS_GUEST;
    if (strcmp(env, "host") == 0)
        return LINUX_DECOMPRESS_HOST;
    return LINUX_DECOMPRESS_AUTO;
}

static int open_kernel(struct kernel_file *k, enum linux_decompress mode, char *err,
                       size_t errlen)
{
    int r = boot_read_file(k->path, KERNEL_FILE_MAX, &k->data, &k->size, err, errlen);
    if (r)
        return r;
    if (k->size == 0) {
        snprintf(err, errlen, "%s: empty file, not a Linux kernel", k->path);
        return HK_EINVAL;
    }
    if (vmlinux_is_elf(k->data, k->size)) {
        k->is_elf = true;
        return HK_OK;
    }
    r = bzimage_parse(k->data, k->size, k->path, &k->bz, err, errlen);
    if (r)
        return r;
    enum linux_payload p = k->bz.payload_format;
    bool host_can = p == PAYLOAD_XZ || p == PAYLOAD_ZSTD || p == PAYLOAD_NONE;
    mode = pick_mode(mode);
    if (mode == LINUX_DECOMPRESS_HOST && !host_can) {
        snprintf(err, errlen, "%s: cannot unpack a %s payload on the host", k->path,
                 linux_payload_name(p));
        return HK_ENOTSUP;
    }
    k->host_decompress =
        mode == LINUX_DECOMPRESS_HOST || (mode == LINUX_DECOMPRESS_AUTO && host_can);
    return HK_OK;
}

/* Host path: the vmlinux ELF, either the file itself or the payload. */
static int load_elf_kernel(struct vm *vm, struct kernel_file *k, struct linux_layout *lay,
                           char *err, size_t errlen)
{
    const uint8_t *elf = k->data;
    size_t len = k->size;
    uint8_t *unpacked = NULL;
    if (!k->is_elf && k->bz.payload_format == PAYLOAD_NONE) {
        elf = k->bz.payload;
        len = k->bz.payload_length;
    } else if (!k->is_elf) {
        int r = vmlinux_decompress(&k->bz, vm->mem.ram_bytes, &unpacked, &len, k->path, err,
                                   errlen);
        if (r)
            return r;
        elf = unpacked;
    }
    struct vmlinux_image img;
    int r = vmlinux_load(elf, len, &vm->mem, &img, k->path, err, errlen);
    free(unpacked);
    if (r)
        return r;
    lay->host_decompressed = true;
    lay->kernel_start = img.start;
    lay->kernel_end = img.end;
    lay->entry = img.entry;
    return HK_OK;
}

/* Where a bzImage's protected-mode part goes (boot.rst, pref_address and
 * kernel_alignment: a relocatable kernel may move to any aligned address). */
static uint64_t bz_load_address(const struct bzimage *bz)
{
    uint64_t a = bz->pref_address < KERNEL_MIN ? KERNEL_MIN : bz->pref_address;
    if (!bz->relocatable)
        return bz->pref_address;
    return (a + bz->kernel_alignment - 1) & ~((uint64_t)bz->kernel_alignment - 1);
}

/* Guest path: copy the protected-mode part, run the kernel's decompressor. */
static int load_bzimage(struct vm *vm, struct kernel_file *k, struct linux_layout *lay,
                        char *err, size_t errlen)
{
    const struct bzimage *bz = &k->bz;
    uint64_t addr = bz_load_address(bz);
    uint64_t pm_size = k->size - bz->setup_size;
    uint64_t need = pm_size > bz->init_size ? pm_size : bz->init_size;
    uint8_t *dst = addr < KERNEL_MIN ? NULL : gmem_ptr_for_write(&vm->mem, addr, need);
    if (!dst) {
        snprintf(err, errlen, "%s: kernel needs %#llx bytes at %#llx: not in guest RAM", k->path,
                 (unsigned long long)need, (unsigned long long)addr);
        return HK_EINVAL;
    }
    memcpy(dst, k->data + bz->setup_size, pm_size);
    lay->kernel_start = addr;
    lay->kernel_end = addr + need;
    lay->entry = addr + BZ_ENTRY_64;
    return HK_OK;
}

static int load_cmdline(struct vm *vm, const struct kernel_file *k, const char *cmdline,
                        struct linux_layout *lay, char *err, size_t errlen)
{
    size_t len = cmdline ? strlen(cmdline) : 0;
    /* boot.rst, cmdline_size: "the maximum size of the command line
     * without the terminating zero". Older headers say 255. */
    uint64_t max = k->is_elf ? 2047 : k->bz.cmdline_size;
    if (max > CMDLINE_MAX - 1)
        max = CMDLINE_MAX - 1;
    if (len > max) {
        snprintf(err, errlen, "kexec: the command line is %zu bytes; %s takes at most %llu",
                 len, k->path, (unsigned long long)max);
        return HK_EINVAL;
    }
    if (gmem_write(&vm->mem, CMDLINE_ADDR, cmdline ? cmdline : "", len + 1)) {
        snprintf(err, errlen, "kexec: guest RAM too small for the command line");
        return HK_EINVAL;
    }
    lay->cmdline = CMDLINE_ADDR;
    return HK_OK;
}

static int initrd_size(const char *path, uint64_t *size, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return e == ENOENT ? HK_ENOENT : HK_EIO;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        snprintf(err, errlen, "%s: initrd is not a regular, non-empty file", path);
        return HK_EINVAL;
    }
    *size = (uint64_t)st.st_size;
    return HK_OK;
}

/* boot.rst, initrd_addr_max: "the highest address that may be occupied by
 * the initial ramdisk/ramfs contents"; and it must not overlap the kernel
 * (for a bzImage, its whole init_size). */
static int load_initrd(struct vm *vm, const struct kernel_file *k, const char *path,
                       struct linux_layout *lay, char *err, size_t errlen)
{
    uint64_t size;
    int r = initrd_size(path, &size, err, errlen);
    if (r)
        return r;
    uint64_t top = e820_low_ram_end(&vm->mem);
    uint64_t max = k->is_elf ? 0x7fffffffull : k->bz.initrd_addr_max;
    if (top > max + 1)
        top = max + 1;
    uint64_t floor = (lay->kernel_end + PAGE_MASK) & ~PAGE_MASK;
    if (size > top || ((top - size) & ~PAGE_MASK) < floor) {
        snprintf(err, errlen, "%s: initrd of %llu bytes does not fit between the kernel's end "
                 "(%#llx) and %#llx: give the VM more memory (-m)", path,
                 (unsigned long long)size, (unsigned long long)floor, (unsigned long long)top);
        return HK_EINVAL;
    }
    uint64_t addr = (top - size) & ~PAGE_MASK, loaded;
    r = boot_load_file(vm, path, addr, &loaded, err, errlen);
    if (r)
        return r;
    if (loaded != size) {
        snprintf(err, errlen, "%s: initrd changed size while loading", path);
        return HK_EIO;
    }
    lay->initrd = addr;
    lay->initrd_size = size;
    return HK_OK;
}

static int write_zero_page(struct vm *vm, const struct kernel_file *k, struct linux_layout *lay)
{
    uint8_t zp[ZERO_PAGE_SIZE];
    struct zero_page_info info = {
        .cmdline = lay->cmdline, .initrd = lay->initrd, .initrd_size = lay->initrd_size,
        .acpi_rsdp = firmware_acpi_rsdp(vm)};
    if (!k->is_elf) {
        info.setup_header = k->data + ZP_HDR;
        info.setup_header_len = k->bz.header_end - ZP_HDR;
    }
    zero_page_build(zp, &vm->mem, &info);
    lay->zero_page = ZERO_PAGE_ADDR;
    return gmem_write(&vm->mem, ZERO_PAGE_ADDR, zp, sizeof(zp));
}

/* boot.rst 64-bit protocol: long mode, paging on with an identity map of
 * the loaded image, a GDT with __BOOT_CS (0x10, 64-bit code) and __BOOT_DS
 * (0x18, 4G flat data), interrupts off, %rsi = the zero page. */
static int enter_kernel(struct vm *vm, const struct linux_layout *lay)
{
    struct accel_regs regs = {0};
    regs.rip = lay->entry;
    regs.rflags = 0x2;
    regs.gpr[4] = STACK_TOP;
    regs.gpr[6] = lay->zero_page;   /* rsi */
    /* PG | NE | ET | PE and PAE: the kernel sets the rest itself. */
    const struct boot_long_mode m = {.cs = BOOT_CS, .ds = BOOT_DS, .cr0 = 0x80000031, .cr4 = 0x20};
    return boot_long_mode(vm, &m, &regs);
}

static int load_all(struct vm *vm, const struct hk_boot *boot, struct kernel_file *k,
                    struct linux_layout *lay, char *err, size_t errlen)
{
    int r = k->is_elf || k->host_decompress ? load_elf_kernel(vm, k, lay, err, errlen)
                                            : load_bzimage(vm, k, lay, err, errlen);
    if (r == HK_OK && lay->kernel_end > IDENT_MAP_END) {
        snprintf(err, errlen, "%s: the kernel must lie below 4 GiB", k->path);
        r = HK_EINVAL;
    }
    if (r == HK_OK)
        r = load_cmdline(vm, k, boot->cmdline, lay, err, errlen);
    if (r == HK_OK && boot->initrd)
        r = load_initrd(vm, k, boot->initrd, lay, err, errlen);
    if (r == HK_OK && write_zero_page(vm, k, lay)) {
        snprintf(err, errlen, "kexec: guest RAM too small for the boot tables");
        r = HK_EINVAL;
    }
    return r;
}

int boot_linux_mode(struct vm *vm, const struct hk_boot *boot, enum linux_decompress mode,
                    struct linux_layout *out, char *err, size_t errlen)
{
    struct kernel_file k = {.path = boot->kernel};
    struct linux_layout lay = {0};
    if (!boot->kernel) {
        snprintf(err, errlen, "kexec: no kernel given");
        return HK_EINVAL;
    }
    int r = open_kernel(&k, mode, err, errlen);
    if (r == HK_OK)
        r = load_all(vm, boot, &k, &lay, err, errlen);
    if (r == HK_OK && (r = enter_kernel(vm, &lay)))
        snprintf(err, errlen, "kexec: cannot set the boot vCPU state: %s", hk_strerror(r));
    if (r == HK_OK && out)
        *out = lay;
    if (r == HK_OK)
        vm_log(vm, HK_LOG_INFO, "kexec: %s (%s), entry %#llx, initrd %llu bytes at %#llx",
               k.path, lay.host_decompressed ? "unpacked on the host" : "bzImage 64-bit entry",
               (unsigned long long)lay.entry, (unsigned long long)lay.initrd_size,
               (unsigned long long)lay.initrd);
    free(k.data);
    return r;
}

int boot_linux(struct vm *vm, const struct hk_boot *boot, char *err, size_t errlen)
{
    return boot_linux_mode(vm, boot, LINUX_DECOMPRESS_AUTO, NULL, err, errlen);
}
