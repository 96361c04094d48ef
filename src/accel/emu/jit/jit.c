/*
 * The JIT's switch, state and compile step (jit.h): HYPERKIT_EMU_JIT read
 * at engine creation, code memory, and the whole reset when it is full.
 */
#include "accel/emu/jit/jit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#ifdef EMU_JIT_HOST
#include "accel/emu/jit/jit_int.h"
#endif

/* One line through the VM's log, or stderr without a VM (tests). */
static void jit_log(const struct emu_vm *evm, enum hk_log_level level, const char *msg,
                    const char *detail)
{
    if (evm->vm)
        vm_log(evm->vm, level, "emu JIT: %s%s", msg, detail);
    else
        fprintf(stderr, "emu JIT: %s%s\n", msg, detail);
}

int emu_jit_vm_init(struct emu_vm *evm)
{
    evm->jit = NULL;
    evm->jit_hot = 0;
    const char *e = getenv("HYPERKIT_EMU_JIT");
    enum emu_jit_mode mode;
    if (!e || !*e)
        mode = EMU_JIT_DEFAULT;
    else if (!strcmp(e, "0"))
        mode = EMU_JIT_OFF;
    else if (!strcmp(e, "1"))
        mode = EMU_JIT_ON;
    else if (!strcmp(e, "lockstep"))
        mode = EMU_JIT_LOCKSTEP;
    else {
        jit_log(evm, HK_LOG_ERROR, "HYPERKIT_EMU_JIT must be 0, 1 or lockstep, not ", e);
        return HK_EINVAL;
    }
    if (mode == EMU_JIT_OFF)
        return HK_OK;
#ifdef EMU_JIT_HOST
    struct emu_jit *jit = calloc(1, sizeof(*jit));
    if (!jit) {
        jit_log(evm, HK_LOG_WARN, "off: ", strerror(ENOMEM));
        return HK_OK;
    }
    if (jit_arena_init(&jit->arena, EMU_JIT_ARENA)) {
        jit_log(evm, HK_LOG_WARN, "off, no code memory: ", strerror(errno));
        free(jit);
        return HK_OK;
    }
    if (!jit_shared_build(jit)) {
        jit_log(evm, HK_LOG_WARN, "off: ", "the shared code does not fit in code memory");
        jit_arena_fini(&jit->arena);
        free(jit);
        return HK_OK;
    }
    jit->mode = mode;
    jit->host_isa = jit_host_isa();
    evm->jit = jit;
    evm->jit_hot = EMU_JIT_HOT;
    /* For testing the JIT: compile after fewer runs (1: at the first). */
    const char *hot = getenv("HYPERKIT_EMU_JIT_HOT");
    if (hot && *hot) {
        char *end;
        unsigned long v = strtoul(hot, &end, 10);
        if (*end || v < 1 || v > 65535) {
            jit_log(evm, HK_LOG_ERROR, "HYPERKIT_EMU_JIT_HOT must be a count from 1 to 65535, not ",
                    hot);
            emu_jit_vm_fini(evm);
            return HK_EINVAL;
        }
        evm->jit_hot = (uint32_t)v;
    }
    /* For profiling compiled code: perf report names each block by its
     * guest-physical address (System.map finds the kernel's). */
    const char *map = getenv("HYPERKIT_EMU_JIT_PERFMAP");
    if (map && *map && strcmp(map, "0") && strcmp(map, "1")) {
        jit_log(evm, HK_LOG_ERROR, "HYPERKIT_EMU_JIT_PERFMAP must be 0 or 1, not ", map);
        emu_jit_vm_fini(evm);
        return HK_EINVAL;
    }
    if (map && !strcmp(map, "1")) {
        char path[64];
        snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
        /* Not through a link someone else put there: /tmp is shared. */
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || !(jit->perf_map = fdopen(fd, "a"))) {
            jit_log(evm, HK_LOG_WARN, "no perf map: ", strerror(errno));
            if (fd >= 0)
                close(fd);
        } else {
            fprintf(jit->perf_map, "%lx %zx hk_shared\n",
                    (unsigned long)(uintptr_t)jit->arena.rx, jit->arena.keep);
        }
    }
#else
    jit_log(evm, HK_LOG_WARN, "off: ", "it needs an x86-64 host");
#endif
    return HK_OK;
}

void emu_jit_vm_fini(struct emu_vm *evm)
{
#ifdef EMU_JIT_HOST
    if (evm->jit) {
        if (evm->jit->perf_map)
            fclose(evm->jit->perf_map);
        jit_arena_fini(&evm->jit->arena);
        free(evm->jit);
    }
#endif
    evm->jit = NULL;
    evm->jit_hot = 0;
}

void emu_jit_set_hot(struct emu_vm *evm, unsigned hot)
{
    if (evm->jit)
        evm->jit_hot = hot ? hot : 1;
}

void emu_jit_set_arena_limit(struct emu_vm *evm, size_t bytes)
{
#ifdef EMU_JIT_HOST
    if (evm->jit)
        evm->jit->arena.limit = bytes < evm->jit->arena.size ? bytes : evm->jit->arena.size;
#else
    (void)evm;
    (void)bytes;
#endif
}

size_t emu_jit_code_used(const struct emu_vm *evm)
{
#ifdef EMU_JIT_HOST
    return evm->jit ? jit_arena_used(&evm->jit->arena) : 0;
#else
    (void)evm;
    return 0;
#endif
}

void emu_jit_stats(const struct emu_vm *evm, uint64_t *compiled, uint64_t *resets)
{
    *compiled = *resets = 0;
#ifdef EMU_JIT_HOST
    if (evm->jit) {
        *compiled = evm->jit->compiled;
        *resets = evm->jit->resets;
    }
#endif
}

#ifdef EMU_JIT_HOST
/* The arena is full: every block loses its compiled code (and counts
 * again towards a new compile), then the arena starts afresh. Compiling
 * happens only between blocks, so no compiled code is running. Blocks on
 * the dead list are never run again, cleared all the same. */
static void forget_code(struct emu_block *b)
{
    b->jit = b->jit_code = NULL;
    b->jit_entry = b->jit_body = b->link[0].code = b->link[1].code = NULL;
}

static void drop_all_code(struct emu_vm *evm)
{
    for (unsigned h = 0; h < (1u << EMU_HASH_BITS); h++)
        for (struct emu_block *b = evm->hash[h]; b; b = b->hash_next) {
            forget_code(b);
            b->jit_hot = evm->jit_hot;
        }
    for (struct emu_block *b = evm->dead; b; b = b->page_next)
        forget_code(b);
    jit_arena_reset(&evm->jit->arena);
    evm->jit->resets++;
}

bool emu_jit_compile(struct emu_vm *evm, struct emu_block *b)
{
    struct emu_jit *jit = evm->jit;
    bool dropped = false;
    if (!jit)
        return false;
    struct jit_ctx c = {
        .j = {jit->buf, jit->buf, jit->buf + sizeof(jit->buf), false,
              jit_arena_next(&jit->arena), 0, &jit->fix},
        .other = {jit->cold_buf, jit->cold_buf, jit->cold_buf + sizeof(jit->cold_buf), false,
                  0, JIT_COLD, &jit->fix},
        .sh = &jit->shared,
        .b = b,
        .long64 = b->mode_key == MODE_LONG64,
        .host_isa = jit->host_isa,
        /* Not in lockstep, where each block is checked as it starts. */
        .chain = b->mode_key == MODE_LONG64 && jit->mode == EMU_JIT_ON,
    };
    void *code;
    size_t n, nc;
    for (;;) { /* built for where it goes: its jumps to the shared code are relative */
        jit_build(&c);
        if (c.j.full)
            return dropped; /* cannot happen at 64 instructions: stays interpreted */
        n = (size_t)(c.j.p - c.j.start);
        nc = (size_t)(c.other.p - c.other.start);
        c.other.base = jit_arena_next_cold(&jit->arena, nc);
        jit_resolve(&c);
        code = jit_arena_publish_split(&jit->arena, c.j.start, n, c.other.start, nc);
        if (code || dropped)
            break;
        drop_all_code(evm);
        dropped = true;
        b->jit_hot = 0; /* this one is compiled now, not again later */
        c.j.base = jit_arena_next(&jit->arena);
    }
    if (!code)
        return dropped;
    b->jit_code = (emu_jit_fn)(uintptr_t)jit->shared.enter;
    b->jit_body = code; /* with chaining: R12 = b first (JIT_SELF_BYTES) */
    if (c.chain)
        b->jit_entry = (uint8_t *)code + JIT_SELF_BYTES;
    if (jit->perf_map) {
        fprintf(jit->perf_map, "%lx %zx hk_gpa_%llx\n", (unsigned long)(uintptr_t)code, n,
                (unsigned long long)b->gpa);
        if (nc)
            fprintf(jit->perf_map, "%lx %zx hk_cold_gpa_%llx\n",
                    (unsigned long)c.other.base, nc, (unsigned long long)b->gpa);
    }
    bool check = jit->mode == EMU_JIT_LOCKSTEP && jit_lockstep_fits(b);
    b->jit = check ? emu_jit_lockstep : b->jit_code;
    jit->compiled++;
    jit->jcc_host_flags += c.jcc_host_flags;
    jit->sunk_loops += c.sink.on;
    return dropped;
}
#else
bool emu_jit_compile(struct emu_vm *evm, struct emu_block *b)
{
    (void)evm;
    (void)b;
    return false;
}

int emu_jit_lockstep(struct emu_cpu *cpu, const struct emu_block *b)
{
    return emu_run_block(cpu, b);
}
#endif
