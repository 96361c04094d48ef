/* 32-bit program (IA32 emulation): loads data segment registers with the
 * user data selector and with LDT entries made by modify_ldt, and far-calls
 * and far-jumps through an LDT code segment. In compatibility mode the CPU
 * reads these descriptors from the GDT/LDT at their full 64-bit bases
 * (issue 8 item 1: a truncated base made the kernel oops). */
#include "check.h"
#include "segv.h"
#include <asm/ldt.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define USER_DS 0x2b
#define LDT_SEL(i) (((i) << 3) | 4 | 3)

static int set_ldt(int idx, unsigned base, unsigned limit, int contents, int pages)
{
    struct user_desc d;
    memset(&d, 0, sizeof(d));
    d.entry_number = idx;
    d.base_addr = base;
    d.limit = limit;
    d.seg_32bit = 1;
    d.contents = contents;
    d.limit_in_pages = pages;
    d.useable = 1;
    return syscall(SYS_modify_ldt, 1, &d, sizeof(d));
}

static void user_ds(void)
{
    unsigned short ds, es, fs, gs, saved_gs;
    unsigned val = 0, word = 0x5eed1234;
    __asm__ volatile("mov %%gs, %0" : "=r"(saved_gs));
    __asm__ volatile("mov %[s], %%ds\n\tmov %[s], %%es\n\tmov %%ds, %0\n\tmov %%es, %1"
                     : "=&r"(ds), "=&r"(es) : [s] "r"(USER_DS) : "memory");
    __asm__ volatile("mov %[s], %%fs\n\tmov %[s], %%gs\n\tmov %%fs, %0\n\tmov %%gs, %1\n\t"
                     "mov %[old], %%gs"
                     : "=&r"(fs), "=&r"(gs) : [s] "r"(USER_DS), [old] "r"(saved_gs) : "memory");
    __asm__ volatile("mov %%fs:(%1), %0" : "=r"(val) : "r"(&word) : "memory");
    CHECK(ds == USER_DS && es == USER_DS, "mov 0x2b to DS and ES", "DS %#x ES %#x", ds, es);
    CHECK(fs == USER_DS && gs == USER_DS, "mov 0x2b to FS and GS", "FS %#x GS %#x", fs, gs);
    CHECK(val == word, "read through FS=0x2b", "got %#x", val);
}

static unsigned ldt_buf[4] = { 0x11111111, 0x22222222, 0x33333333, 0x44444444 };

static void ldt_data(void)
{
    unsigned got = 0, got2 = 0;
    unsigned short fs = 0;
    int r = set_ldt(0, (unsigned)(unsigned long)ldt_buf, sizeof(ldt_buf) - 1, MODIFY_LDT_CONTENTS_DATA, 0);
    CHECK(r == 0, "modify_ldt writes a data entry", "returned %d", r);
    if (r)
        return;
    __asm__ volatile("mov %[s], %%fs\n\tmov %%fs, %0\n\tmov %%fs:4, %1\n\t"
                     "movl $0x55555555, %%fs:8\n\tmov %%fs:8, %2\n\tmov %[z], %%fs"
                     : "=&r"(fs), "=&r"(got), "=&r"(got2)
                     : [s] "r"(LDT_SEL(0)), [z] "r"(0)
                     : "memory");
    CHECK(fs == LDT_SEL(0), "mov LDT selector 7 to FS", "FS %#x", fs);
    CHECK(got == 0x22222222, "read through the LDT segment's base", "got %#x", got);
    CHECK(got2 == 0x55555555 && ldt_buf[2] == 0x55555555, "write through the LDT segment",
          "got %#x, memory %#x", got2, ldt_buf[2]);
    /* LFS loads selector and offset from a far pointer in memory. */
    struct __attribute__((packed)) { unsigned off; unsigned short sel; } fp = { 12, LDT_SEL(0) };
    unsigned off = 0;
    __asm__ volatile("lfs %[fp], %[off]\n\tmov %%fs:(%[off]), %[off]\n\tmov %[z], %%fs"
                     : [off] "=&r"(off) : [fp] "m"(fp), [z] "r"(0) : "memory");
    CHECK(off == 0x44444444, "lfs with an LDT far pointer", "got %#x", off);
    struct user_desc rd[2];
    memset(rd, 0, sizeof(rd));
    r = syscall(SYS_modify_ldt, 0, rd, sizeof(rd));
    CHECK(r >= 8, "modify_ldt reads the LDT back", "returned %d", r);
}

/* A 32-bit code segment in the LDT (base 0, 4 GiB): far call, far return,
 * far jump there and back. far_fn returns CS in EAX. */
__asm__(".text\n"
        "far_fn: mov %cs, %eax\n\tlret\n"
        "far_jmp_target: mov %cs, %eax\n\tljmp $0x23, $far_jmp_back\n");

static void ldt_code(void)
{
    unsigned cs_in = 0, cs_back = 0, cs_j = 0;
    int r = set_ldt(1, 0, 0xfffff, MODIFY_LDT_CONTENTS_CODE, 1);
    CHECK(r == 0, "modify_ldt writes a code entry", "returned %d", r);
    if (r)
        return;
    __asm__ volatile("lcall $0xf, $far_fn\n\tmov %%cs, %1" : "=a"(cs_in), "=r"(cs_back) : : "memory");
    CHECK(cs_in == LDT_SEL(1), "lcall through the LDT code segment", "CS inside %#x", cs_in);
    CHECK(cs_back == 0x23, "lret back to CS 0x23", "CS after %#x", cs_back);
    __asm__ volatile("ljmp $0xf, $far_jmp_target\nfar_jmp_back:" : "=a"(cs_j) : : "memory");
    CHECK(cs_j == LDT_SEL(1), "ljmp into the LDT code segment and back", "CS there %#x", cs_j);
}

/* Selectors that must fault: an LDT index past the LDT's limit, a GDT
 * index past the GDT's limit, a system (TSS) selector: #GP -> SIGSEGV. */
static void bad_selector(unsigned short sel, const char *name)
{
    int before = segv_count;
    if (!sigsetjmp(segv_jmp, 1))
        __asm__ volatile("mov %0, %%fs" : : "r"(sel));
    __asm__ volatile("mov %0, %%fs" : : "r"(0));
    CHECK(segv_count == before + 1, name, "no SIGSEGV for selector %#x", sel);
}

/* LAR, LSL, VERR and VERW read a descriptor from the GDT or LDT too
 * (SDM Vol. 2A LAR: access rights are bits 8-23 of the descriptor's high
 * dword; bits 19:16 are undefined, so they are masked off here). ZF says
 * whether the selector was valid. */
static int lar(unsigned sel, unsigned *ar)
{
    unsigned char zf;
    __asm__ volatile("lar %2, %0\n\tsetz %1" : "=r"(*ar), "=q"(zf) : "r"(sel), "0"(0) : "cc");
    return zf;
}

static int lsl(unsigned sel, unsigned *lim)
{
    unsigned char zf;
    __asm__ volatile("lsl %2, %0\n\tsetz %1" : "=r"(*lim), "=q"(zf) : "r"(sel), "0"(0) : "cc");
    return zf;
}

static int verr(unsigned short sel)
{
    unsigned char zf;
    __asm__ volatile("verr %1\n\tsetz %0" : "=q"(zf) : "r"(sel) : "cc");
    return zf;
}

static int verw(unsigned short sel)
{
    unsigned char zf;
    __asm__ volatile("verw %1\n\tsetz %0" : "=q"(zf) : "r"(sel) : "cc");
    return zf;
}

static void descriptor_reads(void)
{
    unsigned ar = 0, lim = 0;
    int ok = lar(USER_DS, &ar);
    CHECK(ok && (ar & 0xfff0ffff) == 0x00c0f300, "lar 0x2b: present DPL 3 writable data, G and B", "ZF %d AR %#x", ok, ar);
    ok = lar(0x23, &ar);
    CHECK(ok && (ar & 0xfff0ffff) == 0x00c0fb00, "lar 0x23: DPL 3 32-bit code", "ZF %d AR %#x", ok, ar);
    ok = lsl(USER_DS, &lim);
    CHECK(ok && lim == 0xffffffff, "lsl 0x2b: 4 GiB", "ZF %d limit %#x", ok, lim);
    ok = lsl(LDT_SEL(0), &lim);
    CHECK(ok && lim == sizeof(ldt_buf) - 1, "lsl of the LDT data entry: its byte limit", "ZF %d limit %#x", ok, lim);
    ok = lar(LDT_SEL(1), &ar);
    CHECK(ok && (ar & 0xff00) == 0xfb00, "lar of the LDT code entry", "ZF %d AR %#x", ok, ar);
    CHECK(verr(USER_DS) && verw(USER_DS), "verr/verw 0x2b: readable and writable", "ZF clear");
    CHECK(verr(0x23) && !verw(0x23), "verr/verw 0x23: readable code, not writable", "wrong ZF");
    ok = lar(0x43, &ar);
    CHECK(!ok, "lar of the TSS selector (DPL 0) fails", "ZF set, AR %#x", ar);
    ok = lar(LDT_SEL(200), &ar);
    CHECK(!ok, "lar of a selector past the LDT's limit fails", "ZF set, AR %#x", ar);
}

int main(void)
{
    check_prog = "seg32";
    signal(SIGSEGV, on_segv);
    user_ds();
    ldt_data();
    ldt_code();
    descriptor_reads();
    bad_selector(LDT_SEL(200), "mov of an LDT selector past the limit faults");
    bad_selector(0xfff3, "mov of a GDT selector past the limit faults");
    bad_selector(0x43, "mov of the TSS selector faults");
    user_ds();
    return check_done();
}
