/*
 * The APIC bus: messages (IOAPIC redirections, IPIs, PCI MSIs) routed to
 * the local APICs they name, and the decoding of an MSI into such a
 * message (Intel SDM Vol. 3A 10.11 "Message Signalled Interrupts";
 * 11.11 in editions from 2023).
 */
#include "devices/irqchip/lapic.h"

/* MSI address (10.11.1): 0xfee in bits 31-20, the destination ID in
 * 19-12, RH (redirection hint) bit 3, DM (logical) bit 2. */
#define MSI_ADDR_MASK 0xfffffffffff00000ull
#define MSI_ADDR_BASE 0xfee00000ull
#define MSI_ADDR_RH (1u << 3)
#define MSI_ADDR_DM (1u << 2)

void apic_route(struct lapic *const *lapics, int n, const struct lapic *from,
                const struct apic_msg *msg, enum apic_shorthand sh, bool *woke)
{
    for (int i = 0; i < n; i++) {
        bool self = lapics[i] == from;
        bool hit = sh == APIC_SH_ALL || (sh == APIC_SH_SELF && self) ||
                   (sh == APIC_SH_OTHERS && !self) ||
                   (sh == APIC_SH_NONE && lapic_match(lapics[i], msg));
        if (!hit)
            continue;
        if (lapic_deliver(lapics[i], msg))
            woke[i] = true;
        /* Lowest priority goes to one APIC: the first that matches (all
         * run at the same priority as far as arbitration here knows). */
        if (msg->delivery == APIC_DM_LOWEST && sh == APIC_SH_NONE)
            break;
    }
}

bool apic_msi_decode(uint64_t addr, uint32_t data, struct apic_msg *msg)
{
    /* The upper address dword is 0 without interrupt remapping. */
    if ((addr & MSI_ADDR_MASK) != MSI_ADDR_BASE)
        return false;
    *msg = (struct apic_msg){
        .vector = (uint8_t)data,
        .delivery = (uint8_t)((data >> 8) & 7),
        .logical = addr & MSI_ADDR_DM,
        .level = false,   /* MSIs are edge-triggered: no TMR bit, no EOI broadcast */
        .dest = (uint32_t)(addr >> 12) & 0xff,
    };
    switch (msg->delivery) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (msg->vector < 16)
            return false;   /* illegal vectors (10.5.2): a broken device or guest */
        /* RH=1 lets the system pick one of the destinations, as lowest
         * priority does (10.11.1; KVM treats it the same way). */
        if (addr & MSI_ADDR_RH)
            msg->delivery = APIC_DM_LOWEST;
        return true;
    case APIC_DM_NMI:
        return true;        /* the vector is ignored */
    default:
        /* SMI and INIT are not modelled; ExtINT, SIPI and the reserved
         * modes are not valid in a message from a device. */
        return false;
    }
}
