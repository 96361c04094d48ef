/*
 * A fault while delivering #DF shuts the processor down (SDM Vol. 3A
 * 6.15, "Interrupt 8": "If another contributory or page fault exception
 * occurs while attempting to call the double-fault handler, the processor
 * enters shutdown mode"): INT 40h through a gate that is not present
 * raises #NP, #NP's own gate is not present (contributory twice: #DF), and
 * #DF's gate is not present either. The VM must end with the triple-fault
 * status (3) right after the line below.
 * Run by tests/cli/test_guests.sh, not by test_sys_guests.sh.
 */
#include "rt.h"

void test_main(void)
{
    *rt_idt_gate(0x40) &= ~(1ull << 47);
    *rt_idt_gate(11) &= ~(1ull << 47);
    *rt_idt_gate(8) &= ~(1ull << 47);
    rt_printf("about to shut down\n");
    __asm__ volatile("int $0x40");
    /* Not reached: end with status 1, which rt_exit's failure status (3)
     * would not tell apart from the shutdown. */
    rt_printf("FAIL: execution went on after a fault while delivering #DF\n");
    rt_outb(0xf4, 0);
}
