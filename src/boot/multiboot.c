/*
 * -f multiboot,KERNEL[,MODULE[;CMDLINE]...][,CMDLINE]: the Multiboot
 * Specification version 0.6.96. The kernel is an ELF (32- or 64-bit
 * file, entered in 32-bit protected mode) or uses the "a.out kludge"
 * address fields of its header; modules follow it page-aligned; the
 * information structure, memory map and strings live below 640 KiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/linux.h"
#include "core/vm.h"

#define MB_HEADER_MAGIC 0x1badb002u
#define MB_BOOT_MAGIC 0x2badb002u
#define MB_SEARCH 8192            /* the header lies in the first 8 KiB */
#define MB_FLAG_PAGE_ALIGN 0x1u
#define MB_FLAG_MEMORY 0x2u
#define MB_FLAG_VIDEO 0x4u
#define MB_FLAG_AOUT 0x10000u
#define MB_FLAGS_KNOWN (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY | MB_FLAG_VIDEO)

#define MBI_MEMORY 0x1u
#define MBI_CMDLINE 0x4u
#define MBI_MODS 0x8u
#define MBI_MMAP 0x40u
#define MBI_LOADER_NAME 0x200u

#define INFO_BASE 0x10000ull      /* info, memory map, module list, strings */
#define INFO_END 0x9f000ull
#define GDT_ADDR 0x500ull
#define FILE_MAX (256ull << 20)

struct mb_header {
    uint32_t flags;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
    size_t offset;            /* of the header in the file */
};

/* Bump allocator for the boot information area. */
struct info_area {
    struct vm *vm;
    uint64_t next;
};

static uint64_t area_put(struct info_area *a, const void *data, size_t len)
{
    uint64_t at = (a->next + 7) & ~7ull;
    if (at + len > INFO_END || gmem_write(&a->vm->mem, at, data, len))
        return 0;
    a->next = at + len;
    return at;
}

static int find_header(const uint8_t *buf, size_t len, struct mb_header *h, const char *path,
                       char *err, size_t errlen)
{
    size_t limit = len < MB_SEARCH ? len : MB_SEARCH;
    for (size_t off = 0; off + 12 <= limit; off += 4) {
        uint32_t magic = le32(buf + off), flags = le32(buf + off + 4);
        if (magic != MB_HEADER_MAGIC || (uint32_t)(magic + flags + le32(buf + off + 8)) != 0)
            continue;
        h->flags = flags;
        h->offset = off;
        if (flags & 0xfff8u) { /* bits 3-15 are requirements we do not know */
            snprintf(err, errlen, "%s: multiboot header asks for unsupported features (%#x)",
                     path, flags & 0xffffu);
            return HK_ENOTSUP;
        }
        if (flags & MB_FLAG_AOUT) {
            if (off + 32 > len) {
                snprintf(err, errlen, "%s: multiboot header truncated", path);
                return HK_EINVAL;
            }
            h->header_addr = le32(buf + off + 12);
            h->load_addr = le32(buf + off + 16);
            h->load_end_addr = le32(buf + off + 20);
            h->bss_end_addr = le32(buf + off + 24);
            h->entry_addr = le32(buf + off + 28);
        }
        return HK_OK;
    }
    snprintf(err, errlen, "%s: no multiboot header in the first 8 KiB", path);
    return HK_EINVAL;
}

/* Copy file bytes to guest RAM and zero the rest of [dst, dst+memsz). */
static int place(struct vm *vm, uint64_t dst, const uint8_t *src, uint64_t filesz, uint64_t memsz,
                 const char *path, char *err, size_t errlen)
{
    uint8_t *p = gmem_ptr_for_write(&vm->mem, dst, memsz);
    if (!p || filesz > memsz) {
        snprintf(err, errlen, "%s: segment at %#llx (%llu bytes) is outside guest RAM", path,
                 (unsigned long long)dst, (unsigned long long)memsz);
        return HK_EINVAL;
    }
    memcpy(p, src, filesz);
    memset(p + filesz, 0, memsz - filesz);
    return HK_OK;
}

static int load_aout(struct vm *vm, const uint8_t *buf, size_t len, const struct mb_header *h,
                     uint64_t *end, uint64_t *entry, const char *path, char *err, size_t errlen)
{
    if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > h->offset) {
        snprintf(err, errlen, "%s: multiboot load address is after the header", path);
        return HK_EINVAL;
    }
    uint64_t file_off = h->offset - (h->header_addr - h->load_addr);
    uint64_t load_end = h->load_end_addr ? h->load_end_addr : h->load_addr + (len - file_off);
    uint64_t bss_end = h->bss_end_addr ? h->bss_end_addr : load_end;
    if (load_end < h->load_addr || file_off + (load_end - h->load_addr) > len ||
        bss_end < load_end) {
        snprintf(err, errlen, "%s: multiboot load range does not fit the file", path);
        return HK_EINVAL;
    }
    int r = place(vm, h->load_addr, buf + file_off, load_end - h->load_addr,
                  bss_end - h->load_addr, path, err, errlen);
    *end = bss_end;
    *entry = h->entry_addr;
    return r;
}

/* ELF32 or ELF64 little-endian x86: PT_LOAD segments at p_paddr. */
static int load_elf(struct vm *vm, const uint8_t *buf, size_t len, uint64_t *end, uint64_t *entry,
                    const char *path, char *err, size_t errlen)
{
    bool is64 = len > 4 && buf[4] == 2;
    size_t ehsize = is64 ? 64 : 52;
    if (len < ehsize || memcmp(buf, "\x7f" "ELF", 4) || buf[5] != 1 ||
        le16(buf + 18) != (is64 ? 62 : 3)) {
        snprintf(err, errlen, "%s: not an x86 ELF file and no a.out kludge in its header", path);
        return HK_EINVAL;
    }
    uint64_t phoff = is64 ? le64(buf + 32) : le32(buf + 28);
    unsigned phentsize = le16(buf + (is64 ? 54 : 42)), phnum = le16(buf + (is64 ? 56 : 44));
    *entry = is64 ? le64(buf + 24) : le32(buf + 24);
    if (phentsize < (is64 ? 56u : 32u) || phoff > len || (uint64_t)phnum * phentsize > len - phoff ||
        *entry >> 32) {
        snprintf(err, errlen, "%s: bad ELF program headers", path);
        return HK_EINVAL;
    }
    *end = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = buf + phoff + (uint64_t)i * phentsize;
        if (le32(ph) != 1) /* PT_LOAD */
            continue;
        uint64_t off = is64 ? le64(ph + 8) : le32(ph + 4);
        uint64_t paddr = is64 ? le64(ph + 24) : le32(ph + 12);
        uint64_t filesz = is64 ? le64(ph + 32) : le32(ph + 16);
        uint64_t memsz = is64 ? le64(ph + 40) : le32(ph + 20);
        if (off > len || filesz > len - off || paddr + memsz < paddr) {
            snprintf(err, errlen, "%s: ELF segment %u lies outside the file", path, i);
            return HK_EINVAL;
        }
        int r = place(vm, paddr, buf + off, filesz, memsz, path, err, errlen);
        if (r)
            return r;
        if (paddr + memsz > *end)
            *end = paddr + memsz;
    }
    return HK_OK;
}

/* Modules go after the kernel, each on a page boundary. */
static int load_modules(struct vm *vm, const struct hk_boot *boot, struct info_area *a,
                        uint64_t kernel_end, uint64_t *mods_addr, char *err, size_t errlen)
{
    uint32_t list[HK_MAX_BOOT_MODULES][4];
    uint64_t at = (kernel_end + 4095) & ~4095ull;
    for (int i = 0; i < boot->nmodules; i++) {
        uint64_t size;
        int r = boot_load_file(vm, boot->modules[i].path, at, &size, err, errlen);
        if (r)
            return r;
        const char *cl = boot->modules[i].cmdline ? boot->modules[i].cmdline : boot->modules[i].path;
        uint64_t str = area_put(a, cl, strlen(cl) + 1);
        if (!str || at + size > UINT32_MAX) {
            snprintf(err, errlen, "multiboot: module %s does not fit below 4 GiB",
                     boot->modules[i].path);
            return HK_EINVAL;
        }
        list[i][0] = (uint32_t)at;
        list[i][1] = (uint32_t)(at + size);
        list[i][2] = (uint32_t)str;
        list[i][3] = 0;
        at = (at + size + 4095) & ~4095ull;
    }
    *mods_addr = boot->nmodules ? area_put(a, list, sizeof(list[0]) * (size_t)boot->nmodules) : 0;
    return HK_OK;
}

/* The memory map as multiboot entries: size (20), base, length, type. */
static uint64_t put_mmap(struct info_area *a, uint32_t *length)
{
    struct e820_entry e820[16];
    int n = e820_build(&a->vm->mem, e820, 16);
    uint8_t raw[16 * 24];
    for (int i = 0; i < n; i++) {
        put32(raw + i * 24, 20);
        put64(raw + i * 24 + 4, e820[i].addr);
        put64(raw + i * 24 + 12, e820[i].size);
        put32(raw + i * 24 + 20, e820[i].type);
    }
    *length = (uint32_t)n * 24;
    return area_put(a, raw, *length);
}

static int build_info(struct vm *vm, const struct hk_boot *boot, uint64_t kernel_end,
                      uint64_t *info_addr, char *err, size_t errlen)
{
    struct info_area a = {vm, INFO_BASE};
    uint8_t info[0x58] = {0};
    uint64_t mods = 0;
    int r = load_modules(vm, boot, &a, kernel_end, &mods, err, errlen);
    if (r)
        return r;
    uint32_t mmap_len, flags = MBI_MEMORY | MBI_MMAP | MBI_LOADER_NAME | MBI_MODS;
    uint64_t mmap = put_mmap(&a, &mmap_len);
    uint64_t name = area_put(&a, "hyperkit", 9);
    uint64_t cmd = boot->cmdline ? area_put(&a, boot->cmdline, strlen(boot->cmdline) + 1) : 0;
    if (!mmap || !name || (boot->cmdline && !cmd)) {
        snprintf(err, errlen, "multiboot: boot information does not fit below 640 KiB");
        return HK_EINVAL;
    }
    flags |= cmd ? MBI_CMDLINE : 0;
    put32(info, flags);
    put32(info + 4, 640);                                               /* mem_lower, KiB */
    put32(info + 8, (uint32_t)((e820_low_ram_end(&vm->mem) - 0x100000) >> 10)); /* mem_upper */
    put32(info + 16, (uint32_t)cmd);
    put32(info + 20, (uint32_t)boot->nmodules);
    put32(info + 24, (uint32_t)mods);
    put32(info + 44, mmap_len);
    put32(info + 48, (uint32_t)mmap);
    put32(info + 64, (uint32_t)name);
    *info_addr = area_put(&a, info, sizeof(info));
    return *info_addr ? HK_OK : HK_EINVAL;
}

/* Machine state of the spec's section 3.2: 32-bit protected mode, paging
 * off, flat segments, EAX = magic, EBX = info. */
static int enter_kernel(struct vm *vm, uint64_t entry, uint64_t info)
{
    static const uint64_t gdt[] = {0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull};
    if (gmem_write(&vm->mem, GDT_ADDR, gdt, sizeof(gdt)))
        return HK_EINVAL;
    struct accel_sregs s = {0};
    s.cs = (struct accel_segment){0, 0xffffffff, 0x08, 0xc09b};
    s.ds = s.es = s.fs = s.gs = s.ss = (struct accel_segment){0, 0xffffffff, 0x10, 0xc093};
    s.tr = (struct accel_segment){.limit = 0xffff, .attr = 0x8b};
    s.ldt = (struct accel_segment){.limit = 0xffff, .attr = 0x82};
    s.gdt = (struct accel_dtable){GDT_ADDR, sizeof(gdt) - 1};
    s.idt = (struct accel_dtable){0, 0x3ff};
    s.cr0 = 0x11; /* PE | ET */
    struct accel_vcpu *cpu = vm->vcpus[0].accel;
    int r = vm->accel_ops->set_sregs(cpu, &s);
    if (r)
        return r;
    struct accel_regs regs = {0};
    regs.gpr[0] = MB_BOOT_MAGIC;
    regs.gpr[3] = info;
    regs.rip = entry;
    regs.rflags = 0x2;
    return vm->accel_ops->set_regs(cpu, &regs);
}

int boot_multiboot(struct vm *vm, const struct hk_boot *boot, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int r = boot_read_file(boot->kernel, FILE_MAX, &buf, &len, err, errlen);
    if (r)
        return r;
    struct mb_header h = {0};
    uint64_t end = 0, entry = 0, info = 0;
    r = find_header(buf, len, &h, boot->kernel, err, errlen);
    if (!r)
        r = (h.flags & MB_FLAG_AOUT) ? load_aout(vm, buf, len, &h, &end, &entry, boot->kernel, err, errlen)
                                     : load_elf(vm, buf, len, &end, &entry, boot->kernel, err, errlen);
    free(buf);
    if (!r)
        r = build_info(vm, boot, end, &info, err, errlen);
    if (!r && (r = enter_kernel(vm, entry, info)) != 0)
        snprintf(err, errlen, "multiboot: cannot set the boot vCPU state: %s", hk_strerror(r));
    return r;
}
