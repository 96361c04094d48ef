/*
 * Inputs for the system and segment forms of sys_forms.h (included by
 * gen_kinds.h), and the results no two runs share (the time stamp
 * counter, random numbers), masked after the run.
 */
#ifndef HK_TESTS_CPU_SYS_GEN_H
#define HK_TESTS_CPU_SYS_GEN_H

/* AMD CPUs read m16:32 for REX.W far JMP/CALL, LSS, LFS, LGS (checked on
 * an EPYC), Intel m16:64; the emulated CPU is Intel's. */
static bool cd_host_amd(void)
{
    static int amd = -1; /* CPUID exits to the hypervisor in a VM: ask once */
    if (amd < 0) {
        unsigned a, b, c, d;
        __cpuid(0, a, b, c, d);
        amd = b == 0x68747541; /* "Auth" */
    }
    return amd;
}

/* A selector for MOV Sreg, LAR, LSL, VERR, VERW, LLDT, LTR: modes.h's
 * mix, or one of the rest of Linux's GDT: the CPU/node descriptor, the
 * third TLS slot, the TSS and LDT descriptors' upper halves, the unused
 * entry 7, the last byte of the table and just past it. */
static uint16_t cd_sys_selector(struct cd_rng *r)
{
    static const uint16_t more[] = {0x7b, 0x7b, 0x78, 0x73, 0x08, 0x13, 0x43, 0x48,
                                    0x58, 0x3b, 0x7f, 0x83, 0xffff, 0x2b, 0x33, 0x23};
    if (cd_chance(r, 50))
        return cd_pick_selector(cd_rand(r));
    return cd_chance(r, 90) ? more[cd_below(r, sizeof(more) / sizeof(more[0]))]
                            : (uint16_t)cd_rand(r);
}

/* The 16-bit r/m operand: a selector in the register or the memory. */
static void cd_sys_put_rm16(struct cd_enc *e, struct cd_case *c, uint16_t sel)
{
    if (e->mem)
        cd_put(c, c->ea, sel, 2);
    else if (!cd_is_fixed(e, e->rm))
        c->in.gpr[e->rm] = (c->in.gpr[e->rm] & ~0xffffull) | sel;
}

/* Slots of opsz bytes at the stack top: RETF's and IRET's frames. */
static void cd_sys_push_frame(struct cd_enc *e, struct cd_case *c, const uint64_t *v, int n)
{
    for (int i = 0; i < n; i++)
        cd_put(c, e->sp_lin + (uint64_t)i * e->opsz, v[i], e->opsz);
}

/* An RFLAGS image for IRET: anything but TF, which would make the host
 * single-step the INT3 its run ends on (traps.h sets TF before IRET). */
static uint64_t cd_sys_iret_flags(struct cd_rng *r)
{
    return (cd_rand(r) & 0x3fffff & ~0x100ull) | 2;
}

static bool cd_sys_far_mem(struct cd_rng *r, struct cd_enc *e, struct cd_case *c, int len)
{
    if (!e->mem)
        return true; /* #UD */
    if ((e->rex_eff & 8) && cd_host_amd())
        return false;
    /* Never let the host jump through a pointer it did not get from us:
     * the read-only page holds random bytes. */
    uint64_t end = c->ea + e->opsz + 2;
    if (c->ea >= CD_DATA && end > CD_DATA + CD_DATA_RW && end <= CD_DATA + CD_DATA_SIZE)
        return false;
    uint64_t off, sel;
    cd_far_target(r, e, len, &off, &sel);
    cd_put(c, c->ea, off, e->opsz);
    cd_put(c, c->ea + e->opsz, sel, 2);
    return true;
}

static void cd_sys_return_frame(const struct cd_form *f, struct cd_rng *r, struct cd_enc *e,
                                struct cd_case *c, int len)
{
    uint64_t off, sel, hi = cd_rand(r) & ~0xffffull;
    cd_far_target(r, e, len, &off, &sel);
    /* Now and then a return the CPU refuses with #GP(0) before anything
     * changes: non-canonical into 64-bit code, past the 64 KiB limit of
     * the LDT code segments (a 16-bit operand truncates both back into
     * range). Not for far CALL: AMD pushes before its limit check. */
    if (sel == 0x33 && cd_chance(r, 8))
        off ^= 0x8000000000000000ull;
    else if ((sel == CD_SEL_CODE16 || sel == CD_SEL_CODE32) && cd_chance(r, 8))
        off += 0x10000;
    uint64_t ss = cd_chance(r, 60) ? e->m->sel[2] : cd_sys_selector(r);
    uint64_t frame[5] = {off, sel | hi, cd_sys_iret_flags(r), cd_value(r), ss | hi};
    /* IRET in 64-bit code checks its SS:RSP pops' alignment with the AC it
     * just popped on Intel: from a misaligned frame that is an #AC whose
     * frame shows AC=0, which Linux takes for a split-lock #AC and
     * restarts the IRET forever (AMD pops without the check). The emulator
     * raises it (Intel); the host cannot show it, so it is never asked. */
    if (f->op->fn == ex_iret && e->m->bits == 64 && (e->sp_lin & (e->opsz - 1)))
        frame[2] &= ~0x40000ull;
    cd_sys_push_frame(e, c, frame, f->op->fn == ex_retf ? 2 : 5);
}

/* Vector for INT n: often the DPL 3 gates, never 0x80 (a real system
 * call on the host). */
static uint64_t cd_sys_vector(struct cd_rng *r)
{
    if (cd_chance(r, 30))
        return cd_chance(r, 50) ? 3 : 4;
    uint64_t v = cd_below(r, 256);
    return v == 0x80 ? 0x81 : v;
}

/* Inputs for a CK_SYS form. False: draw again. */
static bool cd_sys_setup(const struct cd_form *f, struct cd_rng *r, struct cd_enc *e,
                         struct cd_case *c, int len)
{
    emu_exec_fn fn = f->op->fn;
    if (fn == ex_mov_sreg_rm || fn == ex_group6 || fn == ex_lar_lsl)
        cd_sys_put_rm16(e, c, cd_sys_selector(r));
    else if (fn == ex_load_far_pointer) /* AMD reads m16:32 for REX.W LSS/LFS/LGS */
        return !((e->rex_eff & 8) && cd_host_amd());
    else if (fn == ex_jmp_far_mem || fn == ex_call_far_mem)
        return cd_sys_far_mem(r, e, c, len);
    else if (fn == ex_retf || fn == ex_iret) {
        cd_sys_return_frame(f, r, e, c, len);
        /* IRET with NT set: #GP(0) in IA-32e mode, compatibility mode too
         * (no task return; SDM "IRET"). POPFQ sets NT at CPL 3. */
        if (fn == ex_iret && cd_chance(r, 10))
            c->in.rflags |= 0x4000;
    }
    else if (fn == ex_int_imm)
        e->imm = cd_sys_vector(r);
    else if (fn == ex_grp7_reg7) /* SWAPGS, RDTSCP; AMD has CLZERO and others past them */
        e->rm = (e->rm & 8) | cd_below(r, 2);
    return true;
}

/* After both runs, what the architecture leaves open is cleared on both
 * sides: register bits a far transfer out of 64-bit code leaves
 * undefined, LAR's bits 19:16, the time stamp (RDTSC, RDTSCP) and the
 * random number (RDRAND, RDSEED). Everything else still compares: the
 * upper halves RDTSC zeroes, RCX = TSC_AUX, flags, the destination's bits
 * above the operand size. A host RDSEED may run dry (CF=0, value 0),
 * which the emulator's does not. */
static void cd_sys_mask(const struct emu_insn *in, struct cd_state *nat, struct cd_state *emu)
{
    /* Out of 64-bit code by a far transfer: the upper halves of RAX..RDI
     * and all of R8..R15 are undefined (SDM Vol. 1 3.4.1.1; AMD zeroes
     * the upper half of RSP). */
    if (nat->sreg[SEG_CS] != 0x33 || emu->sreg[SEG_CS] != 0x33) {
        for (int i = 0; i < 16; i++) {
            uint64_t keep = i < 8 ? 0xffffffffull : 0;
            nat->gpr[i] &= keep;
            emu->gpr[i] &= keep;
        }
    }
    /* CMPS and MOVS touch two memory operands; when one would page-fault
     * and the other is misaligned under alignment checking, which fault
     * wins is the model's choice (neither manual orders them): Zen 3
     * hosts report the #AC, Zen 5 (family 1Ah) the #PF. Both are right. */
    if ((in->fn == ex_cmps || in->fn == ex_movs) &&
        ((nat->vector == 14 && emu->vector == 17) || (nat->vector == 17 && emu->vector == 14))) {
        emu->vector = nat->vector;
        emu->error = nat->error;
        emu->cr2 = nat->cr2;
        emu->rflags = (emu->rflags & ~RFLAGS_RF) | (nat->rflags & RFLAGS_RF);
    }
    if ((nat->vector >= 0 && nat->vector != 1) || (emu->vector >= 0 && emu->vector != 1))
        return; /* faulted; a single-step #DB (traps.h) comes after the result */
    if (in->fn == ex_rdtsc || (in->fn == ex_grp7_reg7 && (in->rm & 7) == 1)) {
        for (int i = 0; i <= 2; i += 2) {
            nat->gpr[i] &= ~0xffffffffull;
            emu->gpr[i] &= ~0xffffffffull;
        }
    } else if (in->fn == ex_lar_lsl && in->opcode == 0x02 && (nat->rflags & RFLAGS_ZF)) {
        /* LAR: the SDM masks the descriptor with 00FxFF00H, bits 19:16
         * (the limit's top) undefined; AMD keeps them, the emulator
         * clears them. */
        nat->gpr[in->reg] &= ~0xf0000ull;
        emu->gpr[in->reg] &= ~0xf0000ull;
    } else if (in->fn == ex_rdrand) {
        uint64_t m = size_mask(in->opsz);
        if (!(nat->rflags & RFLAGS_CF) && (nat->gpr[in->rm] & m) == 0)
            emu->rflags &= ~RFLAGS_CF;
        nat->gpr[in->rm] &= ~m;
        emu->gpr[in->rm] &= ~m;
    }
}

#endif
