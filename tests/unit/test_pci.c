/* PCI mechanism #1, BAR sizing, the host and ISA bridges, and 0xcf9. */
#include <stdlib.h>

#include "devices/devenv.h"
#include "devices/lpc/acpi_pm.h"
#include "devices/pci/pci.h"
#include "fake_env.h"
#include "test.h"

static struct fake_env f;

static uint32_t cfg_read(int slot, int func, unsigned reg, unsigned size)
{
    uint64_t v = 0x80000000u | (unsigned)slot << 11 | (unsigned)func << 8 | (reg & 0xfc);
    iobus_access(&f.pio, 0xcf8, 4, true, &v);
    iobus_access(&f.pio, 0xcfc + (reg & 3), size, false, &v);
    return (uint32_t)v;
}

static void cfg_write(int slot, int func, unsigned reg, unsigned size, uint32_t val)
{
    uint64_t v = 0x80000000u | (unsigned)slot << 11 | (unsigned)func << 8 | (reg & 0xfc);
    iobus_access(&f.pio, 0xcf8, 4, true, &v);
    v = val;
    iobus_access(&f.pio, 0xcfc + (reg & 3), size, true, &v);
}

static int moves;
static uint64_t moved_to[PCI_NBARS];
static void bar_moved(void *opaque, int bar, uint64_t addr)
{
    moves++;
    moved_to[bar] = addr;
}

static void test_bridges(struct pci_bus *bus)
{
    CHECK_EQ(hostbridge_create(bus, 0, 0, false), 0, "pci hostbridge added");
    CHECK_EQ(lpc_create(bus, 31, 0), 0, "pci lpc bridge added");
    CHECK_EQ(hostbridge_create(bus, 0, 0, false), HK_EEXIST, "pci slot taken twice is EEXIST");
    CHECK_EQ(cfg_read(0, 0, 0, 4), 0x12751275, "pci 0:0.0 is bhyve's host bridge");
    CHECK_EQ(cfg_read(0, 0, 0x08, 4) >> 8, 0x060000, "pci host bridge class 06/00");
    CHECK_EQ(cfg_read(31, 0, 0, 4), 0x70008086, "pci 0:31.0 is the PIIX3 ISA bridge");
    CHECK_EQ(cfg_read(31, 0, 0x0a, 2), 0x0601, "pci ISA bridge class 06/01 (word read)");
    CHECK_EQ(cfg_read(31, 0, 0x60, 1), 0x80, "pci ISA bridge PIRQA starts disabled");
    CHECK_EQ(cfg_read(5, 0, 0, 4), 0xffffffff, "pci absent slot reads all ones");
    cfg_write(0, 0, 0, 4, 0);
    CHECK_EQ(cfg_read(0, 0, 0, 4), 0x12751275, "pci vendor/device are read-only");
    cfg_write(0, 0, 0x3c, 1, 11);
    CHECK_EQ(cfg_read(0, 0, 0x3c, 1), 11, "pci interrupt line is writable");
    uint64_t v = 0x80000000u | 1u << 16;
    iobus_access(&f.pio, 0xcf8, 4, true, &v);
    iobus_access(&f.pio, 0xcfc, 4, false, &v);
    CHECK_EQ(v, 0xffffffff, "pci bus 1 does not exist");
    v = 0x80000000u;
    iobus_access(&f.pio, 0xcf8, 4, true, &v);
    iobus_access(&f.pio, 0xcf8, 4, false, &v);
    CHECK_EQ(v, 0x80000000u, "pci CONFIG_ADDRESS reads back");
    CHECK_EQ(cfg_read(0, 0, 0x0e, 1), 0, "pci single-function header type");
}

static void test_bars(struct pci_bus *bus)
{
    static const struct pci_func_ops ops = {.bar_moved = bar_moved};
    struct pci_func *f, *f1;
    CHECK_EQ(pci_add_func(bus, 3, 0, 0x1af4, 0x1000, 0x020000, &ops, NULL, &f), 0,
             "pci test function added");
    CHECK_EQ(pci_set_bar(f, 0, PCI_BAR_IO, 32, false), 0, "pci I/O BAR of 32 bytes");
    CHECK_EQ(pci_set_bar(f, 1, PCI_BAR_MEM32, 4096, false), 0, "pci 4 KiB memory BAR");
    CHECK_EQ(pci_set_bar(f, 2, PCI_BAR_MEM64, 1ull << 33, true), 0, "pci 8 GiB 64-bit BAR");
    CHECK_EQ(pci_set_bar(f, 5, PCI_BAR_MEM64, 4096, false), HK_EINVAL, "pci 64-bit BAR 5 rejected");
    CHECK_EQ(pci_set_bar(f, 4, PCI_BAR_MEM32, 3000, false), HK_EINVAL, "pci size not a power of 2");
    for (int b = 0; b < 4; b++)
        cfg_write(3, 0, 0x10 + 4 * b, 4, 0xffffffff);
    CHECK_EQ(cfg_read(3, 0, 0x10, 4), 0xffffffe1, "pci I/O BAR sizing reads ~31 | I/O bit");
    CHECK_EQ(cfg_read(3, 0, 0x14, 4), 0xfffff000, "pci memory BAR sizing reads ~4095");
    CHECK_EQ(cfg_read(3, 0, 0x18, 4), 0x0000000c, "pci 64-bit BAR low half: type and prefetch");
    CHECK_EQ(cfg_read(3, 0, 0x1c, 4), 0xfffffffe, "pci 64-bit BAR high half sizing");
    CHECK_EQ(cfg_read(3, 0, 0x20, 4), 0, "pci unused BAR reads 0");
    cfg_write(3, 0, 0x10, 4, 0xc040);
    cfg_write(3, 0, 0x14, 4, 0xe0001234);
    CHECK_EQ(moves, 0, "pci BARs do not decode before COMMAND enables them");
    cfg_write(3, 0, 0x04, 2, 0x0003);
    CHECK(moves == 3 && moved_to[0] == 0xc040 && moved_to[1] == 0xe0001000,
          "pci COMMAND I/O|MEM turns decoding on at the programmed addresses");
    CHECK_EQ(pci_bar_addr(f, 1), 0xe0001000, "pci BAR address as decoded");
    cfg_write(3, 0, 0x04, 2, 0x0001);
    CHECK(moves == 5 && moved_to[1] == 0 && moved_to[2] == 0, "pci memory decoding off");
    CHECK_EQ(pci_add_func(bus, 3, 2, 0x1af4, 0x1001, 0, NULL, NULL, &f1), 0, "pci function 2 added");
    CHECK_EQ(cfg_read(3, 0, 0x0e, 1), 0x80, "pci function 0 reports multi-function");
    CHECK_EQ(cfg_read(3, 1, 0, 4), 0xffffffff, "pci absent function 1 reads all ones");
}

static void test_cf9_shares_the_range(void)
{
    CHECK_EQ(reset_create(&f.env), 0, "reset control added next to CONFIG_ADDRESS");
    uint64_t v = 0x80000000u;
    iobus_access(&f.pio, 0xcf8, 4, true, &v);
    CHECK_EQ(f.exit_reason, HK_EXIT_NONE, "pci dword write to 0xcf8 does not reset");
    v = 0x02;
    iobus_access(&f.pio, 0xcf9, 1, true, &v);
    iobus_access(&f.pio, 0xcf9, 1, false, &v);
    CHECK(v == 0x02 && f.exit_reason == HK_EXIT_NONE, "0xcf9 SYS_RST alone reads back, no reset");
    v = 0x06;
    iobus_access(&f.pio, 0xcf9, 1, true, &v);
    CHECK_EQ(f.exit_reason, HK_EXIT_REBOOT, "0xcf9 RST_CPU 0->1 reboots");
}

/* A minimal device environment (until tests/unit/fake_env.h lands): the
 * router counts asserted sources per line, as the board's does. */
static int line_sources[24], line_bad;
static void fake_irq_line(void *ctx, int gsi, bool asserted)
{
    if (gsi < 0 || gsi >= 24) {
        line_bad++;
        return;
    }
    line_sources[gsi] += asserted ? 1 : -1;
    if (line_sources[gsi] < 0)
        line_bad++;
}
static const struct dev_env_ops fake_ops = {.irq_line = fake_irq_line};

static void test_caps(struct pci_bus *bus)
{
    struct pci_func *f;
    CHECK_EQ(pci_add_func(bus, 4, 0, 0x1af4, 0x1041, 0x020000, NULL, NULL, &f), 0,
             "pci cap: function added");
    CHECK_EQ(pci_cfg_read(bus, 0, 4, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0,
             "pci cap: no list, no STATUS.CAP_LIST");
    CHECK_EQ(pci_add_cap(f, PCI_CAP_ID_MSIX, 1), HK_EINVAL, "pci cap: shorter than its header");
    CHECK_EQ(pci_add_cap(f, PCI_CAP_ID_MSIX, 12), 0x40, "pci cap: first at 0x40");
    CHECK_EQ(pci_add_cap(f, PCI_CAP_ID_VNDR, 14), 0x4c, "pci cap: second follows it");
    CHECK_EQ(pci_add_cap(f, PCI_CAP_ID_MSI, 10), 0x5c, "pci cap: third dword-aligned after 0x5a");
    CHECK(pci_cfg_read(bus, 0, 4, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST,
          "pci cap: STATUS.CAP_LIST set");
    /* Walk the list as an OS does. */
    unsigned ids[8], n = 0;
    for (unsigned p = pci_cfg_read(bus, 0, 4, 0, PCI_CAPABILITY_LIST, 1); p && n < 8;
         p = pci_cfg_read(bus, 0, 4, 0, p + 1, 1))
        ids[n++] = pci_cfg_read(bus, 0, 4, 0, p, 1);
    CHECK(n == 3 && ids[0] == PCI_CAP_ID_MSIX && ids[1] == PCI_CAP_ID_VNDR &&
              ids[2] == PCI_CAP_ID_MSI,
          "pci cap: the list walks MSI-X, vendor, MSI and ends");
    pci_cfg_write(bus, 0, 4, 0, 0x40, 2, 0);
    pci_cfg_write(bus, 0, 4, 0, PCI_CAPABILITY_LIST, 1, 0);
    CHECK(pci_cfg_read(bus, 0, 4, 0, 0x40, 2) == (0x4cu << 8 | PCI_CAP_ID_MSIX) &&
              pci_cfg_read(bus, 0, 4, 0, PCI_CAPABILITY_LIST, 1) == 0x40,
          "pci cap: the guest cannot rewrite the list");
    CHECK_EQ(pci_add_cap(f, PCI_CAP_ID_VNDR, 256 - 0x66 + 1), HK_ENOMEM,
             "pci cap: one byte past the space is ENOMEM");
    CHECK_EQ(pci_add_cap(f, PCI_CAP_ID_VNDR, 256 - 0x68), 0x68, "pci cap: exactly to the end");
    CHECK_EQ(pci_add_cap(f, PCI_CAP_ID_VNDR, 2), HK_ENOMEM, "pci cap: space full");
}

static void test_intx(void)
{
    struct dev_env env = {.ops = &fake_ops};
    struct pci_bus *bus;
    CHECK_EQ(pci_bus_new(&env, &bus), 0, "pci intx: bus with a device environment");
    CHECK(pci_intx_gsi(0, 1) == 16 && pci_intx_gsi(1, 1) == 17 && pci_intx_gsi(3, 4) == 22 &&
              pci_intx_gsi(7, 2) == 16 && pci_intx_gsi(31, 4) == 18,
          "pci intx: slot/pin swizzle onto GSIs 16-23");
    CHECK(pci_intx_gsi(0, 0) == -1 && pci_intx_gsi(0, 5) == -1 && pci_intx_gsi(32, 1) == -1 &&
              pci_intx_gsi(-1, 1) == -1,
          "pci intx: bad slot or pin has no GSI");
    struct pci_func *a, *b, *c;
    pci_add_func(bus, 3, 0, 0x1af4, 0x1000, 0x020000, NULL, NULL, &a);
    pci_add_func(bus, 11, 0, 0x1af4, 0x1001, 0x010000, NULL, NULL, &b);
    pci_add_func(bus, 5, 0, 0x1af4, 0x1005, 0x00ff00, NULL, NULL, &c);
    CHECK(pci_set_irq_pin(a, 0) == HK_EINVAL && pci_set_irq_pin(a, 5) == HK_EINVAL,
          "pci intx: pin 0 or 5 refused");
    CHECK_EQ(pci_set_irq_pin(a, 1), 0, "pci intx: 3.0 uses INTA#");
    CHECK_EQ(pci_set_irq_pin(b, 1), 0, "pci intx: 11.0 uses INTA#");
    CHECK_EQ(pci_cfg_read(bus, 0, 3, 0, PCI_INTERRUPT_PIN, 1), 1, "pci intx: INTERRUPT_PIN 1");
    CHECK_EQ(pci_cfg_read(bus, 0, 3, 0, PCI_INTERRUPT_LINE, 1), 19,
             "pci intx: INTERRUPT_LINE is the routed GSI");
    CHECK_EQ(pci_cfg_read(bus, 0, 5, 0, PCI_INTERRUPT_PIN, 1), 0, "pci intx: no pin, pin 0");
    pci_set_intx(c, true);
    CHECK_EQ(pci_cfg_read(bus, 0, 5, 0, PCI_STATUS, 2) & PCI_STATUS_INTX, PCI_STATUS_INTX,
             "pci intx: a pinless function still shows its status");
    pci_set_intx(a, true);
    CHECK(line_sources[19] == 1 && (pci_cfg_read(bus, 0, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTX),
          "pci intx: 3.0 asserts GSI 19 and sets STATUS.INTX");
    pci_set_intx(a, true);
    CHECK_EQ(line_sources[19], 1, "pci intx: asserting twice is one source");
    pci_set_intx(b, true);
    CHECK_EQ(line_sources[19], 2, "pci intx: 11.0 shares GSI 19: two sources");
    pci_set_intx(a, false);
    CHECK(line_sources[19] == 1 && !(pci_cfg_read(bus, 0, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTX),
          "pci intx: 3.0 deasserts, 11.0 keeps the line up");
    pci_cfg_write(bus, 0, 11, 0, PCI_COMMAND, 2, PCI_CMD_INTX_DISABLE);
    CHECK(line_sources[19] == 0 && (pci_cfg_read(bus, 0, 11, 0, PCI_STATUS, 2) & PCI_STATUS_INTX),
          "pci intx: INTX_DISABLE lowers the line, STATUS.INTX stays");
    pci_set_intx(b, false);
    pci_set_intx(b, true);
    CHECK_EQ(line_sources[19], 0, "pci intx: disabled function cannot raise its line");
    pci_cfg_write(bus, 0, 11, 0, PCI_COMMAND, 2, 0);
    CHECK_EQ(line_sources[19], 1, "pci intx: clearing INTX_DISABLE raises it again");
    pci_set_intx(b, false);
    CHECK(line_sources[19] == 0 && line_bad == 0, "pci intx: all down, no bad router calls");
    test_caps(bus);
    pci_bus_free(bus);
}

int main(void)
{
    fake_env_init(&f, 0, false);
    struct pci_bus *bus;
    CHECK_EQ(pci_create(&f.env, &bus), 0, "pci bus created");
    test_bridges(bus);
    test_bars(bus);
    test_cf9_shares_the_range();
    test_intx();
    fake_env_fini(&f);
    TEST_EXIT();
}
