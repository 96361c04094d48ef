/*
 * Block links across address-space switches. Two page directories map
 * one linear page Q to different physical code, and every other page the
 * same. The loop switches CR3 and calls shared code that jumps within its
 * page (a link a TLB flush need not stale) and then across pages into Q
 * (a link every TLB flush must stale). The sum shows which Q ran each
 * time.
 */
#include "emu_fixture.h"
#include "test.h"

#define RAM 0x40000ull
#define CODE 0x1000ull
#define SHARED 0x10000ull /* identity-mapped in both */
#define Q 0x20000ull      /* -> Q_A or Q_B */
#define Q_A 0x21000ull
#define Q_B 0x22000ull
#define PD_A 0x6000ull
#define PT_A 0x7000ull
#define PD_B 0x8000ull
#define PT_B 0x9000ull
#define STACK 0x30000ull
#define ROUNDS 1000u

static struct emu_fixture fx;
static struct emu_cpu cpu;
static uint64_t at; /* where emit writes */

static void emit(const void *bytes, unsigned n)
{
    emu_fixture_emit(fx.ram, &at, bytes, n);
}

static void emit_op_imm32(uint8_t op, uint32_t imm)
{
    emit(&op, 1);
    emit(&imm, 4);
}

/* CALL or JMP rel32 (E8, E9) to target. */
static void emit_rel32(uint8_t op, uint64_t target)
{
    emit_op_imm32(op, (uint32_t)(target - (at + 5)));
}

static void page_tables(uint64_t pd, uint64_t pt, uint64_t q_gpa)
{
    uint32_t pde = (uint32_t)(pt | 0x3);
    memcpy(fx.ram + pd, &pde, 4);
    for (uint32_t i = 0; i < RAM / 4096; i++) {
        uint32_t pte = (i << 12) | 0x3;
        if ((uint64_t)i << 12 == Q)
            pte = (uint32_t)(q_gpa | 0x3);
        memcpy(fx.ram + pt + 4 * i, &pte, 4);
    }
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu links"))
        return 1;
    page_tables(PD_A, PT_A, Q_A);
    page_tables(PD_B, PT_B, Q_B);
    static const uint8_t mov_cr3_eax[] = {0x0f, 0x22, 0xd8}, dec_ecx_jnz[] = {0x49, 0x75, 0},
                         hlt = 0xf4, jmp_eax[] = {0xff, 0xe0};
    at = CODE;
    emit_op_imm32(0xb9, ROUNDS); /* mov ecx, ROUNDS */
    uint64_t loop = at;
    emit_op_imm32(0xb8, PD_A); /* mov eax, PD_A; mov cr3, eax; call SHARED */
    emit(mov_cr3_eax, 3);
    emit_rel32(0xe8, SHARED);
    emit_op_imm32(0xb8, PD_B);
    emit(mov_cr3_eax, 3);
    emit_rel32(0xe8, SHARED);
    emit(dec_ecx_jnz, 3);
    fx.ram[at - 1] = (uint8_t)(loop - at);
    emit(&hlt, 1);
    at = SHARED; /* mov eax, SHARED + 0x10; jmp eax: within the page */
    emit_op_imm32(0xb8, SHARED + 0x10);
    emit(jmp_eax, 2);
    at = SHARED + 0x10;
    emit_rel32(0xe9, Q); /* jmp Q: across pages */
    static const uint8_t add_a[] = {0x81, 0xc3, 0x01, 0, 0, 0, 0xc3}, /* add ebx, 1; ret */
        add_b[] = {0x81, 0xc3, 0, 0x01, 0, 0, 0xc3};                  /* add ebx, 0x100; ret */
    memcpy(fx.ram + Q_A, add_a, sizeof(add_a));
    memcpy(fx.ram + Q_B, add_b, sizeof(add_b));

    emu_fixture_paged32(&cpu, PD_A, 0, CODE, STACK);
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 100000);
    char name[160];
    snprintf(name, sizeof(name),
             "emu links: %u CR3 switches each ran its own page Q (ebx %#llx, want %#x)",
             2 * ROUNDS, (unsigned long long)cpu.gpr[3], ROUNDS * 0x101);
    CHECK(exit.reason == ACCEL_EXIT_HLT && cpu.gpr[3] == ROUNDS * 0x101, name);
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
