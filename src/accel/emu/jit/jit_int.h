/* What the JIT's files share inside jit/: its state and the compiler's. */
#ifndef HK_EMU_JIT_INT_H
#define HK_EMU_JIT_INT_H

#include <stddef.h>
#include <stdio.h>

#include "accel/emu/jit/jit.h"
#include "accel/emu/jit/jit_mem.h"
#include "accel/emu/jit/jit_x86.h"

#define JIT_BUF (64u << 10) /* one block's code at most: 64 instructions */

/* Code every block shares, made once at the start of code memory, which
 * a reset keeps (jit_shared.c): a block's own code is only its body and
 * the fast path of its chaining, jumping here for the rest. */
struct jit_shared {
    const uint8_t *enter;       /* run_block's contract: from C into b->jit_body */
    const uint8_t *out;         /* return EMU_OK to run_chain */
    const uint8_t *leave;       /* return EAX to run_chain */
    const uint8_t *stop;        /* EAX: the status of RDX's instruction (emu_block_stop) */
    const uint8_t *ended;       /* ESI: instructions run when run_end was zeroed */
    const uint8_t *chain_any;   /* the next block through either link or the jump cache */
    const uint8_t *chain_other; /* RDX's link (as link[1]) matched RAX in another context */
    const uint8_t *cf_dl;       /* called: DL = the guest's CF (emu_cf), RAX, RCX clobbered */
    const uint8_t *host_flags;  /* called: host CF, ZF, SF, OF the guest's (not PF, AF), RAX-RDX */
    intptr_t rw_delta;          /* code memory's writable view less its executable one */
    const uint8_t *rflags;      /* called: emu_rflags unless lf.op is LF_NONE, RAX clobbered */
};

/* A chaining block's code starts by setting R12 to its own block: a
 * direct jump from a block in its page enters there (jit_compile.c,
 * jit_direct_exit); links and run_chain enter after it (jit_entry). */
#define JIT_SELF_BYTES 10

struct emu_jit {
    struct jit_arena arena;
    struct jit_shared shared;
    enum emu_jit_mode mode;
    unsigned host_isa;    /* JIT_ISA_*: what the host runs, from CPUID at init */
    uint64_t compiled, resets;
    uint64_t jcc_host_flags; /* blocks whose closing Jcc took the flags a
                              * setter left in host RFLAGS (tests' floors) */
    uint64_t sunk_loops;     /* pure loops whose lazy stores sank (jit_sink.c) */
    FILE *perf_map;  /* HYPERKIT_EMU_JIT_PERFMAP: /tmp/perf-PID.map, each block's code */
    uint8_t buf[JIT_BUF]; /* the block being compiled, then its hot and cold sections */
    uint8_t cold_buf[JIT_BUF]; /* its cold section while compiling */
    struct jit_fixups fix;
};

/* Which guest register each host register of the pool holds within a
 * block, and which of them are newer than cpu->gpr (jit_regs.c). */
#define JIT_POOL 6
struct jit_regs {
    int8_t host[16];  /* guest register -> host register, -1: in cpu->gpr only */
    uint16_t dirty;   /* guest registers whose host copy cpu->gpr lacks */
    uint32_t used[16], tick; /* last use, for taking the least recent */
};

/* A pure loop's lazy-state stores sunk to its ways out (jit_sink.c):
 * per field (lf.op with lf.size, cf_in, a, b, res) what its last writer
 * so far left: nothing, a constant, a copy in a spare pool register, or
 * a store of its own (no spare left). */
enum { SINK_OP, SINK_CF_IN, SINK_A, SINK_B, SINK_RES, JIT_SINK_FIELDS };
enum { SINK_NONE, SINK_IMM, SINK_REG, SINK_STORED };
struct jit_sink {
    bool on;                        /* this build sinks them */
    uint8_t state[JIT_SINK_FIELDS]; /* SINK_* */
    int8_t spare[JIT_SINK_FIELDS];  /* the host register holding it, + 1 (0: none) */
    uint32_t imm[JIT_SINK_FIELDS];
    uint16_t free;                  /* pool registers the loop holds no guest one in */
    uint16_t reserved;              /* those taken as spares: the pool leaves them */
};

/* One block's compilation. Host registers inside compiled code:
 * RBX = cpu + JIT_CPU_BIAS, R12 = the block, RBP = its linear start (jit_chain_exit), R13 = guest RSP as the current called
 * instruction started (emu_block_stop restores it), R14 = the budget
 * (cpu->chain_left while in compiled code: the shared code's enter loads
 * it, its leave stores it; each block that runs to its end takes its
 * instructions from it), R15 = the bits of a data-TLB tag
 * for this CPL and RFLAGS.AC (jit_tlb_probe; set once on entry: neither
 * changes in a chain of blocks); RAX, RCX, RDX are scratch between
 * instructions. RSI, RDI, R8-R11 hold guest registers (c->regs). */
struct jit_ctx {
    struct jit_buf j;     /* the section being written */
    struct jit_buf other; /* the other one (jit_cold_begin, jit_cold_end) */
    const struct jit_shared *sh;
    const struct emu_block *b;
    bool long64;          /* 64-bit code: the only mode native forms are made for */
    unsigned host_isa;    /* JIT_ISA_*: the host instructions native forms may use */
    bool chain;           /* ends by going on into the next compiled block */
    int32_t rip_delta;    /* lengths of native instructions not yet added to RIP */
    bool rip_stale;       /* with chaining: cpu->rip may be any value here (a
                           * block gone on into from another does not store
                           * it), so flush_rip writes it from RBP */
    uint32_t insn_off;    /* the instruction's offset in the block */
    int lf_op;            /* LF_* the last native flag-setter left, -1 when unknown */
    unsigned lf_size;
    bool skip_lf;         /* this instruction's lf.op/size/a/b/res stores are dead */
    bool skip_cf_in;      /* and its lf.cf_in store */
    bool want_flags;      /* the block's closing Jcc is next, or after flag-
                           * neutral ones only (jit_flags_neutral): a flag
                           * setter leaves host RFLAGS holding its flags at
                           * any size (jit_alu_core) */
    bool host_flags;      /* host RFLAGS hold the guest's flags of lf_op (all
                           * but CF after INC/DEC): the last host instruction
                           * changing them was that operation at its size */
    bool flags_in_host;   /* so they do as this instruction starts (build:
                           * CMOVcc, SETcc take them from there) */
    struct jit_regs regs;      /* what the pool holds here */
    struct jit_regs slow_regs; /* what it held at this instruction's slow jumps */
    bool slow_marked;          /* slow_regs taken for this instruction */
    bool calls;                /* an executor called (jit_emit_call) so far */
    bool pure_loop;            /* a self loop calling nothing: build's pure tail */
    bool loop_jcc;             /* build: the block loops on its native closing Jcc */
    bool jcc_host_flags;       /* build: that Jcc took them from host RFLAGS */
    bool exits_midway;         /* build: an instruction has a stub (a way out) */
    bool body_reads_lf;        /* build: one but the last reads the lazy state */
    bool pure;                 /* build: made the pure loop */
    struct jit_sink sink;      /* build: the pure loop's lazy stores sunk */
};

/* What a native instruction does to the lazy-flag state in memory
 * (jit_native.c), for jit_build's dead-store pass: reads it (a called
 * instruction reads anything), writes op/size/a/b/res, writes cf_in, and
 * the LF_* it leaves (-1: unknown). */
struct jit_lf_effect {
    bool reads, writes, writes_cf;
    int lf_after;
};
struct jit_lf_effect jit_lf_effect(const struct emu_insn *in, int lf_before);
/* The LF_* an ALU operation op (0-7 but ADC, SBB) leaves. */
int jit_alu_lf(unsigned op);
/* Whether INC/DEC after a state lf_before keep CF as it is (cf_in):
 * after INC, DEC, a shift or IMUL. */
bool jit_incdec_keeps_cf(int lf_before);


/* Compiled code holds cpu + JIT_CPU_BIAS in RBX, not cpu: the guest
 * registers (cpu->gpr), RIP and the lazy-flag state, its most used
 * fields, are then all within a signed byte of it, and every access to
 * them takes a disp8 (3 bytes less than disp32: compiled code is bound
 * by its size, jit_mem.h). jit_cpu_to_rdi: RDI = cpu, for a call. */
#define JIT_CPU_BIAS 0x80
#define JIT_CPU(field) ((int32_t)offsetof(struct emu_cpu, field) - JIT_CPU_BIAS)
static inline void jit_cpu_to_rdi(struct jit_buf *j)
{
    x_lea(j, true, X_RDI, X_RBX, -1, 0, -JIT_CPU_BIAS);
}
#define JIT_GPR(r) (JIT_CPU(gpr) + 8 * (int32_t)(r))
/* Byte register r: AH..BH (REG_HIGH8 on, as the decoder names them
 * without REX) are byte 1 of RAX..RBX. */
#define JIT_GPR8(r) ((r) >= REG_HIGH8 ? JIT_GPR((r) - REG_HIGH8) + 1 : JIT_GPR(r))
/* A field of the lazy-flag state (cpu->lf). */
#define LF(field) (JIT_CPU(lf) + (int32_t)offsetof(struct emu_lazy_flags, field))

/* jit_shared.c: the shared code into code memory, at its start before
 * any block (a reset keeps it); false when it does not fit. */
bool jit_shared_build(struct emu_jit *jit);

/* jit_compile.c: from jit_cold_begin to jit_cold_end, code goes to the
 * cold section (slow paths: run rarely, kept out of the hot code's way). */
void jit_cold_begin(struct jit_ctx *c);
void jit_cold_end(struct jit_ctx *c);

/* Where a way out of a block leaves RIP, from the block's start, when the
 * compiler knows it (else RIP_UNKNOWN: read it from cpu->rip). */
#define RIP_UNKNOWN INT64_MIN

/* With chaining, RBP is the block's linear start, its RIP in 64-bit code
 * (run_chain, jit_chain_exit): RIP at the start plus off is one LEA from
 * it, with no wait on cpu->rip's last store. Then a way out whose RIP is
 * so known leaves it out of cpu->rip on the way into the next block's
 * code, storing it only where compiled code leaves for run_chain or the
 * shared code, which read it (jit_between_blocks' rip_off): the next
 * block starts with cpu->rip stale, and everything in compiled code that
 * reads or moves RIP takes it from RBP (c->rip_stale). */
bool jit_rip_from_rbp(const struct jit_ctx *c, int64_t off);

/* jit_chain.c: a block's ways out into the next block, after its
 * registers are stored, and RIP unless rip_off (off) is known (then it
 * is stored where it leaves compiled code: RBP + rip_off).
 * jit_between_blocks: the block's instructions taken from the budget
 * (cpu->chain_left), then run_chain's checks (budget, events), else out.
 * jit_chain_exit: through link[k]
 * (k < 0: any), RIP at the block's start (RBP) + rip_off unless
 * RIP_UNKNOWN: by a jump patched from the link, guarded by the link's
 * RIP and context (jit_far_exit). jit_same_page_exit: whether RIP there
 * (start + off) is in the block's page; jit_direct_exit: then a jump
 * patched straight into the block there. */
void jit_between_blocks(struct jit_ctx *c, int64_t rip_off);
void jit_chain_exit(struct jit_ctx *c, int k, int64_t rip_off);
bool jit_same_page_exit(const struct jit_ctx *c, int64_t off);
void jit_direct_exit(struct jit_ctx *c, int k, int64_t off);
void jit_far_exit(struct jit_ctx *c, int k, int64_t off);

/* jit_loop.c: self loops (a Jcc or JMP back to the block's first
 * instruction, with chaining). jit_loop_back: a loop that ran to its end
 * and is at its start again goes to body, another RIP to the jump
 * returned (for jit_chain_exit). jit_loop_tail: a native closing Jcc's
 * taken jump, the registers *held stored, to top. A changed link context
 * goes to the shared chain_any. jit_pure_checks, jit_pure_exit: the
 * pure loop's (build in jit_compile.c). */
bool jit_self_loop(const struct jit_ctx *c);
uint32_t jit_loop_back(struct jit_ctx *c, uint32_t body);
void jit_loop_tail(struct jit_ctx *c, const struct jit_regs *held, uint32_t top);
void jit_pure_checks(struct jit_ctx *c, uint32_t out[2]);
void jit_pure_exit(struct jit_ctx *c, const struct jit_regs *held, const uint32_t out[2]);

/* jit_sink.c: a pure loop's lazy-state stores sunk to its ways out.
 * jit_sink_begin: at the top of the body (registers loaded), the spares
 * found, nothing sunk yet (c->sink.on: whether to). jit_sink_reg,
 * jit_sink_imm: lf's field at off gets reg's value or v: true when sunk
 * (a copy emitted or the constant kept), false when the caller must
 * store it. jit_sink_flush: on a way out, the fields sunk stored (RDX
 * clobbered). */
void jit_sink_begin(struct jit_ctx *c);
bool jit_sink_reg(struct jit_ctx *c, int32_t off, unsigned reg);
bool jit_sink_imm(struct jit_ctx *c, int32_t off, uint32_t v);
void jit_sink_flush(struct jit_ctx *c);

/* jit_compile.c: the whole host function for c->b into its hot section
 * c->j and its cold one c->other (full: c->j.full); in called as
 * run_block calls it (the stub jumps patched through *stop, *ended).
 * jit_resolve: the jumps across the sections and from the cold one to
 * absolute addresses (struct jit_fixups) patched, once both sections'
 * bases are where they will run. */
void jit_build(struct jit_ctx *c);
void jit_resolve(struct jit_ctx *c);
void jit_emit_call(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                   uint32_t *ended);
/* jit_native.c: RAX = in's effective address (emu_ea). */
void jit_ea_to_rax(struct jit_ctx *c, const struct emu_insn *in);
/* jit_regs.c. jit_reg: the host register holding guest register g
 * (loaded when it is not held); jit_reg_def: one for g about to be
 * written whole; jit_reg_written: g's host register was written.
 * jit_reg_sync: g's cpu->gpr made current; jit_reg_drop: and no longer
 * held. jit_regs_flush: every dirty one stored (all held still);
 * jit_regs_forget: nothing held (after a call); jit_regs_load: the
 * state *to loaded from cpu->gpr. */
void jit_regs_clear(struct jit_regs *r);
unsigned jit_reg(struct jit_ctx *c, unsigned g);
unsigned jit_reg_def(struct jit_ctx *c, unsigned g);
void jit_reg_written(struct jit_ctx *c, unsigned g);
void jit_reg_sync(struct jit_ctx *c, unsigned g);
void jit_reg_drop(struct jit_ctx *c, unsigned g);
void jit_regs_flush(struct jit_ctx *c);
void jit_regs_forget(struct jit_ctx *c);
void jit_regs_load(struct jit_ctx *c, const struct jit_regs *to);
/* The pool registers (a mask of host registers) that hold no guest one. */
uint16_t jit_regs_unheld(const struct jit_regs *r);
bool jit_regs_same(const struct jit_regs *a, const struct jit_regs *b);
/* Before each jump to an instruction's slow path: the state there taken
 * (every such jump must leave from one state). jit_regs_slow_call: on
 * the slow path, in called from that state, then the fast path's state
 * loaded back, so both paths join holding the same. */
void jit_regs_slow_point(struct jit_ctx *c);
void jit_regs_slow_call(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                        uint32_t *ended);
/* to = guest register g at size, zero-extended (fast_rd, reg_read; g
 * from REG_HIGH8 on: AH..BH); g = RAX at size (fast_wr: a 32-bit write
 * zeroes the upper half, a byte one merges). */
void jit_read_gpr(struct jit_ctx *c, unsigned size, unsigned g, unsigned to);
void jit_write_gpr(struct jit_ctx *c, unsigned size, unsigned g);
/* jit_native_mem.c: MOV between a register and memory (8, 16, 32, 64 bits)
 * and MOVZX/MOVSX/MOVSXD loads in 64-bit code, the TLB probe inline and
 * the handler called on anything else; false (nothing emitted) for other
 * instructions. */
bool jit_mem_form(const struct emu_insn *in);
/* RAX = the linear address of in's memory operand (64-bit code: FS/GS
 * base added, no limit checks). */
void jit_mem_lin(struct jit_ctx *c, const struct emu_insn *in);
/* The data-TLB probe inline for size bytes at the linear address in RAX,
 * as emu_tlb_host does it; tlb: JIT_CPU(tlb_read) or JIT_CPU(tlb_write).
 * Hit: RCX = the host address (RAX kept, RDX clobbered). Miss: jumps whose
 * targets the caller patches, returned in slow[], their count returned. */
#define JIT_PROBE_SLOW 4
unsigned jit_tlb_probe(struct jit_ctx *c, int32_t tlb, unsigned size, uint32_t slow[JIT_PROBE_SLOW]);
/* After a probed fast path: the slow jumps land on a call of in's
 * handler (which takes the full path) in the cold section, which then
 * goes on after the fast path; RIP kept as pending delta both ways; the
 * lazy state is taken as the handler leaving it untouched (callers whose
 * handler changes it reset c->lf_op). */
void jit_mem_slow_call(struct jit_ctx *c, const struct emu_insn *in, const uint32_t *slow,
                       unsigned ns, uint32_t *stop, uint32_t *ended);
bool jit_native_mem(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                    uint32_t *ended);
/* jit_native_stack.c: PUSH and POP reg, CALL rel32, RET (imm16), JMP
 * and CALL through a register or memory in 64-bit code, the slot and
 * the pointer through the inline probe, the handler called on anything
 * else; false (nothing emitted) for other instructions. */
bool jit_stack_form(const struct emu_insn *in);
/* A jump (returned, to be patched) taken unless RAX is canonical (bits
 * 63:47 all equal); RCX clobbered. */
uint32_t jit_jump_noncanonical(struct jit_buf *j);
bool jit_native_stack(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                      uint32_t *ended);
/* jit_native_alu_mem.c: the ALU, CMP, TEST and MOV-immediate forms on
 * memory and the byte MOVs in 64-bit code, as jit_native_mem does MOV;
 * jit_alu_mem_lf_effect: their jit_lf_effect into *e (false: not one). */
bool jit_alu_mem_form(const struct emu_insn *in);
bool jit_alu_mem_lf_effect(const struct emu_insn *in, int lf_before, struct jit_lf_effect *e);
bool jit_native_alu_mem(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                        uint32_t *ended);
/* jit_native_bits.c: SHL/SHR/SAR reg, CL, BSF/BSR reg, reg and BT
 * reg/[mem], imm8 at 32 and 64 bits in 64-bit code (BT on memory: the
 * TLB probe inline, the handler called on anything else, *called kept;
 * the register forms: *called = false, RIP moved by the pending delta);
 * false (nothing emitted) for other instructions. jit_bits_lf_effect:
 * their jit_lf_effect into *e (false: not one). */
bool jit_bits_form(const struct emu_insn *in);
bool jit_bits_lf_effect(const struct emu_insn *in, int lf_before, struct jit_lf_effect *e);
bool jit_native_bits(struct jit_ctx *c, const struct emu_insn *in, bool *called, uint32_t *stop,
                     uint32_t *ended);
/* jit_native_atomic.c: SETcc [mem], XCHG (registers, memory) and
 * CMPXCHG [mem] in 64-bit code, memory through the write TLB's probe
 * inline and the host's own locked XCHG / LOCK CMPXCHG on it, the
 * handler called on anything else (*called: whether code for that was
 * emitted, its stubs through *stop, *ended); false (nothing emitted)
 * for other instructions, and for a SETcc whose condition
 * jit_cond_native does not take (called). jit_atomic_lf_effect: their
 * jit_lf_effect into *e (false: not one). */
bool jit_atomic_form(const struct emu_insn *in);
bool jit_atomic_lf_effect(const struct emu_insn *in, int lf_before, struct jit_lf_effect *e);
bool jit_native_atomic(struct jit_ctx *c, const struct emu_insn *in, bool *called, uint32_t *stop,
                       uint32_t *ended);
/* jit_native.c: whether emu_cond decides condition cc after lazy state
 * lf_op without materialising it, so jit_cond_flags can make host
 * RFLAGS hold it (known); whether a SETcc, CMOVcc or Jcc on cc is made
 * native there (native: known, or any but the parity ones through the
 * shared code's host_flags). */
bool jit_cond_known(int lf_op, unsigned cc);
bool jit_cond_native(int lf_op, unsigned cc);
/* jit_native_sse.c: the SSE2 moves and integer forms, PSHUFB and the
 * SSE4.2 string compares in 64-bit code on host XMM registers, the CR0/CR4 check before the block's first, the
 * alignment check and the TLB probe inline, the handler called on
 * anything else (*called: whether code for that was emitted, its stubs
 * through *stop, *ended; a register form after the check has none);
 * false (nothing emitted) for other instructions. They leave the lazy
 * flags alone, but may call their handler. Each jit_sse_form instruction
 * of a 64-bit block must be compiled by it, in order: the later ones
 * count on the first's check. */
bool jit_sse_form(const struct emu_insn *in);
bool jit_native_sse(struct jit_ctx *c, const struct emu_insn *in, bool *called, uint32_t *stop,
                    uint32_t *ended);
/* The host's SSSE3 and SSE4.2 (CPUID leaf 1 ECX bits 9 and 20): PSHUFB
 * and the string compares are native only when it has them (else their
 * handler is called, as the same instruction on a host without them
 * would die of SIGILL). jit_host_isa: what this host has. */
#define JIT_ISA_SSSE3 1u
#define JIT_ISA_SSE42 2u
unsigned jit_host_isa(void);
/* The LF_* a jit_sse_form instruction leaves after lf_before, on
 * either of its paths: the string compares materialised flags
 * (LF_NONE), the others the state before. */
int jit_sse_lf_after(const struct emu_insn *in, int lf_before);
/* jit_native.c: fast_alu with a in RAX, b in RCX (op 0-7 but ADC, SBB):
 * the lazy state as lazy_set leaves it (dead stores left out), RAX = the
 * result (its low size bytes; untruncated unless c->want_flags), written
 * to gpr[dst] at size unless dst < 0. */
void jit_alu_core(struct jit_ctx *c, unsigned op, unsigned size, int dst);
/* lazy_set(LF_CFOF, size, 0, OF, RAX) and cf_in = DL, as the shift,
 * IMUL and MUL handlers leave them (dead stores left out, sunk ones
 * sunk): the one place that knows that state. OF is in host register
 * of, or JIT_OF_ZERO, or JIT_OF_STORED when the caller put it in lf.b
 * already by jit_cfof_of (the shift by CL, whose count holds CL until
 * after the shift, takes SHR's OF before it). */
#define JIT_OF_ZERO (-1)
#define JIT_OF_STORED (-2)
void jit_cfof(struct jit_ctx *c, unsigned size, int of);
void jit_cfof_of(struct jit_ctx *c, int of);
/* Host RFLAGS made to hold the flags of the lazy state c->lf_op, at its
 * size, from memory (RAX clobbered): as c->host_flags says they are. */
void jit_cond_flags(struct jit_ctx *c);
/* Host RFLAGS' arithmetic flags = EAX's (an RFLAGS image), by POPFQ of
 * those alone: DF, TF and AC stay clear as the host's code needs them,
 * and IF stays as it is at CPL 3. */
void jit_popf_arith(struct jit_buf *j);
/* DL = CF of the lazy state now (fast_cf): only RAX and RDX touched when
 * c->lf_op is LF_ADD, LF_SUB or LF_LOGIC, RCX too for LF_ADC, LF_SBB and
 * the shared code's cf_dl, called for anything else. */
void jit_cf_to_dl(struct jit_ctx *c);
/* fast_incdec's lazy state with a in RAX and CF in DL (unless keep_cf:
 * the state before is INC, DEC or CFOF): RAX = the result at size. */
void jit_incdec_core(struct jit_ctx *c, bool dec, unsigned size, bool keep_cf);
/* jit_native.c: in as host instructions when it is one of the native
 * forms (true), else nothing emitted; jit_native_form: whether it is. */
bool jit_native(struct jit_ctx *c, const struct emu_insn *in);
bool jit_native_form(const struct emu_insn *in);
/* Whether in (64-bit code) is compiled to MOVs, LEA, MOVZX/MOVSX,
 * BSWAP, NOT or nothing, on registers held or cpu->gpr (jit_reg's loads
 * and spills are MOVs): code that leaves host RFLAGS and the lazy state
 * alone, so flags a setter left in host RFLAGS live on across it to the
 * block's closing Jcc (jit_build: c->want_flags, c->host_flags). Adding
 * a form here takes knowing every host instruction it may emit. */
bool jit_flags_neutral(const struct emu_insn *in);
/* Whether in (64-bit code) is a CMOVcc or SETcc on registers: it takes
 * the flags a setter right before leaves in host RFLAGS (c->want_flags
 * for that setter). */
bool jit_takes_host_flags(const struct emu_insn *in);
/* When in is a Jcc (64-bit, specialised) whose condition the block's
 * own native code determines (c->lf_op): host RFLAGS made to hold the
 * guest's flags for it, and true; else nothing emitted. */
bool jit_jcc_flags(struct jit_ctx *c, const struct emu_insn *in, bool host_flags);
/* jit_lockstep.c: whether b can run twice (registers, flags, RIP only). */
bool jit_lockstep_fits(const struct emu_block *b);

#endif
