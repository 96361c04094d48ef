/*
 * The bzImage setup header (Documentation/arch/x86/boot.rst, "THE
 * REAL-MODE KERNEL HEADER" and "DETAILS OF HEADER FIELDS"). We only boot
 * through the 64-bit entry, which needs protocol 2.12 (xloadflags); the
 * payload fields we use for host decompression exist since 2.08.
 */
#include <stdio.h>
#include <string.h>

#include "boot/linux.h"
#include "hyperkit.h"

#define HDRS_MAGIC 0x53726448u   /* "HdrS" */
#define BOOT_FLAG 0xaa55
#define MIN_VERSION 0x020c

static int bad(char *err, size_t errlen, const char *file, const char *why)
{
    snprintf(err, errlen, "%s: %s", file, why);
    return HK_EINVAL;
}

const char *linux_payload_name(enum linux_payload p)
{
    switch (p) {
    case PAYLOAD_NONE: return "uncompressed ELF";
    case PAYLOAD_XZ: return "xz";
    case PAYLOAD_ZSTD: return "zstd";
    case PAYLOAD_GZIP: return "gzip";
    default: return "unknown";
    }
}

/* The kernel's build (arch/x86/boot/compressed/Makefile) picks one of
 * gzip, bzip2, lzma, xz, lzo, lz4, zstd or none; tell by magic. */
static enum linux_payload payload_format(const uint8_t *p, uint32_t len)
{
    static const uint8_t xz[] = {0xfd, '7', 'z', 'X', 'Z', 0};
    static const uint8_t zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
    static const uint8_t gzip[] = {0x1f, 0x8b};
    static const uint8_t elf[] = {0x7f, 'E', 'L', 'F'};
    if (len >= sizeof(xz) && memcmp(p, xz, sizeof(xz)) == 0)
        return PAYLOAD_XZ;
    if (len >= sizeof(zstd) && memcmp(p, zstd, sizeof(zstd)) == 0)
        return PAYLOAD_ZSTD;
    if (len >= sizeof(gzip) && memcmp(p, gzip, sizeof(gzip)) == 0)
        return PAYLOAD_GZIP;
    if (len >= sizeof(elf) && memcmp(p, elf, sizeof(elf)) == 0)
        return PAYLOAD_NONE;
    return PAYLOAD_OTHER;
}

/* Magic, version and header length: is this a bzImage we can read? */
static int check_magic(const uint8_t *b, size_t len, const char *file, struct bzimage *bz,
                       char *err, size_t errlen)
{
    if (len < HDR_MAGIC + 4 || le32(b + HDR_MAGIC) != HDRS_MAGIC)
        return bad(err, errlen, file, "not a Linux kernel (no \"HdrS\" setup header at 0x202)");
    if (le16(b + HDR_BOOT_FLAG) != BOOT_FLAG)
        return bad(err, errlen, file, "bad boot_flag in the setup header (expected 0xaa55)");
    bz->version = le16(b + HDR_VERSION);
    if (bz->version < MIN_VERSION) {
        snprintf(err, errlen, "%s: boot protocol %u.%02u is too old (64-bit entry needs 2.12)",
                 file, bz->version >> 8, bz->version & 0xff);
        return HK_EINVAL;
    }
    /* boot.rst: "the end of setup header can be calculated as follows:
     * 0x0202 + byte value at offset 0x0201". */
    bz->header_end = HDR_MAGIC + b[HDR_JUMP + 1];
    if (bz->header_end < HDR_MIN_LEN || bz->header_end > len)
        return bad(err, errlen, file, "setup header truncated or too short for protocol 2.12");
    return HK_OK;
}

static int check_layout(const uint8_t *b, size_t len, const char *file, struct bzimage *bz,
                        char *err, size_t errlen)
{
    /* boot.rst: "If this field is 0, the real value is 4." */
    uint32_t sects = b[HDR_SETUP_SECTS] ? b[HDR_SETUP_SECTS] : 4;
    bz->setup_size = (sects + 1) * 512;
    if (bz->setup_size >= len)
        return bad(err, errlen, file, "setup_sects says the real-mode part fills the whole file");
    bz->loadflags = b[HDR_LOADFLAGS];
    if (!(bz->loadflags & BZ_LOADED_HIGH))
        return bad(err, errlen, file, "zImage (not loaded high) is not supported");
    bz->xloadflags = le16(b + HDR_XLOADFLAGS);
    if (!(bz->xloadflags & BZ_XLF_KERNEL_64))
        return bad(err, errlen, file, "no 64-bit entry point (XLF_KERNEL_64 is clear)");
    bz->init_size = le32(b + HDR_INIT_SIZE);
    if (bz->init_size == 0)
        return bad(err, errlen, file, "init_size is 0");
    bz->kernel_alignment = le32(b + HDR_KERNEL_ALIGNMENT);
    bz->relocatable = b[HDR_RELOCATABLE] != 0;
    uint32_t a = bz->kernel_alignment;
    if (bz->relocatable && (a < 4096 || (a & (a - 1))))
        return bad(err, errlen, file, "kernel_alignment is not a power of two >= 4096");
    return HK_OK;
}

/* payload_offset counts from the start of the protected-mode code. */
static int check_payload(const uint8_t *b, size_t len, const char *file, struct bzimage *bz,
                         char *err, size_t errlen)
{
    uint64_t off = (uint64_t)bz->setup_size + le32(b + HDR_PAYLOAD_OFFSET);
    uint32_t plen = le32(b + HDR_PAYLOAD_LENGTH);
    if (plen == 0 || off > len || plen > len - off)
        return bad(err, errlen, file, "payload_offset/payload_length point outside the file");
    bz->payload = b + off;
    bz->payload_length = plen;
    bz->payload_format = payload_format(bz->payload, plen);
    return HK_OK;
}

int bzimage_parse(const uint8_t *buf, size_t len, const char *file, struct bzimage *out,
                  char *err, size_t errlen)
{
    struct bzimage bz = {.file = buf, .size = len};
    int r = check_magic(buf, len, file, &bz, err, errlen);
    if (r == HK_OK)
        r = check_layout(buf, len, file, &bz, err, errlen);
    if (r == HK_OK)
        r = check_payload(buf, len, file, &bz, err, errlen);
    if (r != HK_OK)
        return r;
    bz.initrd_addr_max = le32(buf + HDR_INITRD_ADDR_MAX);
    bz.cmdline_size = le32(buf + HDR_CMDLINE_SIZE);
    bz.pref_address = le64(buf + HDR_PREF_ADDRESS);
    *out = bz;
    return HK_OK;
}
