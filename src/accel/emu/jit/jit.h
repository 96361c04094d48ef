/*
 * The x86-64 JIT (issue 12, stage 2). A decoded block that has run
 * EMU_JIT_HOT times is compiled into a host function with exactly
 * run_block's contract (run.c): same status, same insn_count, RSP restored
 * and the instruction held through emu_block_stop, emu_block_ended when
 * cpu->run_end was zeroed. The compiled code belongs to its block: it is
 * reached only through b->jit, which is cleared when the code is dropped,
 * and the block's own instructions are what it calls. The interpreter
 * stays the reference and the portable path (x86-64 hosts only).
 */
#ifndef HK_EMU_JIT_H
#define HK_EMU_JIT_H

#include "accel/emu/emu.h"

#if defined(__x86_64__)
#define EMU_JIT_HOST 1
#endif

/* HYPERKIT_EMU_JIT: 1 (the default, on x86-64 hosts) on, 0 off (the
 * interpreter alone), lockstep: on, each compiled block that touches only
 * registers, flags and RIP checked against the interpreter each time it
 * runs (jit_lockstep.c). HYPERKIT_EMU_JIT_HOT=N, for testing: compile
 * after N runs, not EMU_JIT_HOT. */
enum emu_jit_mode { EMU_JIT_OFF, EMU_JIT_ON, EMU_JIT_LOCKSTEP };
#ifdef EMU_JIT_HOST
#define EMU_JIT_DEFAULT EMU_JIT_ON
#else
#define EMU_JIT_DEFAULT EMU_JIT_OFF
#endif
#define EMU_JIT_HOT 32
#define EMU_JIT_ARENA (32u << 20)

/* Read HYPERKIT_EMU_JIT once, at engine creation: HK_OK, or HK_EINVAL
 * (after one line naming the bad value). Code memory that cannot be had
 * leaves the JIT off, with one log line. */
int emu_jit_vm_init(struct emu_vm *evm);
void emu_jit_vm_fini(struct emu_vm *evm);
/* Runs before a block reaches the threshold (tests use 1). */
void emu_jit_set_hot(struct emu_vm *evm, unsigned hot);
/* Tests: fill at most bytes of code memory (to see it reset), and the
 * blocks compiled and resets so far. */
void emu_jit_set_arena_limit(struct emu_vm *evm, size_t bytes);
size_t emu_jit_code_used(const struct emu_vm *evm);
void emu_jit_stats(const struct emu_vm *evm, uint64_t *compiled, uint64_t *resets);
/* b reached the threshold: compile it (b->jit stays NULL when it cannot).
 * True when code memory was full and every block's compiled code went
 * (links' and jump caches' code pointers with it: the caller clears its
 * vCPU's jump cache's). */
bool emu_jit_compile(struct emu_vm *evm, struct emu_block *b);
/* Lockstep: run b's compiled code, checked against the interpreter. */
int emu_jit_lockstep(struct emu_cpu *cpu, const struct emu_block *b);

#endif
