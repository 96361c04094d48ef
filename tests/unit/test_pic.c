/* The 8259A pair: initialization, masking, priorities, EOI modes, ELCR. */
#include <stdlib.h>

#include "devices/irqchip/pic.h"
#include "test.h"

static struct pic *p;

static void out(uint16_t port, uint8_t v)
{
    const struct io_ops *ops = port >= PIC_ELCR_BASE  ? &pic_elcr_io_ops
                               : port >= PIC_SLAVE_BASE ? &pic_slave_io_ops
                                                        : &pic_master_io_ops;
    ops->write(p, port & 1, 1, v);
}

static uint8_t in(uint16_t port)
{
    const struct io_ops *ops = port >= PIC_ELCR_BASE  ? &pic_elcr_io_ops
                               : port >= PIC_SLAVE_BASE ? &pic_slave_io_ops
                                                        : &pic_master_io_ops;
    return (uint8_t)ops->read(p, port & 1, 1);
}

/* Linux's init_8259A(): ICW1-4 on both, vectors 0x30/0x38 here. */
static void linux_init(bool auto_eoi)
{
    out(0x20, 0x11);
    out(0x21, 0x30);
    out(0x21, 0x04);
    out(0x21, auto_eoi ? 0x03 : 0x01);
    out(0xa0, 0x11);
    out(0xa1, 0x38);
    out(0xa1, 0x02);
    out(0xa1, auto_eoi ? 0x03 : 0x01);
    out(0x21, 0x00);
    out(0xa1, 0x00);
}

static void pulse(int irq)
{
    pic_set_irq(p, irq, true);
    pic_set_irq(p, irq, false);
}

static void test_init_and_ack(void)
{
    pic_new(&p);
    linux_init(false);
    CHECK(!pic_output(p), "pic idle after init");
    out(0x21, 0xfd);
    CHECK_EQ(in(0x21), 0xfd, "pic IMR reads back (OCW1)");
    pulse(0);
    CHECK(!pic_output(p), "pic masked IRQ 0 raises no INT");
    pulse(1);
    CHECK(pic_output(p), "pic unmasked IRQ 1 raises INT");
    CHECK_EQ(in(0x20), 0x03, "pic IRR shows IRQ 0 and 1 (OCW3 default IRR)");
    CHECK_EQ(pic_intack(p), 0x31, "pic INTA gives vector base + 1");
    out(0x20, 0x0b);
    CHECK_EQ(in(0x20), 0x02, "pic ISR has IRQ 1 in service (OCW3 read ISR)");
    CHECK(!pic_output(p), "pic no INT while nothing else is requested");
    out(0x20, 0x20);
    CHECK_EQ(in(0x20), 0x00, "pic non-specific EOI clears ISR");
    out(0x21, 0x00);
    CHECK(pic_output(p), "pic unmasking a latched edge raises INT");
    CHECK_EQ(pic_intack(p), 0x30, "pic IRQ 0 outranks lower priorities");
    out(0x20, 0x60);   /* specific EOI, IRQ 0 */
    pic_set_irq(p, 1, true);
    pic_set_irq(p, 1, true);
    CHECK_EQ(pic_intack(p), 0x31, "pic edge IRQ 1 taken");
    out(0x20, 0x61);
    CHECK(!pic_output(p), "pic a held edge line does not request again");
    pic_set_irq(p, 1, false);
    pic_free(p);
}

static void test_priority_nesting(void)
{
    pic_new(&p);
    linux_init(false);
    pulse(4);
    CHECK_EQ(pic_intack(p), 0x34, "pic IRQ 4 in service");
    pulse(6);
    CHECK(!pic_output(p), "pic lower IRQ 6 waits for IRQ 4");
    pulse(3);
    CHECK(pic_output(p), "pic higher IRQ 3 nests");
    CHECK_EQ(pic_intack(p), 0x33, "pic nested vector 3");
    out(0x20, 0x20);
    out(0x20, 0x20);
    CHECK_EQ(pic_intack(p), 0x36, "pic IRQ 6 after both EOIs");
    out(0x20, 0x20);
    /* Special mask mode: masking IRQ 6 in service lets IRQ 7 through. */
    pulse(6);
    CHECK_EQ(pic_intack(p), 0x36, "pic IRQ 6 in service again");
    pulse(7);
    CHECK(!pic_output(p), "pic IRQ 7 blocked by IRQ 6 in service");
    out(0x20, 0x68);          /* OCW3: set special mask mode */
    out(0x21, 0x40);
    CHECK(pic_output(p), "pic special mask mode enables lower priority");
    out(0x20, 0x48);          /* reset special mask */
    out(0x21, 0x00);
    CHECK(!pic_output(p), "pic special mask mode off blocks again");
    pic_free(p);
}

static void test_cascade_spurious_aeoi(void)
{
    pic_new(&p);
    linux_init(false);
    pulse(12);
    CHECK(pic_output(p), "pic slave IRQ 12 reaches the master through IR2");
    CHECK_EQ(pic_intack(p), 0x3c, "pic slave vector base + 4");
    out(0x20, 0x0b);
    out(0xa0, 0x0b);
    CHECK(in(0x20) == 0x04 && in(0xa0) == 0x10, "pic master ISR2 and slave ISR4 set");
    out(0xa0, 0x20);
    out(0x20, 0x20);
    CHECK(in(0x20) == 0 && in(0xa0) == 0, "pic both EOIs clear ISR");
    CHECK_EQ(pic_intack(p), 0x37, "pic INTA with nothing pending is spurious IRQ 7");
    CHECK_EQ(in(0x20), 0, "pic spurious IRQ 7 sets no ISR bit");
    pic_free(p);

    pic_new(&p);
    linux_init(true);
    pulse(5);
    CHECK_EQ(pic_intack(p), 0x35, "pic auto-EOI vector");
    out(0x20, 0x0b);
    CHECK_EQ(in(0x20), 0, "pic auto-EOI leaves ISR clear");
    pulse(9);
    pulse(10);
    CHECK_EQ(pic_intack(p), 0x39, "pic auto-EOI slave IRQ 9");
    CHECK_EQ(pic_intack(p), 0x3a, "pic slave IRQ 10 follows without a new edge on IR2");
    out(0x20, 0x0c);          /* poll */
    CHECK_EQ(in(0x20), 0, "pic poll with nothing pending reads 0");
    pulse(3);
    out(0x20, 0x0c);
    CHECK_EQ(in(0x20), 0x83, "pic poll reads 0x80 | IRQ and acknowledges it");
    CHECK(!pic_output(p), "pic polled request is gone");
    pic_free(p);
}

static void test_elcr(void)
{
    pic_new(&p);
    linux_init(false);
    out(0x4d0, 0xff);
    out(0x4d1, 0xff);
    CHECK_EQ(in(0x4d0), 0xf8, "elcr IRQ 0-2 stay edge");
    CHECK_EQ(in(0x4d1), 0xde, "elcr IRQ 8 and 13 stay edge");
    pic_set_irq(p, 5, true);
    CHECK_EQ(pic_intack(p), 0x35, "pic level IRQ 5 taken");
    out(0x20, 0x20);
    CHECK(pic_output(p), "pic level IRQ 5 requests again while high");
    pic_set_irq(p, 5, false);
    CHECK(!pic_output(p), "pic level IRQ 5 drops with its line");
    pic_free(p);
}

int main(void)
{
    test_init_and_ack();
    test_priority_nesting();
    test_cascade_spurious_aeoi();
    test_elcr();
    TEST_EXIT();
}
