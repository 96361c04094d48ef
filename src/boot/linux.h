/*
 * -f kexec,KERNEL[,INITRD][,CMDLINE]: the x86 Linux boot protocol, entered
 * in 64-bit mode (the kernel's Documentation/arch/x86/boot.rst, "64-bit
 * BOOT PROTOCOL"). The pieces are split so tests can drive each one:
 *   bzimage.c  the setup header of a bzImage (boot.rst "THE REAL-MODE
 *              KERNEL HEADER") and its compressed payload
 *   vmlinux.c  decompressing that payload on the host (xz, zstd) and
 *              loading an ELF vmlinux's PT_LOAD segments
 *   e820.c     the zero page (struct boot_params) and its e820 table
 *   linux.c    placing everything in guest RAM and entering the kernel
 *
 * Every byte of the kernel and initrd files is untrusted: parsers check
 * sizes, offsets and overflow and fail with a one-line message.
 */
#ifndef HK_BOOT_LINUX_H
#define HK_BOOT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"

struct vm;
struct hk_boot;
struct guest_mem;

/* Boot a Linux kernel (bzImage or ELF vmlinux) as -f kexec asks. */
int boot_linux(struct vm *vm, const struct hk_boot *boot, char *err, size_t errlen);

/*
 * How a bzImage's compressed kernel gets unpacked. LINUX_DECOMPRESS_HOST
 * (the default when the payload is xz or zstd) unpacks it here and enters
 * the vmlinux at its ELF entry: an interpreting engine would otherwise
 * spend most of the boot inside the kernel's own decompressor. GUEST
 * loads the bzImage as is and enters its 64-bit entry (load address +
 * 0x200), which runs the kernel's decompressor. HYPERKIT_KEXEC_DECOMPRESS
 * =guest|host in the environment overrides AUTO.
 */
enum linux_decompress { LINUX_DECOMPRESS_AUTO, LINUX_DECOMPRESS_HOST, LINUX_DECOMPRESS_GUEST };

/* Where things went: what boot_linux_mode() reports, for tests and logs. */
struct linux_layout {
    bool host_decompressed;   /* entered the vmlinux ELF, not the bzImage */
    uint64_t kernel_start;    /* lowest byte loaded */
    uint64_t kernel_end;      /* end of the kernel's reserved range */
    uint64_t entry;           /* RIP at start */
    uint64_t zero_page;       /* RSI at start */
    uint64_t cmdline;
    uint64_t initrd, initrd_size;
};

int boot_linux_mode(struct vm *vm, const struct hk_boot *boot, enum linux_decompress mode,
                    struct linux_layout *out, char *err, size_t errlen);

/* --- bzimage.c ------------------------------------------------------------ */

/* Compression of a bzImage payload, told by its magic bytes. */
enum linux_payload { PAYLOAD_NONE, PAYLOAD_XZ, PAYLOAD_ZSTD, PAYLOAD_GZIP, PAYLOAD_OTHER };

/* The setup header fields we use, decoded from the file (boot.rst offsets). */
struct bzimage {
    const uint8_t *file;
    size_t size;
    uint32_t setup_size;       /* (setup_sects + 1) * 512: the real-mode part */
    uint16_t version;          /* protocol, e.g. 0x020f */
    uint8_t loadflags;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    bool relocatable;
    uint16_t xloadflags;
    uint32_t cmdline_size;     /* longest command line, without the NUL */
    uint64_t pref_address;
    uint32_t init_size;        /* bytes the kernel needs from its load address */
    const uint8_t *payload;    /* inside file, checked to lie within it */
    uint32_t payload_length;
    enum linux_payload payload_format;
    uint32_t header_end;       /* 0x202 + byte at 0x201: end of the header */
};

#define BZ_LOADED_HIGH 0x01
#define BZ_CAN_USE_HEAP 0x80
#define BZ_XLF_KERNEL_64 0x01

/* Parse and check a bzImage held in memory (file names errors). */
int bzimage_parse(const uint8_t *buf, size_t len, const char *file, struct bzimage *out,
                  char *err, size_t errlen);

const char *linux_payload_name(enum linux_payload p);

/* --- vmlinux.c ------------------------------------------------------------ */

/* Unpack an xz or zstd payload (the compressed vmlinux) into a malloc'd
 * buffer of at most max bytes. */
int vmlinux_decompress(const struct bzimage *bz, uint64_t max, uint8_t **out, size_t *outlen,
                       const char *file, char *err, size_t errlen);

struct vmlinux_image {
    uint64_t entry;   /* physical */
    uint64_t start;   /* lowest p_paddr */
    uint64_t end;     /* highest p_paddr + p_memsz */
};

/* Check an ELF64 x86-64 vmlinux and report where it would go. */
int vmlinux_check(const uint8_t *elf, size_t len, const struct guest_mem *mem,
                  struct vmlinux_image *img, const char *file, char *err, size_t errlen);

/* Copy its PT_LOAD segments to p_paddr, zeroing p_memsz past p_filesz. */
int vmlinux_load(const uint8_t *elf, size_t len, const struct guest_mem *mem,
                 struct vmlinux_image *img, const char *file, char *err, size_t errlen);

bool vmlinux_is_elf(const uint8_t *buf, size_t len);

/* --- e820.c --------------------------------------------------------------- */

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX_ENTRIES 128   /* boot_params.e820_table[] */

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
};

/* The guest's physical memory map as e820 entries: RAM below 640 KiB, the
 * VGA/BIOS hole up to 1 MiB reserved, RAM to the PCI hole, RAM above
 * 4 GiB. Returns the number of entries. */
int e820_build(const struct guest_mem *mem, struct e820_entry *tab, int max);

/* End of the RAM that starts at 1 MiB (the top of "low" RAM, below 4 GiB). */
uint64_t e820_low_ram_end(const struct guest_mem *mem);

#define ZERO_PAGE_SIZE 4096

/* What goes into the zero page besides the copied setup header. */
struct zero_page_info {
    const uint8_t *setup_header;   /* bytes 0x1f1..header_end of the image, */
    uint32_t setup_header_len;     /* or NULL to synthesize one */
    uint64_t cmdline;
    uint64_t initrd, initrd_size;
    uint64_t acpi_rsdp;            /* 0: the kernel scans for the RSDP itself */
};

/* Fill zp (ZERO_PAGE_SIZE bytes) as boot.rst asks a boot loader to. */
int zero_page_build(uint8_t zp[ZERO_PAGE_SIZE], const struct guest_mem *mem,
                    const struct zero_page_info *info);

/* Zero page field offsets (arch/x86/include/uapi/asm/bootparam.h). */
#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_SENTINEL 0x1ef
#define ZP_HDR 0x1f1
#define ZP_E820_TABLE 0x2d0

/* Setup header offsets, in the image and in the zero page alike. */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_HARDWARE_SUBARCH 0x23c
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MIN_LEN 0x264      /* through init_size: protocol 2.10+ */

#endif
