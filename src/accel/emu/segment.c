/*
 * Segment registers and descriptor tables (SDM Vol. 3A ch. 3 and 5):
 * descriptor fetch, the checks MOV/POP Sreg, far transfers, LTR and LLDT
 * make, and caching the result in the hidden part of the register.
 */
#include "accel/emu/segment.h"

#define DESC_P 0x80
#define DESC_S 0x10
#define TYPE_CODE 0x8
#define TYPE_CONFORMING 0x4   /* code */
#define TYPE_READABLE 0x2     /* code */
#define TYPE_WRITABLE 0x2     /* data */

int emu_read_system(struct emu_cpu *cpu, uint64_t lin, void *buf, unsigned size)
{
    int cpl = cpu->cpl;
    cpu->cpl = 0; /* system-table accesses are supervisor accesses */
    int st = emu_read_lin(cpu, lin, buf, size, ACC_READ);
    cpu->cpl = cpl;
    return st;
}

static int write_system_lin(struct emu_cpu *cpu, uint64_t lin, const void *buf, unsigned size)
{
    int cpl = cpu->cpl;
    cpu->cpl = 0;
    int st = emu_write_lin(cpu, lin, buf, size);
    cpu->cpl = cpl;
    return st;
}

/* Linear address of the descriptor for sel, or #GP(sel) past the limit. */
static int descriptor_addr(struct emu_cpu *cpu, uint16_t sel, unsigned size, uint64_t *lin)
{
    bool ldt = sel & 4;
    uint64_t base = ldt ? cpu->ldtr.base : cpu->gdtr.base;
    uint32_t limit = ldt ? cpu->ldtr.limit : cpu->gdtr.limit;
    if ((uint32_t)(sel & ~7u) + size - 1 > limit || (ldt && !(cpu->ldtr.attr & DESC_P)))
        return emu_raise_err(cpu, EXC_GP, sel & ~3u);
    *lin = emu_system_lin(cpu, base, sel & ~7u);
    return EMU_OK;
}

int emu_read_descriptor(struct emu_cpu *cpu, uint16_t sel, uint64_t desc[2], bool system16)
{
    uint64_t lin = 0;
    unsigned size = system16 ? 16 : 8;
    int st = descriptor_addr(cpu, sel, size, &lin);
    if (st)
        return st;
    desc[1] = 0;
    return emu_read_system(cpu, lin, desc, size);
}

/* Set a bit in a descriptor's type byte (accessed, TSS busy). */
static int set_type_bit(struct emu_cpu *cpu, uint16_t sel, uint8_t type_byte, uint8_t bit)
{
    if (type_byte & bit)
        return EMU_OK;
    uint64_t lin = 0;
    int st = descriptor_addr(cpu, sel, 8, &lin);
    if (st)
        return st;
    uint8_t v = type_byte | bit;
    return write_system_lin(cpu, lin + 5, &v, 1);
}

struct emu_segment emu_segment_from_desc(uint16_t sel, const uint64_t desc[2], bool system16)
{
    uint64_t d = desc[0];
    struct emu_segment s;
    s.selector = sel;
    s.base = ((d >> 16) & 0xffffff) | ((d >> 56) << 24);
    if (system16)
        s.base |= desc[1] << 32;
    uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
    s.attr = (uint16_t)(((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 12));
    s.limit = (s.attr & 0x8000) ? (limit << 12) | 0xfff : limit;
    return s;
}

static struct emu_segment null_segment(uint16_t sel)
{
    return (struct emu_segment){0, 0, sel, 0}; /* P=0: unusable */
}

/* MOV/POP to DS, ES, FS, GS, SS (SDM "MOV", protected-mode checks). */
int emu_load_data_segment(struct emu_cpu *cpu, int seg, uint16_t sel)
{
    if (cpu->mode == MODE_REAL) {
        cpu->seg[seg].selector = sel;
        cpu->seg[seg].base = (uint64_t)sel << 4;
        return EMU_OK;
    }
    unsigned rpl = sel & 3, cpl = (unsigned)cpu->cpl;
    if ((sel & ~3u) == 0) {
        /* A null SS is allowed only in 64-bit mode below CPL 3. */
        if (seg == SEG_SS && !(cpu->mode == MODE_LONG64 && cpl < 3 && rpl == cpl))
            return emu_raise_err(cpu, EXC_GP, 0);
        cpu->seg[seg] = null_segment(sel);
        if (seg == SEG_FS || seg == SEG_GS)
            cpu->seg[seg].base = 0;
        return EMU_OK;
    }
    uint64_t desc[2];
    int st = emu_read_descriptor(cpu, sel, desc, false);
    if (st)
        return st;
    struct emu_segment s = emu_segment_from_desc(sel, desc, false);
    unsigned type = s.attr & 0xf, dpl = (s.attr >> 5) & 3;
    bool code = type & TYPE_CODE;
    if (!(s.attr & DESC_S))
        return emu_raise_err(cpu, EXC_GP, sel & ~3u);
    if (seg == SEG_SS) {
        if (code || !(type & TYPE_WRITABLE) || rpl != cpl || dpl != cpl)
            return emu_raise_err(cpu, EXC_GP, sel & ~3u);
        if (!(s.attr & DESC_P))
            return emu_raise_err(cpu, EXC_SS, sel & ~3u);
    } else {
        if (code && !(type & TYPE_READABLE))
            return emu_raise_err(cpu, EXC_GP, sel & ~3u);
        bool conforming_code = code && (type & TYPE_CONFORMING);
        if (!conforming_code && (rpl > dpl || cpl > dpl))
            return emu_raise_err(cpu, EXC_GP, sel & ~3u);
        if (!(s.attr & DESC_P))
            return emu_raise_err(cpu, EXC_NP, sel & ~3u);
    }
    if ((st = set_type_bit(cpu, sel, (uint8_t)(desc[0] >> 40), 1)) != 0)
        return st;
    s.attr |= 1;
    cpu->seg[seg] = s;
    return EMU_OK;
}

/*
 * Load CS for a far JMP/CALL/RET/IRET to a code segment at privilege
 * new_cpl (same privilege for JMP/CALL through a code descriptor).
 */
/* The descriptor checks of a far transfer to a code segment, which come
 * before anything the transfer writes (a far CALL's pushes). */
static int code_segment_checks(struct emu_cpu *cpu, uint16_t sel, unsigned new_cpl, uint64_t desc[2],
                               struct emu_segment *out)
{
    if ((sel & ~3u) == 0)
        return emu_raise_err(cpu, EXC_GP, 0);
    int st = emu_read_descriptor(cpu, sel, desc, false);
    if (st)
        return st;
    struct emu_segment s = emu_segment_from_desc(sel, desc, false);
    unsigned type = s.attr & 0xf, dpl = (s.attr >> 5) & 3;
    if (!(s.attr & DESC_S) || !(type & TYPE_CODE))
        return emu_raise_err(cpu, EXC_GP, sel & ~3u);
    bool conforming = type & TYPE_CONFORMING;
    /* Non-conforming: DPL = CPL and RPL <= CPL (a RET/IRET's new CPL is
     * its RPL, so only JMP/CALL can fail the second). */
    if (conforming ? dpl > new_cpl : (dpl != new_cpl || (sel & 3u) > new_cpl))
        return emu_raise_err(cpu, EXC_GP, sel & ~3u);
    if ((s.attr & 0x2000) && (s.attr & 0x4000) && (cpu->efer & EFER_LMA))
        return emu_raise_err(cpu, EXC_GP, sel & ~3u); /* L and D both set */
    if (!(s.attr & DESC_P))
        return emu_raise_err(cpu, EXC_NP, sel & ~3u);
    *out = s;
    return EMU_OK;
}

int emu_check_code_segment(struct emu_cpu *cpu, uint16_t sel, unsigned new_cpl,
                           struct emu_segment *out)
{
    uint64_t desc[2];
    *out = cpu->seg[SEG_CS]; /* real mode keeps the limit */
    return cpu->mode == MODE_REAL ? EMU_OK : code_segment_checks(cpu, sel, new_cpl, desc, out);
}

int emu_load_code_segment(struct emu_cpu *cpu, uint16_t sel, unsigned new_cpl)
{
    if (cpu->mode == MODE_REAL) {
        cpu->seg[SEG_CS].selector = sel;
        cpu->seg[SEG_CS].base = (uint64_t)sel << 4;
        return EMU_OK;
    }
    uint64_t desc[2];
    struct emu_segment s;
    int st = code_segment_checks(cpu, sel, new_cpl, desc, &s);
    if (st)
        return st;
    if ((st = set_type_bit(cpu, sel, (uint8_t)(desc[0] >> 40), 1)) != 0)
        return st;
    s.attr |= 1;
    s.selector = (uint16_t)((sel & ~3u) | new_cpl);
    cpu->seg[SEG_CS] = s;
    emu_update_mode(cpu); /* TLB entries are tagged user/supervisor: no flush */
    return EMU_OK;
}

int emu_check_far_target(struct emu_cpu *cpu, uint64_t rip)
{
    bool ok = cpu->mode == MODE_LONG64 ? emu_canonical(rip) : rip <= cpu->seg[SEG_CS].limit;
    return ok ? EMU_OK : emu_raise_err(cpu, EXC_GP, 0);
}

/* LTR and LLDT: system descriptors, 16 bytes in long mode. */
int emu_load_system_segment(struct emu_cpu *cpu, bool tr, uint16_t sel)
{
    bool long16 = cpu->efer & EFER_LMA;
    if (!tr && (sel & ~3u) == 0) {
        cpu->ldtr = null_segment(sel);
        return EMU_OK;
    }
    if ((sel & 4) || (sel & ~3u) == 0)
        return emu_raise_err(cpu, EXC_GP, sel & ~3u);
    uint64_t desc[2];
    int st = emu_read_descriptor(cpu, sel, desc, long16);
    if (st)
        return st;
    struct emu_segment s = emu_segment_from_desc(sel, desc, long16);
    unsigned type = s.attr & 0x1f; /* S bit included: must be a system descriptor */
    bool ok = tr ? (type == 0x9 || (!long16 && type == 0x1)) : type == 0x2;
    if (!ok)
        return emu_raise_err(cpu, EXC_GP, sel & ~3u);
    if (!(s.attr & DESC_P))
        return emu_raise_err(cpu, EXC_NP, sel & ~3u);
    /* The upper half of a 16-byte descriptor: its type field (bits 12:8
     * of the top dword) must be 0 and the 64-bit base canonical (SDM
     * Vol. 3A 3.5.2, 7.2.3; the checks after the present bit, as an
     * upper half is only read for a usable descriptor). */
    if (long16 && (((desc[1] >> 40) & 0x1f) || !emu_canonical(s.base)))
        return emu_raise_err(cpu, EXC_GP, sel & ~3u);
    if (tr) {
        if ((st = set_type_bit(cpu, sel, (uint8_t)(desc[0] >> 40), 2)) != 0) /* busy */
            return st;
        s.attr |= 2;
        cpu->tr = s;
    } else {
        cpu->ldtr = s;
    }
    return EMU_OK;
}
