/* The emu engine behind the accelerator seam (accel.h). */
#include "accel/emu/emu.h"
#include "accel/emu/jit/jit.h"

#include <stdlib.h>
#include <string.h>

#include "core/vm.h"

struct accel_vm {
    struct emu_vm evm;
};

struct accel_vcpu {
    struct emu_cpu cpu;
};

static int emu_probe(void)
{
    return 0; /* runs anywhere */
}

/* Device or loader wrote guest memory, from any thread: the vCPU drops
 * code decoded from it before its next block lookup. */
static void emu_write_notify(void *opaque, uint64_t gpa, uint64_t len)
{
    emu_code_notify(opaque, gpa, len);
}

static int emu_vm_create(struct vm *vm, struct accel_vm **out)
{
    struct accel_vm *avm = calloc(1, sizeof(*avm));
    if (!avm)
        return HK_ENOMEM;
    avm->evm.vm = vm;
    avm->evm.mem = &vm->mem;
    if (vm->cfg.trace_path && !(avm->evm.trace = fopen(vm->cfg.trace_path, "w"))) {
        free(avm);
        return HK_EIO;
    }
    int err = emu_jit_vm_init(&avm->evm);
    if (err) {
        if (avm->evm.trace)
            fclose(avm->evm.trace);
        free(avm);
        return err;
    }
    emu_code_queue_init(&avm->evm);
    *out = avm;
    return HK_OK;
}

static void emu_vm_destroy(struct accel_vm *avm)
{
    struct guest_mem *mem = &avm->evm.vm->mem;
    if (mem->notify_opaque == &avm->evm)
        mem->write_notify = NULL;
    emu_blocks_free_all(&avm->evm);
    emu_jit_vm_fini(&avm->evm);
    emu_code_queue_fini(&avm->evm);
    free(avm->evm.page_blocks);
    free((void *)avm->evm.code_mark);
    if (avm->evm.trace)
        fclose(avm->evm.trace);
    free(avm);
}

static int emu_map_memory(struct accel_vm *avm, uint64_t gpa, void *hva, uint64_t size)
{
    struct emu_vm *evm = &avm->evm;
    /* RAM itself is reached through guest_mem; size the per-page code
     * index to cover the highest mapped page. */
    uint64_t pages = (gpa + size + 4095) >> 12;
    if (pages > evm->npages) {
        struct emu_block **p = calloc(pages, sizeof(*p));
        if (!p)
            return HK_ENOMEM;
        _Atomic uint8_t *m = calloc(pages, sizeof(*m));
        if (!m) {
            free(p);
            return HK_ENOMEM;
        }
        if (evm->page_blocks)
            memcpy(p, evm->page_blocks, evm->npages * sizeof(*p));
        if (evm->code_mark)
            memcpy((void *)m, (void *)evm->code_mark, evm->npages * sizeof(*m));
        free(evm->page_blocks);
        free((void *)evm->code_mark);
        evm->page_blocks = p;
        evm->code_mark = m;
        evm->npages = pages;
    }
    struct guest_mem *mem = &evm->vm->mem;
    mem->write_notify = emu_write_notify;
    mem->notify_opaque = evm;
    return HK_OK;
}

static int emu_vcpu_create(struct accel_vm *avm, int id, struct accel_vcpu **out)
{
    struct accel_vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return HK_ENOMEM;
    v->cpu.vm = &avm->evm;
    emu_cpu_reset(&v->cpu);
    *out = v;
    return HK_OK;
}

static void emu_vcpu_destroy(struct accel_vcpu *v)
{
    free(v);
}

static int emu_vcpu_run(struct accel_vcpu *v, struct accel_exit *exit)
{
    return emu_cpu_run(&v->cpu, exit);
}

static void emu_vcpu_kick(struct accel_vcpu *v)
{
    atomic_fetch_or_explicit(&v->cpu.events, EMU_EV_KICK, memory_order_release);
}

static int emu_get_regs(struct accel_vcpu *v, struct accel_regs *r)
{
    memcpy(r->gpr, v->cpu.gpr, sizeof(r->gpr));
    r->rip = v->cpu.rip;
    r->rflags = emu_rflags(&v->cpu);
    return HK_OK;
}

static int emu_set_regs(struct accel_vcpu *v, const struct accel_regs *r)
{
    memcpy(v->cpu.gpr, r->gpr, sizeof(r->gpr));
    v->cpu.rip = r->rip;
    emu_set_rflags(&v->cpu, r->rflags);
    return HK_OK;
}

static struct accel_segment seg_out(const struct emu_segment *s)
{
    return (struct accel_segment){s->base, s->limit, s->selector, s->attr};
}

static struct emu_segment seg_in(const struct accel_segment *s)
{
    return (struct emu_segment){s->base, s->limit, s->selector, s->attr};
}

static int emu_get_sregs(struct accel_vcpu *v, struct accel_sregs *s)
{
    const struct emu_cpu *c = &v->cpu;
    s->es = seg_out(&c->seg[SEG_ES]);
    s->cs = seg_out(&c->seg[SEG_CS]);
    s->ss = seg_out(&c->seg[SEG_SS]);
    s->ds = seg_out(&c->seg[SEG_DS]);
    s->fs = seg_out(&c->seg[SEG_FS]);
    s->gs = seg_out(&c->seg[SEG_GS]);
    s->ldt = seg_out(&c->ldtr);
    s->tr = seg_out(&c->tr);
    s->gdt = c->gdtr;
    s->idt = c->idtr;
    s->cr0 = c->cr0;
    s->cr2 = c->cr2;
    s->cr3 = c->cr3;
    s->cr4 = c->cr4;
    s->cr8 = emu_cr8_read(c);
    s->efer = c->efer;
    return HK_OK;
}

static int emu_set_sregs(struct accel_vcpu *v, const struct accel_sregs *s)
{
    struct emu_cpu *c = &v->cpu;
    c->seg[SEG_ES] = seg_in(&s->es);
    c->seg[SEG_CS] = seg_in(&s->cs);
    c->seg[SEG_SS] = seg_in(&s->ss);
    c->seg[SEG_DS] = seg_in(&s->ds);
    c->seg[SEG_FS] = seg_in(&s->fs);
    c->seg[SEG_GS] = seg_in(&s->gs);
    c->ldtr = seg_in(&s->ldt);
    c->tr = seg_in(&s->tr);
    c->gdtr = s->gdt;
    c->idtr = s->idt;
    c->cr0 = s->cr0;
    c->cr2 = s->cr2;
    c->cr3 = s->cr3;
    c->cr4 = s->cr4;
    /* CR8 is TPR[7:4] only: writing it back unchanged would zero
     * TPR[3:0] (SDM Vol. 3A 10.8.6.1), so a get/set round trip must not. */
    if (s->cr8 != emu_cr8_read(c))
        emu_cr8_write(c, s->cr8);
    c->efer = s->efer;
    emu_update_mode(c);
    emu_tlb_flush(c);
    emu_pdptes_load(c); /* a VMM's state is taken as is: a bad one faults in use */
    return HK_OK;
}

static int emu_get_msr(struct accel_vcpu *v, uint32_t index, uint64_t *value)
{
    return emu_msr_read(&v->cpu, index, value) ? HK_EINVAL : HK_OK;
}

static int emu_set_msr(struct accel_vcpu *v, uint32_t index, uint64_t value)
{
    return emu_msr_write(&v->cpu, index, value) ? HK_EINVAL : HK_OK;
}

static int emu_attach_irq(struct accel_vcpu *v, const struct accel_irq_ops *ops, void *opaque)
{
    v->cpu.irq = ops;
    v->cpu.irq_opaque = opaque;
    return HK_OK;
}

const struct accel_ops accel_emu_ops = {
    .name = "emu",
    .probe = emu_probe,
    .vm_create = emu_vm_create,
    .vm_destroy = emu_vm_destroy,
    .map_memory = emu_map_memory,
    .vcpu_create = emu_vcpu_create,
    .vcpu_destroy = emu_vcpu_destroy,
    .vcpu_run = emu_vcpu_run,
    .vcpu_kick = emu_vcpu_kick,
    .get_regs = emu_get_regs,
    .set_regs = emu_set_regs,
    .get_sregs = emu_get_sregs,
    .set_sregs = emu_set_sregs,
    .get_msr = emu_get_msr,
    .set_msr = emu_set_msr,
    .attach_irq = emu_attach_irq,
};
