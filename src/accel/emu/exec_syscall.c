/* Fast system calls, SWAPGS, RDTSCP, CMPXCHG8B/16B, CLTS, debug registers. */
#include "accel/emu/exec.h"
#include "accel/emu/segment.h"

static struct emu_segment flat(uint16_t sel, uint16_t attr)
{
    return (struct emu_segment){0, 0xffffffff, sel, attr};
}

/* SYSCALL (SDM "SYSCALL"): 64-bit mode with EFER.SCE. */
EXEC(ex_syscall)
{
    if (cpu->mode != MODE_LONG64 || !(cpu->efer & 1))
        return emu_raise(cpu, EXC_UD);
    uint64_t rflags = emu_rflags(cpu);
    uint16_t sel = (uint16_t)(cpu->msr_star >> 32) & 0xfffc;
    cpu->gpr[1] = cpu->rip + in->len;
    cpu->gpr[11] = rflags & ~0x10000ull; /* RF reads as 0 here */
    emu_set_rflags(cpu, rflags & ~cpu->msr_sfmask & ~0x10000ull);
    cpu->seg[SEG_CS] = flat(sel, 0xa09b);
    cpu->seg[SEG_SS] = flat((uint16_t)(sel + 8), 0xc093);
    cpu->rip = cpu->msr_lstar;
    emu_update_mode(cpu);
    /* SYSCALL and SYSRET trap on the TF they leave, so an OS masks the
     * trap with FMASK and SYSRET to a traced program traps at once (what
     * KVM and hardware do; SDM "SYSCALL" leaves TF to RFLAGS masking). */
    cpu->step_trap = (cpu->rflags & RFLAGS_TF) != 0;
    return EMU_END_BLOCK;
}

/* SYSRET: back to CPL 3, 64-bit with REX.W, else compatibility mode.
 * Intel knows it in 64-bit mode only, #UD elsewhere before the CPL check
 * (AMD runs it from legacy modes too, #GP at CPL 3). */
EXEC(ex_sysret)
{
    if (cpu->mode != MODE_LONG64 || !(cpu->efer & 1))
        return emu_raise(cpu, EXC_UD);
    if (cpu->cpl != 0)
        return emu_raise_err(cpu, EXC_GP, 0);
    uint64_t target = cpu->gpr[1];
    bool to64 = in->opsz == 8;
    if (to64 && (uint64_t)((int64_t)(target << 16) >> 16) != target)
        return emu_raise_err(cpu, EXC_GP, 0);
    uint16_t base = (uint16_t)(cpu->msr_star >> 48);
    cpu->seg[SEG_CS] = to64 ? flat((uint16_t)((base + 16) | 3), 0xa0fb)
                            : flat((uint16_t)(base | 3), 0xc0fb);
    cpu->seg[SEG_SS].selector = (uint16_t)((base + 8) | 3);
    cpu->seg[SEG_SS].attr = 0xc0f3;
    cpu->seg[SEG_SS].base = 0;
    cpu->seg[SEG_SS].limit = 0xffffffff;
    uint64_t old = cpu->rflags;
    emu_set_rflags(cpu, cpu->gpr[11] | 0x2);
    /* Setting IF makes a waiting interrupt deliverable after SYSRET, with
     * no shadow (SDM "SYSRET"): the run loop must look at once, as after
     * POPF. SYSEXIT leaves RFLAGS alone. */
    if (!(old & RFLAGS_IF) && (cpu->rflags & RFLAGS_IF))
        emu_recheck_events(cpu);
    cpu->rip = to64 ? target : (uint32_t)target;
    emu_update_mode(cpu);
    cpu->step_trap = (cpu->rflags & RFLAGS_TF) != 0; /* see SYSCALL */
    return EMU_END_BLOCK;
}

/* SYSENTER (SDM "SYSENTER"): to CPL 0 at IA32_SYSENTER_EIP/ESP, 64-bit
 * code in IA-32e mode (Intel CPUs allow it there; Linux uses it for 32-bit
 * processes on a 64-bit kernel). */
EXEC(ex_sysenter)
{
    uint16_t cs = (uint16_t)(cpu->msr_sysenter_cs & 0xfffc);
    if (cpu->mode == MODE_REAL || cs == 0)
        return emu_raise_err(cpu, EXC_GP, 0);
    bool ia32e = cpu->efer & EFER_LMA;
    emu_set_rflags(cpu, emu_rflags(cpu) & ~(RFLAGS_IF | 0x10000ull | 0x20000ull));
    cpu->seg[SEG_CS] = flat(cs, ia32e ? 0xa09b : 0xc09b);
    cpu->seg[SEG_SS] = flat((uint16_t)(cs + 8), 0xc093);
    cpu->rip = ia32e ? cpu->msr_sysenter_eip : (uint32_t)cpu->msr_sysenter_eip;
    cpu->gpr[4] = ia32e ? cpu->msr_sysenter_esp : (uint32_t)cpu->msr_sysenter_esp;
    emu_update_mode(cpu);
    return EMU_END_BLOCK;
}

/* SYSEXIT: back to CPL 3 at RDX with stack RCX; REX.W returns to 64-bit
 * code (selectors SYSENTER_CS + 32/40), else to 32-bit (+16/+24). */
EXEC(ex_sysexit)
{
    uint16_t base = (uint16_t)(cpu->msr_sysenter_cs & 0xfffc);
    if (cpu->mode == MODE_REAL || base == 0 || cpu->cpl != 0)
        return emu_raise_err(cpu, EXC_GP, 0);
    bool to64 = in->opsz == 8;
    uint64_t rip = to64 ? cpu->gpr[2] : (uint32_t)cpu->gpr[2];
    if (to64 && (uint64_t)(((int64_t)(rip << 16)) >> 16) != rip)
        return emu_raise_err(cpu, EXC_GP, 0);
    cpu->seg[SEG_CS] = to64 ? flat((uint16_t)((base + 32) | 3), 0xa0fb)
                            : flat((uint16_t)((base + 16) | 3), 0xc0fb);
    cpu->seg[SEG_SS] = flat((uint16_t)((base + (to64 ? 40 : 24)) | 3), 0xc0f3);
    cpu->gpr[4] = to64 ? cpu->gpr[1] : (uint32_t)cpu->gpr[1];
    cpu->rip = rip;
    emu_update_mode(cpu);
    return EMU_END_BLOCK;
}

/* 0F 01 with mod=3, reg=7: SWAPGS (rm 0), RDTSCP (rm 1). */
EXEC(ex_grp7_reg7)
{
    switch (in->rm & 7) {
    case 0: {
        if (cpu->mode != MODE_LONG64)
            return emu_raise(cpu, EXC_UD);
        if (cpu->cpl != 0)
            return emu_raise_err(cpu, EXC_GP, 0);
        uint64_t t = cpu->seg[SEG_GS].base;
        cpu->seg[SEG_GS].base = cpu->msr_kernel_gs_base;
        cpu->msr_kernel_gs_base = t;
        return next(cpu, in);
    }
    case 1: {
        int st = ex_rdtsc(cpu, in);
        if (st == EMU_OK)
            cpu->gpr[1] = (uint32_t)cpu->msr_tsc_aux;
        return st;
    }
    default:
        return emu_raise(cpu, EXC_UD);
    }
}

/* 0F C7 /1: CMPXCHG8B m64, or CMPXCHG16B m128 with REX.W (aligned). */
EXEC(ex_cmpxchg8b)
{
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    unsigned half = in->opsz == 8 ? 8 : 4;
    uint64_t ea = emu_ea(cpu, in), lin;
    if (half == 8 && (ea & 15))
        return emu_raise_err(cpu, EXC_GP, 0);
    int st = emu_linear(cpu, in->seg, ea, 2 * half, ACC_WRITE, &lin);
    uint64_t mem[2] = {0, 0};
    if (!st) /* a locked read-modify-write: write-checked first */
        st = emu_probe_write(cpu, lin, 2 * half);
    if (!st)
        st = emu_read_lin(cpu, lin, mem, 2 * half, ACC_READ);
    if (st)
        return st;
    uint64_t lo = half == 8 ? mem[0] : (uint32_t)mem[0];
    uint64_t hi = half == 8 ? mem[1] : mem[0] >> 32;
    bool eq = lo == reg_read(cpu, 0, half) && hi == reg_read(cpu, 2, half);
    uint64_t out[2];
    if (half == 8) {
        out[0] = eq ? cpu->gpr[3] : lo;
        out[1] = eq ? cpu->gpr[1] : hi;
    } else {
        out[0] = eq ? ((cpu->gpr[1] & 0xffffffffull) << 32) | (uint32_t)cpu->gpr[3] : mem[0];
    }
    /* The destination is written either way (a locked read-modify-write). */
    if ((st = emu_write_lin(cpu, lin, out, 2 * half)) != 0)
        return st;
    if (!eq) {
        reg_write(cpu, 0, half, lo);
        reg_write(cpu, 2, half, hi);
    }
    uint64_t f = emu_rflags(cpu);
    cpu->rflags = eq ? (f | RFLAGS_ZF) : (f & ~RFLAGS_ZF);
    return next(cpu, in);
}

EXEC(ex_clts)
{
    if (cpu->cpl != 0)
        return emu_raise_err(cpu, EXC_GP, 0);
    cpu->cr0 &= ~CR0_TS;
    return next(cpu, in);
}

/* MOV from/to DR0-DR7 (0F 21 / 0F 23): the checks and breakpoints are in
 * debug.c. A write ends the block: breakpoints armed or disarmed change
 * how the run loop steps. */
EXEC(ex_mov_dr)
{
    if (in->reg > 7) /* DR8-DR15 do not exist: #UD comes before the CPL check */
        return emu_raise(cpu, EXC_UD);
    if (cpu->cpl != 0)
        return emu_raise_err(cpu, EXC_GP, 0);
    unsigned size = cpu->mode == MODE_LONG64 ? 8 : 4;
    bool write = in->opcode == 0x23;
    uint64_t v = write ? reg_read(cpu, in->rm, size) : 0;
    int st = emu_debug_mov_dr(cpu, in->reg, write, &v);
    if (st)
        return st;
    if (!write)
        reg_write(cpu, in->rm, size, v);
    next(cpu, in);
    return write ? EMU_END_BLOCK : EMU_OK;
}
