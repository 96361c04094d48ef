/* The 8254 PIT on a fake clock, then wired through the irqchip to the CPU. */
#include <stdlib.h>
#include <time.h>

#include "board/pc.h"
#include "devices/irqchip/irqchip.h"
#include "devices/irqchip/lapic.h"
#include "devices/irqchip/pit.h"
#include "fake_env.h"
#include "test.h"

static uint64_t fake_now = 5000000000ull;
static uint64_t fake_clock(void *opaque)
{
    return fake_now;
}
static const struct devclock clk = {fake_clock, NULL};
static struct pit *p;

static void out(unsigned port, uint8_t v)
{
    if (port == 0x61)
        pit_port61_ops.write(p, 0, 1, v);
    else
        pit_io_ops.write(p, port - 0x40, 1, v);
}

static uint8_t in(unsigned port)
{
    if (port == 0x61)
        return (uint8_t)pit_port61_ops.read(p, 0, 1);
    return (uint8_t)pit_io_ops.read(p, port - 0x40, 1);
}

static uint64_t ns_of_ticks(uint64_t t)
{
    return (t * 1000000000ull + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ;   /* rounded up */
}

static void test_rate_generator(void)
{
    CHECK_EQ(pit_next_event(p), UINT64_MAX, "pit idle until programmed");
    out(0x43, 0x34);              /* ch0, lobyte/hibyte, mode 2 */
    out(0x40, 0xa9);
    out(0x40, 0x04);              /* 1193: about 1 ms */
    uint64_t start = fake_now;
    uint64_t next = pit_next_event(p);
    CHECK(next > start + ns_of_ticks(1193) - 2 && next < start + ns_of_ticks(1193) + 2,
          "pit mode 2 next event one period out");
    CHECK(!pit_poll(p, fake_now), "pit no IRQ 0 before the period ends");
    fake_now = next;
    CHECK(pit_poll(p, fake_now), "pit IRQ 0 at the end of the period");
    CHECK(!pit_poll(p, fake_now), "pit one edge per period");
    fake_now += 10 * ns_of_ticks(1193);
    CHECK(pit_poll(p, fake_now), "pit missed periods coalesce into one edge");
    CHECK(pit_next_event(p) > fake_now, "pit next event is in the future");
    out(0x43, 0x00);              /* latch ch0 */
    uint8_t lo = in(0x40), hi = in(0x40);
    unsigned count = lo | hi << 8;
    CHECK(count >= 1 && count <= 1193, "pit latched count within the period");
    fake_now += ns_of_ticks(100);
    uint8_t lo2 = in(0x40), hi2 = in(0x40);
    CHECK_EQ(lo2 | hi2 << 8, (count + 1193 - 100 - 1) % 1193 + 1,
             "pit live count follows the clock (100 ticks later)");
}

static void test_modes_and_readback(void)
{
    out(0x43, 0x30);              /* ch0 mode 0 */
    out(0x40, 100);
    out(0x40, 0);
    CHECK_EQ(in(0x40), 100, "pit mode 0 reads the loaded count (lsb)");
    CHECK_EQ(in(0x40), 0, "pit mode 0 reads the loaded count (msb)");
    out(0x43, 0xe2);              /* read-back: status and count of ch0 */
    CHECK_EQ(in(0x40), 0x30, "pit read-back status: OUT low, lobyte/hibyte, mode 0");
    CHECK_EQ(in(0x40), 100, "pit read-back count lsb after the status");
    in(0x40);
    fake_now += ns_of_ticks(101);
    CHECK(pit_poll(p, fake_now), "pit mode 0 raises IRQ 0 at terminal count");
    CHECK(!pit_poll(p, fake_now + 1000000000ull), "pit mode 0 fires once");
    CHECK_EQ(pit_next_event(p), UINT64_MAX, "pit mode 0 has no further event");
    out(0x43, 0xe2);
    CHECK_EQ(in(0x40) & 0x80, 0x80, "pit mode 0 OUT high after terminal count");
    in(0x40);
    in(0x40);

    out(0x43, 0x16);              /* ch0 lsb only, mode 3 */
    out(0x40, 20);
    fake_now += ns_of_ticks(3);
    CHECK_EQ(in(0x40), 14, "pit mode 3 counts down by two");
}

/* Linux's pit_calibrate_tsc(): channel 2, mode 0, gated by port 0x61. */
static void test_channel2_gate(void)
{
    out(0x61, (in(0x61) & ~0x02) | 0x01);
    CHECK_EQ(in(0x61) & 0x0f, 0x01, "port 0x61 gate bit reads back");
    out(0x43, 0xb0);
    out(0x42, 0x10);
    out(0x42, 0x00);
    CHECK_EQ(in(0x61) & 0x20, 0, "port 0x61 OUT2 low while counting");
    fake_now += ns_of_ticks(17);
    CHECK_EQ(in(0x61) & 0x20, 0x20, "port 0x61 OUT2 high at terminal count");
    out(0x61, 0x00);
    out(0x43, 0xb6);              /* ch2 mode 3 */
    out(0x42, 0x10);
    out(0x42, 0x00);
    CHECK(pit_out2(p), "pit mode 3 OUT2 held high with the gate low");
    uint8_t t0 = in(0x61) & 0x10;
    fake_now += 15085;
    CHECK((in(0x61) & 0x10) != t0, "port 0x61 refresh bit toggles");
}

static volatile bool woke;
static void on_wake(void *opaque, int vcpu)
{
    woke = true;
}

/* What wakes a halted vCPU (board/pc.c): a latched NMI only when NMIs
 * are not blocked, else HLT in an NMI handler would spin (SDM 6.7.1). */
static void test_hlt_wake(struct irqchip *chip)
{
    const struct vm_platform_ops *p = &pc_halt_ops;
    struct lapic *l = irqchip_lapic(chip, 0);
    struct apic_msg nmi = {.delivery = APIC_DM_NMI};
    lapic_deliver(l, &nmi);
    uint64_t now = devclock_host_ns();
    CHECK(!p->interrupt_pending(chip, 0, now, false, false),
          "platform HLT: a latched NMI with NMIs blocked is no wake reason");
    CHECK(p->interrupt_pending(chip, 0, now, false, true),
          "platform HLT: a latched NMI wakes the CPU with IF=0");
    CHECK(p->nmi_armed(chip, 0), "platform HLT: a latched NMI can wake CLI; HLT");
    lapic_nmi_take(l);
    CHECK(!p->nmi_armed(chip, 0), "platform HLT: no NMI line: CLI; HLT is the end");
}

/* The real clock and the full chip: PIT IRQ 0 through the PIC and LINT0. */
static void test_through_irqchip(void)
{
    struct fake_env f;
    fake_env_init(&f, 0, false);
    struct irqchip *chip;
    CHECK_EQ(irqchip_create(&f.env, 1, &chip), 0, "irqchip created");
    irqchip_set_wake(chip, on_wake, NULL);
    uint64_t v;
    const uint8_t init[][2] = {{0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04}, {0x21, 0x01},
                               {0xa0, 0x11}, {0xa1, 0x28}, {0xa1, 0x02}, {0xa1, 0x01},
                               {0x21, 0xfe}, {0xa1, 0xff}, {0x43, 0x34}, {0x40, 12},
                               {0x40, 0}};
    for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++) {
        v = init[i][1];
        iobus_access(&f.pio, init[i][0], 1, true, &v);
    }
    struct lapic *l = irqchip_lapic(chip, 0);
    uint64_t t0 = devclock_host_ns();
    CHECK(lapic_next_event(l) <= t0 + 20000, "irqchip next event is the PIT's");
    int vector = -1;
    while (vector < 0 && devclock_host_ns() - t0 < 1000000000ull) {
        lapic_poll(l, devclock_host_ns());
        vector = lapic_pending(l, devclock_host_ns());
    }
    CHECK_EQ(vector, 0x20, "irqchip PIT IRQ 0 reaches the CPU through the PIC (ExtINT)");
    lapic_accept(l, vector);
    v = 0x20;
    iobus_access(&f.pio, 0x20, 1, true, &v);
    irqchip_set_irq(chip, 1, true);
    CHECK(!woke, "irqchip masked PIC line wakes nobody");
    v = 0xfc;
    iobus_access(&f.pio, 0x21, 1, true, &v);
    irqchip_set_irq(chip, 1, false);
    irqchip_set_irq(chip, 1, true);
    CHECK(woke, "irqchip unmasked PIC line wakes vCPU 0");
    /* Through the IOAPIC: pin 2 (ISA IRQ 0) to vector 0x40, PIC masked. */
    v = 0xff;
    iobus_access(&f.pio, 0x21, 1, true, &v);
    v = 0x10 + 2 * 2;
    iobus_access(&f.mmio, 0xfec00000, 4, true, &v);
    v = 0x40;
    iobus_access(&f.mmio, 0xfec00010, 4, true, &v);
    v = 0x1ff;
    iobus_access(&f.mmio, 0xfee000f0, 4, true, &v);
    vector = -1;
    t0 = devclock_host_ns();
    while ((vector < 0 || vector == 0x20 || vector == 0x21) && devclock_host_ns() - t0 < 1000000000ull) {
        lapic_poll(l, devclock_host_ns());
        vector = lapic_pending(l, devclock_host_ns());
        if (vector >= 0 && vector != 0x40)
            lapic_accept(l, vector);
    }
    CHECK_EQ(vector, 0x40, "irqchip PIT IRQ 0 reaches the CPU through IOAPIC pin 2");
    test_hlt_wake(chip);
    fake_env_fini(&f);
}

int main(void)
{
    if (pit_new(&clk, &p) != 0)
        return 1;
    test_rate_generator();
    test_modes_and_readback();
    test_channel2_gate();
    pit_free(p);
    test_through_irqchip();
    TEST_EXIT();
}
