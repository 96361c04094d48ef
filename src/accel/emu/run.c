/*
 * The emu vCPU's run loop: find the decoded block at RIP, execute it, and
 * turn exits, faults and kicks into what vcpu_run returns to the VMM.
 */
#include <stdio.h>
#include <string.h>

#include "accel/emu/emu.h"
#include "accel/emu/jit/jit.h"

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
 * block (code outside RAM, or straddling into a page outside RAM or
 * past the canonical or 4 GiB end). */
static int fetch_uncached(struct emu_cpu *cpu, struct emu_insn *in)
{
    uint8_t bytes[15];
    uint64_t lin = cpu->rip;
    if (cpu->mode != MODE_LONG64)
        lin = (uint32_t)(cpu->seg[SEG_CS].base + cpu->rip);
    int avail = 15;
    cpu->uncached_fetches++;
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

/* How run_block ends after its first n instructions ran, the last
 * returning st (EMU_OK or EMU_END_BLOCK): it ended the block (a device
 * access, written code, a trap due), or changed what the run loop looks
 * at. Out of the hot loop. */
int emu_block_ended(struct emu_cpu *cpu, uint64_t n, int st)
{
    cpu->insn_count += n;
    if (st == EMU_END_BLOCK || cpu->xlog_n) {
        /* A device access may have raised an interrupt or unmasked one
         * (an EOI, a TPR write, an IPI): look before the next instruction. */
        if (cpu->xlog_n)
            emu_recheck_events(cpu);
        st = emu_insn_done(cpu);
        return st ? st : EMU_END_BLOCK;
    }
    return EMU_END_BLOCK; /* code under the block was written */
}

/* How run_block ends at instruction in, which returned st. */
int emu_block_stop(struct emu_cpu *cpu, const struct emu_block *b, const struct emu_insn *in,
                   int st, uint64_t rsp)
{
    uint64_t done = (uint64_t)(in - b->insns);
    if (st == EMU_END_BLOCK)
        return emu_block_ended(cpu, done + 1, st);
    cpu->insn_count += done;
    cpu->gpr[4] = rsp; /* see step_uncached */
    if (st == EMU_EXIT)
        emu_insn_hold(cpu, in);
    return st;
}

/* EMU_OK when the block ran to its end and its last instruction changed
 * nothing a link depends on (a jump, Jcc, CALL, RET, or the page or the
 * instruction limit): the next block may then be reached through a link.
 * EMU_END_BLOCK when it ended otherwise but without exit or fault.
 * Per instruction only the call, the status test and the loop's compare
 * with cpu->run_end, which emu_end_block zeroes: a device access ends the
 * block (ext_access), so the access log stays empty while it runs on (its
 * positions are reset before a chain: run_chain); the count is added at
 * the end. A block has at least one instruction. */
static inline __attribute__((always_inline)) int run_block(struct emu_cpu *cpu,
                                                           const struct emu_block *b)
{
    const struct emu_insn *in = b->insns;
    cpu->run_end = b->end;
    for (;;) {
        uint64_t rsp = cpu->gpr[4];
        int st = in->fn(cpu, in);
        if (__builtin_expect(st != EMU_OK, 0))
            return emu_block_stop(cpu, b, in, st, rsp);
        in++;
        if ((uintptr_t)in >= cpu->run_end)
            break;
    }
    if (__builtin_expect(!cpu->run_end, 0))
        return emu_block_ended(cpu, (uint64_t)(in - b->insns), EMU_OK);
    cpu->insn_count += b->n;
    return EMU_OK;
}

/* run_block out of line, for the JIT's lockstep check. */
int emu_run_block(struct emu_cpu *cpu, const struct emu_block *b)
{
    return run_block(cpu, b);
}

/* b through its compiled code when it has some (the JIT, jit/jit.h),
 * compiled once it has run often enough; else run_block. Only when
 * cpu->jit_on: with the JIT off the run loop pays one test per block. */
static __attribute__((noinline)) int exec_block_jit(struct emu_cpu *cpu, struct emu_block *b)
{
#ifdef EMU_JIT_HOST
    if (b->jit)
        return b->jit(cpu, b);
    if (b->jit_hot != 0 && --b->jit_hot == 0) {
        if (emu_jit_compile(cpu->vm, b))
            for (unsigned i = 0; i < (1u << EMU_JCACHE_BITS); i++)
                cpu->jcache[i].code = NULL;
        if (b->jit)
            return b->jit(cpu, b);
    }
#endif
    return emu_run_block(cpu, b);
}

/* After code run without TF: a SYSRET that set TF traps at once (it
 * arms the trap from the new TF); a data breakpoint hit traps. */
static int untraced_done(struct emu_cpu *cpu, int st)
{
    return !st && (cpu->step_trap || cpu->dbg_hit) ? emu_debug_trap(cpu) : st;
}

/* The common path, kept short: run b, then the blocks its links lead to,
 * back to back, while each runs to its end (EMU_OK), nothing is posted to
 * the vCPU and the budget lasts. Between such blocks nothing a block
 * boundary looks at can have changed: whatever sets TF, RF, an instruction
 * breakpoint, the STI/MOV SS shadow, HLT, a pending trap or an exit's
 * replay, or makes an interrupt deliverable, ends its block otherwise
 * (EMU_END_BLOCK, emu_end_block, a fault), as do CPU writes to decoded code;
 * another thread posts to cpu->events. Mode and CPL change only with
 * EMU_END_BLOCK too; the link generation (INVLPG) is in each link's check.
 * Returns the last block's status, or the lookup's. */
static int run_chain(struct emu_cpu *cpu, struct emu_block *b, int limit, int *ran)
{
    int n = 0, st; /* n: blocks run after b */
    cpu->xlog_pos = cpu->held_pos = 0;
    for (;;) {
        uint64_t lin = emu_fetch_lin(cpu);
        if (__builtin_expect(cpu->jit_on, 0)) {
            /* Compiled code may go on into the blocks its links lead to,
             * with the same checks as here (jit_chain.c, jit_shared.c).
             * Its budget is in instructions: each block that runs to its
             * end takes its own from chain_left, which counts them. */
            int32_t left = (limit - n - 1) * EMU_CHAIN_INSNS;
            cpu->chain_left = left;
            cpu->chain_lin = lin; /* where b started: the same-page rule of compiled chaining */
            cpu->chain_block = b;
            st = exec_block_jit(cpu, b);
            cpu->jit_runs++;
            uint32_t ran_insns = (uint32_t)(left - cpu->chain_left);
            cpu->insn_count += ran_insns;
            n += (int)(ran_insns / EMU_CHAIN_INSNS);
            b = cpu->chain_block;
            lin = cpu->chain_lin;
        } else {
            st = run_block(cpu, b);
        }
        if (st != EMU_OK || n + 1 >= limit ||
            atomic_load_explicit(&cpu->events, memory_order_relaxed))
            break;
        struct emu_block *next = emu_block_follow(cpu, b, lin);
        if (!next && (next = emu_jcache_find(cpu, emu_fetch_lin(cpu))) != NULL)
            emu_block_link(cpu, b, next);
        if (!next) {
            int got; /* not st: its address would keep st in memory */
            next = emu_block_get(cpu, &got);
            if (!next) { /* a fault, or code outside RAM: run_next steps it */
                st = got;
                break;
            }
            emu_block_link(cpu, b, next);
        }
        cpu->recent_rip[cpu->recent_pos++ & 63] = cpu->rip;
        n++;
        b = next;
    }
    *ran = n + 1;
    return st;
}

/* The next instruction or blocks. A block never runs with TF or RF set,
 * or over an instruction breakpoint: they only change at instructions that
 * end a block (POPF, IRET, SYSRET, MOV DR, event delivery, a REP string
 * instruction stopped part-way), and a block's instructions all start in
 * its first page (emu_debug_exec_near looks at that page), so checking
 * here is enough (run_chain says why for the blocks it links). */
static int run_next(struct emu_cpu *cpu, int *budget)
{
    if (stepped(cpu)) {
        --*budget;
        return step_traced(cpu);
    }
    if (cpu->held_valid) { /* an exit interrupted it: run it as decoded then */
        --*budget;
        return untraced_done(cpu, step_uncached(cpu));
    }
    int st = EMU_OK;
    struct emu_block *b = emu_block_get(cpu, &st);
    if (st)
        return st;
    if (!b) {
        --*budget;
        return untraced_done(cpu, step_uncached(cpu));
    }
    /* With instruction breakpoints armed, each block is looked at. */
    int ran;
    st = run_chain(cpu, b, cpu->dbg_exec ? 1 : *budget, &ran);
    *budget -= ran;
    return untraced_done(cpu, st == EMU_END_BLOCK ? EMU_OK : st);
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

/* Back to the VMM: queued device writes stop looking for this vCPU. */
static int leave(struct emu_cpu *cpu)
{
    emu_code_leave(cpu->vm);
    return 0;
}

int emu_cpu_run(struct emu_cpu *cpu, struct accel_exit *exit)
{
    complete_exit(cpu, exit);
    cpu->exit = exit;
    memset(exit, 0, sizeof(*exit));
    struct emu_vm *evm = cpu->vm;
    /* From here on queued device writes post EMU_EV_CODE; those queued
     * before are drained at the first lookup. Blocks dropped while this
     * vCPU was out (a step, a reset) make its links stale now. The link
     * context is taken afresh in case CPL or mode were set directly. */
    emu_code_enter(evm, cpu);
    if (cpu->code_gen_seen != evm->code_gen)
        emu_link_new_gen(cpu);
    emu_link_ctx_update(cpu);
    cpu->jit_on = evm->jit != NULL;
    if (cpu->exc_pending && deliver(cpu) == EMU_EXIT)
        return leave(cpu); /* still delivering what the last exit interrupted */
    for (;;) {
        /* EMU_EV_CODE needs nothing more here: the next lookup drains. */
        uint32_t ev = atomic_exchange_explicit(&cpu->events, 0, memory_order_acquire);
        if (ev & EMU_EV_KICK) {
            exit->reason = ACCEL_EXIT_KICKED;
            return leave(cpu);
        }
        emu_blocks_free_dead(evm);
        cpu->run_end = UINTPTR_MAX; /* no block running, none to end */
        int st = boundary(cpu);
        if (st == EMU_EXIT)
            return leave(cpu);
        if (st == EMU_FAULT) {
            if (fault(cpu) == EMU_EXIT)
                return leave(cpu);
            continue;
        }
        if (cpu->halted) {
            halt_exit(cpu, exit);
            return leave(cpu);
        }
        /* Blocks are freed only at the top of this loop: those just run
         * stay valid to take links from until then. A kick (an interrupt
         * raised from another thread, a pause) is seen at the next block
         * boundary. */
        int budget = 1024;
        do {
            cpu->recent_rip[cpu->recent_pos++ & 63] = cpu->rip;
            st = run_next(cpu, &budget);
        } while (!st && cpu->run_end && !cpu->halted && !cpu->shadow && budget > 0 &&
                 !atomic_load_explicit(&cpu->events, memory_order_relaxed));
        if (st == EMU_EXIT) {
            if (exit->reason == ACCEL_EXIT_INTERNAL)
                emu_trace_crash(cpu, exit->internal.why);
            return leave(cpu);
        }
        if (st == EMU_FAULT && fault(cpu) == EMU_EXIT)
            return leave(cpu);
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
    emu_tlb_flush(cpu); /* a link generation of its own (struct emu_link) */
}
