/*
 * Code invalidations queued by other threads for the vCPU thread that owns
 * the decoded-block cache (see emu.h). A device thread must not touch the
 * block hash or page lists while the vCPU looks blocks up, and the vCPU
 * must not pay for a lock at every block: writers queue page ranges under
 * a small mutex, set an atomic flag that the vCPU reads before each
 * lookup, and post EMU_EV_CODE to the running vCPU, which stops following
 * block links until it drained the queue. A full queue turns into one flush of everything decoded.
 *
 * Most device writes land in pages that hold no code (disk reads into the
 * page cache): those are filtered out before the queue by the per-page
 * code marks, or every large read would overflow the queue and flush all
 * decoded code. The marks work as a Dekker pair: the vCPU sets a page's
 * mark before it reads bytes there to decode (emu_code_mark), a writer
 * looks at the mark after its bytes are in place, both with sequentially
 * consistent ordering; so either the writer sees the mark and queues the
 * page, or the vCPU's decoding reads the new bytes.
 */
#include "accel/emu/emu.h"

void emu_code_queue_init(struct emu_vm *evm)
{
    pthread_mutex_init(&evm->inval.lock, NULL);
    atomic_init(&evm->inval.pending, false);
    evm->inval.n = 0;
    evm->inval.overflow = false;
    evm->inval.running = NULL;
}

void emu_code_queue_fini(struct emu_vm *evm)
{
    pthread_mutex_destroy(&evm->inval.lock);
}

/* Widen an entry that touches [first, last] instead of adding one: device
 * writes tend to run through consecutive pages. */
static bool merge(struct emu_inval_queue *q, uint64_t first, uint64_t last)
{
    for (int i = q->n - 1; i >= 0 && i >= q->n - 4; i--) {
        if (first > q->pages[i].last + 1 || last + 1 < q->pages[i].first)
            continue;
        if (first < q->pages[i].first)
            q->pages[i].first = first;
        if (last > q->pages[i].last)
            q->pages[i].last = last;
        return true;
    }
    return false;
}

static void queue_pages(struct emu_vm *evm, uint64_t first, uint64_t last);

void emu_code_mark(struct emu_vm *evm, uint64_t page)
{
    if (evm->code_mark && page < evm->npages &&
        !atomic_load_explicit(&evm->code_mark[page], memory_order_relaxed))
        atomic_store_explicit(&evm->code_mark[page], 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst); /* the mark before the bytes read */
}

void emu_code_notify(struct emu_vm *evm, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        return;
    uint64_t first = gpa >> 12;
    uint64_t last = (gpa + len - 1 < gpa ? UINT64_MAX : gpa + len - 1) >> 12;
    if (!evm->code_mark || first >= evm->npages) {
        queue_pages(evm, first, last);
        return;
    }
    atomic_thread_fence(memory_order_seq_cst); /* the bytes written before the marks read */
    if (last >= evm->npages)
        last = evm->npages - 1;
    /* Queue each run of marked pages. */
    for (uint64_t p = first; p <= last; p++) {
        if (!atomic_load_explicit(&evm->code_mark[p], memory_order_seq_cst))
            continue;
        uint64_t run = p;
        while (run < last && atomic_load_explicit(&evm->code_mark[run + 1], memory_order_seq_cst))
            run++;
        queue_pages(evm, p, run);
        p = run;
    }
}

static void queue_pages(struct emu_vm *evm, uint64_t first, uint64_t last)
{
    struct emu_inval_queue *q = &evm->inval;
    pthread_mutex_lock(&q->lock);
    if (!q->overflow && !merge(q, first, last)) {
        if (q->n < EMU_INVAL_QUEUE)
            q->pages[q->n++] = (struct emu_page_range){first, last};
        else
            q->overflow = true;
    }
    /* Release: a vCPU that sees the flag sees the bytes written before
     * this call (the mutex orders it against the drain). */
    atomic_store_explicit(&q->pending, true, memory_order_release);
    /* The running vCPU looks at this word after each block; it reads the
     * queue (under this lock) before it follows another link. */
    if (q->running)
        atomic_fetch_or_explicit(&q->running->events, EMU_EV_CODE, memory_order_release);
    pthread_mutex_unlock(&q->lock);
}

void emu_code_enter(struct emu_vm *evm, struct emu_cpu *cpu)
{
    pthread_mutex_lock(&evm->inval.lock);
    evm->inval.running = cpu;
    pthread_mutex_unlock(&evm->inval.lock);
}

void emu_code_leave(struct emu_vm *evm)
{
    pthread_mutex_lock(&evm->inval.lock);
    evm->inval.running = NULL;
    pthread_mutex_unlock(&evm->inval.lock);
}

void emu_code_drain(struct emu_vm *evm)
{
    struct emu_inval_queue *q = &evm->inval;
    struct emu_page_range pages[EMU_INVAL_QUEUE];
    pthread_mutex_lock(&q->lock);
    int n = q->n;
    bool all = q->overflow;
    for (int i = 0; i < n; i++)
        pages[i] = q->pages[i];
    q->n = 0;
    q->overflow = false;
    atomic_store_explicit(&q->pending, false, memory_order_relaxed);
    pthread_mutex_unlock(&q->lock);
    if (evm->npages == 0)
        return;
    if (all) {
        emu_code_invalidate(evm, 0, evm->npages << 12);
        return;
    }
    for (int i = 0; i < n; i++) {
        uint64_t last = pages[i].last < evm->npages ? pages[i].last : evm->npages - 1;
        if (pages[i].first <= last)
            emu_code_invalidate(evm, pages[i].first << 12, (last - pages[i].first + 1) << 12);
    }
}
