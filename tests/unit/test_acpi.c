/*
 * ACPI tables (src/firmware): the bytes an OS reads, checked at the
 * offsets ACPI 6.3 chapter 5 gives; the AML emitter's encodings (chapter
 * 20); the DSDT decoded by hand and, when installed, by `iasl -d`
 * (Debian's acpica-tools) as an independent oracle; and the tables as the
 * VM glue writes them into guest RAM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vm.h"
#include "devices/pci/pci.h"
#include "firmware/acpi.h"
#include "firmware/acpi_aml.h"
#include "firmware/firmware.h"
#include "hyperkit.h"
#include "fw_read.h"
#include "test.h"

static uint8_t area_buf[FW_ACPI_SIZE];

/* A guest address inside the built area, or NULL (bounds-checked). */
static const uint8_t *at(uint64_t gpa, uint32_t len)
{
    return area_at(area_buf, FW_ACPI_BASE, FW_ACPI_SIZE, gpa, len);
}

/* A table by address: signature, length in bounds, checksum 0. */
static const uint8_t *table(uint64_t gpa, const char *sig, const char *name)
{
    const uint8_t *t = at(gpa, ACPI_HDR_SIZE);
    char what[96];
    snprintf(what, sizeof(what), "%s: signature %s", name, sig);
    CHECK(t && memcmp(t, sig, 4) == 0, what);
    if (!t || !at(gpa, le32(t + ACPI_HDR_LENGTH)))
        return NULL;
    snprintf(what, sizeof(what), "%s: checksum sums to 0", name);
    CHECK_EQ(byte_sum(t, le32(t + ACPI_HDR_LENGTH)), 0, what);
    snprintf(what, sizeof(what), "%s: OEM ID", name);
    CHECK(memcmp(t + ACPI_HDR_OEM_ID, ACPI_OEM_ID, 6) == 0, what);
    return t;
}

static uint32_t build(const struct fw_platform *p)
{
    struct fw_area a;
    uint32_t rsdp = 0;
    memset(area_buf, 0xcc, sizeof(area_buf));
    fw_area_init(&a, area_buf, FW_ACPI_BASE, FW_ACPI_SIZE);
    CHECK_EQ(acpi_build(&a, p, &rsdp), HK_OK, "acpi_build succeeds");
    return rsdp;
}

static const uint8_t *fadt, *madt, *dsdt;

static void test_rsdp_xsdt(void)
{
    struct fw_platform p = {.ncpus = 1, .com = {true, false}};
    uint32_t rsdp = build(&p);
    CHECK_EQ(rsdp, FW_ACPI_RSDP, "RSDP at the start of the area (0xe0000)");
    CHECK(rsdp % 16 == 0 && rsdp >= 0xe0000 && rsdp < 0x100000, "RSDP 16-byte aligned in the BIOS area");
    const uint8_t *r = at(rsdp, RSDP_SIZE);
    CHECK(memcmp(r, "RSD PTR ", 8) == 0, "RSDP signature");
    CHECK_EQ(r[RSDP_REVISION], 2, "RSDP revision 2");
    CHECK_EQ(le32(r + RSDP_LENGTH), RSDP_SIZE, "RSDP length 36");
    CHECK_EQ(byte_sum(r, RSDP_V1_SIZE), 0, "RSDP 1.0 checksum (20 bytes)");
    CHECK_EQ(byte_sum(r, RSDP_SIZE), 0, "RSDP extended checksum (36 bytes)");

    const uint8_t *x = table(le64(r + RSDP_XSDT), "XSDT", "XSDT");
    const uint8_t *rs = table(le32(r + RSDP_RSDT), "RSDT", "RSDT");
    if (!x || !rs)
        return;
    CHECK_EQ(le32(x + ACPI_HDR_LENGTH), ACPI_HDR_SIZE + 2 * 8, "XSDT has two entries");
    CHECK_EQ(le32(rs + ACPI_HDR_LENGTH), ACPI_HDR_SIZE + 2 * 4, "RSDT has two entries");
    for (int i = 0; i < 2; i++)
        CHECK_EQ(le64(x + ACPI_HDR_SIZE + 8 * i), le32(rs + ACPI_HDR_SIZE + 4 * i),
                 "RSDT and XSDT list the same tables");
    fadt = table(le64(x + ACPI_HDR_SIZE), "FACP", "FADT");
    madt = table(le64(x + ACPI_HDR_SIZE + 8), "APIC", "MADT");
    if (fadt)
        dsdt = table(le64(fadt + FADT_X_DSDT), "DSDT", "DSDT");
}

static void check_gas(const uint8_t *g, uint8_t width, uint64_t port, const char *name)
{
    char what[96];
    snprintf(what, sizeof(what), "%s: system I/O, %u bits at %#llx", name, width,
             (unsigned long long)port);
    CHECK(g[0] == GAS_SYSTEM_IO && g[1] == width && g[2] == 0 && le64(g + 4) == port, what);
}

static void test_fadt(void)
{
    if (!fadt)
        return;
    const uint8_t *f = fadt;
    CHECK_EQ(le32(f + ACPI_HDR_LENGTH), 276, "FADT length 276 (revision 6)");
    CHECK_EQ(f[ACPI_HDR_REVISION], 6, "FADT revision 6");
    CHECK_EQ(f[FADT_MINOR_VERSION], 3, "FADT minor version 3");
    CHECK_EQ(le16(f + 46), 9, "SCI_INT 9");
    CHECK_EQ(le32(f + 48), 0xb2, "SMI_CMD 0xb2");
    CHECK_EQ(f[52], 0xa0, "ACPI_ENABLE 0xa0");
    CHECK_EQ(f[53], 0xa1, "ACPI_DISABLE 0xa1");
    CHECK_EQ(le32(f + 56), 0x400, "PM1a_EVT_BLK 0x400");
    CHECK_EQ(le32(f + 60), 0, "no PM1b_EVT_BLK");
    CHECK_EQ(le32(f + 64), 0x404, "PM1a_CNT_BLK 0x404");
    CHECK_EQ(le32(f + 76), 0x408, "PM_TMR_BLK 0x408");
    CHECK_EQ(le32(f + 80), 0, "no GPE0 block");
    CHECK(f[88] == 4 && f[89] == 2 && f[91] == 4, "PM1_EVT_LEN 4, PM1_CNT_LEN 2, PM_TMR_LEN 4");
    CHECK(le16(f + 96) > 100 && le16(f + 98) > 1000, "C2 and C3 latencies say unsupported");
    CHECK_EQ(f[108], 0x32, "CENTURY is CMOS 0x32");
    uint16_t boot = le16(f + 109);
    CHECK(!(boot & IAPC_8042), "IAPC_BOOT_ARCH: no 8042");
    CHECK(boot & IAPC_LEGACY_DEVICES, "IAPC_BOOT_ARCH: legacy devices");
    CHECK(!(boot & (1u << 5)), "IAPC_BOOT_ARCH: CMOS RTC present");
    uint32_t flags = le32(f + 112);
    CHECK(flags & (1u << 8), "flags: TMR_VAL_EXT (32-bit PM timer)");
    CHECK(flags & (1u << 10), "flags: RESET_REG_SUP");
    CHECK(!(flags & (1u << 20)), "flags: not HW_REDUCED_ACPI");
    CHECK(!(flags & (1u << 4)), "flags: fixed-feature power button");
    check_gas(f + 116, 8, 0xcf9, "RESET_REG");
    CHECK_EQ(f[128], 6, "RESET_VALUE 6");
    check_gas(f + 148, 32, 0x400, "X_PM1a_EVT_BLK");
    check_gas(f + 172, 16, 0x404, "X_PM1a_CNT_BLK");
    check_gas(f + 208, 32, 0x408, "X_PM_TMR_BLK");
    CHECK(le64(f + 164) == 0 && le64(f + 188) == 0, "no X_PM1b blocks");
    CHECK_EQ(le64(f + 140), le32(f + 40), "X_DSDT equals DSDT");
    uint32_t facs = le32(f + 36);
    CHECK(facs != 0 && facs % 64 == 0, "FIRMWARE_CTRL set, 64-byte aligned");
    CHECK_EQ(le64(f + 132), 0, "X_FIRMWARE_CTRL 0 while FIRMWARE_CTRL is set");
    const uint8_t *fc = at(facs, FACS_SIZE);
    CHECK(fc && memcmp(fc, "FACS", 4) == 0 && le32(fc + 4) == 64, "FACS signature and length");
    CHECK(fc && fc[32] == 2, "FACS version 2");
}

static void test_madt(void)
{
    if (!madt)
        return;
    const uint8_t *m = madt;
    uint32_t len = le32(m + ACPI_HDR_LENGTH);
    CHECK_EQ(le32(m + MADT_LAPIC_ADDR), 0xfee00000u, "MADT local APIC address");
    CHECK_EQ(le32(m + MADT_FLAGS), 1, "MADT PCAT_COMPAT");
    int lapics = 0, ioapics = 0, nmis = 0, bad = 0;
    bool irq0 = false, sci = false;
    uint32_t off = MADT_ENTRIES;
    while (off + 2 <= len && m[off + 1] >= 2 && off + m[off + 1] <= len) {
        const uint8_t *e = m + off;
        switch (e[0]) {
        case MADT_LAPIC:
            lapics++;
            bad += e[1] != 8 || e[2] != 0 || e[3] != 0 || le32(e + 4) != 1;
            break;
        case MADT_IOAPIC:
            ioapics++;
            bad += e[1] != 12 || e[2] != FW_IOAPIC_ID || le32(e + 4) != 0xfec00000u ||
                   le32(e + 8) != 0;
            break;
        case MADT_ISO:
            bad += e[1] != 10 || e[2] != 0;
            if (e[3] == 0)
                irq0 = le32(e + 4) == 2 && le16(e + 8) == (MPS_EDGE | MPS_ACTIVE_HIGH);
            if (e[3] == 9)
                sci = le32(e + 4) == 9 && le16(e + 8) == (MPS_LEVEL | MPS_ACTIVE_HIGH);
            break;
        case MADT_LAPIC_NMI:
            nmis++;
            bad += e[1] != 6 || e[2] != 0xff || e[5] != 1;
            break;
        default:
            bad++;
        }
        off += e[1];
    }
    CHECK_EQ(off, len, "MADT entries fill the table exactly");
    CHECK_EQ(lapics, 1, "one Processor Local APIC (UID 0, ID 0, enabled)");
    CHECK_EQ(ioapics, 1, "one I/O APIC (ID 0 at 0xfec00000, GSI base 0)");
    CHECK(irq0, "override: ISA IRQ 0 -> GSI 2, edge, active high");
    CHECK(sci, "override: SCI IRQ 9 -> GSI 9, level, active high");
    CHECK_EQ(nmis, 1, "Local APIC NMI on LINT1 of all processors");
    CHECK_EQ(bad, 0, "MADT entries well formed");
}

/* Find needle in [p, p+n). */
static const uint8_t *find(const uint8_t *p, size_t n, const void *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return p + i;
    return NULL;
}

/* Decode one ComputationalData integer; -1 if it is something else. */
static long long aml_int(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    int n;
    switch (*p) {
    case AML_ZERO:
        *pp = p + 1;
        return 0;
    case AML_ONE:
        *pp = p + 1;
        return 1;
    case AML_BYTE_PREFIX:
        n = 1;
        break;
    case AML_WORD_PREFIX:
        n = 2;
        break;
    case AML_DWORD_PREFIX:
        n = 4;
        break;
    default:
        return -1;
    }
    long long v = 0;
    for (int i = 0; i < n; i++)
        v |= (long long)p[1 + i] << (8 * i);
    *pp = p + 1 + n;
    return v;
}

static void test_dsdt(void)
{
    if (!dsdt)
        return;
    uint32_t len = le32(dsdt + ACPI_HDR_LENGTH);
    CHECK_EQ(dsdt[ACPI_HDR_REVISION], 2, "DSDT revision 2 (64-bit integers)");
    /* Name (\_S5, Package (4) {5, 5, 0, 0}) */
    static const uint8_t s5[] = {AML_NAME, AML_ROOT_CHAR, '_', 'S', '5', '_', AML_PACKAGE};
    const uint8_t *p = find(dsdt, len, s5, sizeof(s5));
    CHECK(p != NULL, "DSDT names \\_S5_ as a Package");
    if (p) {
        p += sizeof(s5);
        size_t used = 0;
        uint32_t plen = aml_pkglength_decode(p, len - (size_t)(p - dsdt), &used);
        const uint8_t *end = p + plen;
        p += used;
        CHECK_EQ(*p++, 4, "\\_S5_ package has 4 elements");
        long long v[4];
        for (int i = 0; i < 4; i++)
            v[i] = aml_int(&p);
        CHECK(v[0] == 5 && v[1] == 5 && v[2] == 0 && v[3] == 0, "\\_S5_ is {5, 5, 0, 0}");
        CHECK(p == end, "\\_S5_ PkgLength covers exactly its elements");
    }
    /* Only S5 is implemented (acpi_pm.c): an OS must not be offered S1-S4
     * (7.4.2; Linux then lists no "deep" or "standby" sleep). */
    static const char *const unsupported[] = {"_S1_", "_S2_", "_S3_", "_S4_"};
    for (int i = 0; i < 4; i++) {
        char what[64];
        snprintf(what, sizeof(what), "DSDT does not name \\%s (sleep state not implemented)",
                 unsupported[i]);
        CHECK(find(dsdt, len, unsupported[i], 4) == NULL, what);
    }
    uint8_t hid[5] = {AML_DWORD_PREFIX, 0x41, 0xd0, 0x0a, 0x03};   /* EisaId ("PNP0A03") */
    CHECK(find(dsdt, len, "PCI0", 4) && find(dsdt, len, hid, 5), "DSDT has PCI0 with _HID PNP0A03");
    CHECK(find(dsdt, len, "COM1", 4) && !find(dsdt, len, "COM2", 4),
          "DSDT lists COM1 only when only COM1 is configured");
    CHECK(find(dsdt, len, "RTC_", 4) != NULL, "DSDT has the RTC");
}

/* Name (_PRT, Package (128) {Package (4) {slot << 16 | 0xffff, pin, 0,
 * GSI}, ...}) inside PCI0: every slot and pin, on the GSIs the bus uses. */
static void test_prt(void)
{
    if (!dsdt)
        return;
    uint32_t len = le32(dsdt + ACPI_HDR_LENGTH);
    static const uint8_t prt[] = {AML_NAME, '_', 'P', 'R', 'T', AML_PACKAGE};
    const uint8_t *p = find(dsdt, len, prt, sizeof(prt));
    const uint8_t *pci0 = find(dsdt, len, "PCI0", 4);
    CHECK(p && pci0 && p > pci0, "DSDT names _PRT as a Package inside PCI0");
    if (!p)
        return;
    p += sizeof(prt);
    size_t used = 0;
    const uint8_t *end = p + aml_pkglength_decode(p, len - (size_t)(p - dsdt), &used);
    p += used;
    CHECK_EQ(*p++, 128, "_PRT has 128 entries (32 slots, 4 pins)");
    int good = 0;
    bool seen[32][4] = {{false}};
    while (p < end && *p == AML_PACKAGE) {
        p++;
        const uint8_t *eend = p + aml_pkglength_decode(p, (size_t)(end - p), &used);
        p += used;
        if (*p++ != 4)
            break;
        long long v[4];
        for (int i = 0; i < 4; i++)
            v[i] = aml_int(&p);
        int slot = (int)(v[0] >> 16), pin = (int)v[1];
        if (p == eend && (v[0] & 0xffff) == 0xffff && slot < 32 && pin >= 0 && pin < 4 &&
            v[2] == 0 && v[3] == pci_intx_gsi(slot, pin + 1) && !seen[slot][pin]) {
            seen[slot][pin] = true;
            good++;
        }
    }
    CHECK(good == 128 && p == end, "_PRT: each slot and pin once, Source 0, GSI as the bus routes");
    CHECK_EQ(pci_intx_gsi(2, 2), 19, "_PRT: slot 2 INTB# is GSI 19");
}

static void test_dsdt_variants(void)
{
    struct fw_platform p = {.ncpus = 3, .com = {true, true}};
    uint32_t rsdp = build(&p);
    const uint8_t *r = at(rsdp, RSDP_SIZE);
    const uint8_t *x = r ? table(le64(r + RSDP_XSDT), "XSDT", "XSDT (3 CPUs)") : NULL;
    const uint8_t *f = x ? table(le64(x + ACPI_HDR_SIZE), "FACP", "FADT (3 CPUs)") : NULL;
    const uint8_t *d = f ? table(le32(f + FADT_DSDT), "DSDT", "DSDT (3 CPUs)") : NULL;
    const uint8_t *m = x ? table(le64(x + ACPI_HDR_SIZE + 8), "APIC", "MADT (3 CPUs)") : NULL;
    if (!d || !m)
        return;
    uint32_t dl = le32(d + ACPI_HDR_LENGTH);
    CHECK(find(d, dl, "COM1", 4) && find(d, dl, "COM2", 4), "DSDT lists COM1 and COM2");
    CHECK(find(d, dl, "CP00", 4) && find(d, dl, "CP02", 4) && !find(d, dl, "CP03", 4),
          "DSDT has a processor device per CPU");
    int lapics = 0;
    for (uint32_t off = MADT_ENTRIES; off < le32(m + ACPI_HDR_LENGTH); off += m[off + 1]) {
        if (m[off] == MADT_LAPIC && m[off + 3] == lapics)
            lapics++;
        if (m[off + 1] == 0)
            break;
    }
    CHECK_EQ(lapics, 3, "MADT has a local APIC per CPU, IDs 0-2");

    struct fw_area a;
    fw_area_init(&a, area_buf, FW_ACPI_BASE, 256);
    uint32_t out;
    CHECK_EQ(acpi_build(&a, &p, &out), HK_ENOMEM, "a too small area is ENOMEM");
    fw_area_init(&a, area_buf, FW_ACPI_BASE, FW_ACPI_SIZE);
    p.ncpus = 0;
    CHECK_EQ(acpi_build(&a, &p, &out), HK_EINVAL, "zero CPUs is EINVAL");
    p.ncpus = FW_MAX_CPUS + 1;
    CHECK_EQ(acpi_build(&a, &p, &out), HK_EINVAL, "too many CPUs is EINVAL");
}

/* --- The AML emitter ------------------------------------------------------ */

static void test_aml(void)
{
    uint8_t buf[8192];
    struct aml a;
    aml_init(&a, buf, sizeof(buf));
    aml_integer(&a, 0);
    aml_integer(&a, 1);
    aml_integer(&a, 5);
    aml_integer(&a, 0x1234);
    aml_integer(&a, 0x12345678);
    aml_integer(&a, 0x123456789ull);
    static const uint8_t ints[] = {0x00, 0x01, 0x0a, 0x05, 0x0b, 0x34, 0x12, 0x0c, 0x78,
                                   0x56, 0x34, 0x12, 0x0e, 0x89, 0x67, 0x45, 0x23, 0x01,
                                   0x00, 0x00, 0x00};
    CHECK(a.len == sizeof(ints) && memcmp(buf, ints, sizeof(ints)) == 0,
          "integers take the shortest encoding");

    aml_init(&a, buf, sizeof(buf));
    aml_namestring(&a, "\\_SB.PCI0");
    aml_namestring(&a, "RTC");
    aml_namestring(&a, "\\A.B.C");
    static const uint8_t names[] = {0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
                                    'R', 'T', 'C', '_', 0x5c, 0x2f, 3, 'A', '_', '_', '_',
                                    'B', '_', '_', '_', 'C', '_', '_', '_'};
    CHECK(a.len == sizeof(names) && memcmp(buf, names, sizeof(names)) == 0,
          "name strings: root, dual, padded, multi");

    CHECK_EQ(aml_eisaid_value("PNP0A03"), 0x030ad041u, "EisaId(PNP0A03)");
    CHECK_EQ(aml_eisaid_value("PNP0501"), 0x0105d041u, "EisaId(PNP0501)");

    /* PkgLength at its size boundaries: 1 byte to 63, then 2 bytes. */
    const size_t bodies[] = {61, 62, 63, 200, 4093, 4094};
    const uint32_t want_bytes[] = {1, 1, 2, 2, 2, 3};
    for (int i = 0; i < 6; i++) {
        aml_init(&a, buf, sizeof(buf));
        size_t m = aml_scope_open(&a, "X");   /* 4 bytes of name */
        for (size_t k = 4; k < bodies[i]; k++)
            aml_byte(&a, 0xa5);
        aml_close(&a, m);
        size_t used = 0;
        uint32_t v = aml_pkglength_decode(buf + 1, a.len - 1, &used);
        char what[80];
        snprintf(what, sizeof(what), "PkgLength of a %zu-byte body: %u bytes, value right",
                 bodies[i], want_bytes[i]);
        CHECK(used == want_bytes[i] && v == bodies[i] + used && a.len == 1 + v, what);
    }

    aml_init(&a, buf, 8);
    for (int i = 0; i < 9; i++)
        aml_byte(&a, 1);
    CHECK(a.overflow && a.len == 8, "writing past the buffer sets overflow");

    /* Buffer () {1, 2, 3}: BufferOp PkgLength BufferSize bytes. */
    aml_init(&a, buf, sizeof(buf));
    size_t m = aml_buffer_open(&a);
    aml_bytes(&a, (uint8_t[]){1, 2, 3}, 3);
    aml_buffer_close(&a, m);
    static const uint8_t bufobj[] = {0x11, 0x06, 0x0a, 0x03, 1, 2, 3};
    CHECK(a.len == sizeof(bufobj) && memcmp(buf, bufobj, sizeof(bufobj)) == 0,
          "Buffer: PkgLength, BufferSize, bytes");
}

/* --- iasl as an oracle ---------------------------------------------------- */

static bool dsl_has(const char *dsl, const char *s)
{
    return dsl && strstr(dsl, s) != NULL;
}

static bool read_file(const char *path, void *buf, size_t cap, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    *n = fread(buf, 1, cap, f);
    fclose(f);
    return true;
}

/* Disassemble one table with `iasl -d`, compile the listing back with
 * optimizations off (-oa) and expect our bytes again, but for the fields
 * iasl writes itself: the checksum and the compiler ID and revision. */
static char *roundtrip(const uint8_t *t, size_t len, bool header, const char *dir,
                       const char *name)
{
    static char text[65536];
    static uint8_t back[8192];
    char path[256], cmd[800], what[96];
    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    fwrite(t, 1, len, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "cd %s && iasl -d %s.dat >%s.dis 2>&1 && iasl -oa -p %s_re %s.dsl >%s.asm 2>&1 && "
             "grep -q ' 0 Errors, 0 Warnings' %s.asm", dir, name, name, name, name, name, name);
    snprintf(what, sizeof(what), "iasl: %s disassembles and compiles back without warnings", name);
    CHECK(system(cmd) == 0, what);
    size_t n = 0;
    snprintf(path, sizeof(path), "%s/%s_re.aml", dir, name);
    bool same = read_file(path, back, sizeof(back), &n) && n == len;
    for (size_t i = 0; same && i < len; i++)
        same = back[i] == t[i] || (header && (i == ACPI_HDR_CHECKSUM || (i >= 28 && i < 36)));
    snprintf(what, sizeof(what), "iasl: %s compiles back to the same bytes", name);
    CHECK(same, what);
    snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
    if (!read_file(path, text, sizeof(text) - 1, &n))
        return NULL;
    text[n] = '\0';
    return text;
}

static void test_iasl(void)
{
    if (system("command -v iasl >/dev/null 2>&1") != 0) {
        SKIP("iasl oracle", "iasl not installed (Debian package acpica-tools)");
        return;
    }
    struct fw_platform p = {.ncpus = 2, .com = {true, true}};
    uint32_t rsdp = build(&p);
    const uint8_t *x = at(le64(at(rsdp, RSDP_SIZE) + RSDP_XSDT), ACPI_HDR_SIZE + 16);
    const uint8_t *f = at(le64(x + ACPI_HDR_SIZE), FADT_SIZE);
    const uint8_t *m = at(le64(x + ACPI_HDR_SIZE + 8), ACPI_HDR_SIZE);
    const uint8_t *d = at(le32(f + FADT_DSDT), ACPI_HDR_SIZE);
    const uint8_t *fc = at(le32(f + FADT_FIRMWARE_CTRL), FACS_SIZE);
    char dir[] = "/tmp/hk-acpi-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "iasl: temporary directory");
        return;
    }
    const char *s = roundtrip(d, le32(d + ACPI_HDR_LENGTH), true, dir, "dsdt");
    CHECK(dsl_has(s, "Name (\\_S5, Package (0x04)"), "iasl: \\_S5 is a 4-element package");
    CHECK(dsl_has(s, "0x05, \n        0x05, \n        Zero, \n        Zero\n"),
          "iasl: \\_S5 is {5, 5, 0, 0}");
    CHECK(!dsl_has(s, "_S1") && !dsl_has(s, "_S2") && !dsl_has(s, "_S3") && !dsl_has(s, "_S4"),
          "iasl: no \\_S1 to \\_S4 (only S5 is implemented)");
    CHECK(dsl_has(s, "Device (PCI0)") && dsl_has(s, "EisaId (\"PNP0A03\")"),
          "iasl: PCI0 is a PNP0A03");
    CHECK(dsl_has(s, "WordBusNumber (ResourceProducer") && dsl_has(s, "0xFEBFFFFF") &&
              dsl_has(s, "DWordMemory (ResourceProducer"),
          "iasl: PCI0 _CRS windows");
    CHECK(dsl_has(s, "EisaId (\"PNP0501\")") && dsl_has(s, "EisaId (\"PNP0B00\")") &&
              dsl_has(s, "{4}") && dsl_has(s, "{8}"),
          "iasl: UARTs and RTC with their IRQs");
    CHECK(dsl_has(s, "Device (CP01)") && dsl_has(s, "\"ACPI0007\""), "iasl: processor devices");
    CHECK(dsl_has(s, "Name (_PRT, Package (0x80)") &&
              dsl_has(s, "0x0003FFFF, \n                    0x03, \n                    Zero, \n"
                         "                    0x16\n"),
          "iasl: _PRT has 128 entries; slot 3 INTD# is GSI 0x16");
    roundtrip(f, FADT_SIZE, true, dir, "facp");
    roundtrip(m, le32(m + ACPI_HDR_LENGTH), true, dir, "apic");
    roundtrip(fc, FACS_SIZE, false, dir, "facs");
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", dir);
}

/* --- In a VM's guest RAM ---------------------------------------------------- */

/* What an OS does without a zero page: scan 0xE0000-0xFFFFF on 16-byte
 * boundaries for a signature. */
static uint64_t scan(const struct guest_mem *mem, const char *sig, size_t n)
{
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
        const uint8_t *p = gmem_ptr(mem, a, n);
        if (p && memcmp(p, sig, n) == 0)
            return a;
    }
    return 0;
}

static void test_in_vm(void)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm || gmem_init(&vm->mem, 2 << 20)) {
        CHECK(0, "test VM memory");
        free(vm);
        return;
    }
    char err[200] = "";
    vm->cfg.vcpus = 1;
    vm->cfg.flags[HK_FLAG_ACPI] = true;
    CHECK_EQ(firmware_tables_build(vm, err, sizeof(err)), HK_OK, "tables built into guest RAM");
    CHECK_EQ(firmware_acpi_rsdp(vm), 0xe0000, "RSDP address for the zero page");
    CHECK_EQ(scan(&vm->mem, "RSD PTR ", 8), 0xe0000, "a scanning OS finds the RSDP");
    CHECK_EQ(scan(&vm->mem, "_MP_", 4), 0xf0000, "the MP floating pointer is there without -Y");

    vm->cfg.flags[HK_FLAG_NO_MPTABLE] = true;
    vm->cfg.flags[HK_FLAG_ACPI] = false;
    memset(gmem_ptr(&vm->mem, 0xe0000, 0x20000), 0, 0x20000);
    CHECK_EQ(firmware_tables_build(vm, err, sizeof(err)), HK_OK, "no tables asked for");
    CHECK_EQ(firmware_acpi_rsdp(vm), 0, "no RSDP without -A");
    CHECK_EQ(scan(&vm->mem, "RSD PTR ", 8), 0, "no RSDP in memory without -A");
    CHECK_EQ(scan(&vm->mem, "_MP_", 4), 0, "no MP table with -Y");

    vm->cfg.vcpus = FW_MAX_CPUS + 1;
    vm->cfg.flags[HK_FLAG_ACPI] = true;
    CHECK(firmware_tables_build(vm, err, sizeof(err)) == HK_EINVAL && strstr(err, "ACPI"),
          "a failure is reported with a message");
    gmem_fini(&vm->mem);
    free(vm);
}

int main(void)
{
    test_rsdp_xsdt();
    test_fadt();
    test_madt();
    test_dsdt();
    test_prt();
    test_dsdt_variants();
    test_aml();
    test_iasl();
    test_in_vm();
    TEST_EXIT();
}
