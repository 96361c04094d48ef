/*
 * The emu vCPU's run loop: find the decoded block at RIP, execute it, and
 * turn exits, faults and kicks into what vcpu_run returns to the VMM.
 */
#include <stdio.h>
#include <string.h>

#include "accel/emu/emu.h"

/* The VMM answered the exit we returned last time: record a read's value
 * so the re-executed instruction finds it. */
static void complete_exit(struct emu_cpu *cpu, const struct accel_exit *e)
{
    if (cpu->xlog_n == 0)
        return;
    struct emu_xaccess *x = &cpu->xlog[cpu->xlog_n - 1];
    if (x->is_write)
        return;
    if (x->is_io && e->reason == ACCEL_EXIT_IO)
        x->data = e->io.data & size_mask(x->size);
    else if (!x->is_io && e->reason == ACCEL_EXIT_MMIO)
        x->data = e->mmio.data & size_mask(x->size);
}

/* --- Re-execution after a device exit ---------------------------------- */

/* An instruction exited to the VMM: keep it as decoded. Its re-execution
 * must make the same device accesses in the same order, yet its bytes may
 * change before it: its own committed REP iterations or uncommitted stores
 * may write over them (REP INSW into its own code), or another vCPU. Which
 * bytes a CPU runs when code is modified under the executing instruction
 * is model-specific (SDM Vol. 3A "Handling Self- and Cross-Modifying
 * Code"); the bytes first fetched are the ones the replay needs. Before
 * running it, cpu->held_pos was set to the log entries of its fetch. */
void emu_insn_hold(struct emu_cpu *cpu, const struct emu_insn *in)
{
    if (in != &cpu->held)
        cpu->held = *in;
    cpu->held_rip = cpu->rip;
    cpu->held_valid = true;
}

const struct emu_insn *emu_insn_held(struct emu_cpu *cpu)
{
    if (!cpu->held_valid || cpu->held_rip != cpu->rip || cpu->xlog_n == 0)
        return NULL;
    cpu->xlog_pos = cpu->held_pos;
    return &cpu->held;
}

int emu_insn_done(struct emu_cpu *cpu)
{
    /* Completed without replaying the whole log: the answer to the last
     * exit was never used, so the instruction went another way. */
    bool lost = cpu->xlog_pos < cpu->xlog_n;
    emu_commit_point(cpu);
    if (!lost)
        return EMU_OK;
    cpu->exit->reason = ACCEL_EXIT_INTERNAL;
    snprintf(cpu->exit->internal.why, sizeof(cpu->exit->internal.why),
             "instruction before %#llx replays device accesses out of step",
             (unsigned long long)cpu->rip);
    return EMU_EXIT;
}

/* The instruction bytes at RIP, for an instruction that has no cached
 * block (code outside RAM or straddling a page). */
static int fetch_uncached(struct emu_cpu *cpu, struct emu_insn *in)
{
    uint8_t bytes[15];
    uint64_t lin = cpu->rip;
    if (cpu->mode != MODE_LONG64)
        lin = (uint32_t)(cpu->seg[SEG_CS].base + cpu->rip);
    int avail = 15;
    /* Code outside RAM is fetched through the access log too: the fetch
     * replays first, then the instruction's own accesses. */
    cpu->xlog_pos = 0;
    int st = emu_read_lin(cpu, lin, bytes, 15, ACC_EXEC);
    if (st) {
        /* The 15 bytes may run into an unmapped page the instruction
         * does not reach: retry with what this page holds (replaying the
         * same log entries, not logging the bytes twice). */
        unsigned in_page = 4096 - (unsigned)(lin & 0xfff);
        if (in_page >= 15 || st != EMU_FAULT)
            return st;
        cpu->exc.vector = -1;
        cpu->xlog_pos = 0;
        if ((st = emu_read_lin(cpu, lin, bytes, in_page, ACC_EXEC)) != 0)
            return st;
        avail = (int)in_page;
    }
    if (emu_decode(cpu, bytes, avail, in) == 0) {
        /* It does reach into the next page: fetching it faults (#PF)
         * unless that page became mapped meanwhile (another vCPU, DMA
         * into the page tables); then the instruction is what all 15
         * bytes say, never the truncated decode. The log replays from
         * the start, as for the first read. */
        if (avail < 15) {
            cpu->xlog_pos = 0;
            if ((st = emu_read_lin(cpu, lin, bytes, 15, ACC_EXEC)) != 0)
                return st;
            if (emu_decode(cpu, bytes, 15, in) != 0)
                return EMU_OK;
        }
        return emu_raise(cpu, EXC_UD);
    }
    return EMU_OK;
}

/* Execute one instruction that has no cached block, or the one an exit
 * interrupted. */
static int step_uncached(struct emu_cpu *cpu)
{
    struct emu_insn fetched;
    const struct emu_insn *in = emu_insn_held(cpu);
    if (!in) {
        int st = fetch_uncached(cpu, &fetched);
        if (st)
            return st;
        in = &fetched;
    }
    cpu->held_pos = cpu->xlog_pos; /* what the fetch replayed */
    uint64_t rsp = cpu->gpr[4];
    int st = in->fn(cpu, in);
    if (st == EMU_OK || st == EMU_END_BLOCK) {
        cpu->insn_count++;
        if (cpu->xlog_n)
            emu_recheck_events(cpu); /* see run_block */
        return emu_insn_done(cpu);
    }
    /* Not committed: pushes and pops done before the fault or exit are
     * undone, so the fault frame and the re-execution after the VMM
     * answered see the stack the instruction started with. */
    cpu->gpr[4] = rsp;
    if (st == EMU_EXIT)
        emu_insn_hold(cpu, in);
    return st;
}

/* One instruction with TF set: no block, so the trap comes after each
 * instruction (SDM Vol. 3B 17.3.1.4). A faulting instruction is not
 * trapped: the fault is delivered, and its handler runs with TF clear.
 * With RF set or instruction breakpoints armed, the same: debug.c looks
 * at each instruction before it runs. */
static int step_traced(struct emu_cpu *cpu)
{
    int st = emu_debug_insn_start(cpu);
    if (st)
        return st;
    emu_step_arm(cpu);
    st = step_uncached(cpu);
    if (st) {
        cpu->step_trap = false;
        emu_debug_insn_abort(cpu, st);
        return st;
    }
    return emu_debug_trap(cpu);
}

/* Instructions that must run one at a time (see step_traced). */
static bool stepped(const struct emu_cpu *cpu)
{
    return (cpu->rflags & (RFLAGS_TF | RFLAGS_RF)) || (cpu->dbg_exec && emu_debug_exec_near(cpu));
}

/* EMU_OK when the block ran to its end and its last instruction changed
 * nothing a link depends on (a jump, Jcc, CALL, RET, or the page or the
 * instruction limit): the next block may then be reached through a link.
 * EMU_END_BLOCK when it ended otherwise but without exit or fault. */
static int run_block(struct emu_cpu *cpu, const struct emu_block *b)
{
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        uint64_t rsp = cpu->gpr[4];
        cpu->xlog_pos = cpu->held_pos = 0;
        int st = in->fn(cpu, in);
        if (st != EMU_OK) {
            if (st == EMU_END_BLOCK) {
                cpu->insn_count += i + 1;
                if (cpu->xlog_n)
                    emu_recheck_events(cpu);
                st = emu_insn_done(cpu);
                return st ? st : EMU_END_BLOCK;
            }
            cpu->insn_count += i;
            cpu->gpr[4] = rsp; /* see step_uncached */
            if (st == EMU_EXIT)
                emu_insn_hold(cpu, in);
            return st;
        }
        /* A device access may have raised an interrupt or unmasked one (an
         * EOI, a TPR write, an IPI): look before the next instruction. */
        if (cpu->xlog_n) {
            emu_recheck_events(cpu);
            if ((st = emu_insn_done(cpu)) != EMU_OK) {
                cpu->insn_count += i + 1;
                return st;
            }
        }
        if (cpu->end_block) {
            cpu->insn_count += i + 1;
            return EMU_END_BLOCK;
        }
    }
    cpu->insn_count += b->n;
    return EMU_OK;
}

/* After code run without TF: a SYSRET that set TF traps at once (it
 * arms the trap from the new TF); a data breakpoint hit traps. */
static int untraced_done(struct emu_cpu *cpu, int st)
{
    return !st && (cpu->step_trap || cpu->dbg_hit) ? emu_debug_trap(cpu) : st;
}

/* The next instruction or block. A block never runs with TF or RF set,
 * or over an instruction breakpoint: they only change at instructions that
 * end a block (POPF, IRET, SYSRET, MOV DR, event delivery, a REP string
 * instruction stopped part-way), and a block stays in its page, so
 * checking here is enough (a linked block too: this runs before each).
 * *chain is the block that just ran to its end, or NULL; on return, the
 * block this ran, if the next may follow it through a link. */
static int run_next(struct emu_cpu *cpu, struct emu_block **chain)
{
    struct emu_block *prev = *chain;
    *chain = NULL;
    if (stepped(cpu))
        return step_traced(cpu);
    if (cpu->held_valid) /* an exit interrupted it: run it as decoded then */
        return untraced_done(cpu, step_uncached(cpu));
    int st = EMU_OK;
    struct emu_block *b = prev ? emu_block_follow(cpu, prev) : NULL;
    if (!b) {
        b = emu_block_get(cpu, &st);
        if (st)
            return st;
        if (!b)
            return untraced_done(cpu, step_uncached(cpu));
        if (prev)
            emu_block_link(cpu, prev, b);
    }
    st = run_block(cpu, b);
    if (st == EMU_END_BLOCK)
        return untraced_done(cpu, EMU_OK);
    if (st == EMU_OK && !cpu->step_trap && !cpu->dbg_hit) {
        *chain = b;
        return EMU_OK;
    }
    return untraced_done(cpu, st);
}

/* Report HLT to the VMM: it sleeps until an interrupt or an NMI it can
 * take may be pending. */
static int halt_exit(struct emu_cpu *cpu, struct accel_exit *exit)
{
    exit->reason = ACCEL_EXIT_HLT;
    exit->hlt.interrupts_enabled = (cpu->rflags & RFLAGS_IF) != 0;
    exit->hlt.nmi_unblocked = !cpu->nmi_blocked;
    return 0;
}

/* Between blocks: the STI shadow's one instruction, interrupts, HLT. */
static int boundary(struct emu_cpu *cpu)
{
    if (cpu->shadow && !cpu->halted) {
        int st = stepped(cpu) ? step_traced(cpu) : untraced_done(cpu, step_uncached(cpu));
        cpu->shadow = false;
        if (st)
            return st;
    }
    cpu->shadow = false;
    /* An instruction the VMM just completed finishes first: the interrupt
     * comes after it, and its access log is not the handler's to replay.
     * NMIs do not need IF: emu_check_interrupts looks at both. */
    if (cpu->irq && cpu->xlog_n == 0)
        return emu_check_interrupts(cpu, 0); /* reads the clock if needed */
    return EMU_OK;
}

/* Deliver cpu->exc. EMU_EXIT when the CPU shut down, or when delivery
 * needs the VMM (the exception then stays pending, and the next run
 * delivers it again, replaying the device accesses). */
static int deliver(struct emu_cpu *cpu)
{
    cpu->xlog_pos = 0;
    int st = emu_deliver_pending(cpu);
    if (st == EMU_OK)
        emu_commit_point(cpu);
    return st;
}

/* A fault: deliver it. */
static int fault(struct emu_cpu *cpu)
{
    emu_commit_point(cpu);
    cpu->halted = false;
    return deliver(cpu);
}

int emu_cpu_run(struct emu_cpu *cpu, struct accel_exit *exit)
{
    complete_exit(cpu, exit);
    cpu->exit = exit;
    memset(exit, 0, sizeof(*exit));
    if (cpu->exc_pending && deliver(cpu) == EMU_EXIT)
        return 0; /* still delivering what the last exit interrupted */
    for (;;) {
        if (atomic_exchange_explicit(&cpu->kick, false, memory_order_acquire)) {
            exit->reason = ACCEL_EXIT_KICKED;
            return 0;
        }
        emu_blocks_free_dead(cpu->vm);
        cpu->end_block = false;
        int st = boundary(cpu);
        if (st == EMU_EXIT)
            return 0;
        if (st == EMU_FAULT) {
            if (fault(cpu) == EMU_EXIT)
                return 0;
            continue;
        }
        if (cpu->halted)
            return halt_exit(cpu, exit);
        /* Blocks are freed only at the top of this loop: the one just run
         * stays valid to take links from until then. */
        struct emu_block *chain = NULL;
        for (int n = 0; n < 1024; n++) {
            cpu->recent_rip[cpu->recent_pos++ & 63] = cpu->rip;
            st = run_next(cpu, &chain);
            /* A kick (an interrupt raised from another thread, a pause)
             * is seen at the next block boundary. */
            if (st || cpu->end_block || cpu->halted || cpu->shadow ||
                atomic_load_explicit(&cpu->kick, memory_order_relaxed))
                break;
        }
        if (st == EMU_EXIT) {
            if (exit->reason == ACCEL_EXIT_INTERNAL)
                emu_trace_crash(cpu, exit->internal.why);
            return 0;
        }
        if (st == EMU_FAULT && fault(cpu) == EMU_EXIT)
            return 0;
    }
}

void emu_cpu_reset(struct emu_cpu *cpu)
{
    struct emu_vm *vm = cpu->vm;
    memset(cpu, 0, sizeof(*cpu));
    cpu->vm = vm;
    cpu->exc.vector = -1;
    cpu->rflags = 0x2;
    cpu->cr0 = 0x60000010;
    cpu->rip = 0xfff0;
    cpu->seg[SEG_CS] = (struct emu_segment){0xffff0000, 0xffff, 0xf000, 0x9b};
    for (int s = 0; s < 6; s++)
        if (s != SEG_CS)
            cpu->seg[s] = (struct emu_segment){0, 0xffff, 0, 0x93};
    cpu->idtr.limit = 0xffff;
    cpu->gdtr.limit = 0xffff;
    cpu->ldtr = (struct emu_segment){0, 0xffff, 0, 0x82};
    cpu->tr = (struct emu_segment){0, 0xffff, 0, 0x8b};
    cpu->msr_pat = 0x0007040600070406ull;
    cpu->dr[6] = 0xffff0ff0ull;
    cpu->dr[7] = 0x400;
    cpu->fpu.fcw = 0x37f; /* FNINIT state; MXCSR as after reset */
    cpu->fpu.mxcsr = 0x1f80;
    cpu->msr_apic_base = 0xfee00900ull;
    cpu->features_off = emu_host_features_missing();
    emu_update_mode(cpu);
    emu_tlb_flush(cpu); /* a TLB generation of its own (struct emu_link) */
}
