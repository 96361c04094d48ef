/*
 * Shared setup for the unit tests that drive the emu CPU directly
 * (test_emu_*.c): guest RAM behind a bare struct emu_vm, a guest
 * assembled into the test and copied to RAM, IDT gates, and the
 * 64-bit CPL-0 state without paging that most of them start from.
 */
#ifndef EMU_FIXTURE_H
#define EMU_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/emu/emu.h"
#include "accel/emu/jit/jit.h"
#include "accel/emu/step.h"
#include "core/guest_mem.h"

/* Where emu_fixture_long64 puts its GDT: null, then one 64-bit code
 * segment at selector 0x08. */
#define EMU_FIXTURE_GDT 0x500ull

struct emu_fixture {
    struct guest_mem mem;
    struct emu_vm evm;
    uint8_t *ram;
    /* The guest copied by emu_fixture_load: its first byte and its
     * address in guest memory. */
    const uint8_t *guest;
    uint64_t load;
};

/* size bytes of RAM from GPA 0, the block index sized to it, cpu bound
 * to the VM; DBG_TRACE in the environment traces to stderr. Returns 0,
 * or -1 (after a FAIL line naming `what`) if RAM cannot be had. */
static inline int emu_fixture_init(struct emu_fixture *f, struct emu_cpu *cpu, uint64_t size,
                                   const char *what)
{
    if (gmem_init(&f->mem, size)) {
        printf("FAIL: %s setup\n", what);
        return -1;
    }
    f->evm.mem = &f->mem;
    f->evm.npages = size >> 12;
    f->evm.page_blocks = calloc(f->evm.npages, sizeof(*f->evm.page_blocks));
    f->evm.code_mark = calloc(f->evm.npages, sizeof(*f->evm.code_mark));
    f->evm.trace = getenv("DBG_TRACE") ? stderr : NULL;
    emu_code_queue_init(&f->evm);
    if (emu_jit_vm_init(&f->evm)) { /* HYPERKIT_EMU_JIT: the tests run with it too */
        printf("FAIL: %s setup: HYPERKIT_EMU_JIT\n", what);
        return -1;
    }
    cpu->vm = &f->evm;
    f->ram = gmem_ptr_for_write(&f->mem, 0, size);
    return 0;
}

static inline void emu_fixture_fini(struct emu_fixture *f)
{
    emu_blocks_free_all(&f->evm);
    emu_jit_vm_fini(&f->evm);
    emu_code_queue_fini(&f->evm);
    free(f->evm.page_blocks);
    free((void *)f->evm.code_mark);
    gmem_fini(&f->mem);
}

/* Copy the guest [start, end) to RAM at load. */
static inline void emu_fixture_load(struct emu_fixture *f, uint64_t load, const uint8_t *start,
                                    const uint8_t *end)
{
    f->guest = start;
    f->load = load;
    memcpy(f->ram + load, start, (size_t)(end - start));
}

/* The guest address of a label inside the loaded guest. */
static inline uint64_t emu_fixture_at(const struct emu_fixture *f, const uint8_t *label)
{
    return f->load + (uint64_t)(label - f->guest);
}

/* 4-level tables at base (PML4, PDPT, PD, PT in four pages) mapping the
 * first 2 MiB one to one in 4 KiB pages, writable, but the page at lin
 * to target. */
static inline void emu_fixture_tables_4k(uint8_t *ram, uint64_t base, uint64_t lin,
                                         uint64_t target)
{
    for (uint64_t level = 0; level < 3; level++) {
        uint64_t e = base + (level + 1) * 0x1000 + 3;
        memcpy(ram + base + level * 0x1000, &e, 8);
    }
    for (uint64_t p = 0; p < 512; p++) {
        uint64_t e = (p == lin >> 12 ? target : p * 0x1000) + 3;
        memcpy(ram + base + 0x3000 + p * 8, &e, 8);
    }
}

/* n bytes into RAM at *at, *at moved past them: guests assembled in a test. */
static inline void emu_fixture_emit(uint8_t *ram, uint64_t *at, const void *bytes, unsigned n)
{
    memcpy(ram + *at, bytes, n);
    *at += n;
}

/* A 64-bit interrupt gate (type 0xe, DPL 0, present) to 0x08:target in
 * the IDT at idt (SDM Vol. 3A 6.14.1). */
static inline void emu_fixture_set_gate(uint8_t *ram, uint64_t idt, int vector, uint64_t target)
{
    uint64_t lo = (target & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
                  ((target & 0xffff0000ull) << 32);
    uint64_t hi = target >> 32;
    memcpy(ram + idt + 16 * (unsigned)vector, &lo, 8);
    memcpy(ram + idt + 16 * (unsigned)vector + 8, &hi, 8);
}

/* Reset cpu into 64-bit mode at CPL 0 without paging (the emu allows
 * it): CS 0x08 from a one-entry GDT at EMU_FIXTURE_GDT, a null SS, CR0
 * PE MP ET NE, EFER LME LMA. The caller adjusts the rest, then calls
 * emu_update_mode. */
static inline void emu_fixture_long64(struct emu_cpu *cpu, uint8_t *ram, uint64_t rip,
                                      uint64_t rsp)
{
    uint64_t code64 = 0x00af9a000000ffffull;
    memcpy(ram + EMU_FIXTURE_GDT + 8, &code64, 8);
    emu_cpu_reset(cpu);
    cpu->seg[SEG_CS] = (struct emu_segment){0, 0xffffffff, 0x08, 0xa09b};
    cpu->seg[SEG_SS] = (struct emu_segment){0, 0xffffffff, 0, 0xc093};
    cpu->gdtr = (struct accel_dtable){EMU_FIXTURE_GDT, 15};
    cpu->cr0 = 0x33;
    cpu->efer = EFER_LME | EFER_LMA;
    cpu->rip = rip;
    cpu->gpr[4] = rsp;
}

/* Reset cpu into 32-bit protected mode at CPL 0 with paging from cr3 and
 * cr4 (flat 4 GiB code 0x08 and data 0x10 segments, CR0 PG ET PE), RIP
 * and RSP as given; mode and TLB brought up to date. */
static inline void emu_fixture_paged32(struct emu_cpu *cpu, uint64_t cr3, uint64_t cr4,
                                       uint64_t rip, uint64_t rsp)
{
    emu_cpu_reset(cpu);
    cpu->seg[SEG_CS] = (struct emu_segment){0, 0xffffffff, 0x08, 0xc09b};
    for (int s = 0; s < 6; s++)
        if (s != SEG_CS)
            cpu->seg[s] = (struct emu_segment){0, 0xffffffff, 0x10, 0xc093};
    cpu->cr0 = 0x80000011ull; /* PG ET PE */
    cpu->cr3 = cr3;
    cpu->cr4 = cr4;
    cpu->efer = 0;
    cpu->rip = rip;
    cpu->gpr[4] = rsp;
    emu_update_mode(cpu);
    emu_tlb_flush(cpu);
}

/* Run until HLT, at most `runs` times through the run loop. */
static inline void emu_fixture_run_to_hlt(struct emu_cpu *cpu, struct accel_exit *exit, int runs)
{
    for (int i = 0; i < runs && exit->reason != ACCEL_EXIT_HLT; i++)
        emu_cpu_run(cpu, exit);
}

/* Step one instruction: whether it faulted with exactly vector and
 * error; *st gets emu_step_one's status for the caller's report. */
static inline bool emu_fixture_step_fault(struct emu_cpu *cpu, int vector, uint32_t error,
                                          int *st)
{
    struct accel_exit exit;
    *st = emu_step_one(cpu, &exit);
    return *st == EMU_FAULT && cpu->exc.vector == vector && cpu->exc.error == error;
}

#endif
