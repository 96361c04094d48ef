/*
 * I/O privilege for IN, OUT, INS and OUTS (SDM Vol. 1 19.5 "Protection
 * and I/O"): in protected and long mode, code with CPL > IOPL may still
 * use the ports whose bits are clear in the TSS's I/O permission bit map.
 * Linux grants ioperm() and emulates iopl(3) this way.
 */
#include "accel/emu/emu.h"
#include "accel/emu/segment.h"

#define TSS_IOMAP_BASE 102   /* 16-bit offset of the bitmap in a 32/64-bit TSS */

/* SDM Vol. 1 19.5.2: every bit for the ports the access touches must be
 * 0. The CPU always reads two bytes of the map (the ports may straddle a
 * byte), and bytes past the TSS limit count as set; a 16-bit TSS has no
 * map at all. #GP(0) otherwise. */
static int check_bitmap(struct emu_cpu *cpu, uint16_t port, unsigned size)
{
    unsigned type = cpu->tr.attr & 0xf;
    if (type != 0x9 && type != 0xb)
        return emu_raise_err(cpu, EXC_GP, 0);
    if (TSS_IOMAP_BASE + 1 > cpu->tr.limit)
        return emu_raise_err(cpu, EXC_GP, 0);
    uint8_t b[2];
    int st = emu_read_system(cpu, emu_system_lin(cpu, cpu->tr.base, TSS_IOMAP_BASE), b, 2);
    if (st)
        return st;
    uint32_t off = (uint32_t)(b[0] | b[1] << 8) + port / 8u;
    if (off + 1 > cpu->tr.limit)
        return emu_raise_err(cpu, EXC_GP, 0);
    if ((st = emu_read_system(cpu, emu_system_lin(cpu, cpu->tr.base, off), b, 2)) != 0)
        return st;
    unsigned bits = (unsigned)(b[0] | b[1] << 8) >> (port & 7);
    if (bits & ((1u << size) - 1))
        return emu_raise_err(cpu, EXC_GP, 0);
    return EMU_OK;
}

int emu_io_check(struct emu_cpu *cpu, uint16_t port, unsigned size)
{
    if (cpu->mode == MODE_REAL || (unsigned)cpu->cpl <= ((emu_rflags(cpu) >> 12) & 3))
        return EMU_OK;
    return check_bitmap(cpu, port, size);
}
