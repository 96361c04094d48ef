/*
 * Local APIC after the Intel SDM Vol. 3A chapter 10 ("Advanced
 * Programmable Interrupt Controller"; chapter 11 in editions from 2023):
 * 10.4.7 software enable, 10.5.1 LVT, 10.5.3 ESR, 10.5.4 timer, 10.6 ICR,
 * 10.8 IRR/ISR/TMR, TPR/PPR and EOI, 10.12 x2APIC (MSR map in 10.12.1.2).
 * The timer's input clock is 1 GHz before the divider (as KVM), so one
 * tick of the initial count is `divide` nanoseconds.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/irqchip/irqchip.h"
#include "devices/irqchip/lapic_priv.h"
#include "hyperkit.h"

static const uint32_t lvt_writable[LVT_COUNT] = {
    0x700ff,            /* timer: vector, mask, mode (bit 18: TSC-deadline) */
    0x107ff, 0x107ff,   /* thermal, perf: vector, delivery mode, mask */
    0x1a7ff, 0x1a7ff,   /* LINT0/1: + polarity, trigger (remote IRR is RO) */
    0x100ff,            /* error: vector, mask */
};

/* Whether LINT0 turns the PIC's INTR into an NMI (SDM 10.5.1), kept for
 * lapic_nmi_armed() to read without the lock. Called under the lock after
 * anything that changes the LVT entry or the enables. */
static void note_lint0(struct lapic *l)
{
    uint32_t lvt = l->lvt[LVT_LINT0];
    atomic_store(&l->lint0_nmi,
                 hw_enabled(l) && !(lvt & LVT_MASKED) && LVT_DM(lvt) == APIC_DM_NMI);
}

/* The reset state of SDM 10.4.7.1, keeping the APIC base. */
static void lapic_reset(struct lapic *l, bool bsp)
{
    uint64_t base = l->apic_base;
    uint32_t id = l->id;
    memset(&l->tpr, 0, sizeof(*l) - offsetof(struct lapic, tpr));
    l->apic_base = base;
    l->id = id;
    l->dfr = 0xffffffff;
    l->svr = 0xff;
    for (int i = 0; i < LVT_COUNT; i++)
        l->lvt[i] = LVT_MASKED;
    if (bsp)
        l->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;   /* virtual wire, as firmware sets */
    note_lint0(l);
}

int lapic_new(int id, bool bsp, const struct devclock *clk, const struct lapic_hooks *hooks,
              void *opaque, struct lapic **out)
{
    struct lapic *l = calloc(1, sizeof(*l));
    if (!l)
        return HK_ENOMEM;
    pthread_mutex_init(&l->lock, NULL);
    l->clk = clk;
    if (hooks)
        l->hooks = *hooks;
    l->opaque = opaque;
    l->id = (uint32_t)id;
    l->apic_base = LAPIC_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
    lapic_reset(l, bsp);
    *out = l;
    return HK_OK;
}

void lapic_free(struct lapic *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

int lapic_id(const struct lapic *l)
{
    return (int)l->id;
}

void *lapic_hook_opaque(const struct lapic *l)
{
    return l->opaque;
}

/* An error the APIC detected: latch it and raise the error LVT. */
static void signal_error(struct lapic *l, uint32_t bit)
{
    l->esr_pending |= bit;
    uint32_t lvt = l->lvt[LVT_ERROR];
    if (!(lvt & LVT_MASKED) && (lvt & 0xff) >= 16)
        vec_set(l->irr, lvt & 0xff);
}

/* Fixed interrupt into the IRR; vectors 0-15 are illegal (SDM 10.5.2). */
void lapic_accept_fixed(struct lapic *l, int vector, bool level)
{
    if (vector < 16) {
        signal_error(l, ESR_RECV_ILLEGAL);
        return;
    }
    vec_set(l->irr, vector);
    if (level)
        vec_set(l->tmr, vector);
    else
        vec_clear(l->tmr, vector);
}

/* --- Priorities, acceptance, EOI ------------------------------------------- */

static uint32_t ppr(const struct lapic *l)
{
    int isrv = vec_highest(l->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

int lapic_irr_pending(struct lapic *l, uint64_t now, bool *extint)
{
    pthread_mutex_lock(&l->lock);
    lapic_timer_update(l, now);
    int v = -1;
    if (!hw_enabled(l)) {
        *extint = true;   /* the PIC's INTR goes straight to the CPU */
    } else {
        uint32_t lint0 = l->lvt[LVT_LINT0];
        *extint = l->extint_req ||
                  (!(lint0 & LVT_MASKED) && LVT_DM(lint0) == APIC_DM_EXTINT);
        int irrv = vec_highest(l->irr);
        if (irrv >= 0 && ((uint32_t)irrv & 0xf0) > (ppr(l) & 0xf0))
            v = irrv;
    }
    pthread_mutex_unlock(&l->lock);
    return v;
}

void lapic_irr_accept(struct lapic *l, int vector)
{
    if (vector < 0 || vector > 255)
        return;
    pthread_mutex_lock(&l->lock);
    if (vec_test(l->irr, vector)) {
        vec_clear(l->irr, vector);
        vec_set(l->isr, vector);
    }
    pthread_mutex_unlock(&l->lock);
}

void lapic_extint_taken(struct lapic *l)
{
    pthread_mutex_lock(&l->lock);
    l->extint_req = false;
    pthread_mutex_unlock(&l->lock);
}

/* EOI: retire the highest in-service vector. Returns the vector if it was
 * level-triggered (the caller broadcasts it to the IOAPIC), else -1. */
static int do_eoi(struct lapic *l)
{
    int v = vec_highest(l->isr);
    if (v < 0)
        return -1;
    vec_clear(l->isr, v);
    return vec_test(l->tmr, v) ? v : -1;
}

/* --- Destinations and delivery ---------------------------------------------- */

static uint32_t logical_id(const struct lapic *l)
{
    if (x2apic(l))   /* derived from the ID, SDM 10.12.10.2 */
        return ((l->id >> 4) << 16) | (1u << (l->id & 0xf));
    return l->ldr >> 24;
}

bool lapic_match(struct lapic *l, const struct apic_msg *msg)
{
    pthread_mutex_lock(&l->lock);
    bool x2 = x2apic(l);
    uint32_t bcast = x2 ? 0xffffffff : 0xff;
    uint32_t dest = x2 ? msg->dest : msg->dest & 0xff;
    bool hit;
    if (!msg->logical) {
        hit = dest == bcast || dest == l->id || (x2 && (dest & 0xff) == 0xff && dest < 0x100);
    } else if (x2) {
        uint32_t ldr = logical_id(l);
        hit = dest == bcast || ((dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff));
    } else if ((l->dfr >> 28) == 0xf) {   /* flat model */
        hit = (dest & logical_id(l)) != 0;
    } else {                               /* cluster model */
        uint32_t ldr = logical_id(l);
        hit = dest == 0xff || ((dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf));
    }
    pthread_mutex_unlock(&l->lock);
    return hit;
}

bool lapic_deliver(struct lapic *l, const struct apic_msg *msg)
{
    bool wake = false;
    pthread_mutex_lock(&l->lock);
    if (hw_enabled(l)) {
        switch (msg->delivery) {
        case APIC_DM_FIXED:
        case APIC_DM_LOWEST:
            /* A software-disabled APIC takes no fixed interrupts (as KVM). */
            if (sw_enabled(l)) {
                lapic_accept_fixed(l, msg->vector, msg->level);
                wake = true;
            }
            break;
        case APIC_DM_EXTINT:
            l->extint_req = true;
            wake = true;
            break;
        case APIC_DM_NMI:
            /* Taken even while software-disabled (SDM 10.4.7.2); the vector
             * is ignored, the CPU uses 2. One request stays latched. */
            atomic_store(&l->nmi_pending, true);
            wake = true;
            break;
        default:
            /* SMI, INIT, SIPI: not modelled yet (single vCPU). */
            break;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return wake;
}

/* Lock-free: the CPU asks at every block boundary with NMIs unblocked. */
bool lapic_nmi_take(struct lapic *l)
{
    return atomic_load_explicit(&l->nmi_pending, memory_order_relaxed) &&
           atomic_exchange(&l->nmi_pending, false);
}

bool lapic_nmi_pending(struct lapic *l)
{
    return atomic_load(&l->nmi_pending);
}

bool lapic_nmi_armed(struct lapic *l)
{
    return atomic_load_explicit(&l->lint0_nmi, memory_order_relaxed) || lapic_nmi_pending(l);
}

/* LINT0/1 (SDM 10.5.1): a rising edge delivers what the LVT entry says.
 * NMI is always edge-triggered; ExtINT on LINT0 is the PIC's INTR path,
 * looked at in lapic_irr_pending(). */
bool lapic_set_lint(struct lapic *l, int pin, bool level)
{
    if (pin < 0 || pin > 1)
        return false;
    bool wake = false;
    pthread_mutex_lock(&l->lock);
    bool rising = level && !l->lint_level[pin];
    l->lint_level[pin] = level;
    uint32_t lvt = l->lvt[pin ? LVT_LINT1 : LVT_LINT0];
    if (rising && hw_enabled(l) && !(lvt & LVT_MASKED)) {
        if (LVT_DM(lvt) == APIC_DM_NMI) {
            atomic_store(&l->nmi_pending, true);
            wake = true;
        } else if (LVT_DM(lvt) == APIC_DM_FIXED) {
            lapic_accept_fixed(l, (int)(lvt & 0xff), false);
            wake = true;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return wake;
}

uint32_t lapic_tpr_read(struct lapic *l)
{
    pthread_mutex_lock(&l->lock);
    uint32_t tpr = l->tpr;
    pthread_mutex_unlock(&l->lock);
    return tpr;
}

void lapic_tpr_write(struct lapic *l, uint32_t tpr)
{
    pthread_mutex_lock(&l->lock);
    l->tpr = tpr & 0xff;
    pthread_mutex_unlock(&l->lock);
}

/* --- Registers ------------------------------------------------------------------ */

/* Read register at page offset `reg` (16-byte aligned). false: no such
 * register (x2APIC: #GP). */
static bool reg_read(struct lapic *l, uint32_t reg, uint64_t now, uint64_t *out)
{
    uint32_t v;
    switch (reg) {
    case 0x020: v = x2apic(l) ? l->id : l->id << 24; break;
    case 0x030: v = LAPIC_VERSION; break;
    case 0x080: v = l->tpr; break;
    case 0x090: v = 0; break;              /* APR: arbitration is not modelled */
    case 0x0a0: v = ppr(l); break;
    case 0x0d0: v = x2apic(l) ? logical_id(l) : l->ldr; break;
    case 0x0e0:
        if (x2apic(l))
            return false;                  /* no DFR in x2APIC mode */
        v = l->dfr;
        break;
    case 0x0f0: v = l->svr; break;
    case 0x280: v = l->esr; break;
    case 0x300:
        if (x2apic(l)) {
            *out = (uint64_t)l->icr_hi << 32 | l->icr_lo;
            return true;
        }
        v = l->icr_lo;
        break;
    case 0x310:
        if (x2apic(l))
            return false;
        v = l->icr_hi;
        break;
    case 0x380: v = timer_mode(l) == TIMER_TSC_DEADLINE ? 0 : l->initial; break;
    case 0x390: v = lapic_timer_current(l, now); break;
    case 0x3e0: v = l->dcr; break;
    default:
        if (reg >= 0x100 && reg < 0x180)
            v = l->isr[(reg - 0x100) >> 4];
        else if (reg >= 0x180 && reg < 0x200)
            v = l->tmr[(reg - 0x180) >> 4];
        else if (reg >= 0x200 && reg < 0x280)
            v = l->irr[(reg - 0x200) >> 4];
        else if (reg >= 0x320 && reg <= 0x370)
            v = l->lvt[(reg - 0x320) >> 4];
        else
            return false;
    }
    *out = v;
    return true;
}

/* What a register write asks to do once the lock is dropped. */
struct after_write {
    int eoi_vector;                 /* -1: none */
    bool send_ipi;
    struct apic_msg ipi;
    enum apic_shorthand sh;
};

static void write_svr(struct lapic *l, uint32_t val)
{
    l->svr = val & 0x3ff;   /* no EOI-broadcast suppression (version bit 24 is 0) */
    /* Software disable masks every LVT entry (SDM 10.4.7.2). */
    if (!sw_enabled(l))
        for (int i = 0; i < LVT_COUNT; i++)
            l->lvt[i] |= LVT_MASKED;
    note_lint0(l);
}

static void write_icr(struct lapic *l, uint64_t val, struct after_write *aw)
{
    l->icr_lo = (uint32_t)val & 0xccfff;   /* delivery status (bit 12) reads idle */
    if (x2apic(l))
        l->icr_hi = (uint32_t)(val >> 32);
    uint8_t dm = (uint8_t)LVT_DM(l->icr_lo);
    uint8_t vector = (uint8_t)l->icr_lo;
    if ((dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST) && vector < 16) {
        signal_error(l, ESR_SEND_ILLEGAL);
        return;
    }
    aw->send_ipi = true;
    aw->sh = (enum apic_shorthand)((l->icr_lo >> 18) & 3);
    aw->ipi = (struct apic_msg){
        .vector = vector,
        .delivery = dm,
        .logical = l->icr_lo & (1u << 11),
        .level = l->icr_lo & (1u << 15),
        .dest = x2apic(l) ? l->icr_hi : l->icr_hi >> 24,
    };
}

static void write_lvt(struct lapic *l, int i, uint32_t val, uint64_t now)
{
    if (!sw_enabled(l))
        val |= LVT_MASKED;   /* cannot be unmasked while disabled */
    if (i == LVT_TIMER)
        lapic_timer_write_lvt(l, val, now);
    else
        l->lvt[i] = (l->lvt[i] & ~lvt_writable[i]) | (val & lvt_writable[i]);
    note_lint0(l);
}

/* Write register `reg`. false: no such register or read-only (#GP in x2APIC). */
static bool reg_write(struct lapic *l, uint32_t reg, uint64_t val, uint64_t now,
                      struct after_write *aw)
{
    uint32_t v = (uint32_t)val;
    switch (reg) {
    case 0x020:
        if (x2apic(l))
            return false;
        l->id = v >> 24;
        break;
    case 0x080: l->tpr = v & 0xff; break;
    case 0x0b0:
        if (x2apic(l) && v)
            return false;   /* x2APIC EOI takes only 0 (SDM 10.12.1.2) */
        aw->eoi_vector = do_eoi(l);
        break;
    case 0x0d0:
        if (x2apic(l))
            return false;   /* read-only, derived from the ID */
        l->ldr = v & 0xff000000;
        break;
    case 0x0e0:
        if (x2apic(l))
            return false;
        l->dfr = v | 0x0fffffff;
        break;
    case 0x0f0: write_svr(l, v); break;
    case 0x280:
        /* A write latches the errors seen since the last one (10.5.3). */
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case 0x300: write_icr(l, x2apic(l) ? val : v, aw); break;
    case 0x310:
        if (x2apic(l))
            return false;
        l->icr_hi = v & 0xff000000;
        break;
    case 0x380: lapic_timer_write_initial(l, v, now); break;
    case 0x3e0: lapic_timer_write_dcr(l, v, now); break;
    case 0x3f0:   /* SELF IPI, x2APIC only */
        if (!x2apic(l))
            return false;
        aw->send_ipi = true;
        aw->sh = APIC_SH_SELF;
        aw->ipi = (struct apic_msg){.vector = (uint8_t)v, .delivery = APIC_DM_FIXED};
        break;
    default:
        if (reg >= 0x320 && reg <= 0x370)
            write_lvt(l, (int)(reg - 0x320) >> 4, v, now);
        else
            return false;
    }
    return true;
}

static void run_after_write(struct lapic *l, const struct after_write *aw)
{
    if (aw->eoi_vector >= 0 && l->hooks.eoi)
        l->hooks.eoi(l->opaque, (uint8_t)aw->eoi_vector);
    if (aw->send_ipi && l->hooks.ipi)
        l->hooks.ipi(l->opaque, l, &aw->ipi, aw->sh);
}

/* --- xAPIC MMIO ------------------------------------------------------------------ */

static uint64_t lapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct lapic *l = opaque;
    uint64_t v = 0;
    pthread_mutex_lock(&l->lock);
    /* The page is only there in xAPIC mode (SDM 10.12.2); registers are
     * 32 bits on 16-byte boundaries, narrower reads see part of one. */
    if (hw_enabled(l) && !x2apic(l) && !reg_read(l, (uint32_t)offset & 0xff0,
                                                 devclock_now(l->clk), &v))
        v = 0;
    pthread_mutex_unlock(&l->lock);
    v = (uint32_t)v >> (8 * (offset & 3));
    return size >= 4 ? (uint32_t)v : v & ((1u << (size * 8)) - 1);
}

static void lapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct lapic *l = opaque;
    struct after_write aw = {.eoi_vector = -1};
    if (size != 4 || (offset & 0xf))
        return;   /* only aligned dword writes are defined (SDM 10.4.1) */
    pthread_mutex_lock(&l->lock);
    if (hw_enabled(l) && !x2apic(l) &&
        !reg_write(l, (uint32_t)offset, (uint32_t)value, devclock_now(l->clk), &aw) &&
        offset != 0x030 && offset != 0x0a0 && offset != 0x390)
        signal_error(l, ESR_ILLEGAL_REG);
    pthread_mutex_unlock(&l->lock);
    run_after_write(l, &aw);
}

const struct io_ops lapic_mmio_ops = {.read = lapic_mmio_read, .write = lapic_mmio_write};

/* --- MSRs ------------------------------------------------------------------------ */

bool lapic_owns_msr(uint32_t index)
{
    return index == MSR_APIC_BASE || index == MSR_TSC_DEADLINE ||
           (index >= 0x800 && index <= 0x8ff);
}

/* Registers that reads may see in x2APIC mode (others #GP): write-only
 * EOI and SELF IPI are left out. */
static bool x2apic_readable(uint32_t reg)
{
    return reg != 0x0b0 && reg != 0x3f0;
}

int lapic_msr_read(struct lapic *l, uint32_t index, uint64_t *value)
{
    int r = 0;
    pthread_mutex_lock(&l->lock);
    if (index == MSR_APIC_BASE) {
        *value = l->apic_base;
    } else if (index == MSR_TSC_DEADLINE) {
        lapic_timer_update(l, devclock_now(l->clk));
        *value = timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
    } else if (index >= 0x800 && index <= 0x8ff && x2apic(l)) {
        uint32_t reg = (index - 0x800) << 4;
        if (!x2apic_readable(reg) || !reg_read(l, reg, devclock_now(l->clk), value))
            r = -1;
    } else {
        r = -1;
    }
    pthread_mutex_unlock(&l->lock);
    return r;
}

/* IA32_APIC_BASE transitions (SDM 10.12.5, Figure 10-27): xAPIC <->
 * disabled, xAPIC -> x2APIC, x2APIC -> disabled; the rest #GP. Disabling
 * resets the APIC. The page cannot move: it is registered at 0xfee00000. */
static int write_apic_base(struct lapic *l, uint64_t v)
{
    uint64_t mode = v & (APIC_BASE_EN | APIC_BASE_EXTD);
    uint64_t cur = l->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD);
    if ((v & ~(0xfffff000ull | APIC_BASE_BSP | APIC_BASE_EN | APIC_BASE_EXTD)) ||
        mode == APIC_BASE_EXTD)
        return -1;
    if (cur == (APIC_BASE_EN | APIC_BASE_EXTD) && mode == APIC_BASE_EN)
        return -1;
    if (cur == 0 && mode == (APIC_BASE_EN | APIC_BASE_EXTD))
        return -1;
    bool bsp = l->apic_base & APIC_BASE_BSP;
    l->apic_base = (l->apic_base & (0xfffff000ull | APIC_BASE_BSP)) | mode;
    if (!mode)
        lapic_reset(l, bsp);
    note_lint0(l);
    return 0;
}

int lapic_msr_write(struct lapic *l, uint32_t index, uint64_t value)
{
    int r = 0;
    struct after_write aw = {.eoi_vector = -1};
    uint64_t now = devclock_now(l->clk);
    pthread_mutex_lock(&l->lock);
    if (index == MSR_APIC_BASE) {
        r = write_apic_base(l, value);
    } else if (index == MSR_TSC_DEADLINE) {
        if (timer_mode(l) == TIMER_TSC_DEADLINE) {
            l->tsc_deadline = value;
            lapic_timer_update(l, now);   /* a deadline in the past fires at once */
        }
    } else if (index >= 0x800 && index <= 0x8ff && x2apic(l)) {
        uint32_t reg = (index - 0x800) << 4;
        /* Only the ICR is 64 bits wide; reserved upper halves #GP. */
        if ((reg != 0x300 && (value >> 32)) || !reg_write(l, reg, value, now, &aw))
            r = -1;
    } else {
        r = -1;
    }
    pthread_mutex_unlock(&l->lock);
    run_after_write(l, &aw);
    return r;
}
