/* System instructions: HLT, port I/O, CPUID, TSC, MSRs, control and
 * descriptor-table registers, interrupt flag. */
#include <string.h>
#include <time.h>

#include "accel/emu/emu.h"
#include "accel/emu/exec.h"
#include "core/vm.h"

/* The TSC runs at 1 GHz of host monotonic time: one tick a nanosecond. */
static uint64_t host_tsc(const struct emu_cpu *cpu)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + cpu->tsc_offset;
}

static bool privileged(const struct emu_cpu *cpu)
{
    return cpu->cpl == 0;
}

/* CLI/STI: CPL must be within IOPL (no VME/PVI). */
static bool io_allowed(struct emu_cpu *cpu)
{
    return cpu->mode == MODE_REAL || (unsigned)cpu->cpl <= ((emu_rflags(cpu) >> 12) & 3);
}

/* HLT: the run loop keeps the CPU halted until an interrupt is taken. */
EXEC(ex_hlt)
{
    if (!privileged(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    next(cpu, in);
    cpu->halted = true;
    return EMU_END_BLOCK;
}

/* IN/OUT: opcode bit 3 set means the port is in DX, else imm8. */
static uint16_t io_port(const struct emu_cpu *cpu, const struct emu_insn *in)
{
    return (in->opcode & 0x08) ? (uint16_t)cpu->gpr[2] : (uint16_t)(in->imm & 0xff);
}

EXEC(ex_in)
{
    uint64_t v = 0;
    int st = emu_io_check(cpu, io_port(cpu, in), in->opsz);
    if (!st)
        st = emu_port_io(cpu, io_port(cpu, in), in->opsz, false, &v);
    if (st)
        return st;
    reg_write(cpu, 0, in->opsz, v);
    return next(cpu, in);
}

EXEC(ex_out)
{
    uint64_t v = reg_read(cpu, 0, in->opsz);
    int st = emu_io_check(cpu, io_port(cpu, in), in->opsz);
    if (!st)
        st = emu_port_io(cpu, io_port(cpu, in), in->opsz, true, &v);
    return st ? st : next(cpu, in);
}

EXEC(ex_cpuid)
{
    uint32_t r[4];
    emu_cpuid(cpu, (uint32_t)cpu->gpr[0], (uint32_t)cpu->gpr[1], r);
    cpu->gpr[0] = r[0];
    cpu->gpr[3] = r[1];
    cpu->gpr[1] = r[2];
    cpu->gpr[2] = r[3];
    return next(cpu, in);
}

EXEC(ex_rdtsc)
{
    if ((cpu->cr4 & 0x4) && !privileged(cpu)) /* CR4.TSD */
        return emu_raise_err(cpu, EXC_GP, 0);
    uint64_t t = host_tsc(cpu);
    cpu->gpr[0] = (uint32_t)t;
    cpu->gpr[2] = t >> 32;
    return next(cpu, in);
}

static bool ignore_bad_msrs(const struct emu_cpu *cpu)
{
    return cpu->vm->vm->cfg.flags[HK_FLAG_IGNORE_BAD_MSR];
}

int emu_msr_read(struct emu_cpu *cpu, uint32_t index, uint64_t *v)
{
    if (cpu->irq) {
        int r = cpu->irq->msr_read(cpu->irq_opaque, index, v);
        if (r == 0 && index == 0x6e0 && *v)
            *v += cpu->tsc_offset;
        if (r <= 0)
            return r;
    }
    switch (index) {
    case 0x10: *v = host_tsc(cpu); return 0;
    case 0x17: *v = 0; return 0;    /* IA32_PLATFORM_ID */
    case 0x3b: *v = cpu->msr_tsc_adjust; return 0;
    case 0x1b: *v = cpu->msr_apic_base; return 0;
    case 0x8b: *v = 0; return 0;    /* IA32_BIOS_SIGN_ID: no microcode revision */
    case 0x10a: *v = emu_arch_capabilities(); return 0;
    case 0x174: *v = cpu->msr_sysenter_cs; return 0;
    case 0x175: *v = cpu->msr_sysenter_esp; return 0;
    case 0x176: *v = cpu->msr_sysenter_eip; return 0;
    case 0x1a0: *v = cpu->msr_misc_enable; return 0;
    case 0x277: *v = cpu->msr_pat; return 0;
    case 0xc0000080: *v = cpu->efer; return 0;
    case 0xc0000081: *v = cpu->msr_star; return 0;
    case 0xc0000082: *v = cpu->msr_lstar; return 0;
    case 0xc0000083: *v = cpu->msr_cstar; return 0;
    case 0xc0000084: *v = cpu->msr_sfmask; return 0;
    case 0xc0000100: *v = cpu->seg[SEG_FS].base; return 0;
    case 0xc0000101: *v = cpu->seg[SEG_GS].base; return 0;
    case 0xc0000102: *v = cpu->msr_kernel_gs_base; return 0;
    case 0xc0000103: *v = cpu->msr_tsc_aux; return 0;
    default: return -1;
    }
}

/* MSRs that hold a linear address take only canonical values: #GP(0)
 * otherwise (SDM Vol. 2 "WRMSR"; CSTAR as AMD and KVM have it). */
static int canonical_msr(uint64_t v, uint64_t *msr)
{
    if (!emu_canonical(v))
        return -1;
    *msr = v;
    return 0;
}

/* MSRs whose bits 63:32 are reserved (IA32_FMASK, IA32_TSC_AUX: SDM
 * Vol. 4 table 2-2): a 1 there is #GP(0). */
static int low32_msr(uint64_t v, uint64_t *msr)
{
    if (v >> 32)
        return -1;
    *msr = v;
    return 0;
}

int emu_msr_write(struct emu_cpu *cpu, uint32_t index, uint64_t v)
{
    if (cpu->irq) {
        /* The APIC counts host nanoseconds; the guest's TSC may be offset. */
        if (index == 0x6e0 && v)
            v -= cpu->tsc_offset;
        int r = cpu->irq->msr_write(cpu->irq_opaque, index, v);
        if (r == 0)
            emu_recheck_events(cpu); /* x2APIC TPR, EOI, self IPI */
        if (r <= 0)
            return r;
    }
    switch (index) {
    case 0x10: { /* a TSC write moves TSC_ADJUST by the same amount (SDM 17.17.3) */
        uint64_t delta = v - host_tsc(cpu);
        cpu->tsc_offset += delta;
        cpu->msr_tsc_adjust += delta;
        return 0;
    }
    case 0x3b:
        cpu->tsc_offset += v - cpu->msr_tsc_adjust;
        cpu->msr_tsc_adjust = v;
        return 0;
    case 0x1b: cpu->msr_apic_base = v; return 0;
    case 0x8b: return 0;            /* writing 0 before CPUID asks for the revision */
    case 0x174: cpu->msr_sysenter_cs = v & 0xffff; return 0;
    case 0x175: return canonical_msr(v, &cpu->msr_sysenter_esp);
    case 0x176: return canonical_msr(v, &cpu->msr_sysenter_eip);
    case 0x1a0: cpu->msr_misc_enable = v; return 0;
    case 0x277:
        if (!emu_pat_valid(v))
            return -1;
        cpu->msr_pat = v;
        return 0;
    case 0xc0000080:
        if (!emu_efer_valid(cpu, v))
            return -1;
        /* LMA is read-only: it follows CR0.PG && EFER.LME. */
        cpu->efer = (v & ~EFER_LMA) | (cpu->efer & EFER_LMA);
        emu_tlb_flush(cpu);
        return 0;
    case 0xc0000081: cpu->msr_star = v; return 0;
    case 0xc0000082: return canonical_msr(v, &cpu->msr_lstar);
    case 0xc0000083: return canonical_msr(v, &cpu->msr_cstar);
    case 0xc0000084: return low32_msr(v, &cpu->msr_sfmask);
    case 0xc0000100: return canonical_msr(v, &cpu->seg[SEG_FS].base);
    case 0xc0000101: return canonical_msr(v, &cpu->seg[SEG_GS].base);
    case 0xc0000102: return canonical_msr(v, &cpu->msr_kernel_gs_base);
    case 0xc0000103: return low32_msr(v, &cpu->msr_tsc_aux);
    default: return -1;
    }
}

EXEC(ex_rdmsr)
{
    if (!privileged(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    uint64_t v = 0;
    if (emu_msr_read(cpu, (uint32_t)cpu->gpr[1], &v) && !ignore_bad_msrs(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    cpu->gpr[0] = (uint32_t)v;
    cpu->gpr[2] = v >> 32;
    return next(cpu, in);
}

EXEC(ex_wrmsr)
{
    if (!privileged(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    uint64_t v = ((cpu->gpr[2] & 0xffffffffull) << 32) | (uint32_t)cpu->gpr[0];
    if (emu_msr_write(cpu, (uint32_t)cpu->gpr[1], v) && !ignore_bad_msrs(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    next(cpu, in);
    return EMU_END_BLOCK;
}

/* A control register that does not exist is #UD, checked before the
 * privilege level (hardware decodes it as an invalid opcode). */
static bool cr_exists(unsigned n)
{
    return n == 0 || n == 2 || n == 3 || n == 4 || n == 8;
}

EXEC(ex_mov_from_cr)
{
    if (!cr_exists(in->reg))
        return emu_raise(cpu, EXC_UD);
    if (!privileged(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    uint64_t v;
    switch (in->reg) {
    case 0: v = cpu->cr0; break;
    case 2: v = cpu->cr2; break;
    case 3: v = cpu->cr3; break;
    case 4: v = cpu->cr4; break;
    case 8: v = emu_cr8_read(cpu); break;
    default: return emu_raise(cpu, EXC_UD);
    }
    reg_write(cpu, in->rm, cpu->mode == MODE_LONG64 ? 8 : 4, v);
    return next(cpu, in);
}

int emu_write_cr0(struct emu_cpu *cpu, uint64_t v)
{
    if (!emu_cr0_valid(v))
        return emu_raise_err(cpu, EXC_GP, 0);
    v = (v & CR0_DEFINED) | 0x10; /* other low bits ignored; ET is hardwired */
    bool paging_on = (v & CR0_PG) && !(cpu->cr0 & CR0_PG);
    if (paging_on && (cpu->efer & EFER_LME)) {
        if (!(cpu->cr4 & CR4_PAE))
            return emu_raise_err(cpu, EXC_GP, 0);
        cpu->efer |= EFER_LMA;
    } else if (!(v & CR0_PG)) {
        if (cpu->mode == MODE_LONG64)
            return emu_raise_err(cpu, EXC_GP, 0);
        cpu->efer &= ~EFER_LMA;
    }
    cpu->cr0 = v;
    return EMU_OK;
}

/* SDM 4.4.1: MOV to CR3 under PAE paging, and a MOV to CR0 or CR4 that
 * leaves PAE paging on and changes PG, CD, NW, PAE, PGE or PSE, load the
 * PDPTE registers; a present one with reserved bits is #GP(0) and the
 * register keeps its old value. */
struct paging_regs {
    uint64_t cr0, cr3, cr4, efer, pdpte[4];
};

static int pdptes_reload(struct emu_cpu *cpu, unsigned n, const struct paging_regs *old)
{
    uint64_t cr0_bits = CR0_PG | 0x60000000ull, cr4_bits = CR4_PAE | CR4_PGE | CR4_PSE;
    if (n != 3 && !(n == 0 && ((old->cr0 ^ cpu->cr0) & cr0_bits)) &&
        !(n == 4 && ((old->cr4 ^ cpu->cr4) & cr4_bits)))
        return EMU_OK;
    if (emu_pdptes_load(cpu))
        return EMU_OK;
    cpu->cr0 = old->cr0;
    cpu->cr3 = old->cr3;
    cpu->cr4 = old->cr4;
    cpu->efer = old->efer;
    memcpy(cpu->pdpte, old->pdpte, sizeof(cpu->pdpte));
    return emu_raise_err(cpu, EXC_GP, 0);
}

EXEC(ex_mov_to_cr)
{
    if (!cr_exists(in->reg))
        return emu_raise(cpu, EXC_UD);
    if (!privileged(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    uint64_t v = reg_read(cpu, in->rm, cpu->mode == MODE_LONG64 ? 8 : 4);
    int st = EMU_OK;
    struct paging_regs old = {cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer, {0}};
    memcpy(old.pdpte, cpu->pdpte, sizeof(old.pdpte));
    switch (in->reg) {
    case 0: st = emu_write_cr0(cpu, v); break;
    case 2: cpu->cr2 = v; break;
    case 3:
        if (!emu_cr3_valid(cpu, v))
            return emu_raise_err(cpu, EXC_GP, 0);
        cpu->cr3 = v; /* the walk masks what it uses (PAE: bits 31:5) */
        break;
    case 4:
        if (!emu_cr4_valid(cpu, v))
            return emu_raise_err(cpu, EXC_GP, 0);
        cpu->cr4 = v;
        break;
    case 8:
        if (v > 15)
            return emu_raise_err(cpu, EXC_GP, 0);
        emu_cr8_write(cpu, v);
        break;
    default: return emu_raise(cpu, EXC_UD);
    }
    if (st || (st = pdptes_reload(cpu, in->reg, &old)) != 0)
        return st;
    if (in->reg == 3)
        emu_tlb_flush_nonglobal(cpu);
    else if (in->reg != 2 && in->reg != 8) /* CR2 and the TPR hold no translation */
        emu_tlb_flush(cpu);
    emu_update_mode(cpu);
    next(cpu, in);
    return EMU_END_BLOCK;
}

/* 0F 01 /0 SGDT, /1 SIDT, /2 LGDT, /3 LIDT. */
EXEC(ex_lgdt_lidt)
{
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    struct accel_dtable *t = (in->sub & 1) ? &cpu->idtr : &cpu->gdtr;
    uint64_t ea = emu_ea(cpu, in), limit, base;
    unsigned bsize = cpu->mode == MODE_LONG64 ? 8 : 4;
    int st;
    if (in->sub >= 2) {
        if (!privileged(cpu))
            return emu_raise_err(cpu, EXC_GP, 0);
        st = emu_read(cpu, in->seg, ea, 2, &limit);
        if (!st)
            st = emu_read(cpu, in->seg, (ea + 2) & size_mask(in->adsz), bsize, &base);
        if (st)
            return st;
        if (in->opsz == 2 && bsize == 4)
            base &= 0xffffff;
        if (bsize == 8 && !emu_canonical(base)) /* SDM "LGDT/LIDT", 64-bit mode */
            return emu_raise_err(cpu, EXC_GP, 0);
        *t = (struct accel_dtable){base, (uint16_t)limit};
    } else {
        st = emu_write(cpu, in->seg, ea, 2, t->limit);
        if (!st)
            st = emu_write(cpu, in->seg, (ea + 2) & size_mask(in->adsz), bsize, t->base);
        if (st)
            return st;
    }
    return next(cpu, in);
}

EXEC(ex_invlpg)
{
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    if (!privileged(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    /* The page of the operand's linear address; no access is made, so no
     * canonical or segment-limit fault here. */
    uint64_t lin = emu_ea(cpu, in);
    if (cpu->mode != MODE_LONG64)
        lin = (uint32_t)(cpu->seg[in->seg].base + lin);
    else if (in->seg == SEG_FS || in->seg == SEG_GS)
        lin += cpu->seg[in->seg].base;
    emu_tlb_flush_page(cpu, lin);
    /* INVLPG serializes (SDM Vol. 3A 9.3): the next instruction is
     * fetched through the new translation, which the rest of this block,
     * decoded through the old one, may not be; nor may a link within its
     * page (emu_link_same_page). */
    next(cpu, in);
    return EMU_END_BLOCK;
}

EXEC(ex_cli)
{
    if (!io_allowed(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    emu_rflags(cpu);
    cpu->rflags &= ~RFLAGS_IF;
    return next(cpu, in);
}

/* STI: interrupts are recognised only after the next instruction, so
 * "sti; hlt" cannot lose a wakeup (SDM "STI"). */
EXEC(ex_sti)
{
    if (!io_allowed(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    emu_rflags(cpu);
    if (!(cpu->rflags & RFLAGS_IF))
        cpu->shadow = true;
    cpu->rflags |= RFLAGS_IF;
    next(cpu, in);
    return EMU_END_BLOCK;
}

/* WBINVD and INVD: no caches to write back or drop, so only the
 * privilege check is left. */
EXEC(ex_wbinvd)
{
    if (!privileged(cpu))
        return emu_raise_err(cpu, EXC_GP, 0);
    return next(cpu, in);
}

EXEC(ex_invd)
{
    return ex_wbinvd(cpu, in);
}

/* RDPMC: CPUID leaf 0AH reports no performance counters, so every ECX is
 * out of range: #GP(0) at any CPL, CR4.PCE or not (SDM "RDPMC"). */
EXEC(ex_rdpmc)
{
    return emu_raise_err(cpu, EXC_GP, 0);
}
