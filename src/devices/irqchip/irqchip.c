/*
 * The interrupt controllers wired as on a PC: ISA lines to both the PIC
 * pair and the IOAPIC (IRQ 0 on pin 2), the IOAPIC's messages to the
 * LAPICs, each LAPIC's EOI back to the IOAPIC, the PIC's INTR into LINT0
 * (virtual wire), PCI MSIs onto the APIC bus, and the timers polled from
 * the vCPU threads.
 */
#include "devices/irqchip/irqchip.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "accel/accel.h"
#include "devices/devenv.h"
#include "devices/irqchip/ioapic.h"
#include "devices/irqchip/lapic.h"
#include "devices/irqchip/pic.h"
#include "devices/irqchip/pit.h"

#define IRQCHIP_MAX_TIMERS 4

struct irqchip_cpu {
    struct irqchip *chip;
    int index;
    struct lapic *lapic;
    int extint_vector;        /* taken from the PIC, not yet accepted; -1 */
    atomic_bool wake;         /* got an interrupt: wake it when locks are dropped */
};

struct irqchip {
    struct pic *pic;
    struct ioapic *ioapic;
    struct pit *pit;
    int nvcpus;
    struct irqchip_cpu cpu[IRQCHIP_MAX_CPUS];
    int ntimers;
    struct irqchip_timer timers[IRQCHIP_MAX_TIMERS];
    void *timer_opaque[IRQCHIP_MAX_TIMERS];
    irqchip_wake_fn wake;
    void *wake_opaque;
};

/* Called with no LAPIC lock held (the IOAPIC's may be: lock order
 * ioapic -> lapic). */
static void route(struct irqchip *chip, struct lapic *from, const struct apic_msg *msg,
                  enum apic_shorthand sh)
{
    struct lapic *lapics[IRQCHIP_MAX_CPUS];
    bool woke[IRQCHIP_MAX_CPUS] = {false};
    for (int i = 0; i < chip->nvcpus; i++)
        lapics[i] = chip->cpu[i].lapic;
    apic_route(lapics, chip->nvcpus, from, msg, sh, woke);
    for (int i = 0; i < chip->nvcpus; i++)
        if (woke[i])
            atomic_store(&chip->cpu[i].wake, true);
}

static void ioapic_deliver(void *opaque, const struct apic_msg *msg)
{
    route(opaque, NULL, msg, APIC_SH_NONE);
}

static void wake_cpus(struct irqchip *chip)
{
    for (int i = 0; i < chip->nvcpus; i++)
        if (atomic_exchange(&chip->cpu[i].wake, false) && chip->wake)
            chip->wake(chip->wake_opaque, i);
}

static void lapic_eoi_hook(void *opaque, uint8_t vector)
{
    struct irqchip_cpu *c = opaque;
    ioapic_eoi(c->chip->ioapic, vector);
    wake_cpus(c->chip);
}

static void lapic_ipi_hook(void *opaque, struct lapic *from, const struct apic_msg *msg,
                           enum apic_shorthand sh)
{
    struct irqchip_cpu *c = opaque;
    route(c->chip, from, msg, sh);
    wake_cpus(c->chip);
}

static void set_irq_nowake(struct irqchip *chip, int gsi, bool level)
{
    if (gsi < 0 || gsi >= IOAPIC_PINS)
        return;
    if (gsi < 16) {
        pic_set_irq(chip->pic, gsi, level);
        bool intr = pic_output(chip->pic);
        if (level && intr)
            atomic_store(&chip->cpu[0].wake, true);   /* LINT0 is the BSP's */
        /* INTR also drives LINT0 as an input line, for an LVT entry in NMI
         * or fixed mode (ExtINT mode polls the PIC instead). */
        if (lapic_set_lint(chip->cpu[0].lapic, 0, intr))
            atomic_store(&chip->cpu[0].wake, true);
    }
    ioapic_set_irq(chip->ioapic, gsi == 0 ? 2 : gsi, level);
}

void irqchip_set_irq(struct irqchip *chip, int gsi, bool level)
{
    if (!chip)
        return;
    set_irq_nowake(chip, gsi, level);
    wake_cpus(chip);
}

void irqchip_msi(struct irqchip *chip, uint64_t addr, uint32_t data)
{
    struct apic_msg msg;
    if (!chip || !apic_msi_decode(addr, data, &msg))
        return;   /* malformed: dropped, as the platform would */
    route(chip, NULL, &msg, APIC_SH_NONE);
    wake_cpus(chip);
}

int irqchip_add_timer(struct irqchip *chip, const struct irqchip_timer *t, void *opaque)
{
    if (!chip || !t || !t->poll || !t->next_event)
        return HK_EINVAL;
    if (chip->ntimers == IRQCHIP_MAX_TIMERS)
        return HK_ENOMEM;
    chip->timers[chip->ntimers] = *t;
    chip->timer_opaque[chip->ntimers++] = opaque;
    return HK_OK;
}

static void poll_timers(struct irqchip *chip, uint64_t now)
{
    if (pit_poll(chip->pit, now)) {
        set_irq_nowake(chip, 0, true);
        set_irq_nowake(chip, 0, false);
    }
    for (int i = 0; i < chip->ntimers; i++)
        if (now >= chip->timers[i].next_event(chip->timer_opaque[i]))
            chip->timers[i].poll(chip->timer_opaque[i], now);
}

void lapic_poll(struct lapic *l, uint64_t now_ns)
{
    struct irqchip_cpu *c = lapic_hook_opaque(l);
    struct irqchip *chip = c->chip;
    poll_timers(chip, now_ns);
    /* This vCPU is looking now: it needs no wakeup, the others may. */
    atomic_store(&c->wake, false);
    wake_cpus(chip);
}

int lapic_pending(struct lapic *l, uint64_t now_ns)
{
    struct irqchip_cpu *c = lapic_hook_opaque(l);
    struct irqchip *chip = c->chip;
    if (c->extint_vector >= 0)
        return c->extint_vector;
    bool extint = false;
    int v = lapic_irr_pending(l, now_ns, &extint);
    /* ExtINT bypasses the IRR and priorities (SDM 10.5.1), taken first as
     * in KVM. The INTA cycle happens here so the vector cannot change
     * between this call and lapic_accept(). */
    if (extint && pic_output(chip->pic)) {
        c->extint_vector = pic_intack(chip->pic);
        lapic_extint_taken(l);
        return c->extint_vector;
    }
    return v;
}

void lapic_accept(struct lapic *l, int vector)
{
    struct irqchip_cpu *c = lapic_hook_opaque(l);
    if (c->extint_vector >= 0 && vector == c->extint_vector) {
        c->extint_vector = -1;
        return;
    }
    lapic_irr_accept(l, vector);
}

uint64_t lapic_next_event(struct lapic *l)
{
    struct irqchip_cpu *c = lapic_hook_opaque(l);
    struct irqchip *chip = c->chip;
    uint64_t t = lapic_timer_next(l);
    uint64_t p = pit_next_event(chip->pit);
    if (p < t)
        t = p;
    for (int i = 0; i < chip->ntimers; i++) {
        uint64_t n = chip->timers[i].next_event(chip->timer_opaque[i]);
        if (n < t)
            t = n;
    }
    return t;
}

struct lapic *irqchip_lapic(struct irqchip *chip, int vcpu)
{
    if (!chip || vcpu < 0 || vcpu >= chip->nvcpus)
        return NULL;
    return chip->cpu[vcpu].lapic;
}

void irqchip_set_wake(struct irqchip *chip, irqchip_wake_fn fn, void *opaque)
{
    chip->wake = fn;
    chip->wake_opaque = opaque;
}

void irqchip_destroy(struct irqchip *chip)
{
    if (!chip)
        return;
    for (int i = 0; i < chip->nvcpus; i++)
        lapic_free(chip->cpu[i].lapic);
    pit_free(chip->pit);
    ioapic_free(chip->ioapic);
    pic_free(chip->pic);
    free(chip);
}

static void irqchip_destroy_hook(void *opaque)
{
    irqchip_destroy(opaque);
}

static int chip_new(int nvcpus, struct irqchip **out)
{
    static const struct lapic_hooks hooks = {lapic_eoi_hook, lapic_ipi_hook};
    struct irqchip *chip = calloc(1, sizeof(*chip));
    if (!chip)
        return HK_ENOMEM;
    int r = pic_new(&chip->pic);
    if (!r)
        r = ioapic_new(ioapic_deliver, chip, &chip->ioapic);
    if (!r)
        r = pit_new(NULL, &chip->pit);
    for (int i = 0; !r && i < nvcpus; i++) {
        struct irqchip_cpu *c = &chip->cpu[i];
        *c = (struct irqchip_cpu){.chip = chip, .index = i, .extint_vector = -1};
        r = lapic_new(i, i == 0, NULL, &hooks, c, &c->lapic);
        if (!r)
            chip->nvcpus = i + 1;
    }
    if (r) {
        irqchip_destroy(chip);
        return r;
    }
    *out = chip;
    return HK_OK;
}

/* The PIC's INTR drives LINT0 at all times: an ICW, IMR or EOI write may
 * lower or raise it, which LINT0 in NMI mode sees as an edge (SDM 10.5.1).
 * Without this, INTR held high by a request no INTA cleared would never
 * give LINT0 another rising edge. */
static void pic_write_lint(struct irqchip *chip, const struct io_ops *ops, uint64_t off,
                           unsigned size, uint64_t v)
{
    ops->write(chip->pic, off, size, v);
    if (lapic_set_lint(chip->cpu[0].lapic, 0, pic_output(chip->pic))) {
        atomic_store(&chip->cpu[0].wake, true);
        wake_cpus(chip);
    }
}

static uint64_t pic1_read(void *opaque, uint64_t off, unsigned size)
{
    return pic_master_io_ops.read(((struct irqchip *)opaque)->pic, off, size);
}

static uint64_t pic2_read(void *opaque, uint64_t off, unsigned size)
{
    return pic_slave_io_ops.read(((struct irqchip *)opaque)->pic, off, size);
}

static void pic1_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    pic_write_lint(opaque, &pic_master_io_ops, off, size, v);
}

static void pic2_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    pic_write_lint(opaque, &pic_slave_io_ops, off, size, v);
}

static const struct io_ops pic1_ops = {.read = pic1_read, .write = pic1_write};
static const struct io_ops pic2_ops = {.read = pic2_read, .write = pic2_write};

static int chip_register(struct dev_env *env, struct irqchip *chip)
{
    int r = iobus_register(env->pio, PIC_MASTER_BASE, 2, &pic1_ops, chip, "pic1");
    if (!r)
        r = iobus_register(env->pio, PIC_SLAVE_BASE, 2, &pic2_ops, chip, "pic2");
    if (!r)
        r = iobus_register(env->pio, PIC_ELCR_BASE, 2, &pic_elcr_io_ops, chip->pic, "elcr");
    if (!r)
        r = iobus_register(env->pio, PIT_BASE, PIT_NPORTS, &pit_io_ops, chip->pit, "pit");
    if (!r)
        r = iobus_register(env->pio, PIT_PORT_61, 1, &pit_port61_ops, chip->pit, "port61");
    if (!r)
        r = iobus_register(env->mmio, IOAPIC_BASE, IOAPIC_MMIO_LEN, &ioapic_mmio_ops,
                           chip->ioapic, "ioapic");
    /* One page for all: the MMIO bus does not know which vCPU is asking,
     * so until SMP the page is vCPU 0's. */
    if (!r)
        r = iobus_register(env->mmio, LAPIC_BASE, LAPIC_MMIO_LEN, &lapic_mmio_ops,
                           chip->cpu[0].lapic, "lapic");
    return r;
}

int irqchip_create(struct dev_env *env, int nvcpus, struct irqchip **out)
{
    if (!env || !out || nvcpus < 1 || nvcpus > IRQCHIP_MAX_CPUS)
        return HK_EINVAL;
    struct irqchip *chip;
    int r = chip_new(nvcpus, &chip);
    if (r)
        return r;
    /* Once added, the VM owns the chip even if a later step fails. */
    if ((r = env->ops->add_teardown(env->ctx, "irqchip", chip, irqchip_destroy_hook)) != 0) {
        irqchip_destroy(chip);
        return r;
    }
    if ((r = chip_register(env, chip)) != 0)
        return r;
    *out = chip;
    return HK_OK;
}

/* --- The emu engine's view ------------------------------------------------ */

static int ops_pending(void *opaque, uint64_t now_ns)
{
    return lapic_pending(opaque, now_ns);
}

static void ops_accept(void *opaque, int vector)
{
    lapic_accept(opaque, vector);
}

static int ops_msr_read(void *opaque, uint32_t index, uint64_t *value)
{
    return lapic_owns_msr(index) ? lapic_msr_read(opaque, index, value) : 1;
}

static int ops_msr_write(void *opaque, uint32_t index, uint64_t value)
{
    return lapic_owns_msr(index) ? lapic_msr_write(opaque, index, value) : 1;
}

static bool ops_nmi(void *opaque)
{
    return lapic_nmi_take(opaque);
}

static void ops_poll(void *opaque, uint64_t now_ns)
{
    lapic_poll(opaque, now_ns);
}

static bool ops_nmi_armed(void *opaque)
{
    return lapic_nmi_armed(opaque);
}

static uint32_t ops_tpr_read(void *opaque)
{
    return lapic_tpr_read(opaque);
}

static void ops_tpr_write(void *opaque, uint32_t tpr)
{
    lapic_tpr_write(opaque, tpr);
}

const struct accel_irq_ops irqchip_accel_irq_ops = {
    .pending = ops_pending,
    .accept = ops_accept,
    .msr_read = ops_msr_read,
    .msr_write = ops_msr_write,
    .nmi = ops_nmi,
    .tpr_read = ops_tpr_read,
    .tpr_write = ops_tpr_write,
    .poll = ops_poll,
    .nmi_armed = ops_nmi_armed,
};
