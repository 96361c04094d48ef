/* PCI MSI delivery on emu: the message's decoding (SDM Vol. 3A 10.11),
 * its routing over several local APICs, and irqchip_msi end to end. */
#include <stdlib.h>

#include "devices/irqchip/irqchip.h"
#include "devices/irqchip/lapic.h"
#include "fake_env.h"
#include "test.h"

#define N 3
static struct lapic *l[N];

static void wr(struct lapic *a, uint32_t reg, uint32_t v)
{
    lapic_mmio_ops.write(a, reg, 4, v);
}

/* IRR bit v, through the MSRs in x2APIC mode (the page is gone then). */
static bool irr_has(struct lapic *a, int v)
{
    uint64_t w;
    if (lapic_msr_read(a, 0x820 + (unsigned)(v / 32), &w) != 0)
        w = lapic_mmio_ops.read(a, 0x200 + 0x10 * (unsigned)(v / 32), 4);
    return w & (1u << (v % 32));
}

static void eoi(struct lapic *a)
{
    if (lapic_msr_write(a, 0x80b, 0) != 0)
        wr(a, 0xb0, 0);
}

/* Decode and route over the N APICs; which ones now hold vector v. */
static unsigned send(uint64_t addr, uint32_t data, int v)
{
    struct apic_msg m;
    bool woke[N] = {false};
    if (apic_msi_decode(addr, data, &m))
        apic_route(l, N, NULL, &m, APIC_SH_NONE, woke);
    unsigned got = 0;
    for (int i = 0; i < N; i++) {
        if (irr_has(l[i], v)) {
            got |= 1u << i;
            lapic_irr_accept(l[i], v);   /* IRR -> ISR, then EOI: clean again */
            eoi(l[i]);
        }
        if (woke[i] != (bool)(got & (1u << i)))
            got |= 0x100;                /* woke without an interrupt, or the reverse */
    }
    return got;
}

static void test_decode(void)
{
    struct apic_msg m;
    CHECK(apic_msi_decode(0xfee01000, 0x0041, &m) && m.vector == 0x41 && m.dest == 1 &&
              m.delivery == APIC_DM_FIXED && !m.logical && !m.level,
          "msi fixed, physical destination 1, vector 0x41");
    CHECK(apic_msi_decode(0xfee0300c, 0xc152, &m) && m.delivery == APIC_DM_LOWEST &&
              m.logical && m.dest == 3 && !m.level,
          "msi RH=1 DM=1: logical, one target; the trigger bits do not make it level");
    CHECK(!apic_msi_decode(0xfed00000, 0x41, &m), "msi address outside 0xfeexxxxx dropped");
    CHECK(!apic_msi_decode(0x1fee00000ull, 0x41, &m), "msi upper address dword set dropped");
    CHECK(!apic_msi_decode(0xfee00000, 0x0f, &m), "msi fixed vector 15 dropped");
    CHECK(!apic_msi_decode(0xfee00000, 0x10f, &m), "msi lowest-priority vector 15 dropped");
    CHECK(apic_msi_decode(0xfee00000, 0x400, &m) && m.delivery == APIC_DM_NMI,
          "msi NMI ignores the vector");
    CHECK(!apic_msi_decode(0xfee00000, 0x241, &m), "msi SMI ignored");
    CHECK(!apic_msi_decode(0xfee00000, 0x541, &m), "msi INIT ignored");
    CHECK(!apic_msi_decode(0xfee00000, 0x641, &m), "msi SIPI mode dropped");
    CHECK(!apic_msi_decode(0xfee00000, 0x741, &m), "msi ExtINT dropped");
    CHECK(!apic_msi_decode(0xfee00000, 0x341, &m), "msi reserved mode 3 dropped");
}

static void test_routing(void)
{
    for (int i = 0; i < N; i++) {
        if (lapic_new(i, i == 0, NULL, NULL, NULL, &l[i]) != 0)
            return;
        wr(l[i], 0xf0, 0x1ff);                 /* software enable */
        wr(l[i], 0xd0, (1u << i) << 24);       /* flat logical IDs 1, 2, 4 */
    }
    CHECK_EQ(send(0xfee01000, 0x41, 0x41), 0x2, "msi physical 1 reaches APIC 1 only");
    CHECK_EQ(send(0xfee02000, 0x42, 0x42), 0x4, "msi physical 2 reaches APIC 2 only");
    CHECK_EQ(send(0xfee07000, 0x43, 0x43), 0, "msi physical 7: nobody");
    CHECK_EQ(send(0xfeeff000, 0x44, 0x44), 0x7, "msi physical broadcast 0xff reaches all");
    CHECK_EQ(send(0xfee05004, 0x45, 0x45), 0x5, "msi logical flat 0x05 reaches APICs 0, 2");
    CHECK_EQ(send(0xfeeff004, 0x46, 0x46), 0x7, "msi logical flat 0xff reaches all");
    unsigned lp = send(0xfee06004, 0x147, 0x47);
    CHECK(lp == 0x2 || lp == 0x4, "msi lowest priority to 0x06 reaches one of APICs 1, 2");
    lp = send(0xfee0600c, 0x48, 0x48);
    CHECK(lp == 0x2 || lp == 0x4, "msi RH=1 fixed to 0x06 reaches one APIC");
    CHECK_EQ(send(0xfee01000, 0x0f, 0x0f), 0, "msi vector 15 delivers nothing");
    CHECK_EQ(send(0xfee01000, 0x241, 0x41), 0, "msi SMI delivers nothing");
    /* Cluster model: cluster in LDR bits 31-28, members in 27-24. */
    for (int i = 0; i < N; i++) {
        wr(l[i], 0xe0, 0x0fffffff);
        wr(l[i], 0xd0, (0x10u | (1u << i)) << 24);
    }
    CHECK_EQ(send(0xfee13004, 0x49, 0x49), 0x3, "msi cluster 1 members 0x3 reach APICs 0, 1");
    CHECK_EQ(send(0xfee23004, 0x4a, 0x4a), 0, "msi another cluster reaches nobody");
    struct apic_msg m;
    bool woke[N] = {false};
    CHECK(apic_msi_decode(0xfee02000, 0x400, &m), "msi NMI to APIC 2 decoded");
    apic_route(l, N, NULL, &m, APIC_SH_NONE, woke);
    CHECK(!lapic_nmi_pending(l[0]) && !lapic_nmi_pending(l[1]) && lapic_nmi_pending(l[2]) &&
              woke[2],
          "msi NMI latched on APIC 2 only");
    /* x2APIC: physical IDs compare in full, 0xff still broadcasts. */
    CHECK_EQ(lapic_msr_write(l[1], 0x1b, LAPIC_BASE | (1u << 11) | (1u << 10)), 0,
             "msi APIC 1 to x2APIC mode");
    CHECK_EQ(send(0xfee01000, 0x4b, 0x4b), 0x2, "msi physical 1 reaches the x2APIC");
    for (int i = 0; i < N; i++)
        lapic_free(l[i]);
}

static bool woke_cpu;
static void on_wake(void *opaque, int vcpu)
{
    woke_cpu = true;
}

/* The chip as the board builds it: irqchip_msi wakes the vCPU and the
 * CPU engine sees the vector. */
static void test_irqchip(void)
{
    struct fake_env f;
    fake_env_init(&f, 0, false);
    struct irqchip *chip;
    CHECK_EQ(irqchip_create(&f.env, 1, &chip), 0, "msi irqchip created");
    irqchip_set_wake(chip, on_wake, NULL);
    struct lapic *a = irqchip_lapic(chip, 0);
    wr(a, 0xf0, 0x1ff);
    irqchip_msi(chip, 0xfee00000, 0x0e);
    irqchip_msi(chip, 0xfec00000, 0x51);
    irqchip_msi(chip, 0xfee01000, 0x51);
    CHECK(!woke_cpu && lapic_pending(a, 0) == -1, "msi malformed or elsewhere: nothing, no wake");
    irqchip_msi(chip, 0xfee00000, 0x51);
    CHECK(woke_cpu, "msi wakes the vCPU");
    CHECK_EQ(lapic_pending(a, 0), 0x51, "msi vector pending for the CPU");
    lapic_accept(a, 0x51);
    CHECK_EQ((uint32_t)lapic_mmio_ops.read(a, 0x180 + 0x10 * 2, 4) & (1u << 0x11), 0,
             "msi is edge: no TMR bit");
    wr(a, 0xb0, 0);
    CHECK_EQ(lapic_pending(a, 0), -1, "msi EOI'd");
    fake_env_fini(&f);
}

int main(void)
{
    test_decode();
    test_routing();
    test_irqchip();
    TEST_EXIT();
}
