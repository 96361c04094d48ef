/*
 * External events at instruction boundaries (SDM Vol. 3A 6.7-6.9): an NMI
 * whenever NMIs are not blocked, else the vector the local APIC offers
 * when RFLAGS.IF is set; neither inside an STI or MOV SS shadow. A halted
 * CPU wakes up for either.
 *
 * The run loop looks for them between blocks, so everything that can make
 * one deliverable ends its block (emu_recheck_events): STI (through its
 * shadow), POPF, IRET and SYSRET setting IF, IRET unblocking NMIs, MOV to CR8,
 * APIC MSR writes, and any instruction that went to a device (an EOI or
 * TPR write on the APIC page, an IPI, a device raising a line). A kick
 * from another thread stops the loop at the next block too.
 */
#include <time.h>

#include "accel/emu/emu.h"

#define NMI_VECTOR 2

uint64_t emu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Deliver an accepted event; if delivery needs the VMM first, it stays
 * pending and is delivered again once the VMM answered. */
static int deliver_event(struct emu_cpu *cpu, int vector)
{
    emu_trace(cpu, "interrupt %d rip=%llx", vector, (unsigned long long)cpu->rip);
    cpu->halted = false;
    int st = emu_interrupt(cpu, vector, INT_EXTERNAL, cpu->rip);
    if (st == EMU_EXIT) {
        cpu->exc = (struct emu_exception){vector, false, 0};
        cpu->exc_pending = true;
    }
    return st;
}

/* An NMI blocks further NMIs until the next IRET (SDM Vol. 3A 6.7.1);
 * the LAPIC keeps one more latched meanwhile. */
static bool take_nmi(struct emu_cpu *cpu)
{
    if (cpu->nmi_blocked || !cpu->irq->nmi || !cpu->irq->nmi(cpu->irq_opaque))
        return false;
    cpu->nmi_blocked = true;
    return true;
}

/* Timers advance only when the CPU looks. With IF=1 they always run, as
 * before NMIs; with IF=0 only a timer routed as an NMI matters, so they
 * run only while an NMI line is armed: a CLI section stays cheap. */
static void poll_timers(struct emu_cpu *cpu, uint64_t *now_ns)
{
    bool irq_ok = cpu->rflags & RFLAGS_IF;
    if (!cpu->irq->poll || (!irq_ok && (cpu->nmi_blocked || !cpu->irq->nmi_armed ||
                                        !cpu->irq->nmi_armed(cpu->irq_opaque))))
        return;
    if (!*now_ns)
        *now_ns = emu_now_ns();
    cpu->irq->poll(cpu->irq_opaque, *now_ns);
}

int emu_check_interrupts(struct emu_cpu *cpu, uint64_t now_ns)
{
    /* The shadow holds off NMIs too: MOV SS always does (SDM 6.8.3), STI
     * may (Vol. 3C 24.4.2, "blocking by STI"). */
    if (!cpu->irq || cpu->shadow)
        return EMU_OK;
    poll_timers(cpu, &now_ns);
    if (take_nmi(cpu))
        return deliver_event(cpu, NMI_VECTOR);
    if (!(cpu->rflags & RFLAGS_IF))
        return EMU_OK;
    int vector = cpu->irq->pending(cpu->irq_opaque, now_ns ? now_ns : emu_now_ns());
    if (vector < 0)
        return EMU_OK;
    cpu->irq->accept(cpu->irq_opaque, vector);
    return deliver_event(cpu, vector);
}

uint64_t emu_cr8_read(const struct emu_cpu *cpu)
{
    if (cpu->irq && cpu->irq->tpr_read)
        return (cpu->irq->tpr_read(cpu->irq_opaque) >> 4) & 0xf;
    return cpu->cr8;
}

/* CR8[3:0] is TPR[7:4], TPR[3:0] becomes 0 (SDM Vol. 3A 10.8.6.1). A
 * lower priority may unmask a pending interrupt. */
void emu_cr8_write(struct emu_cpu *cpu, uint64_t v)
{
    cpu->cr8 = v & 0xf;
    if (cpu->irq && cpu->irq->tpr_write)
        cpu->irq->tpr_write(cpu->irq_opaque, (uint32_t)(v & 0xf) << 4);
    emu_recheck_events(cpu);
}
