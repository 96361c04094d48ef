/*
 * -f kexec: the bzImage setup-header parser, host decompression, the ELF
 * loader, the e820 table and zero page, and boot_linux_mode() on a small
 * VM built by hand (emu engine), with synthetic kernels made here: a tiny
 * ELF "vmlinux", xz-compressed into a fake bzImage. Then, when
 * scripts/fetch-guest.sh has been run, Debian's real kernel.
 */
#include <elf.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zstd.h>

#include "boot/linux.h"
#include "core/vm.h"
#include "test.h"

#define MiB (1ull << 20)
#define KERNEL_PADDR 0x1000000ull
#define PM_FILLER 0x400          /* bytes of "decompressor" before the payload */
#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define HEADER_END 0x26c

/* mov eax,[rsi+0x202]; hlt: reads "HdrS" back from the zero page. */
static const uint8_t entry_code[] = {0x8b, 0x86, 0x02, 0x02, 0x00, 0x00, 0xf4};

struct blob {
    uint8_t *p;
    size_t n;
};

/* --- synthetic kernels ---------------------------------------------------- */

/* A one-segment ELF64 vmlinux: entry_code at paddr, then bss to memsz. */
static struct blob make_elf(uint64_t paddr, uint64_t memsz, uint64_t entry)
{
    size_t code_off = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
    struct blob b = {calloc(1, code_off + sizeof(entry_code)), code_off + sizeof(entry_code)};
    Elf64_Ehdr eh = {.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
                     .e_entry = entry, .e_phoff = sizeof(Elf64_Ehdr),
                     .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
                     .e_phnum = 1};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    Elf64_Phdr ph = {.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = code_off,
                     .p_vaddr = 0xffffffff80000000ull + paddr, .p_paddr = paddr,
                     .p_filesz = sizeof(entry_code), .p_memsz = memsz, .p_align = 0x200000};
    memcpy(b.p, &eh, sizeof(eh));
    memcpy(b.p + sizeof(eh), &ph, sizeof(ph));
    memcpy(b.p + code_off, entry_code, sizeof(entry_code));
    return b;
}

/* xz, then the le32 unpacked size, as the kernel's build appends it. */
static struct blob xz_payload(struct blob elf, uint32_t claimed)
{
    size_t cap = elf.n + 4096, pos = 0;
    struct blob b = {malloc(cap + 4), 0};
    if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, elf.p, elf.n, b.p, &pos, cap) !=
        LZMA_OK) {
        printf("FAIL: lzma_easy_buffer_encode\n");
        exit(1);
    }
    put32(b.p + pos, claimed);
    b.n = pos + 4;
    return b;
}

static struct blob zstd_payload(struct blob elf)
{
    size_t cap = ZSTD_compressBound(elf.n);
    struct blob b = {malloc(cap + 4), 0};
    b.n = ZSTD_compress(b.p, cap, elf.p, elf.n, 19);
    if (ZSTD_isError(b.n)) {
        printf("FAIL: ZSTD_compress\n");
        exit(1);
    }
    put32(b.p + b.n, (uint32_t)elf.n);
    b.n += 4;
    return b;
}

/* A bzImage: 4 setup sectors with a 2.15 header, then PM_FILLER bytes
 * whose 0x200 offset holds entry_code (the 64-bit entry), then payload. */
static struct blob make_bzimage(struct blob payload)
{
    struct blob b = {calloc(1, SETUP_SIZE + PM_FILLER + payload.n), 0};
    b.n = SETUP_SIZE + PM_FILLER + payload.n;
    uint8_t *h = b.p;
    h[HDR_SETUP_SECTS] = SETUP_SECTS;
    put16(h + HDR_BOOT_FLAG, 0xaa55);
    h[HDR_JUMP] = 0xeb;
    h[HDR_JUMP + 1] = HEADER_END - 0x202;
    put32(h + HDR_MAGIC, 0x53726448);
    put16(h + HDR_VERSION, 0x020f);
    put16(h + HDR_VID_MODE, 0xffff);
    h[HDR_LOADFLAGS] = BZ_LOADED_HIGH;
    put32(h + HDR_INITRD_ADDR_MAX, 0x7fffffff);
    put32(h + HDR_KERNEL_ALIGNMENT, 0x200000);
    h[HDR_RELOCATABLE] = 1;
    put16(h + HDR_XLOADFLAGS, 0x7f);
    put32(h + HDR_CMDLINE_SIZE, 2047);
    put32(h + HDR_PAYLOAD_OFFSET, PM_FILLER);
    put32(h + HDR_PAYLOAD_LENGTH, (uint32_t)payload.n);
    put64(h + HDR_PREF_ADDRESS, KERNEL_PADDR);
    put32(h + HDR_INIT_SIZE, 0x400000);
    memcpy(h + SETUP_SIZE + 0x200, entry_code, sizeof(entry_code));
    memcpy(h + SETUP_SIZE + PM_FILLER, payload.p, payload.n);
    return b;
}

static struct blob good_bzimage(void)
{
    struct blob elf = make_elf(KERNEL_PADDR, 0x3000, KERNEL_PADDR);
    struct blob xz = xz_payload(elf, (uint32_t)elf.n);
    struct blob bz = make_bzimage(xz);
    free(elf.p);
    free(xz.p);
    return bz;
}

/* --- a VM by hand: guest RAM, the emu engine, one vCPU ------------------ */

static struct vm *test_vm(uint64_t ram)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    vm->cfg.log_level = HK_LOG_ERROR;
    vm->accel_ops = &accel_emu_ops;
    if (gmem_init(&vm->mem, ram) || vm->accel_ops->vm_create(vm, &vm->accel)) {
        printf("FAIL: test vm of %llu bytes\n", (unsigned long long)ram);
        exit(1);
    }
    for (int i = 0; i < vm->mem.nregions; i++) {
        struct gmem_region *g = &vm->mem.regions[i];
        vm->accel_ops->map_memory(vm->accel, g->gpa, g->hva, g->size);
    }
    vm->nvcpus = 1;
    vm->accel_ops->vcpu_create(vm->accel, 0, &vm->vcpus[0].accel);
    return vm;
}

static void test_vm_free(struct vm *vm)
{
    vm->accel_ops->vcpu_destroy(vm->vcpus[0].accel);
    vm->accel_ops->vm_destroy(vm->accel);
    gmem_fini(&vm->mem);
    free(vm);
}

static char *write_temp(const void *data, size_t n)
{
    char *path = strdup("/tmp/hk-linux-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
        printf("FAIL: cannot write a temporary file\n");
        exit(1);
    }
    close(fd);
    return path;
}

static void drop_temp(char *path)
{
    unlink(path);
    free(path);
}

/* --- the parser ------------------------------------------------------------ */

static int parse(const struct blob *b, struct bzimage *bz, char *err)
{
    return bzimage_parse(b->p, b->n, "bz", bz, err, 200);
}

static void test_parse_good(void)
{
    struct blob b = good_bzimage();
    struct bzimage bz;
    char err[200] = "";
    CHECK_EQ(parse(&b, &bz, err), HK_OK, "bzimage: a good header parses");
    CHECK_EQ(bz.version, 0x020f, "bzimage: protocol version");
    CHECK_EQ(bz.setup_size, SETUP_SIZE, "bzimage: setup size from setup_sects");
    CHECK_EQ(bz.header_end, HEADER_END, "bzimage: header end from the jump byte");
    CHECK_EQ(bz.payload_format, PAYLOAD_XZ, "bzimage: xz payload detected by magic");
    CHECK(bz.payload == b.p + SETUP_SIZE + PM_FILLER, "bzimage: payload found");
    CHECK_EQ(bz.pref_address, KERNEL_PADDR, "bzimage: pref_address");
    CHECK(bz.relocatable && bz.kernel_alignment == 0x200000, "bzimage: relocatable, 2 MiB");
    free(b.p);
}

/* Mutate a good image at off (width 1, 2 or 4) and expect a parse error. */
static void expect_bad(const char *name, size_t off, int width, uint32_t value, size_t len)
{
    struct blob b = good_bzimage();
    if (width == 1)
        b.p[off] = (uint8_t)value;
    else if (width == 2)
        put16(b.p + off, (uint16_t)value);
    else if (width == 4)
        put32(b.p + off, value);
    if (len)
        b.n = len;
    struct bzimage bz;
    char err[200] = "";
    int r = parse(&b, &bz, err);
    char what[160];
    snprintf(what, sizeof(what), "bzimage rejects %s (%s)", name, err);
    CHECK(r == HK_EINVAL && strncmp(err, "bz: ", 4) == 0, what);
    free(b.p);
}

static void test_parse_bad(void)
{
    expect_bad("an empty file", 0, 0, 0, 1);
    expect_bad("a truncated header", 0, 0, 0, 0x240);
    expect_bad("a bad HdrS magic", HDR_MAGIC, 4, 0x53726449, 0);
    expect_bad("a bad boot_flag", HDR_BOOT_FLAG, 2, 0x55aa, 0);
    expect_bad("protocol 2.11", HDR_VERSION, 2, 0x020b, 0);
    expect_bad("a header shorter than 2.10's", HDR_JUMP + 1, 1, 0x40, 0);
    expect_bad("setup_sects past the end", HDR_SETUP_SECTS, 1, 255, 0);
    expect_bad("a zImage", HDR_LOADFLAGS, 1, 0, 0);
    expect_bad("no 64-bit entry", HDR_XLOADFLAGS, 2, 0x7e, 0);
    expect_bad("init_size 0", HDR_INIT_SIZE, 4, 0, 0);
    expect_bad("kernel_alignment 3 MiB", HDR_KERNEL_ALIGNMENT, 4, 0x300000, 0);
    expect_bad("payload_length past the end", HDR_PAYLOAD_LENGTH, 4, 0x10000000, 0);
    expect_bad("payload_offset near 4 GiB", HDR_PAYLOAD_OFFSET, 4, 0xfffffff0, 0);
    expect_bad("payload_length 0", HDR_PAYLOAD_LENGTH, 4, 0, 0);
}

/* --- decompression and the ELF loader ------------------------------------ */

static int unpack(struct blob b, uint8_t **out, size_t *n, char *err)
{
    struct bzimage bz;
    int r = parse(&b, &bz, err);
    return r ? r : vmlinux_decompress(&bz, 64 * MiB, out, n, "bz", err, 200);
}

static void test_decompress(void)
{
    struct blob elf = make_elf(KERNEL_PADDR, 0x3000, KERNEL_PADDR);
    struct blob b = good_bzimage();
    uint8_t *out = NULL;
    size_t n = 0;
    char err[200] = "";
    CHECK_EQ(unpack(b, &out, &n, err), HK_OK, "xz payload unpacks");
    CHECK(n == elf.n && memcmp(out, elf.p, n) == 0, "xz payload unpacks to the ELF");
    free(out);
    b.p[SETUP_SIZE + PM_FILLER + 40] ^= 0x55;
    CHECK_EQ(unpack(b, &out, &n, err), HK_EINVAL, "corrupt xz payload is an error");
    free(b.p);

    struct blob xz = xz_payload(elf, (uint32_t)elf.n - 1);
    b = make_bzimage(xz);
    CHECK_EQ(unpack(b, &out, &n, err), HK_EINVAL, "payload larger than it claims is an error");
    free(b.p);
    free(xz.p);
    xz = xz_payload(elf, 0xfffffff0u);
    b = make_bzimage(xz);
    CHECK_EQ(unpack(b, &out, &n, err), HK_EINVAL, "payload claiming 4 GiB is refused");
    free(b.p);
    free(xz.p);
    xz = xz_payload(elf, (uint32_t)elf.n);
    xz.p[1] = 'Q';   /* still starts 0xfd, no longer xz */
    b = make_bzimage(xz);
    CHECK_EQ(unpack(b, &out, &n, err), HK_ENOTSUP, "unknown payload format is reported");
    free(b.p);
    free(xz.p);
    xz = zstd_payload(elf);
    b = make_bzimage(xz);
    CHECK(unpack(b, &out, &n, err) == HK_OK && n == elf.n && memcmp(out, elf.p, n) == 0,
          "zstd payload unpacks to the ELF");
    free(out);
    b.p[SETUP_SIZE + PM_FILLER + 20] ^= 0x55;
    CHECK_EQ(unpack(b, &out, &n, err), HK_EINVAL, "corrupt zstd payload is an error");
    free(b.p);
    free(xz.p);
    free(elf.p);
}

static int check_elf(struct blob e, const struct guest_mem *mem, char *err)
{
    struct vmlinux_image img;
    return vmlinux_check(e.p, e.n, mem, &img, "vmlinux", err, 200);
}

static void test_elf_bad(void)
{
    struct guest_mem mem;
    gmem_init(&mem, 32 * MiB);
    char err[200] = "";
    struct blob e = make_elf(KERNEL_PADDR, 0x3000, KERNEL_PADDR);
    CHECK_EQ(check_elf(e, &mem, err), HK_OK, "elf: a good vmlinux checks out");
    free(e.p);
    e = make_elf(31 * MiB, 2 * MiB, 31 * MiB);
    CHECK_EQ(check_elf(e, &mem, err), HK_EINVAL, "elf: segment past the end of RAM");
    free(e.p);
    e = make_elf(0x8000, 0x1000, 0x8000);
    CHECK_EQ(check_elf(e, &mem, err), HK_EINVAL, "elf: segment below 1 MiB");
    free(e.p);
    e = make_elf(0xfffffffffffff000ull, 0x2000, KERNEL_PADDR);
    CHECK_EQ(check_elf(e, &mem, err), HK_EINVAL, "elf: segment wrapping 2^64");
    free(e.p);
    e = make_elf(KERNEL_PADDR, 0x3000, 0x5000000);
    CHECK_EQ(check_elf(e, &mem, err), HK_EINVAL, "elf: entry outside the segments");
    free(e.p);
    e = make_elf(KERNEL_PADDR, 0x3000, 0xffffffff80000000ull + KERNEL_PADDR + 4);
    struct vmlinux_image img;
    CHECK(vmlinux_check(e.p, e.n, &mem, &img, "v", err, 200) == HK_OK &&
              img.entry == KERNEL_PADDR + 4, "elf: a virtual entry maps to its paddr");
    put64(e.p + offsetof(Elf64_Ehdr, e_phoff), 1ull << 40);
    CHECK_EQ(check_elf(e, &mem, err), HK_EINVAL, "elf: program headers outside the file");
    put64(e.p + offsetof(Elf64_Ehdr, e_phoff), sizeof(Elf64_Ehdr));
    put64(e.p + sizeof(Elf64_Ehdr) + offsetof(Elf64_Phdr, p_filesz), 0x4000);
    CHECK_EQ(check_elf(e, &mem, err), HK_EINVAL, "elf: p_filesz > p_memsz");
    put64(e.p + sizeof(Elf64_Ehdr) + offsetof(Elf64_Phdr, p_filesz), 0x2000);
    CHECK_EQ(check_elf(e, &mem, err), HK_EINVAL, "elf: segment data outside the file");
    e.p[EI_CLASS] = ELFCLASS32;
    CHECK_EQ(check_elf(e, &mem, err), HK_EINVAL, "elf: ELF32 is refused");
    CHECK_EQ(vmlinux_check(e.p, 10, &mem, &img, "v", err, 200), HK_EINVAL, "elf: truncated");
    free(e.p);
    gmem_fini(&mem);
}

/* --- e820 and the zero page ------------------------------------------------ */

static void test_e820(void)
{
    struct guest_mem mem;
    struct e820_entry t[8];
    gmem_init(&mem, 512 * MiB);
    int n = e820_build(&mem, t, 8);
    CHECK(n == 3 && t[0].addr == 0 && t[0].size == 0xa0000 && t[0].type == E820_RAM,
          "e820 512M: RAM below 640K");
    CHECK(t[1].addr == 0xa0000 && t[1].size == 0x60000 && t[1].type == E820_RESERVED,
          "e820 512M: 640K-1M reserved");
    CHECK(t[2].addr == MiB && t[2].size == 511 * MiB && t[2].type == E820_RAM,
          "e820 512M: RAM from 1 MiB to the top");
    gmem_fini(&mem);
    gmem_init(&mem, 4096 * MiB);
    n = e820_build(&mem, t, 8);
    CHECK(n == 4 && t[2].size == 3072 * MiB - MiB && t[3].addr == 1ull << 32 &&
              t[3].size == 1024 * MiB, "e820 4G: low RAM to the PCI hole, the rest above 4G");
    CHECK_EQ(e820_low_ram_end(&mem), 3072 * MiB, "e820 4G: low RAM ends at 3 GiB");
    gmem_fini(&mem);
    gmem_init(&mem, 512 * 1024);
    CHECK_EQ(e820_build(&mem, t, 8), 1, "e820 512K: one RAM entry");
    gmem_fini(&mem);
}

static void test_zero_page(void)
{
    struct blob b = good_bzimage();
    struct guest_mem mem;
    gmem_init(&mem, 64 * MiB);
    static uint8_t zp[ZERO_PAGE_SIZE];
    struct zero_page_info info = {.setup_header = b.p + ZP_HDR,
                                  .setup_header_len = HEADER_END - ZP_HDR, .cmdline = 0x8000,
                                  .initrd = 0x3000000, .initrd_size = 12345};
    zero_page_build(zp, &mem, &info);
    CHECK_EQ(le32(zp + HDR_MAGIC), 0x53726448, "zero page: setup header copied");
    CHECK_EQ(zp[HDR_TYPE_OF_LOADER], 0xff, "zero page: type_of_loader 0xff");
    CHECK_EQ(zp[HDR_LOADFLAGS], BZ_LOADED_HIGH | BZ_CAN_USE_HEAP, "zero page: loadflags");
    CHECK_EQ(le32(zp + HDR_CMD_LINE_PTR), 0x8000, "zero page: cmd_line_ptr");
    CHECK_EQ(le32(zp + HDR_RAMDISK_IMAGE), 0x3000000, "zero page: ramdisk_image");
    CHECK_EQ(le32(zp + HDR_RAMDISK_SIZE), 12345, "zero page: ramdisk_size");
    CHECK_EQ(le32(zp + HDR_HARDWARE_SUBARCH), 0, "zero page: hardware_subarch PC");
    CHECK_EQ(zp[ZP_SENTINEL], 0, "zero page: sentinel clear");
    CHECK_EQ(zp[ZP_E820_ENTRIES], 3, "zero page: three e820 entries");
    const uint8_t *e = zp + ZP_E820_TABLE + 2 * 20;
    CHECK(le64(e) == MiB && le64(e + 8) == 63 * MiB && le32(e + 16) == E820_RAM,
          "zero page: e820 entry 2 is RAM from 1 MiB");
    info.setup_header = NULL;
    zero_page_build(zp, &mem, &info);
    CHECK(le32(zp + HDR_MAGIC) == 0x53726448 && le16(zp + HDR_VERSION) >= 0x020c,
          "zero page: a header is synthesized for a bare vmlinux");
    gmem_fini(&mem);
    free(b.p);
}

/* --- boot_linux_mode on a VM ----------------------------------------------- */

static int boot(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline,
                enum linux_decompress mode, struct linux_layout *lay, char *err)
{
    struct hk_boot hb = {.kind = HK_BOOT_KEXEC, .kernel = (char *)kernel,
                         .initrd = (char *)initrd, .cmdline = (char *)cmdline};
    return boot_linux_mode(vm, &hb, mode, lay, err, 200);
}

/* Run the vCPU to its HLT: entry_code proves long mode, paging and RSI. */
static void run_entry(struct vm *vm, const char *name)
{
    struct accel_exit ex = {0};
    struct accel_regs r = {0};
    struct accel_sregs s = {0};
    int rc = vm->accel_ops->vcpu_run(vm->vcpus[0].accel, &ex);
    vm->accel_ops->get_regs(vm->vcpus[0].accel, &r);
    vm->accel_ops->get_sregs(vm->vcpus[0].accel, &s);
    char what[120];
    snprintf(what, sizeof(what), "%s: runs to HLT in long mode, __BOOT_CS/DS, HdrS at RSI",
             name);
    CHECK(rc == 0 && ex.reason == ACCEL_EXIT_HLT && (uint32_t)r.gpr[0] == 0x53726448 &&
              s.cs.selector == 0x10 && s.ds.selector == 0x18 && s.ss.selector == 0x18 &&
              (s.efer & 0x400), what);
}

static void test_boot_host(void)
{
    struct blob b = good_bzimage();
    char *kernel = write_temp(b.p, b.n);
    static uint8_t initrd_data[10000];
    memset(initrd_data, 0xa5, sizeof(initrd_data));
    char *initrd = write_temp(initrd_data, sizeof(initrd_data));
    struct vm *vm = test_vm(64 * MiB);
    memset(gmem_ptr(&vm->mem, KERNEL_PADDR, 0x3000), 0xcc, 0x3000);   /* bss must be zeroed */
    struct linux_layout lay;
    char err[200] = "";
    int r = boot(vm, kernel, initrd, "console=ttyS0 quiet", LINUX_DECOMPRESS_AUTO, &lay, err);
    CHECK_EQ(r, HK_OK, "boot host: loads");
    CHECK(lay.host_decompressed && lay.entry == KERNEL_PADDR, "boot host: enters the ELF entry");
    const uint8_t *k = gmem_ptr(&vm->mem, KERNEL_PADDR, 0x3000);
    CHECK(memcmp(k, entry_code, sizeof(entry_code)) == 0 && k[0x2fff] == 0 &&
              k[sizeof(entry_code)] == 0, "boot host: segment loaded, bss zeroed");
    CHECK(lay.initrd == 64 * MiB - 3 * 4096 && lay.initrd_size == sizeof(initrd_data) &&
              memcmp(gmem_ptr(&vm->mem, lay.initrd, lay.initrd_size), initrd_data,
                     sizeof(initrd_data)) == 0, "boot host: initrd at the top, page-aligned");
    const uint8_t *zp = gmem_ptr(&vm->mem, lay.zero_page, ZERO_PAGE_SIZE);
    CHECK(le32(zp + HDR_RAMDISK_IMAGE) == lay.initrd && le32(zp + HDR_CMD_LINE_PTR) == lay.cmdline,
          "boot host: zero page points at initrd and command line");
    CHECK(strcmp(gmem_ptr(&vm->mem, lay.cmdline, 20), "console=ttyS0 quiet") == 0,
          "boot host: command line in guest RAM");
    run_entry(vm, "boot host");
    test_vm_free(vm);

    vm = test_vm(64 * MiB);
    r = boot(vm, kernel, NULL, NULL, LINUX_DECOMPRESS_GUEST, &lay, err);
    CHECK(r == HK_OK && !lay.host_decompressed && lay.entry == KERNEL_PADDR + 0x200 &&
              lay.kernel_end == KERNEL_PADDR + 0x400000, "boot guest: bzImage at +0x200");
    CHECK(memcmp(gmem_ptr(&vm->mem, KERNEL_PADDR, b.n - SETUP_SIZE), b.p + SETUP_SIZE,
                 b.n - SETUP_SIZE) == 0, "boot guest: protected-mode part at pref_address");
    run_entry(vm, "boot guest");
    test_vm_free(vm);
    drop_temp(kernel);
    drop_temp(initrd);
    free(b.p);
}

static void test_boot_elf(void)
{
    struct blob e = make_elf(2 * MiB, 0x1000, 2 * MiB);
    char *kernel = write_temp(e.p, e.n);
    struct vm *vm = test_vm(16 * MiB);
    struct linux_layout lay;
    char err[200] = "";
    CHECK(boot(vm, kernel, NULL, "x", LINUX_DECOMPRESS_AUTO, &lay, err) == HK_OK &&
              lay.entry == 2 * MiB, "boot vmlinux: a bare ELF kernel loads");
    run_entry(vm, "boot vmlinux");
    test_vm_free(vm);
    drop_temp(kernel);
    free(e.p);
}

/* CONFIG_KERNEL_UNCOMPRESSED: the payload is the ELF itself. */
static void test_boot_uncompressed(void)
{
    struct blob elf = make_elf(KERNEL_PADDR, 0x1000, KERNEL_PADDR);
    struct blob b = make_bzimage(elf);
    char *kernel = write_temp(b.p, b.n);
    struct vm *vm = test_vm(32 * MiB);
    struct linux_layout lay;
    char err[200] = "";
    CHECK(boot(vm, kernel, NULL, NULL, LINUX_DECOMPRESS_AUTO, &lay, err) == HK_OK &&
              lay.host_decompressed && lay.entry == KERNEL_PADDR,
          "boot uncompressed: the ELF payload is loaded as is");
    test_vm_free(vm);
    drop_temp(kernel);
    free(b.p);
    free(elf.p);
}

static void test_boot_bad(void)
{
    struct blob b = good_bzimage();
    char *kernel = write_temp(b.p, b.n);
    static uint8_t big[4 * MiB];
    char *initrd = write_temp(big, sizeof(big));
    char err[200] = "";
    struct vm *vm = test_vm(20 * MiB);
    CHECK_EQ(boot(vm, kernel, initrd, NULL, LINUX_DECOMPRESS_AUTO, NULL, err), HK_EINVAL,
             "boot: initrd that does not fit above the kernel is an error");
    CHECK(strstr(err, initrd) != NULL, "boot: the initrd error names the file");
    test_vm_free(vm);
    vm = test_vm(16 * MiB);
    CHECK_EQ(boot(vm, kernel, NULL, NULL, LINUX_DECOMPRESS_AUTO, NULL, err), HK_EINVAL,
             "boot: kernel past the end of RAM is an error");
    CHECK_EQ(boot(vm, "/nonexistent/vmlinuz", NULL, NULL, LINUX_DECOMPRESS_AUTO, NULL, err),
             HK_ENOENT, "boot: missing kernel file");
    test_vm_free(vm);
    vm = test_vm(64 * MiB);
    char longline[3000];
    memset(longline, 'a', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    CHECK_EQ(boot(vm, kernel, NULL, longline, LINUX_DECOMPRESS_AUTO, NULL, err), HK_EINVAL,
             "boot: command line longer than cmdline_size");
    CHECK_EQ(boot(vm, initrd, NULL, NULL, LINUX_DECOMPRESS_AUTO, NULL, err), HK_EINVAL,
             "boot: a file of zeros is not a kernel");
    test_vm_free(vm);
    drop_temp(kernel);
    drop_temp(initrd);
    free(b.p);
}

/* --- Debian's kernel, when scripts/fetch-guest.sh has fetched it ---------- */

static void test_debian_kernel(const char *dir)
{
    char kernel[512], initrd[512];
    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
    snprintf(initrd, sizeof(initrd), "%s/initramfs-shell.img", dir);
    if (access(kernel, R_OK) != 0 || access(initrd, R_OK) != 0) {
        printf("note: %s not found: run scripts/fetch-guest.sh to test Debian's kernel\n",
               kernel);
        return;
    }
    struct vm *vm = test_vm(512 * MiB);
    struct linux_layout lay;
    char err[200] = "";
    int r = boot(vm, kernel, initrd, "console=ttyS0", LINUX_DECOMPRESS_AUTO, &lay, err);
    if (r)
        printf("debian: %s\n", err);
    CHECK_EQ(r, HK_OK, "debian kernel: loads with its initramfs");
    CHECK(lay.host_decompressed && lay.entry == KERNEL_PADDR, "debian kernel: unpacked on the "
          "host, entered at startup_64 (16 MiB)");
    const uint8_t *zp = gmem_ptr(&vm->mem, lay.zero_page, ZERO_PAGE_SIZE);
    CHECK(le16(zp + HDR_VERSION) >= 0x020c && zp[ZP_E820_ENTRIES] == 3 &&
              le32(zp + HDR_RAMDISK_SIZE) == lay.initrd_size,
          "debian kernel: zero page has its header, e820 and initrd");
    CHECK(lay.kernel_end <= lay.initrd && lay.initrd + lay.initrd_size <= 512 * MiB &&
              (lay.initrd & 0xfff) == 0, "debian kernel: initrd above the kernel, in RAM");
    const uint8_t *text = gmem_ptr(&vm->mem, KERNEL_PADDR, 16);
    CHECK(text && memcmp(text, "\0\0\0\0\0\0\0\0", 8) != 0, "debian kernel: text loaded");
    test_vm_free(vm);
    vm = test_vm(512 * MiB);
    r = boot(vm, kernel, initrd, "console=ttyS0", LINUX_DECOMPRESS_GUEST, &lay, err);
    CHECK(r == HK_OK && lay.entry == KERNEL_PADDR + 0x200, "debian kernel: bzImage path loads");
    test_vm_free(vm);
}

int main(void)
{
    test_parse_good();
    test_parse_bad();
    test_decompress();
    test_elf_bad();
    test_e820();
    test_zero_page();
    test_boot_host();
    test_boot_elf();
    test_boot_uncompressed();
    test_boot_bad();
    const char *dir = getenv("HYPERKIT_GUEST_DIR");
    test_debian_kernel(dir ? dir : "build/guest");
    TEST_EXIT();
}
