/* The I/O APIC: indirect registers, edge and level delivery, Remote IRR. */
#include <stdlib.h>

#include "devices/irqchip/ioapic.h"
#include "test.h"

static struct ioapic *io;
static struct apic_msg last;
static int ndelivered;

static void capture(void *opaque, const struct apic_msg *m)
{
    last = *m;
    ndelivered++;
}

static uint32_t reg_read(uint32_t reg)
{
    ioapic_mmio_ops.write(io, 0x00, 4, reg);
    return (uint32_t)ioapic_mmio_ops.read(io, 0x10, 4);
}

static void reg_write(uint32_t reg, uint32_t v)
{
    ioapic_mmio_ops.write(io, 0x00, 4, reg);
    ioapic_mmio_ops.write(io, 0x10, 4, v);
}

static void test_registers(void)
{
    CHECK_EQ(reg_read(0x01), 0x00170011, "ioapic version 0x11 with 24 entries");
    reg_write(0x00, 0x0f000000);
    CHECK_EQ(reg_read(0x00), 0x0f000000, "ioapic ID is writable");
    reg_write(0x01, 0);
    CHECK_EQ(reg_read(0x01), 0x00170011, "ioapic version is read-only");
    CHECK_EQ(reg_read(0x10) & 0x10000, 0x10000, "ioapic entries reset masked");
    reg_write(0x11, 0xab000000);
    CHECK_EQ(reg_read(0x11), 0xab000000, "ioapic destination field reads back");
    reg_write(0x10, 0x10000 | 0x4000 | 0x1000 | 0x30);
    CHECK_EQ(reg_read(0x10), 0x10030, "ioapic delivery status and Remote IRR are read-only");
    CHECK_EQ(reg_read(0x40), 0xffffffff, "ioapic register past the table reads ones");
}

static void test_edge(void)
{
    ndelivered = 0;
    reg_write(0x10 + 2 * 4, 0x10031);   /* pin 4, masked, vector 0x31 */
    reg_write(0x11 + 2 * 4, 0x01000000);
    ioapic_set_irq(io, 4, true);
    ioapic_set_irq(io, 4, false);
    CHECK_EQ(ndelivered, 0, "ioapic masked edge is not delivered");
    reg_write(0x10 + 2 * 4, 0x00831);   /* unmasked, logical, vector 0x31 */
    CHECK_EQ(ndelivered, 0, "ioapic masked edge is not held pending");
    ioapic_set_irq(io, 4, true);
    CHECK(ndelivered == 1 && last.vector == 0x31 && last.logical && !last.level &&
              last.dest == 1 && last.delivery == APIC_DM_FIXED,
          "ioapic edge delivers vector, mode and destination");
    ioapic_set_irq(io, 4, true);
    CHECK_EQ(ndelivered, 1, "ioapic edge needs a new rising edge");
    ioapic_set_irq(io, 4, false);
    ioapic_set_irq(io, 4, true);
    CHECK_EQ(ndelivered, 2, "ioapic second edge delivered");
    ioapic_set_irq(io, 4, false);
}

static void test_level(void)
{
    ndelivered = 0;
    reg_write(0x10 + 2 * 20, 0x08141);   /* pin 20 level, lowest priority, vector 0x41 */
    ioapic_set_irq(io, 20, true);
    CHECK(ndelivered == 1 && last.level && last.delivery == APIC_DM_LOWEST,
          "ioapic level interrupt delivered as level");
    CHECK_EQ(reg_read(0x10 + 2 * 20) & 0x4000, 0x4000, "ioapic Remote IRR set while in flight");
    ioapic_set_irq(io, 20, true);
    CHECK_EQ(ndelivered, 1, "ioapic level not redelivered before EOI");
    ioapic_eoi(io, 0x42);
    CHECK_EQ(ndelivered, 1, "ioapic EOI of another vector changes nothing");
    ioapic_eoi(io, 0x41);
    CHECK_EQ(ndelivered, 2, "ioapic EOI with the line still high redelivers");
    ioapic_set_irq(io, 20, false);
    ioapic_eoi(io, 0x41);
    CHECK_EQ(ndelivered, 2, "ioapic EOI after the line dropped does not redeliver");
    CHECK_EQ(reg_read(0x10 + 2 * 20) & 0x4000, 0, "ioapic EOI clears Remote IRR");
    reg_write(0x10 + 2 * 20, 0x18141);   /* mask */
    ioapic_set_irq(io, 20, true);
    CHECK_EQ(ndelivered, 2, "ioapic masked level waits");
    reg_write(0x10 + 2 * 20, 0x08141);
    CHECK_EQ(ndelivered, 3, "ioapic unmasking an asserted level delivers it");
    ioapic_set_irq(io, 20, false);
    ioapic_set_irq(io, 99, true);
    ioapic_set_irq(io, -1, true);
    CHECK_EQ(ndelivered, 3, "ioapic pins out of range are ignored");
}

int main(void)
{
    if (ioapic_new(capture, NULL, &io) != 0)
        return 1;
    test_registers();
    test_edge();
    test_level();
    ioapic_free(io);
    TEST_EXIT();
}
