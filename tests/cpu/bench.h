/*
 * test_cpu_diff --bench: the emulator's speed on two loops, and the host's
 * on the very same machine code. The emulator runs them through
 * emu_cpu_run (decoded-block cache and all) as a 64-bit ring-0 guest that
 * ends with HLT; the host calls them as functions that end with RET.
 * Not part of the test suite: timings vary from machine to machine.
 */
#ifndef HK_TESTS_CPU_BENCH_H
#define HK_TESTS_CPU_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "accel/emu/emu.h"
#include "accel/emu/jit/jit.h"

#define CB_RAM (8ull << 20)
#define CB_CODE 0x100000ull
#define CB_SRC 0x200000ull
#define CB_DST 0x300000ull
#define CB_COPY 0x10000u /* bytes a pass of the copy loop moves */

/* Integer loop, 6 instructions an iteration: ecx = imm32 iterations.
 *   mov ecx, N; xor eax, eax; mov edx, 1
 *   1: add eax, edx; imul edx, edx, 3; xor eax, ecx; shr edx, 1; dec ecx; jnz 1b */
static const uint8_t cb_int_loop[] = {
    0xb9, 0, 0, 0, 0, 0x31, 0xc0, 0xba, 1, 0, 0, 0,
    0x01, 0xd0, 0x6b, 0xd2, 0x03, 0x31, 0xc8, 0xd1, 0xea, 0xff, 0xc9, 0x75, 0xf3,
};

/* Copy loop, 6 instructions a quadword: r8d = imm32 passes of 64 KiB from
 * [rsi] to [rdi].
 *   mov r8d, N
 *   1: mov r9, rsi; mov r10, rdi; mov ecx, 8192
 *   2: mov rax, [r9]; mov [r10], rax; add r9, 8; add r10, 8; dec ecx; jnz 2b
 *   dec r8d; jnz 1b */
static const uint8_t cb_copy_loop[] = {
    0x41, 0xb8, 0, 0, 0, 0,
    0x49, 0x89, 0xf1, 0x49, 0x89, 0xfa, 0xb9, 0x00, 0x20, 0x00, 0x00,
    0x49, 0x8b, 0x01, 0x49, 0x89, 0x02, 0x49, 0x83, 0xc1, 0x08, 0x49, 0x83, 0xc2, 0x08,
    0xff, 0xc9, 0x75, 0xee, 0x41, 0xff, 0xc8, 0x75, 0xde,
};

struct cb_loop {
    const char *name;
    const uint8_t *code;
    size_t len, imm_at;
    uint64_t insns_per_unit; /* per iteration (int) or pass (copy) */
    uint64_t fixed_insns;    /* before the loop, the final HLT/RET excluded */
    uint32_t emu_units, host_units;
};

static double cb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The loop's bytes with its count, then HLT or RET. */
static size_t cb_build(const struct cb_loop *l, uint32_t units, uint8_t end, uint8_t *out)
{
    memcpy(out, l->code, l->len);
    memcpy(out + l->imm_at, &units, 4);
    out[l->len] = end;
    return l->len + 1;
}

struct cb_emu {
    struct guest_mem mem;
    struct emu_vm *evm;
    struct emu_cpu *cpu;
};

/* 64-bit ring 0, the first 8 MiB identity-mapped by 2 MiB pages. */
static int cb_emu_init(struct cb_emu *b)
{
    if (gmem_init(&b->mem, CB_RAM))
        return -1;
    b->evm = calloc(1, sizeof(*b->evm));
    b->cpu = calloc(1, sizeof(*b->cpu));
    if (!b->evm || !b->cpu)
        return -1;
    b->evm->mem = &b->mem;
    b->evm->npages = CB_RAM >> 12;
    b->evm->page_blocks = calloc(b->evm->npages, sizeof(*b->evm->page_blocks));
    if (!b->evm->page_blocks || emu_jit_vm_init(b->evm)) /* HYPERKIT_EMU_JIT */
        return -1;
    uint64_t *pml4 = gmem_ptr_for_write(&b->mem, 0x1000, 4096);
    uint64_t *pdpt = gmem_ptr_for_write(&b->mem, 0x2000, 4096);
    uint64_t *pd = gmem_ptr_for_write(&b->mem, 0x3000, 4096);
    pml4[0] = 0x2000 | 3;
    pdpt[0] = 0x3000 | 3;
    for (uint64_t i = 0; i < CB_RAM >> 21; i++)
        pd[i] = (i << 21) | 0x83; /* P RW PS */
    struct emu_cpu *c = b->cpu;
    c->vm = b->evm;
    emu_cpu_reset(c);
    c->cr0 = 0x80000031;
    c->cr3 = 0x1000;
    c->cr4 = CR4_PAE;
    c->efer = EFER_LME | EFER_LMA;
    c->seg[SEG_CS] = (struct emu_segment){0, 0xffffffff, 0x08, 0xa09b};
    for (int s = 0; s < 6; s++)
        if (s != SEG_CS)
            c->seg[s] = (struct emu_segment){0, 0xffffffff, 0x10, 0xc093};
    emu_update_mode(c);
    emu_tlb_flush(c);
    return 0;
}

static void cb_emu_fini(struct cb_emu *b)
{
    if (b->evm && b->evm->page_blocks) {
        emu_blocks_free_all(b->evm);
        free(b->evm->page_blocks);
    }
    if (b->evm)
        emu_jit_vm_fini(b->evm);
    free(b->evm);
    free(b->cpu);
    gmem_fini(&b->mem);
}

/* Run to the HLT; seconds taken, instructions executed in *insns. */
static double cb_emu_time(struct cb_emu *b, const struct cb_loop *l, uint64_t *insns)
{
    uint8_t code[64];
    size_t n = cb_build(l, l->emu_units, 0xf4, code);
    gmem_write(&b->mem, CB_CODE, code, n);
    emu_code_invalidate(b->evm, CB_CODE, n);
    struct emu_cpu *c = b->cpu;
    memset(c->gpr, 0, sizeof(c->gpr));
    c->gpr[4] = 0x80000;
    c->gpr[6] = CB_SRC;
    c->gpr[7] = CB_DST;
    c->rip = CB_CODE;
    c->halted = false;
    emu_set_rflags(c, 2);
    uint64_t before = c->insn_count;
    struct accel_exit exit;
    memset(&exit, 0, sizeof(exit));
    double t = cb_now();
    do {
        emu_cpu_run(c, &exit);
    } while (exit.reason != ACCEL_EXIT_HLT && exit.reason != ACCEL_EXIT_SHUTDOWN &&
             exit.reason != ACCEL_EXIT_INTERNAL);
    t = cb_now() - t;
    *insns = c->insn_count - before;
    return exit.reason == ACCEL_EXIT_HLT ? t : -1;
}

static double cb_host_time(const struct cb_loop *l, uint8_t *page, void *src, void *dst)
{
    cb_build(l, l->host_units, 0xc3, page);
    void (*fn)(void *, void *) = (void (*)(void *, void *))(void *)page;
    double t = cb_now();
    fn(dst, src); /* SysV: rdi = dst, rsi = src, as the loops expect */
    return cb_now() - t;
}

/* HK_CPU_BENCH="INT COPY": iterations of the integer loop and passes of the
 * copy loop, for emu and host alike; 0 skips a loop. For a profiler, which
 * runs both sides many times slower (bench/emu-cost.sh). */
static int cb_units_from_env(struct cb_loop *loops, unsigned n)
{
    const char *e = getenv("HK_CPU_BENCH");
    if (!e)
        return 0;
    char *end;
    for (unsigned i = 0; i < n; i++) {
        unsigned long v = strtoul(e, &end, 10);
        if (end == e || v > 0x7fffffffu) {
            fprintf(stderr, "bench: HK_CPU_BENCH must be two counts, \"INT COPY\": %s\n",
                    getenv("HK_CPU_BENCH"));
            return -1;
        }
        loops[i].emu_units = loops[i].host_units = (uint32_t)v;
        e = end;
    }
    return 0;
}

static int cd_bench(void)
{
    struct cb_loop loops[] = {
        {"integer loop (add, imul, xor, shr, dec, jnz)", cb_int_loop, sizeof(cb_int_loop), 1, 6,
         3, 10000000, 200000000},
        {"memory copy loop (64-bit load/store, 64 KiB a pass)", cb_copy_loop, sizeof(cb_copy_loop),
         2, 6 * (CB_COPY / 8) + 5, 1, 400, 8000},
    };
    if (cb_units_from_env(loops, sizeof(loops) / sizeof(loops[0])))
        return 2;
    struct cb_emu b;
    memset(&b, 0, sizeof(b));
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *src = calloc(1, CB_COPY), *dst = calloc(1, CB_COPY);
    if (cb_emu_init(&b) || page == MAP_FAILED || !src || !dst) {
        fprintf(stderr, "bench: setup failed\n");
        return 1;
    }
    printf("emu engine speed (emu_cpu_run, one vCPU) against the host running the same code\n");
    for (unsigned i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
        const struct cb_loop *l = &loops[i];
        if (l->emu_units == 0)
            continue;
        uint64_t emu_insns;
        double te = cb_emu_time(&b, l, &emu_insns);
        double th = cb_host_time(l, page, src, dst);
        double host_insns = (double)l->insns_per_unit * l->host_units + (double)l->fixed_insns;
        double emu_rate = (double)emu_insns / te, host_rate = host_insns / th;
        printf("%s:\n  emu  %12.0f instructions/s (%llu in %.3f s)\n"
               "  host %12.0f instructions/s (%.0f in %.3f s)\n  host/emu %.1fx\n",
               l->name, emu_rate, (unsigned long long)emu_insns, te, host_rate, host_insns, th,
               host_rate / emu_rate);
    }
    cb_emu_fini(&b);
    munmap(page, 4096);
    free(src);
    free(dst);
    return 0;
}

#endif
