/*
 * The kernel proper: a bzImage's payload is the vmlinux ELF, compressed
 * (boot.rst, payload_offset: "the payload may be compressed. The format
 * of both the compressed and uncompressed data should be determined using
 * the standard magic numbers"). We unpack xz and zstd here, on the host,
 * and load the ELF's PT_LOAD segments at their physical addresses, as the
 * kernel's own decompressor does (arch/x86/boot/compressed/misc.c,
 * parse_elf) when it runs at the link-time address.
 */
#include <elf.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "boot/linux.h"
#include "core/guest_mem.h"
#include "hyperkit.h"

/* ELF headers are read by memcpy into <elf.h> structs: little-endian only. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ELF parsing assumes a LE host");

#define LOW_LIMIT 0x100000ull   /* below 1 MiB are our page tables and zero page */
#define MAX_PHDRS 64
#define XZ_MEMLIMIT (256ull << 20)

static int xz_unpack(const uint8_t *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
    lzma_stream s = LZMA_STREAM_INIT;
    /* No LZMA_CONCATENATED: the stream is followed by the 4-byte size the
     * kernel's build appends, which is not xz stream padding. */
    if (lzma_stream_decoder(&s, XZ_MEMLIMIT, 0) != LZMA_OK)
        return -1;
    s.next_in = in;
    s.avail_in = inlen;
    s.next_out = out;
    s.avail_out = cap;
    lzma_ret r = lzma_code(&s, LZMA_FINISH);
    *outlen = (size_t)s.total_out;
    lzma_end(&s);
    return r == LZMA_STREAM_END ? 0 : -1;
}

static int zstd_unpack(const uint8_t *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
    /* One frame, then the appended size: decompress just the frame. */
    size_t frame = ZSTD_findFrameCompressedSize(in, inlen);
    if (ZSTD_isError(frame))
        return -1;
    size_t n = ZSTD_decompress(out, cap, in, frame);
    if (ZSTD_isError(n))
        return -1;
    *outlen = n;
    return 0;
}

int vmlinux_decompress(const struct bzimage *bz, uint64_t max, uint8_t **out, size_t *outlen,
                       const char *file, char *err, size_t errlen)
{
    const char *fmt = linux_payload_name(bz->payload_format);
    if (bz->payload_format != PAYLOAD_XZ && bz->payload_format != PAYLOAD_ZSTD) {
        snprintf(err, errlen, "%s: cannot unpack a %s payload on the host", file, fmt);
        return HK_ENOTSUP;
    }
    /* The build appends the unpacked size, le32, after the compressed
     * data (scripts/Makefile.lib, size_append). Untrusted: bounded. */
    if (bz->payload_length < 8) {
        snprintf(err, errlen, "%s: %s payload too short", file, fmt);
        return HK_EINVAL;
    }
    uint32_t size = le32(bz->payload + bz->payload_length - 4);
    if (size < sizeof(Elf64_Ehdr) || size > max) {
        snprintf(err, errlen, "%s: %s payload claims %u unpacked bytes (limit %llu)", file, fmt,
                 size, (unsigned long long)max);
        return HK_EINVAL;
    }
    uint8_t *buf = malloc(size);
    if (!buf) {
        snprintf(err, errlen, "%s: no memory to unpack %u bytes", file, size);
        return HK_ENOMEM;
    }
    size_t n = 0, inlen = bz->payload_length - 4;
    int r = bz->payload_format == PAYLOAD_XZ ? xz_unpack(bz->payload, inlen, buf, size, &n)
                                             : zstd_unpack(bz->payload, inlen, buf, size, &n);
    if (r != 0) {
        free(buf);
        snprintf(err, errlen, "%s: corrupt %s payload (or larger than the %u bytes it claims)",
                 file, fmt, size);
        return HK_EINVAL;
    }
    *out = buf;
    *outlen = n;
    return HK_OK;
}

bool vmlinux_is_elf(const uint8_t *buf, size_t len)
{
    return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

static int elf_header(const uint8_t *elf, size_t len, Elf64_Ehdr *eh, const char *file,
                      char *err, size_t errlen)
{
    const char *why = NULL;
    if (len < sizeof(*eh) || !vmlinux_is_elf(elf, len)) {
        snprintf(err, errlen, "%s: not an ELF file", file);
        return HK_EINVAL;
    }
    memcpy(eh, elf, sizeof(*eh));
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_machine != EM_X86_64)
        why = "not a little-endian x86-64 ELF64 kernel";
    else if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
             eh->e_phnum > MAX_PHDRS)
        why = "bad ELF program header size or count";
    else if (eh->e_phoff > len || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
        why = "ELF program headers lie outside the file";
    if (why) {
        snprintf(err, errlen, "%s: %s", file, why);
        return HK_EINVAL;
    }
    return HK_OK;
}

static void phdr_at(const uint8_t *elf, const Elf64_Ehdr *eh, int i, Elf64_Phdr *ph)
{
    memcpy(ph, elf + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

/* One PT_LOAD: inside the file, and inside guest RAM above 1 MiB. */
static int check_segment(const Elf64_Phdr *ph, int i, size_t len, const struct guest_mem *mem,
                         const char *file, char *err, size_t errlen)
{
    const char *why = NULL;
    if (ph->p_filesz > ph->p_memsz)
        why = "has p_filesz > p_memsz";
    else if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
        why = "lies outside the file";
    else if (ph->p_paddr < LOW_LIMIT || !gmem_ptr(mem, ph->p_paddr, ph->p_memsz))
        why = "does not fit in guest RAM above 1 MiB";
    if (why) {
        snprintf(err, errlen, "%s: ELF segment %d (%#llx, %#llx bytes) %s", file, i,
                 (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz, why);
        return HK_EINVAL;
    }
    return HK_OK;
}

/* e_entry is physical in a vmlinux (ENTRY(phys_startup_64) in
 * vmlinux.lds.S); accept a virtual one too by mapping it through the
 * segment that holds it. */
static bool entry_paddr(const uint8_t *elf, const Elf64_Ehdr *eh, uint64_t *entry)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < eh->e_phnum; i++) {
            Elf64_Phdr ph;
            phdr_at(elf, eh, i, &ph);
            uint64_t base = pass == 0 ? ph.p_paddr : ph.p_vaddr;
            if (ph.p_type == PT_LOAD && eh->e_entry >= base && eh->e_entry - base < ph.p_memsz) {
                *entry = ph.p_paddr + (eh->e_entry - base);
                return true;
            }
        }
    }
    return false;
}

int vmlinux_check(const uint8_t *elf, size_t len, const struct guest_mem *mem,
                  struct vmlinux_image *img, const char *file, char *err, size_t errlen)
{
    Elf64_Ehdr eh;
    int r = elf_header(elf, len, &eh, file, err, errlen);
    if (r)
        return r;
    struct vmlinux_image im = {.start = UINT64_MAX};
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        phdr_at(elf, &eh, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        r = check_segment(&ph, i, len, mem, file, err, errlen);
        if (r)
            return r;
        if (ph.p_paddr < im.start)
            im.start = ph.p_paddr;
        if (ph.p_paddr + ph.p_memsz > im.end)
            im.end = ph.p_paddr + ph.p_memsz;
    }
    if (im.end == 0) {
        snprintf(err, errlen, "%s: ELF file has nothing to load (no PT_LOAD)", file);
        return HK_EINVAL;
    }
    if (!entry_paddr(elf, &eh, &im.entry)) {
        snprintf(err, errlen, "%s: ELF entry point %#llx is outside its segments", file,
                 (unsigned long long)eh.e_entry);
        return HK_EINVAL;
    }
    *img = im;
    return HK_OK;
}

int vmlinux_load(const uint8_t *elf, size_t len, const struct guest_mem *mem,
                 struct vmlinux_image *img, const char *file, char *err, size_t errlen)
{
    int r = vmlinux_check(elf, len, mem, img, file, err, errlen);
    if (r)
        return r;
    Elf64_Ehdr eh;
    memcpy(&eh, elf, sizeof(eh));
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        phdr_at(elf, &eh, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        /* Checked above: the whole segment is RAM. */
        uint8_t *dst = gmem_ptr_for_write(mem, ph.p_paddr, ph.p_memsz);
        memcpy(dst, elf + ph.p_offset, ph.p_filesz);
        memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    }
    return HK_OK;
}
