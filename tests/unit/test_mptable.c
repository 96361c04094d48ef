/*
 * The MP table (src/firmware/mptable.c) read back as an OS does: find the
 * floating pointer, check both checksums, walk the entries in order
 * (Intel MultiProcessor Specification 1.4, chapter 4).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "firmware/firmware.h"
#include "firmware/mptable.h"
#include "hyperkit.h"
#include "fw_read.h"
#include "test.h"

static uint8_t area_buf[FW_MPTABLE_SIZE];

static const uint8_t *at(uint64_t gpa, uint32_t len)
{
    return area_at(area_buf, FW_MPTABLE_BASE, FW_MPTABLE_SIZE, gpa, len);
}

/* Scan the BIOS area on 16-byte boundaries for a valid floating pointer
 * (4: "the BIOS read-only memory space between 0F0000h and 0FFFFFh"). */
static const uint8_t *find_mpf(void)
{
    for (uint32_t off = 0; off + MPF_SIZE <= FW_MPTABLE_SIZE; off += 16) {
        const uint8_t *p = area_buf + off;
        if (memcmp(p, MPF_SIGNATURE, 4) == 0 && byte_sum(p, 16 * p[MPF_LENGTH]) == 0)
            return p;
    }
    return NULL;
}

static const uint8_t *build(int ncpus)
{
    struct fw_area a;
    struct fw_platform p = {.ncpus = ncpus};
    memset(area_buf, 0, sizeof(area_buf));
    fw_area_init(&a, area_buf, FW_MPTABLE_BASE, FW_MPTABLE_SIZE);
    CHECK_EQ(mptable_build(&a, &p), HK_OK, "mptable_build succeeds");
    const uint8_t *fp = find_mpf();
    CHECK(fp != NULL, "a scan finds the floating pointer with a good checksum");
    if (!fp)
        return NULL;
    CHECK_EQ(fp - area_buf, 0, "floating pointer at 0xf0000");
    CHECK_EQ(fp[MPF_LENGTH], 1, "floating pointer length: 1 paragraph");
    CHECK_EQ(fp[MPF_SPEC_REV], 4, "spec revision 1.4");
    CHECK_EQ(fp[MPF_FEATURE1], 0, "feature byte 1: a configuration table is present");
    CHECK_EQ(fp[MPF_FEATURE2] & 0x80, 0, "IMCRP clear: virtual wire mode");
    const uint8_t *c = at(le32(fp + MPF_CONFIG), MPC_SIZE);
    CHECK(c && memcmp(c, MPC_SIGNATURE, 4) == 0, "configuration table signature PCMP");
    if (!c || !at(le32(fp + MPF_CONFIG), le16(c + MPC_LENGTH)))
        return NULL;
    CHECK_EQ(byte_sum(c, le16(c + MPC_LENGTH)), 0, "configuration table checksum");
    CHECK_EQ(c[MPC_SPEC_REV], 4, "configuration table spec revision 1.4");
    CHECK_EQ(le32(c + MPC_LAPIC_ADDR), 0xfee00000u, "local APIC address");
    CHECK_EQ(le16(c + 40), 0, "no extended table");
    return c;
}

struct seen {
    int cpus, bps, buses, ioapics, ioints, pci_ints, pci_bad, lints, bad;
    bool pci, isa, order;
    uint8_t pin_of_irq[16];     /* 0xff: not routed */
    uint8_t pin_of_pci[128];    /* by slot << 2 | pin */
    uint16_t flags_of_irq[16];
    bool extint_lint0, nmi_lint1;
};

static void one_entry(const uint8_t *e, struct seen *s, int ncpus)
{
    switch (e[0]) {
    case MP_PROCESSOR:
        s->bad += e[1] != s->cpus || e[2] != 0x14 || !(e[3] & MP_CPU_EN);
        s->bps += (e[3] & MP_CPU_BP) != 0;
        s->bad += le32(e + 4) >> 8 != 6 || !(le32(e + 8) & (1u << 9));
        s->cpus++;
        break;
    case MP_BUS:
        s->buses++;
        s->pci |= e[1] == MP_BUS_PCI && memcmp(e + 2, "PCI   ", 6) == 0;
        s->isa |= e[1] == MP_BUS_ISA && memcmp(e + 2, "ISA   ", 6) == 0;
        break;
    case MP_IOAPIC:
        s->ioapics++;
        s->bad += e[1] != 0 || e[2] != 0x11 || e[3] != MP_IOAPIC_EN || le32(e + 4) != 0xfec00000u;
        break;
    case MP_IOINTR:
        if (e[4] == MP_BUS_PCI) {
            /* slot << 2 | pin, level and active low, on the routed pin */
            s->pci_ints++;
            s->pci_bad += e[1] != MP_INT || le16(e + 2) != 0x0f || e[6] != 0 ||
                          e[7] != pci_intx_gsi(e[5] >> 2, (e[5] & 3) + 1) || e[5] > 127;
            s->pin_of_pci[e[5] & 127] = e[7];
            break;
        }
        s->ioints++;
        s->bad += e[1] != MP_INT || e[4] != MP_BUS_ISA || e[5] > 15 || e[6] != 0;
        if (e[5] <= 15) {
            s->pin_of_irq[e[5]] = e[7];
            s->flags_of_irq[e[5]] = le16(e + 2);
        }
        break;
    case MP_LINTR:
        s->lints++;
        s->extint_lint0 |= e[1] == MP_EXTINT && e[6] == 0xff && e[7] == 0;
        s->nmi_lint1 |= e[1] == MP_NMI && e[6] == 0xff && e[7] == 1;
        break;
    default:
        s->bad++;
    }
    (void)ncpus;
}

static void walk(const uint8_t *c, int ncpus, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    memset(s->pin_of_irq, 0xff, sizeof(s->pin_of_irq));
    s->order = true;
    uint32_t off = MPC_SIZE, len = le16(c + MPC_LENGTH);
    int count = 0, last = -1;
    while (off < len) {
        const uint8_t *e = c + off;
        uint32_t elen = e[0] == MP_PROCESSOR ? 20 : 8;
        if (e[0] > MP_LINTR || off + elen > len) {
            s->bad++;
            break;
        }
        s->order &= e[0] >= last;
        last = e[0];
        one_entry(e, s, ncpus);
        off += elen;
        count++;
    }
    CHECK_EQ(off, len, "entries fill the base table exactly");
    CHECK_EQ(count, le16(c + MPC_ENTRY_COUNT), "entry count matches the entries");
}

static void test_one_cpu(void)
{
    const uint8_t *c = build(1);
    if (!c)
        return;
    struct seen s;
    walk(c, 1, &s);
    CHECK(s.order, "entries sorted by type (4.3)");
    CHECK_EQ(s.bad, 0, "entries well formed");
    CHECK(s.cpus == 1 && s.bps == 1, "one processor, the bootstrap one, enabled");
    CHECK(s.buses == 2 && s.pci && s.isa, "buses: PCI 0 and ISA 1");
    CHECK_EQ(s.ioapics, 1, "one I/O APIC, ID 0, version 0x11, at 0xfec00000");
    CHECK_EQ(s.ioints, 15, "15 ISA IRQs routed (all but the cascade, IRQ 2)");
    CHECK_EQ(s.pci_ints, 128, "PCI: an I/O interrupt entry per slot and pin");
    CHECK_EQ(s.pci_bad, 0, "PCI INTx entries level, active low, on pins 16-23 by the swizzle");
    CHECK(s.pin_of_pci[0] == 16 && s.pin_of_pci[3 << 2] == 19 && s.pin_of_pci[3 << 2 | 3] == 22 &&
              s.pin_of_pci[31 << 2 | 3] == 18,
          "PCI 0 INTA# on pin 16, 3 INTA# on 19, 3 INTD# on 22, 31 INTD# on 18");
    CHECK_EQ(s.pin_of_irq[0], 2, "ISA IRQ 0 on I/O APIC pin 2");
    CHECK_EQ(s.pin_of_irq[2], 0xff, "ISA IRQ 2 not routed");
    bool ident = true;
    for (int i = 1; i < 16; i++)
        ident &= i == 2 || s.pin_of_irq[i] == i;
    CHECK(ident, "ISA IRQs 1 and 3-15 on the pin of their number");
    CHECK_EQ(s.flags_of_irq[4], 0, "ISA IRQ 4 conforms to the bus");
    CHECK_EQ(s.flags_of_irq[9], 0x0d, "SCI (IRQ 9) level, active high");
    CHECK(s.lints == 2 && s.extint_lint0 && s.nmi_lint1, "ExtINT on LINT0 and NMI on LINT1");
}

static void test_more_cpus(void)
{
    const uint8_t *c = build(4);
    if (!c)
        return;
    struct seen s;
    walk(c, 4, &s);
    CHECK(s.cpus == 4 && s.bps == 1, "four processors, APIC IDs 0-3, one bootstrap");
    CHECK_EQ(s.bad, 0, "entries well formed with four CPUs");

    struct fw_area a;
    struct fw_platform p = {.ncpus = 1};
    fw_area_init(&a, area_buf, FW_MPTABLE_BASE, 64);
    CHECK_EQ(mptable_build(&a, &p), HK_ENOMEM, "a too small area is ENOMEM");
    fw_area_init(&a, area_buf, FW_MPTABLE_BASE, FW_MPTABLE_SIZE);
    p.ncpus = 0;
    CHECK_EQ(mptable_build(&a, &p), HK_EINVAL, "zero CPUs is EINVAL");
    p.ncpus = FW_MAX_CPUS + 1;
    CHECK_EQ(mptable_build(&a, &p), HK_EINVAL, "too many CPUs is EINVAL");
}

static void test_area(void)
{
    uint8_t buf[64];
    struct fw_area a;
    uint32_t gpa = 0;
    fw_area_init(&a, buf, 0xf0004, sizeof(buf));
    CHECK(fw_alloc(&a, 4, 16, &gpa) == buf + 12 && gpa == 0xf0010, "fw_alloc aligns the guest address");
    CHECK(fw_alloc(&a, 48, 16, &gpa) == NULL, "fw_alloc refuses to run past the window");
    CHECK(fw_alloc(&a, 1, 3, &gpa) == NULL, "fw_alloc refuses a non-power-of-two alignment");
    CHECK(fw_alloc(&a, 36, 16, &gpa) != NULL && a.used == 64, "fw_alloc fills the window exactly");
    uint8_t t[5] = {1, 2, 3, 4, 0};
    t[4] = fw_checksum(t, 5);
    CHECK_EQ(byte_sum(t, 5), 0, "fw_checksum makes the bytes sum to 0");
}

int main(void)
{
    test_one_cpu();
    test_more_cpus();
    test_area();
    TEST_EXIT();
}
