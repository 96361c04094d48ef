/* Segment loading for the emu CPU (segment.c). */
#ifndef HK_EMU_SEGMENT_H
#define HK_EMU_SEGMENT_H

#include "accel/emu/cpu.h"

/* The linear address of byte off of a system table (GDT, LDT, IDT, TSS)
 * at base. In IA-32e mode the tables' bases are 64 bits wide whatever the
 * code segment's size: compatibility-mode code reaches them through the
 * full base (SDM Vol. 3A 2.4, 3.5.2, 7.7). Only legacy protected mode
 * wraps at 4 GiB. */
static inline uint64_t emu_system_lin(const struct emu_cpu *cpu, uint64_t base, uint64_t off)
{
    uint64_t lin = base + off;
    return (cpu->efer & EFER_LMA) ? lin : (uint32_t)lin;
}

/* Read a system table (GDT, LDT, IDT, TSS) at lin as the CPU does: a
 * supervisor access whatever the CPL. */
int emu_read_system(struct emu_cpu *cpu, uint64_t lin, void *buf, unsigned size);

/* The 8-byte descriptor for sel (16 bytes when system16: long-mode
 * TSS/LDT descriptors). #GP(sel) past the table limit. */
int emu_read_descriptor(struct emu_cpu *cpu, uint16_t sel, uint64_t desc[2], bool system16);
struct emu_segment emu_segment_from_desc(uint16_t sel, const uint64_t desc[2], bool system16);
int emu_load_data_segment(struct emu_cpu *cpu, int seg, uint16_t sel);
int emu_load_code_segment(struct emu_cpu *cpu, uint16_t sel, unsigned new_cpl);
/* emu_load_code_segment's checks alone: #GP/#NP as it would raise them;
 * *out gets the segment it would load. */
int emu_check_code_segment(struct emu_cpu *cpu, uint16_t sel, unsigned new_cpl,
                           struct emu_segment *out);
/* The new RIP of a far transfer against the CS just loaded (SDM "RET",
 * "IRET"): non-canonical in 64-bit mode, or past CS's limit, is #GP(0). */
int emu_check_far_target(struct emu_cpu *cpu, uint64_t rip);
/* JMP/CALL far to sel:off at the same privilege (exec_segment.c). */
int emu_far_transfer(struct emu_cpu *cpu, const struct emu_insn *in, uint16_t sel, uint64_t off,
                     bool call);
int emu_load_system_segment(struct emu_cpu *cpu, bool tr, uint16_t sel);

#endif
