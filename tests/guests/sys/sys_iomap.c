/*
 * The TSS I/O permission bit map (SDM Vol. 1 19.5.1-19.5.2, Vol. 3A 8.7
 * "I/O map base address"): IN/OUT/INS/OUTS at CPL > IOPL may use exactly
 * the ports whose bits are all clear; the map base is the 16-bit word at
 * TSS offset 102, the CPU reads two bytes of the map for every access and
 * bytes beyond the TSS limit count as set; anything else is #GP(0) with
 * RIP at the I/O instruction. With CPL <= IOPL the map is not consulted.
 */
#include "rt.h"

#define IOPL3 0x3000ull

/* User code, port in RDI (the argument); each I/O instruction labelled. */
__asm__(".text\n"
        "u_outb: mov %rdi, %rdx\n u_outb_i: outb %al, %dx\n ret\n"
        "u_outw: mov %rdi, %rdx\n u_outw_i: outw %ax, %dx\n ret\n"
        "u_outl: mov %rdi, %rdx\n u_outl_i: outl %eax, %dx\n ret\n"
        "u_inb: mov %rdi, %rdx\n u_inb_i: inb %dx, %al\n ret\n"
        "u_inw: mov %rdi, %rdx\n u_inw_i: inw %dx, %ax\n ret\n"
        "u_inl: mov %rdi, %rdx\n u_inl_i: inl %dx, %eax\n ret\n"
        "u_outb80: u_outb80_i: outb %al, $0x80\n ret\n"
        "u_outsw: mov %rdi, %rdx\n lea -16(%rsp), %rsi\n mov $2, %ecx\n"
        "  u_outsw_i: rep outsw\n ret\n"
        "u_insb: mov %rdi, %rdx\n lea -16(%rsp), %rdi\n mov $3, %ecx\n"
        "  u_insb_i: rep insb\n ret\n"
        ".code32\n"
        "u32_outb: mov 4(%esp), %edx\n u32_outb_i: outb %al, %dx\n ret\n"
        ".code64\n");
extern char u_outb[], u_outb_i[], u_outw[], u_outw_i[], u_outl[], u_outl_i[];
extern char u_inb[], u_inb_i[], u_inw[], u_inw_i[], u_inl[], u_inl_i[];
extern char u_outb80[], u_outb80_i[], u_outsw[], u_outsw_i[], u_insb[], u_insb_i[];
extern char u32_outb[], u32_outb_i[];

struct io_fn {
    const char *name;
    char *fn, *insn;
};
static const struct io_fn OUTB = {"outb", u_outb, u_outb_i}, OUTW = {"outw", u_outw, u_outw_i},
                          OUTL = {"outl", u_outl, u_outl_i}, INB = {"inb", u_inb, u_inb_i},
                          INW = {"inw", u_inw, u_inw_i}, INL = {"inl", u_inl, u_inl_i},
                          OUTB80 = {"outb imm8", u_outb80, u_outb80_i},
                          OUTSW = {"rep outsw", u_outsw, u_outsw_i},
                          INSB = {"rep insb", u_insb, u_insb_i},
                          OUTB32 = {"outb (32-bit code)", u32_outb, u32_outb_i};

/* Run f at CPL 3 on port; it must complete (ok) or raise #GP(0) at its
 * I/O instruction. */
static void expect(const struct io_fn *f, uint16_t port, uint64_t rflags, bool ok,
                   const char *what)
{
    uint16_t cs = f == &OUTB32 ? SEL_UCODE32 : SEL_UCODE;
    int v = rt_run_user((void (*)(void *))f->fn, (void *)(uint64_t)port, cs, rflags);
    if (ok) {
        CHECK_EQ(v, -1, "iomap: %s: %s port %x runs", what, f->name, port);
        return;
    }
    CHECK_EQ(v, 13, "iomap: %s: %s port %x raises #GP", what, f->name, port);
    if (v == 13) {
        CHECK_EQ(rt_last.error, 0, "iomap: %s: %s #GP error code 0", what, f->name);
        CHECK_EQ(rt_last.rip, (uint64_t)f->insn, "iomap: %s: %s #GP at the I/O instruction",
                 what, f->name);
    }
}

static void allow(uint16_t port, unsigned n, bool yes)
{
    uint8_t *map = rt_tss_iomap();
    for (unsigned p = port; p < port + n; p++) {
        if (yes)
            map[p / 8] &= (uint8_t)~(1u << (p % 8));
        else
            map[p / 8] |= (uint8_t)(1u << (p % 8));
    }
}

/* The TSS limit (bytes from its base), reloading TR. */
static void set_tss_limit(uint32_t limit)
{
    uint64_t *d = &rt_gdt[SEL_TSS / 8];
    *d = (*d & ~0x000f00000000ffffull) | (limit & 0xffff) | (uint64_t)(limit >> 16 & 0xf) << 48;
    rt_load_tr();
}

static void set_map_base(uint16_t base)
{
    memcpy((uint8_t *)rt_tss_base() + 102, &base, 2);
}

static void no_map(void)
{
    rt_tss_set_iomap(false);
    expect(&OUTB, 0x80, 0, false, "no map");
    expect(&INB, 0x80, 0, false, "no map");
    expect(&OUTB, 0x80, IOPL3, true, "IOPL 3, no map");
    expect(&INL, 0x80, IOPL3, true, "IOPL 3, no map");
    expect(&INSB, 0x80, IOPL3, true, "IOPL 3, no map");
}

static void widths(void)
{
    rt_tss_set_iomap(true);
    expect(&OUTB, 0x80, 0, false, "all bits set");
    allow(0x80, 1, true);
    expect(&OUTB, 0x80, 0, true, "bit 0x80 clear");
    expect(&INB, 0x80, 0, true, "bit 0x80 clear");
    expect(&OUTB80, 0x80, 0, true, "bit 0x80 clear");
    expect(&OUTB, 0x81, 0, false, "bit 0x81 set");
    expect(&OUTW, 0x80, 0, false, "bit 0x81 set");
    expect(&INW, 0x80, 0, false, "bit 0x81 set");
    allow(0x81, 1, true);
    expect(&OUTW, 0x80, 0, true, "bits 0x80-81 clear");
    expect(&INW, 0x80, 0, true, "bits 0x80-81 clear");
    expect(&OUTL, 0x80, 0, false, "bit 0x82-83 set");
    allow(0x82, 1, true);
    expect(&INL, 0x80, 0, false, "bit 0x83 set");
    allow(0x83, 1, true);
    expect(&OUTL, 0x80, 0, true, "bits 0x80-83 clear");
    expect(&INL, 0x80, 0, true, "bits 0x80-83 clear");
    expect(&OUTSW, 0x80, 0, true, "bits 0x80-83 clear");
    expect(&INSB, 0x80, 0, true, "bits 0x80-83 clear");
    expect(&OUTB32, 0x80, 0, true, "bits 0x80-83 clear");
    allow(0x80, 4, false);
    expect(&OUTSW, 0x80, 0, false, "bits set again");
    expect(&INSB, 0x80, 0, false, "bits set again");
    expect(&OUTB32, 0x80, 0, false, "bits set again");
    expect(&OUTB, 0x80, IOPL3, true, "IOPL 3 over a set bit");
}

/* Ports 0x8e-0x91: the bits sit in map bytes 0x11 and 0x12. */
static void straddle(void)
{
    allow(0x8e, 2, true);
    expect(&OUTW, 0x8e, 0, true, "0x8e-8f clear");
    expect(&OUTL, 0x8e, 0, false, "0x90-91 set (next byte)");
    allow(0x90, 1, true);
    expect(&INL, 0x8e, 0, false, "0x91 set (next byte)");
    allow(0x91, 1, true);
    expect(&INL, 0x8e, 0, true, "0x8e-91 clear across bytes");
    expect(&OUTW, 0x8f, 0, true, "0x8f-90 clear across bytes");
    allow(0x8e, 4, false);
}

/* Map bytes past the TSS limit count as set; two bytes are always read. */
static void limit(void)
{
    allow(0x80, 8, true);   /* map byte 0x10 */
    allow(0x88, 8, true);   /* map byte 0x11 */
    set_tss_limit(104 + 0x11);
    expect(&OUTB, 0x80, 0, true, "limit covers map bytes 0x10-11");
    expect(&OUTB, 0x87, 0, true, "limit covers map bytes 0x10-11");
    expect(&OUTW, 0x87, 0, true, "limit covers map bytes 0x10-11");
    expect(&OUTB, 0x88, 0, false, "map byte 0x12 (read with 0x11) beyond the limit");
    expect(&OUTB, 0x8f, 0, false, "map byte 0x12 (read with 0x11) beyond the limit");
    set_tss_limit(104 + 0x10);
    expect(&OUTB, 0x80, 0, false, "map byte 0x11 (read with 0x10) beyond the limit");
    expect(&OUTB, 0x80, IOPL3, true, "IOPL 3: the limit is not looked at");
    set_tss_limit(104 + 0x12);
    expect(&OUTB, 0x8f, 0, true, "limit covers map bytes 0x10-12");
    /* A map base beyond the limit: no map at all. */
    set_map_base(0xdff0);
    expect(&OUTB, 0x80, 0, false, "map base beyond the limit");
    /* Linux 6.1's iopl(3) emulation: limit 0x4087 with an all-clear map
     * (its base at 0x68 as here, so some high ports stay outside). */
    set_map_base(104);
    memset(rt_tss_iomap(), 0, 8192);
    set_tss_limit(0x4087);
    expect(&OUTB, 0x80, 0, true, "Linux limit 0x4087");
    expect(&OUTL, 0xcfc, 0, true, "Linux limit 0x4087");
    memset(rt_tss_iomap(), 0xff, 8193);
    rt_tss_set_iomap(false);
}

static void do_outb80(void *a)
{
    (void)a;
    rt_outb(0x80, 0);
}

void test_main(void)
{
    no_map();
    widths();
    straddle();
    limit();
    CHECK_EQ(rt_catch(do_outb80, 0), -1, "iomap: CPL 0 with IOPL 0 needs no map");
}
