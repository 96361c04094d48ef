/* The MC146818 RTC on a fake clock: formats, UIP, interrupts, NVRAM. */
#include <stdlib.h>

#include "devices/lpc/rtc.h"
#include "fake_env.h"
#include "test.h"

#define S 1000000000ull
static uint64_t fake_now = 100 * S;
static uint64_t fake_clock(void *opaque)
{
    return fake_now;
}
static const struct devclock clk = {fake_clock, NULL};
static bool irq_level;
static int irq_edges;

static void on_irq(void *opaque, bool level)
{
    if (level && !irq_level)
        irq_edges++;
    irq_level = level;
}

/* 2024-02-29 23:59:58 UTC, a Thursday. */
#define T0 1709251198

static void test_time_formats(struct rtc *r)
{
    CHECK_EQ(rtc_read(r, 0x0d), 0x80, "rtc register D: valid RAM");
    CHECK_EQ(rtc_read(r, 0x0b), 0x02, "rtc register B: BCD, 24 hour");
    CHECK_EQ(rtc_read(r, 0), 0x58, "rtc seconds in BCD");
    CHECK_EQ(rtc_read(r, 2), 0x59, "rtc minutes in BCD");
    CHECK_EQ(rtc_read(r, 4), 0x23, "rtc hours in BCD");
    CHECK_EQ(rtc_read(r, 6), 0x05, "rtc day of week (Thursday = 5)");
    CHECK_EQ(rtc_read(r, 7), 0x29, "rtc day of month");
    CHECK_EQ(rtc_read(r, 8), 0x02, "rtc month");
    CHECK_EQ(rtc_read(r, 9), 0x24, "rtc year");
    CHECK_EQ(rtc_read(r, RTC_CENTURY), 0x20, "rtc century");
    fake_now += 2 * S;
    CHECK(rtc_read(r, 7) == 0x01 && rtc_read(r, 8) == 0x03 && rtc_read(r, 4) == 0x00,
          "rtc rolls over to March 1st after leap day");
    rtc_write(r, 0x0b, 0x06);   /* binary, 24 h */
    CHECK_EQ(rtc_read(r, 0), 0, "rtc binary seconds");
    CHECK_EQ(rtc_read(r, 9), 24, "rtc binary year");
    rtc_write(r, 0x0b, 0x00);   /* BCD, 12 h */
    CHECK_EQ(rtc_read(r, 4), 0x12, "rtc 12-hour midnight is 12 AM");
    fake_now += 13 * 3600 * S;
    CHECK_EQ(rtc_read(r, 4), 0x81, "rtc 12-hour 1 PM has the PM bit");
    rtc_write(r, 0x0b, 0x02);
}

static void test_uip_and_set(struct rtc *r)
{
    uint64_t sec_start = fake_now;   /* a tick boundary: base is on whole seconds */
    fake_now = sec_start + S - 100000;
    CHECK_EQ(rtc_read(r, 0x0a) & 0x80, 0x80, "rtc UIP in the last 244 us of a second");
    fake_now = sec_start + S / 2;
    CHECK_EQ(rtc_read(r, 0x0a) & 0x80, 0, "rtc UIP clear mid-second");
    CHECK_EQ(rtc_read(r, 0x0a), 0x26, "rtc register A default divider and rate");
    rtc_write(r, 0x0b, 0x82);   /* SET */
    rtc_write(r, 4, 0x07);
    rtc_write(r, 2, 0x30);
    rtc_write(r, 0, 0x15);
    fake_now += 5 * S;
    CHECK_EQ(rtc_read(r, 0), 0x15, "rtc SET holds the clock");
    rtc_write(r, 0x0b, 0x02);
    fake_now += 3 * S;
    CHECK(rtc_read(r, 4) == 0x07 && rtc_read(r, 2) == 0x30 && rtc_read(r, 0) == 0x18,
          "rtc runs on from the time written");
    rtc_write(r, 9, 0x30);
    CHECK(rtc_read(r, 9) == 0x30 && rtc_read(r, 0) == 0x18, "rtc year written while running");
}

static void test_interrupts(struct rtc *r)
{
    rtc_read(r, 0x0c);
    irq_edges = 0;
    rtc_write(r, 0x0b, 0x12);   /* UIE */
    uint64_t next = rtc_next_event(r);
    CHECK(next > fake_now && next <= fake_now + S, "rtc update interrupt due within a second");
    fake_now = next;
    rtc_poll(r, fake_now);
    CHECK(irq_level && irq_edges == 1, "rtc update-ended interrupt raises IRQ 8");
    CHECK_EQ(rtc_next_event(r), UINT64_MAX, "rtc nothing new while IRQF is pending");
    CHECK_EQ(rtc_read(r, 0x0c) & 0xb0, 0x90, "rtc register C: IRQF | UF (PF runs too)");
    CHECK(!irq_level, "rtc reading C lowers IRQ 8");
    CHECK_EQ(rtc_read(r, 0x0c), 0, "rtc reading C cleared the flags");

    rtc_write(r, 0x0b, 0x42);   /* PIE */
    rtc_write(r, 0x0a, 0x2f);   /* 2 Hz */
    next = rtc_next_event(r);
    CHECK(next > fake_now && next <= fake_now + S / 2, "rtc periodic interrupt at 2 Hz");
    fake_now = next;
    rtc_poll(r, fake_now);
    CHECK_EQ(rtc_read(r, 0x0c) & 0xc0, 0xc0, "rtc periodic flag and IRQF");
    rtc_write(r, 0x0a, 0x26);

    rtc_write(r, 0x0b, 0x22);   /* AIE */
    uint8_t s = rtc_read(r, 0), m = rtc_read(r, 2), h = rtc_read(r, 4);
    uint8_t s2 = (uint8_t)(s + 2);   /* BCD seconds well below 58 here */
    rtc_write(r, 1, s2);
    rtc_write(r, 3, m);
    rtc_write(r, 5, 0xc0);      /* any hour */
    (void)h;
    fake_now += S;
    rtc_poll(r, fake_now);
    CHECK(!(rtc_read(r, 0x0c) & 0x20), "rtc alarm not yet");
    fake_now += S;
    rtc_poll(r, fake_now);
    CHECK_EQ(rtc_read(r, 0x0c) & 0xa0, 0xa0, "rtc alarm fires at the matching second");
    rtc_write(r, 0x0b, 0x02);
}

static void test_nvram(struct rtc *r)
{
    rtc_write(r, 0x40, 0x5a);
    CHECK_EQ(rtc_read(r, 0x40), 0x5a, "rtc NVRAM byte reads back");
    rtc_write(r, 0x0d, 0x00);
    CHECK_EQ(rtc_read(r, 0x0d), 0x80, "rtc register D is read-only");
    rtc_set_memory(r, 512ull << 20, 1ull << 30);
    CHECK(rtc_read(r, 0x15) == 0x80 && rtc_read(r, 0x16) == 0x02, "rtc base memory 640 KiB");
    CHECK(rtc_read(r, 0x17) == 0xff && rtc_read(r, 0x18) == 0xff, "rtc extended memory capped");
    unsigned blocks = rtc_read(r, 0x34) | rtc_read(r, 0x35) << 8;
    CHECK_EQ(blocks, ((512u - 16) << 20) >> 16, "rtc 64 KiB blocks above 16 MiB");
    unsigned high = rtc_read(r, 0x5b) | rtc_read(r, 0x5c) << 8 | rtc_read(r, 0x5d) << 16;
    CHECK_EQ(high, (1u << 30) >> 16, "rtc 64 KiB blocks above 4 GiB");
}

static void test_ports_in_env(void)
{
    struct fake_env f;
    fake_env_init(&f, 64ull << 20, false);
    f.env.rtc_utc = true;
    CHECK_EQ(rtc_create(&f.env, NULL), 0, "rtc created in an environment");
    uint64_t v = 0x8d;   /* NMI mask bit set, register D */
    iobus_access(&f.pio, 0x70, 1, true, &v);
    iobus_access(&f.pio, 0x71, 1, false, &v);
    CHECK_EQ(v, 0x80, "rtc register D through ports 0x70/0x71");
    v = 0x35;
    iobus_access(&f.pio, 0x70, 1, true, &v);
    iobus_access(&f.pio, 0x71, 1, false, &v);
    CHECK_EQ(v, ((48u << 20) >> 16) >> 8, "rtc memory size from the environment's RAM (0x35)");
    v = 9;
    iobus_access(&f.pio, 0x70, 1, true, &v);
    iobus_access(&f.pio, 0x71, 1, false, &v);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    CHECK_EQ(v, ((tm.tm_year % 100) / 10) << 4 | (tm.tm_year % 10), "rtc -u shows the UTC year");
    CHECK_EQ(f.nteardowns, 1, "rtc registers its teardown");
    fake_env_fini(&f);
}

int main(void)
{
    struct rtc *r;
    if (rtc_new(&clk, T0, fake_now, on_irq, NULL, &r) != 0)
        return 1;
    test_time_formats(r);
    test_uip_and_set(r);
    test_interrupts(r);
    test_nvram(r);
    rtc_free(r);
    test_ports_in_env();
    TEST_EXIT();
}
