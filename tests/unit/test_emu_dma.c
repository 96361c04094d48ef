/*
 * Device writes to guest memory (DMA) from another thread while the vCPU
 * runs: the vCPU must drop code decoded from the written page once the
 * writer has finished (emu's code_queue.c). The guest calls a function in
 * a page another thread keeps rewriting (round k: "mov $k, %eax; ret"),
 * and after the writer publishes k in a flag it polls, the call must
 * return at least k: stale decoded code would return less.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "emu_fixture.h"
#include "test.h"

#define ROUNDS 300
#define FLAG 0x8000ull       /* the round the writer published */
#define PROGRESS 0x8008ull   /* what the last call returned */
#define BAD 0x8010ull        /* (flag, value) of a stale call */
#define TARGET 0x20000ull
#define DATA 0x40000ull      /* pages the writer fills to overflow the queue */

__asm__(".pushsection .rodata\n"
        ".globl dma_guest, dma_guest_end\n"
        ".code64\n"
        "dma_guest:\n"
        "1:\n"
        "  mov 0x8000, %ebx\n"
        "  mov $0x20000, %ecx\n"
        "  call *%rcx\n"
        "  cmp %ebx, %eax\n"
        "  jb 2f\n"
        "  mov %eax, 0x8008\n"
        "  cmp $300, %eax\n"
        "  jne 1b\n"
        "  hlt\n"
        "2:\n"
        "  mov %ebx, 0x8010\n"
        "  mov %eax, 0x8014\n"
        "  hlt\n"
        "dma_guest_end:\n"
        ".popsection\n");

extern const uint8_t dma_guest[], dma_guest_end[];

#define RAM (1u << 20)
#define LOAD 0x10000ull
#define STACK 0x7000ull

static struct emu_fixture fx;
static struct emu_cpu cpu;
static atomic_bool vcpu_done;

static void notify(void *opaque, uint64_t gpa, uint64_t len)
{
    emu_code_notify(opaque, gpa, len);
}

static void put_target(uint32_t k)
{
    uint8_t code[6] = {0xb8, (uint8_t)k, (uint8_t)(k >> 8), (uint8_t)(k >> 16),
                       (uint8_t)(k >> 24), 0xc3};
    gmem_write(&fx.mem, TARGET, code, sizeof(code));
}

static uint32_t progress(void)
{
    return __atomic_load_n((uint32_t *)(fx.ram + PROGRESS), __ATOMIC_ACQUIRE);
}

/* The device: new code, then the flag; every 8th round it first writes
 * more separate pages than the queue holds, so the vCPU flushes all. */
static void *writer(void *arg)
{
    for (uint32_t k = 1; k <= ROUNDS && !atomic_load(&vcpu_done); k++) {
        if (k % 8 == 0)
            for (int i = 0; i < EMU_INVAL_QUEUE + 4; i++)
                gmem_write(&fx.mem, DATA + 0x2000ull * (unsigned)i, &k, 4);
        put_target(k);
        gmem_write(&fx.mem, FLAG, &k, 4);
        while (progress() < k && !atomic_load(&vcpu_done))
            sched_yield();
    }
    return NULL;
}

static void test_concurrent_writer(void)
{
    put_target(0);
    emu_fixture_load(&fx, LOAD, dma_guest, dma_guest_end);
    emu_fixture_long64(&cpu, fx.ram, LOAD, STACK);
    emu_update_mode(&cpu);
    fx.mem.write_notify = notify;
    fx.mem.notify_opaque = &fx.evm;
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    struct accel_exit exit = {0};
    /* One run goes until HLT: the guest ends after round ROUNDS, or at
     * the first stale call. */
    emu_fixture_run_to_hlt(&cpu, &exit, 1);
    atomic_store(&vcpu_done, true);
    pthread_join(t, NULL);
    uint32_t bad[2];
    memcpy(bad, fx.ram + BAD, sizeof(bad));
    CHECK_EQ(exit.reason, ACCEL_EXIT_HLT, "emu dma: the guest halted");
    CHECK(bad[0] == 0 && bad[1] == 0, "emu dma: no call ran code older than the flag");
    if (bad[0])
        printf("  stale: flag %u, call returned %u\n", bad[0], bad[1]);
    CHECK_EQ(progress(), ROUNDS, "emu dma: the guest saw every round's new code");
}

/* The queue itself, on one thread: queued ranges wait for the drain;
 * neighbours merge; too many separate ones flush everything. */
static void test_queue(void)
{
    struct emu_vm *evm = &fx.evm;
    CHECK(emu_is_code_page(evm, TARGET) && emu_is_code_page(evm, LOAD),
          "emu dma: the guest's pages hold decoded code");
    emu_code_notify(evm, TARGET + 0xfff, 1);
    CHECK(emu_is_code_page(evm, TARGET) && atomic_load(&evm->inval.pending),
          "emu dma: a notification waits for the vCPU");
    emu_code_drain(evm);
    CHECK(!emu_is_code_page(evm, TARGET) && emu_is_code_page(evm, LOAD) &&
              !atomic_load(&evm->inval.pending),
          "emu dma: the drain drops that page only");
    emu_code_notify(evm, DATA, 3 * 4096);
    CHECK(evm->inval.n == 0 && !atomic_load(&evm->inval.pending),
          "emu dma: writes to pages never decoded from queue nothing");
    for (uint64_t p = (DATA >> 12) - 1; p <= (DATA >> 12) + 2; p++)
        emu_code_mark(evm, p); /* as if the vCPU had decoded there */
    emu_code_notify(evm, DATA, 4096);
    emu_code_notify(evm, DATA + 4096, 8192);
    emu_code_notify(evm, DATA - 1, 1);
    CHECK(evm->inval.n == 1 && evm->inval.pages[0].first == (DATA >> 12) - 1 &&
              evm->inval.pages[0].last == (DATA >> 12) + 2,
          "emu dma: touching ranges merge into one");
    for (int i = 0; i < EMU_INVAL_QUEUE; i++) {
        emu_code_mark(evm, (0x80000 >> 12) + 2 * (unsigned)i);
        emu_code_notify(evm, 0x80000 + 0x2000ull * (unsigned)i, 1);
    }
    CHECK(evm->inval.overflow, "emu dma: a full queue overflows");
    CHECK(emu_is_code_page(evm, LOAD), "emu dma: nothing dropped before the drain");
    emu_code_drain(evm);
    CHECK(!emu_is_code_page(evm, LOAD) && evm->inval.n == 0 && !evm->inval.overflow,
          "emu dma: overflow flushes all decoded code");
    CHECK(!atomic_load(&evm->code_mark[LOAD >> 12]) && !atomic_load(&evm->code_mark[0x80000 >> 12]),
          "emu dma: dropping a page's code clears its mark");
    emu_code_notify(evm, (uint64_t)RAM - 8, 64);
    emu_code_notify(evm, ~0ull - 2, 16);
    emu_code_drain(evm);
    CHECK(!atomic_load(&evm->inval.pending), "emu dma: ranges past RAM drain harmlessly");
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu dma"))
        return 1;
    test_concurrent_writer();
    test_queue();
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
