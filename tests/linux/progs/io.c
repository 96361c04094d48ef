/* Port I/O at CPL 3 (issue 8 item 2): with IOPL 0 the CPU consults the
 * TSS I/O permission bitmap (SDM 19.5.2). ioperm() sets bits in it, and
 * Linux 6.1 emulates iopl(3) with an all-zero bitmap, so OUT to port 0x80
 * must run after either; without permission it is #GP -> SIGSEGV. */
#include "check.h"
#include "segv.h"
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/io.h>
#include <errno.h>

enum op { OUTB, INB, OUTW };

/* Does the access fault? 1 if it raised SIGSEGV. */
static int faults(enum op op, unsigned short port)
{
    int before = segv_count;
    if (!sigsetjmp(segv_jmp, 1)) {
        if (op == OUTB)
            outb(0x5a, port);
        else if (op == INB)
            (void)inb(port);
        else
            outw(0x5a5a, port);
    }
    return segv_count != before;
}

int main(void)
{
    check_prog = "io";
    signal(SIGSEGV, on_segv);
    CHECK(faults(OUTB, 0x80), "outb 0x80 without permission: SIGSEGV", "it ran");
    CHECK(faults(INB, 0x80), "inb 0x80 without permission: SIGSEGV", "it ran");

    int r = ioperm(0x80, 1, 1);
    CHECK(r == 0, "ioperm(0x80, 1, 1)", "returned %d errno %d", r, errno);
    CHECK(!faults(OUTB, 0x80), "outb 0x80 after ioperm runs", "SIGSEGV");
    CHECK(!faults(INB, 0x80), "inb 0x80 after ioperm runs", "SIGSEGV");
    CHECK(faults(OUTB, 0x81), "outb 0x81 (not granted) still faults", "it ran");
    /* A word access needs the bits of both bytes, 0x80 and 0x81. */
    CHECK(faults(OUTW, 0x80), "outw 0x80 needs port 0x81 too: SIGSEGV", "it ran");
    r = ioperm(0x80, 2, 1);
    CHECK(r == 0 && !faults(OUTW, 0x80), "outw 0x80 after ioperm(0x80, 2, 1) runs", "ioperm %d or SIGSEGV", r);
    r = ioperm(0x80, 2, 0);
    CHECK(r == 0 && faults(OUTB, 0x80), "ioperm(0x80, 2, 0) takes it back", "ioperm %d or it ran", r);

    r = iopl(3);
    CHECK(r == 0, "iopl(3)", "returned %d errno %d", r, errno);
    CHECK(!faults(OUTB, 0x80), "outb 0x80 after iopl(3) runs", "SIGSEGV");
    CHECK(!faults(INB, 0x84), "inb 0x84 after iopl(3) runs", "SIGSEGV");
    r = iopl(0);
    CHECK(r == 0 && faults(OUTB, 0x80), "iopl(0): outb 0x80 faults again", "iopl %d or it ran", r);
    return check_done();
}
