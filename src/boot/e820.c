/*
 * The zero page (struct boot_params, arch/x86/include/uapi/asm/bootparam.h)
 * and the e820 memory map in it. Without a BIOS nobody else answers
 * INT 15h/E820, so this table is all the kernel learns about RAM.
 */
#include <string.h>

#include "boot/linux.h"
#include "core/guest_mem.h"
#include "hyperkit.h"

/* The legacy hole: video memory, video BIOS and system BIOS (boot.rst,
 * "MEMORY LAYOUT": 0xA0000-0xFFFFF is firmware's, the 640K below is RAM). */
#define HOLE_START 0xa0000ull
#define HOLE_END 0x100000ull

/* boot.rst, heap_end_ptr: "Set this field to the offset (from the
 * beginning of the real-mode code) of the end of the setup stack/heap,
 * minus 0x0200" (only the 16-bit setup code uses it). */
#define HEAP_END_PTR (0xe000 - 0x200)
#define LOADER_UNDEFINED 0xff   /* boot.rst, type_of_loader: "0xFF if no ID" */
#define VID_MODE_NORMAL 0xffff

/* The copied header stops before edd_mbr_sig_buffer (0x290). */
#define HDR_COPY_END 0x290

static int add(struct e820_entry *tab, int n, int max, uint64_t addr, uint64_t size,
               uint32_t type)
{
    if (size == 0 || n >= max)
        return n;
    tab[n] = (struct e820_entry){addr, size, type};
    return n + 1;
}

int e820_build(const struct guest_mem *mem, struct e820_entry *tab, int max)
{
    int n = 0;
    for (int i = 0; i < mem->nregions; i++) {
        const struct gmem_region *r = &mem->regions[i];
        if (r->gpa != 0) {
            n = add(tab, n, max, r->gpa, r->size, E820_RAM);
            continue;
        }
        uint64_t low = r->size < HOLE_START ? r->size : HOLE_START;
        n = add(tab, n, max, 0, low, E820_RAM);
        if (r->size > HOLE_START)
            n = add(tab, n, max, HOLE_START, HOLE_END - HOLE_START, E820_RESERVED);
        if (r->size > HOLE_END)
            n = add(tab, n, max, HOLE_END, r->size - HOLE_END, E820_RAM);
    }
    return n;
}

uint64_t e820_low_ram_end(const struct guest_mem *mem)
{
    for (int i = 0; i < mem->nregions; i++) {
        if (mem->regions[i].gpa == 0)
            return mem->regions[i].size;
    }
    return 0;
}

/* A header for a bare vmlinux, which has none: what a 2.15 bzImage of a
 * relocatable 64-bit kernel would say. */
static void synthesize_header(uint8_t *zp)
{
    put16(zp + HDR_BOOT_FLAG, 0xaa55);
    put32(zp + HDR_MAGIC, 0x53726448);
    put16(zp + HDR_VERSION, 0x020f);
    put16(zp + HDR_VID_MODE, VID_MODE_NORMAL);
    zp[HDR_LOADFLAGS] = BZ_LOADED_HIGH;
    put32(zp + HDR_INITRD_ADDR_MAX, 0x7fffffff);
    put32(zp + HDR_KERNEL_ALIGNMENT, 0x200000);
    zp[HDR_RELOCATABLE] = 1;
    put16(zp + HDR_XLOADFLAGS, BZ_XLF_KERNEL_64);
    put32(zp + HDR_CMDLINE_SIZE, 2047);
}

static void put_e820(uint8_t *zp, const struct guest_mem *mem)
{
    struct e820_entry tab[E820_MAX_ENTRIES];
    int n = e820_build(mem, tab, E820_MAX_ENTRIES);
    for (int i = 0; i < n; i++) {
        uint8_t *e = zp + ZP_E820_TABLE + 20 * i;   /* packed: u64 addr, u64 size, u32 type */
        put64(e, tab[i].addr);
        put64(e + 8, tab[i].size);
        put32(e + 16, tab[i].type);
    }
    zp[ZP_E820_ENTRIES] = (uint8_t)n;
}

int zero_page_build(uint8_t zp[ZERO_PAGE_SIZE], const struct guest_mem *mem,
                    const struct zero_page_info *info)
{
    memset(zp, 0, ZERO_PAGE_SIZE);
    if (info->setup_header) {
        /* boot.rst: the loader copies the setup header into the zero page
         * and then fills in the fields marked "write" or "modify". */
        uint32_t len = info->setup_header_len;
        if (len > HDR_COPY_END - ZP_HDR)
            len = HDR_COPY_END - ZP_HDR;
        memcpy(zp + ZP_HDR, info->setup_header, len);
    } else {
        synthesize_header(zp);
    }
    zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
    zp[HDR_LOADFLAGS] |= BZ_CAN_USE_HEAP;
    put16(zp + HDR_HEAP_END_PTR, HEAP_END_PTR);
    put32(zp + HDR_CMD_LINE_PTR, (uint32_t)info->cmdline);
    put32(zp + ZP_EXT_CMD_LINE_PTR, (uint32_t)(info->cmdline >> 32));
    put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)info->initrd);
    put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(info->initrd >> 32));
    put32(zp + HDR_RAMDISK_SIZE, (uint32_t)info->initrd_size);
    put32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)(info->initrd_size >> 32));
    put32(zp + HDR_HARDWARE_SUBARCH, 0);   /* X86_SUBARCH_PC */
    if (info->acpi_rsdp)
        put64(zp + ZP_ACPI_RSDP_ADDR, info->acpi_rsdp);
    put_e820(zp, mem);
    return HK_OK;
}
