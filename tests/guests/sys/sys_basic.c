/*
 * The runtime's own checks, and exception basics every engine must get
 * right (SDM Vol. 3 6.12-6.14): vectors, error codes, the pushed frame.
 */
#include "rt.h"

static void do_ud(void *a) { (void)a; __asm__ volatile("ud2"); }
static void do_int3(void *a) { (void)a; __asm__ volatile("int3"); }
static void do_gp_msr(void *a) { (void)a; rt_rdmsr(0xdeadbeef); }
static void do_nothing(void *a) { (void)a; }
static void user_hello(void *a) { *(volatile uint64_t *)a = 0x1234; }
static void user_cli(void *a) { (void)a; __asm__ volatile("cli"); }

/* 32-bit user code: store 0x5678 through the pointer argument, return. */
__asm__(".code32\n"
        "user32_store:\n"
        "  mov 4(%esp), %eax\n"
        "  movl $0x5678, (%eax)\n"
        "  ret\n"
        ".code64\n");
extern char user32_store[];

void test_main(void)
{
    CHECK_EQ(rt_catch(do_nothing, 0), -1, "basic: no exception reports -1");
    CHECK_EQ(rt_catch(do_ud, 0), 6, "basic: UD2 raises #UD");
    CHECK_EQ(rt_last.cs, SEL_KCODE, "basic: #UD frame holds CS");
    CHECK(rt_last.rip >= (uint64_t)do_ud && rt_last.rip < (uint64_t)do_ud + 16,
          "basic: #UD frame RIP points at UD2");
    CHECK_EQ(rt_catch(do_int3, 0), 3, "basic: INT3 raises #BP");
    CHECK_EQ(rt_catch(do_gp_msr, 0), 13, "basic: RDMSR of an unknown MSR raises #GP");
    CHECK_EQ(rt_last.error, 0, "basic: its error code is 0");

    static volatile uint64_t cell;
    CHECK_EQ(rt_run_user(user_hello, (void *)&cell, SEL_UCODE, 0), -1,
             "basic: 64-bit user code runs and returns");
    CHECK_EQ(cell, 0x1234, "basic: 64-bit user code stored its value");
    CHECK_EQ(rt_run_user(user_cli, 0, SEL_UCODE, 0), 13, "basic: CLI at CPL 3 raises #GP");
    CHECK_EQ(rt_last.cs, SEL_UCODE, "basic: its frame holds the user CS");
    CHECK_EQ(rt_last.ss, SEL_UDATA, "basic: its frame holds the user SS");
    CHECK_EQ(rt_run_user((void (*)(void *))user32_store, (void *)&cell, SEL_UCODE32, 0), -1,
             "basic: 32-bit user code runs and returns");
    CHECK_EQ(cell, 0x5678, "basic: 32-bit user code stored its value");
}
