/* The local APIC model: registers, priorities, EOI, timer modes, x2APIC. */
#include <stdlib.h>

#include "devices/irqchip/irqchip.h"
#include "devices/irqchip/lapic.h"
#include "test.h"

static uint64_t fake_now = 1000000;
static uint64_t fake_clock(void *opaque)
{
    return fake_now;
}
static const struct devclock clk = {fake_clock, NULL};

static int eoi_vector = -1, nipi;
static struct apic_msg last_ipi;
static enum apic_shorthand last_sh;
static struct lapic *l;

static void on_eoi(void *opaque, uint8_t v)
{
    eoi_vector = v;
}

static void on_ipi(void *opaque, struct lapic *from, const struct apic_msg *m,
                   enum apic_shorthand sh)
{
    nipi++;
    last_ipi = *m;
    last_sh = sh;
    if (sh == APIC_SH_SELF)
        lapic_deliver(from, m);
}

static uint32_t rd(uint32_t reg)
{
    return (uint32_t)lapic_mmio_ops.read(l, reg, 4);
}

static void wr(uint32_t reg, uint32_t v)
{
    lapic_mmio_ops.write(l, reg, 4, v);
}

static int pending(void)
{
    bool extint;
    return lapic_irr_pending(l, fake_now, &extint);
}

static void fixed(uint8_t vector, bool level)
{
    struct apic_msg m = {.vector = vector, .delivery = APIC_DM_FIXED, .level = level};
    lapic_deliver(l, &m);
}

static void test_reset_state(void)
{
    CHECK_EQ(rd(0x20), 0, "lapic BSP ID 0");
    CHECK_EQ(rd(0x30), 0x50014, "lapic version 0x50014");
    CHECK_EQ(rd(0xf0), 0xff, "lapic SVR resets to 0xff (software disabled)");
    CHECK_EQ(rd(0xe0), 0xffffffff, "lapic DFR resets to flat");
    CHECK_EQ(rd(0x320), 0x10000, "lapic LVT timer resets masked");
    CHECK_EQ(rd(0x350), 0x700, "lapic BSP LINT0 starts as ExtINT (virtual wire)");
    bool extint = false;
    lapic_irr_pending(l, fake_now, &extint);
    CHECK(extint, "lapic virtual wire lets the PIC through");
    fixed(0x40, false);
    CHECK_EQ(pending(), -1, "lapic software-disabled APIC drops fixed interrupts");
    wr(0x350, 0x700);
    wr(0xf0, 0x1ff);
    CHECK_EQ(rd(0xf0), 0x1ff, "lapic SVR software enable");
}

static void test_priority_and_eoi(void)
{
    fixed(0x40, false);
    fixed(0x61, true);
    CHECK_EQ(rd(0x220) & 1, 1, "lapic IRR holds vector 0x40");
    CHECK_EQ(pending(), 0x61, "lapic highest vector first");
    lapic_irr_accept(l, 0x61);
    CHECK_EQ(rd(0x100 + 0x30) & 2, 2, "lapic accepted vector moves to ISR");
    CHECK_EQ(rd(0x180 + 0x30) & 2, 2, "lapic level vector has TMR set");
    CHECK_EQ(rd(0xa0), 0x60, "lapic PPR follows the in-service class");
    CHECK_EQ(pending(), -1, "lapic lower class waits behind ISR");
    wr(0xb0, 0);
    CHECK_EQ(eoi_vector, 0x61, "lapic EOI of a level vector is broadcast");
    CHECK_EQ(rd(0x100 + 0x30), 0, "lapic EOI clears ISR");
    wr(0x80, 0x50);
    CHECK_EQ(pending(), -1, "lapic TPR 0x50 blocks vector 0x40");
    wr(0x80, 0x30);
    CHECK_EQ(pending(), 0x40, "lapic TPR 0x30 lets vector 0x40 through");
    lapic_irr_accept(l, 0x40);
    eoi_vector = -1;
    wr(0xb0, 0);
    CHECK_EQ(eoi_vector, -1, "lapic EOI of an edge vector is not broadcast");
    wr(0x80, 0);
    fixed(5, false);
    wr(0x280, 0);
    CHECK_EQ(rd(0x280) & 0x40, 0x40, "lapic illegal vector latches ESR receive error");
    CHECK_EQ(pending(), -1, "lapic illegal vector not accepted");
}

static void test_timer(void)
{
    wr(0x3e0, 0x3);               /* divide by 16 */
    wr(0x320, 0x50);              /* one-shot, vector 0x50 */
    wr(0x380, 1000);
    CHECK_EQ(lapic_timer_next(l), fake_now + 16000, "lapic one-shot next event");
    fake_now += 8000;
    CHECK_EQ(rd(0x390), 500, "lapic current count halfway");
    CHECK_EQ(pending(), -1, "lapic one-shot not yet expired");
    fake_now += 8000;
    CHECK_EQ(pending(), 0x50, "lapic one-shot fires on time");
    lapic_irr_accept(l, 0x50);
    wr(0xb0, 0);
    CHECK_EQ(rd(0x390), 0, "lapic one-shot count stays 0");
    CHECK_EQ(lapic_timer_next(l), UINT64_MAX, "lapic one-shot disarmed after firing");

    wr(0x3e0, 0xb);               /* divide by 1 */
    wr(0x320, 0x20051);           /* periodic, vector 0x51 */
    wr(0x380, 100);
    fake_now += 350;
    CHECK_EQ(pending(), 0x51, "lapic periodic fires");
    lapic_irr_accept(l, 0x51);
    wr(0xb0, 0);
    CHECK_EQ(rd(0x390), 50, "lapic periodic reloads and keeps phase");
    CHECK_EQ(lapic_timer_next(l), fake_now + 50, "lapic periodic next event");
    wr(0x320, 0x30051);           /* masked */
    fake_now += 100;
    CHECK_EQ(pending(), -1, "lapic masked timer raises nothing");
    CHECK_EQ(lapic_timer_next(l), UINT64_MAX, "lapic masked timer needs no wakeup");

    uint64_t v;
    wr(0x320, 0x40052);           /* TSC-deadline, vector 0x52 */
    CHECK_EQ(rd(0x390), 0, "lapic mode switch disarms the count");
    CHECK_EQ(lapic_msr_write(l, 0x6e0, fake_now + 500), 0, "lapic TSC deadline written");
    CHECK(lapic_msr_read(l, 0x6e0, &v) == 0 && v == fake_now + 500, "lapic TSC deadline reads");
    CHECK_EQ(lapic_timer_next(l), fake_now + 500, "lapic TSC deadline is the next event");
    fake_now += 499;
    CHECK_EQ(pending(), -1, "lapic TSC deadline not yet");
    fake_now += 1;
    CHECK_EQ(pending(), 0x52, "lapic TSC deadline fires");
    CHECK(lapic_msr_read(l, 0x6e0, &v) == 0 && v == 0, "lapic TSC deadline reads 0 after");
    lapic_irr_accept(l, 0x52);
    wr(0xb0, 0);
    wr(0x320, 0x10000);
}

static void test_ipi_and_x2apic(void)
{
    wr(0x310, 0);
    wr(0x300, 0x40000 | 0x60);    /* fixed, shorthand self */
    CHECK(nipi == 1 && last_sh == APIC_SH_SELF && last_ipi.vector == 0x60, "lapic self IPI sent");
    CHECK_EQ(pending(), 0x60, "lapic self IPI pending");
    lapic_irr_accept(l, 0x60);
    wr(0xb0, 0);
    wr(0x300, 0x05);              /* illegal vector */
    CHECK_EQ(nipi, 1, "lapic illegal IPI vector not sent");

    uint64_t v;
    CHECK_EQ(lapic_msr_read(l, 0x802, &v), -1, "lapic x2APIC MSRs #GP in xAPIC mode");
    CHECK(lapic_msr_read(l, 0x1b, &v) == 0 && v == 0xfee00900, "lapic APIC base: enabled BSP");
    CHECK_EQ(lapic_msr_write(l, 0x1b, 0xfee00d00), 0, "lapic switch to x2APIC");
    CHECK(lapic_msr_read(l, 0x802, &v) == 0 && v == 0, "lapic x2APIC ID");
    CHECK(lapic_msr_read(l, 0x80d, &v) == 0 && v == 1, "lapic x2APIC LDR derived from ID");
    CHECK_EQ(lapic_msr_read(l, 0x80e, &v), -1, "lapic x2APIC has no DFR");
    CHECK_EQ(lapic_msr_write(l, 0x80b, 1), -1, "lapic x2APIC EOI takes only 0");
    CHECK_EQ(lapic_msr_write(l, 0x802, 1), -1, "lapic x2APIC ID is read-only");
    CHECK_EQ(rd(0x30), 0, "lapic MMIO page is gone in x2APIC mode");
    CHECK_EQ(lapic_msr_write(l, 0x83f, 0x70), 0, "lapic x2APIC SELF IPI");
    CHECK_EQ(pending(), 0x70, "lapic x2APIC SELF IPI pending");
    lapic_irr_accept(l, 0x70);
    CHECK_EQ(lapic_msr_write(l, 0x80b, 0), 0, "lapic x2APIC EOI");
    CHECK_EQ(lapic_msr_write(l, 0x1b, 0xfee00900), -1, "lapic x2APIC -> xAPIC is #GP");
    CHECK_EQ(lapic_msr_write(l, 0x1b, 0xfee00100), 0, "lapic x2APIC -> disabled");
    CHECK_EQ(lapic_msr_write(l, 0x1b, 0xfee00d00), -1, "lapic disabled -> x2APIC is #GP");
    CHECK_EQ(lapic_msr_write(l, 0x1b, 0xfee00900), 0, "lapic disabled -> xAPIC");
    CHECK_EQ(rd(0xf0), 0xff, "lapic disabling reset the registers");
    CHECK(lapic_owns_msr(0x6e0) && lapic_owns_msr(0x8ff) && !lapic_owns_msr(0x10),
          "lapic owns APIC base, TSC deadline and x2APIC MSRs only");
}

/* NMI (SDM 10.6.1, 10.5.1): from the ICR and LINT0/1, one latched
 * request, taken once; the TPR behind CR8. */
static void test_nmi_lint_tpr(void)
{
    wr(0xf0, 0x1ff);
    CHECK(!lapic_nmi_pending(l), "lapic no NMI at first");
    wr(0x300, 0x44400);  /* NMI, shorthand self (the hook routes it back) */
    wr(0x300, 0x44400);
    CHECK(nipi == 2 && last_ipi.delivery == APIC_DM_NMI, "lapic NMI sent through the ICR");
    CHECK(lapic_nmi_pending(l), "lapic NMI by ICR latched");
    CHECK(lapic_nmi_take(l), "lapic NMI taken");
    CHECK(!lapic_nmi_take(l), "lapic two NMIs before the CPU looked: one latch");
    wr(0xf0, 0xff);      /* software-disabled: NMIs still accepted */
    struct apic_msg m = {.delivery = APIC_DM_NMI};
    CHECK(lapic_deliver(l, &m) && lapic_nmi_take(l), "lapic NMI while software-disabled");
    wr(0xf0, 0x1ff);

    wr(0x360, 0x400);    /* LINT1: NMI */
    CHECK(!lapic_nmi_armed(l), "lapic LINT1 in NMI mode (wired to nothing): no NMI can come");
    CHECK(lapic_set_lint(l, 1, true) && lapic_nmi_take(l), "lapic LINT1 rising edge: NMI");
    CHECK(!lapic_set_lint(l, 1, true) && !lapic_nmi_pending(l), "lapic LINT1 held high: no new NMI");
    lapic_set_lint(l, 1, false);
    wr(0x360, 0x10400);
    CHECK(!lapic_set_lint(l, 1, true) && !lapic_nmi_pending(l), "lapic LINT1 masked: nothing");
    lapic_set_lint(l, 1, false);
    wr(0x350, 0x400);    /* LINT0: NMI */
    CHECK(lapic_nmi_armed(l), "lapic LINT0 in NMI mode: an NMI can come (CLI; HLT may wake)");
    wr(0xf0, 0xff);      /* software disable masks LINT0 */
    CHECK(!lapic_nmi_armed(l), "lapic software-disabled: LINT0 masked, no NMI can come");
    wr(0xf0, 0x1ff);
    wr(0x350, 0x400);
    CHECK(lapic_set_lint(l, 0, true) && lapic_nmi_armed(l) && lapic_nmi_take(l),
          "lapic LINT0 in NMI mode: NMI");
    lapic_set_lint(l, 0, false);
    wr(0x350, 0x45);     /* LINT0: fixed vector 0x45 */
    lapic_set_lint(l, 0, true);
    CHECK_EQ(pending(), 0x45, "lapic LINT0 in fixed mode: its vector");
    lapic_irr_accept(l, 0x45);
    wr(0xb0, 0);
    lapic_set_lint(l, 0, false);
    wr(0x350, 0x10700);

    lapic_tpr_write(l, 0x70);
    CHECK_EQ(rd(0x80), 0x70, "lapic TPR written as CR8 sees it");
    wr(0x80, 0x20);
    CHECK_EQ(lapic_tpr_read(l), 0x20, "lapic TPR read as CR8 sees it");
    wr(0x80, 0);
    nipi = 0;
}

static void test_logical_match(void)
{
    struct apic_msg m = {.logical = true, .dest = 0x02};
    wr(0xd0, 0x02000000);
    CHECK(lapic_match(l, &m), "lapic flat logical destination matches LDR bit");
    m.dest = 0x04;
    CHECK(!lapic_match(l, &m), "lapic flat logical destination misses");
    m = (struct apic_msg){.dest = 0xff};
    CHECK(lapic_match(l, &m), "lapic physical broadcast matches");
    m.dest = 3;
    CHECK(!lapic_match(l, &m), "lapic physical other ID misses");
}

int main(void)
{
    static const struct lapic_hooks hooks = {on_eoi, on_ipi};
    if (lapic_new(0, true, &clk, &hooks, NULL, &l) != 0)
        return 1;
    test_reset_state();
    test_priority_and_eoi();
    test_timer();
    test_nmi_lint_tpr();
    test_ipi_and_x2apic();
    test_logical_match();
    lapic_free(l);
    TEST_EXIT();
}
