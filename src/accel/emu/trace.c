/* --trace: a record of exceptions, interrupts and the state at a crash,
 * the first thing to read when a guest dies in the emu engine. */
#include <stdarg.h>

#include "accel/emu/emu.h"

void emu_trace(struct emu_cpu *cpu, const char *fmt, ...)
{
    FILE *f = cpu->vm->trace;
    if (!f)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(f, "[%llu] ", (unsigned long long)cpu->insn_count);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
}

static void dump_segment(FILE *f, const char *name, const struct emu_segment *s)
{
    fprintf(f, "%s=%04x base=%016llx limit=%08x attr=%04x\n", name, s->selector,
            (unsigned long long)s->base, s->limit, s->attr);
}

void emu_trace_crash(struct emu_cpu *cpu, const char *why)
{
    FILE *f = cpu->vm->trace;
    if (!f)
        return;
    static const char *const names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    fprintf(f, "=== %s at rip=%016llx after %llu instructions\n", why,
            (unsigned long long)cpu->rip, (unsigned long long)cpu->insn_count);
    for (int i = 0; i < 16; i++)
        fprintf(f, "%s=%016llx%s", names[i], (unsigned long long)cpu->gpr[i],
                i % 4 == 3 ? "\n" : " ");
    fprintf(f, "rflags=%016llx cpl=%d mode=%d\n", (unsigned long long)emu_rflags(cpu), cpu->cpl,
            cpu->mode);
    fprintf(f, "cr0=%llx cr2=%llx cr3=%llx cr4=%llx efer=%llx\n", (unsigned long long)cpu->cr0,
            (unsigned long long)cpu->cr2, (unsigned long long)cpu->cr3,
            (unsigned long long)cpu->cr4, (unsigned long long)cpu->efer);
    static const char *const segs[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
    for (int i = 0; i < 6; i++)
        dump_segment(f, segs[i], &cpu->seg[i]);
    dump_segment(f, "tr", &cpu->tr);
    fprintf(f, "gdt=%llx/%x idt=%llx/%x\n", (unsigned long long)cpu->gdtr.base, cpu->gdtr.limit,
            (unsigned long long)cpu->idtr.base, cpu->idtr.limit);
    fprintf(f, "recent blocks (oldest first):");
    for (unsigned i = 0; i < 64; i++) {
        uint64_t rip = cpu->recent_rip[(cpu->recent_pos + i) & 63];
        if (rip)
            fprintf(f, "%s%llx", i % 8 ? " " : "\n  ", (unsigned long long)rip);
    }
    fputc('\n', f);
    fflush(f);
}
