/*
 * External interrupts: at instruction boundaries, with RFLAGS.IF set and
 * outside an STI shadow, take the vector the local APIC offers and deliver
 * it through the IDT; a halted CPU wakes up for it (SDM Vol. 3A 6.8).
 */
#include <time.h>

#include "accel/emu/emu.h"

uint64_t emu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int emu_check_interrupts(struct emu_cpu *cpu, uint64_t now_ns)
{
    if (!cpu->irq || !(cpu->rflags & RFLAGS_IF) || cpu->shadow)
        return EMU_OK;
    int vector = cpu->irq->pending(cpu->irq_opaque, now_ns);
    if (vector < 0)
        return EMU_OK;
    cpu->irq->accept(cpu->irq_opaque, vector);
    emu_trace(cpu, "interrupt %d rip=%llx", vector, (unsigned long long)cpu->rip);
    cpu->halted = false;
    int st = emu_interrupt(cpu, vector, INT_EXTERNAL, cpu->rip);
    if (st == EMU_EXIT) { /* accepted: deliver it again once the VMM answered */
        cpu->exc = (struct emu_exception){vector, false, 0};
        cpu->exc_pending = true;
    }
    return st;
}
