/*
 * x87 arithmetic on the host's own FPU. The host is x86-64, so its x87 is
 * the reference: the guest's control word, status (C0-C3, TOP), tags and
 * registers are loaded with FXRSTOR, the same instruction runs from a
 * stub, and FXSAVE reads the result back. FXSAVE does not wait, so an
 * unmasked exception the instruction raises only sets ES in the saved
 * image; FXRSTOR of the host's own state then drops it before any host
 * instruction could trap.
 *
 * The guest's sticky exception flags are not loaded (so a pending guest
 * exception can never trap on the host); they are merged back afterwards,
 * and the return value tells which flags this instruction raised.
 */
#include <string.h>

#include "accel/emu/x87.h"

/*
 * One 16-byte stub per encoding: load the arithmetic flags from %rsi (for
 * FCMOVcc), run the instruction, return the flags in %rax (for FCOMI).
 * Register forms are indexed by (opcode - D8) * 64 + (ModRM & 0x3f);
 * memory forms by (opcode - D8) * 8 + ModRM.reg and address (%rdi). Only
 * encodings the decoder routes here are ever called.
 */
__asm__(".pushsection .text\n"
        ".macro HK_X87_STUB op:req, modrm:req\n"
        "  .p2align 4\n"
        "  endbr64\n"
        "  push %rsi\n"
        "  popfq\n"
        "  .byte \\op, \\modrm\n"
        "  pushfq\n"
        "  pop %rax\n"
        "  ret\n"
        ".endm\n"
        ".p2align 4\n"
        ".globl hk_x87_reg_stubs\n"
        ".hidden hk_x87_reg_stubs\n"
        "hk_x87_reg_stubs:\n"
        ".irp op,0xd8,0xd9,0xda,0xdb,0xdc,0xdd,0xde,0xdf\n"
        "  .set .Lhk_m, 0xc0\n"
        "  .rept 64\n"
        "  HK_X87_STUB \\op, .Lhk_m\n"
        "  .set .Lhk_m, .Lhk_m + 1\n"
        "  .endr\n"
        ".endr\n"
        ".p2align 4\n"
        ".globl hk_x87_mem_stubs\n"
        ".hidden hk_x87_mem_stubs\n"
        "hk_x87_mem_stubs:\n"
        ".irp op,0xd8,0xd9,0xda,0xdb,0xdc,0xdd,0xde,0xdf\n"
        ".irp r,0,1,2,3,4,5,6,7\n"
        "  HK_X87_STUB \\op, (\\r << 3) | 7\n"
        ".endr\n"
        ".endr\n"
        ".purgem HK_X87_STUB\n"
        /* hk_x87_host_call(image %rdi, operand %rsi, stub %rdx, save %rcx,
         * rflags %r8) -> rflags. The guest image gets the host's MXCSR so
         * FXRSTOR cannot fault on it. */
        ".p2align 4\n"
        ".globl hk_x87_host_call\n"
        ".hidden hk_x87_host_call\n"
        ".type hk_x87_host_call, @function\n"
        "hk_x87_host_call:\n"
        "  endbr64\n"
        "  fxsave64 (%rcx)\n"
        "  mov 24(%rcx), %eax\n"
        "  mov %eax, 24(%rdi)\n"
        "  fxrstor64 (%rdi)\n"
        "  push %rdi\n"
        "  push %rcx\n"
        "  mov %rsi, %rdi\n"
        "  mov %r8, %rsi\n"
        "  call *%rdx\n"
        "  pop %rcx\n"
        "  pop %rdi\n"
        "  fxsave64 (%rdi)\n"
        "  fxrstor64 (%rcx)\n"
        "  ret\n"
        ".size hk_x87_host_call, . - hk_x87_host_call\n"
        ".popsection\n");

extern const uint8_t hk_x87_reg_stubs[], hk_x87_mem_stubs[];
uint64_t hk_x87_host_call(void *image, void *operand, const void *stub, void *save,
                          uint64_t rflags);

#define STUB_SIZE 16
#define IMG_FCW 0
#define IMG_FSW 2
#define IMG_FTW 4
#define IMG_ST 32

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void x87_init_state(struct emu_fpu *f)
{
    f->fcw = FCW_INIT;
    f->fsw = 0;
    f->ftw = 0;
    f->fop = 0;
    f->fip = f->fdp = 0;
    f->fcs = f->fds = 0;
}

/* SDM Vol. 1 10.5.1.1, table 10-3: how FXRSTOR/FNSTENV classify a register. */
unsigned x87_full_tag(const struct emu_fpu *f, unsigned i)
{
    if (!(f->ftw & (1u << i)))
        return 3;
    uint64_t mant;
    memcpy(&mant, f->st_raw[i], 8);
    unsigned exp = get16(f->st_raw[i] + 8) & 0x7fff;
    if (exp == 0x7fff)
        return 2;
    if (exp == 0)
        return mant ? 2 : 1;
    return (mant >> 63) ? 0 : 2; /* unnormals are special */
}

static void to_image(uint8_t *img, const struct emu_fpu *f)
{
    memset(img, 0, 160);
    put16(img + IMG_FCW, f->fcw);
    put16(img + IMG_FSW, f->fsw & (uint16_t)~(FSW_STICKY | FSW_ES | FSW_B));
    img[IMG_FTW] = f->ftw;
    unsigned top = x87_top(f);
    for (unsigned k = 0; k < 8; k++)
        memcpy(img + IMG_ST + 16 * k, f->st_raw[(top + k) & 7], 10);
}

static unsigned from_image(struct emu_fpu *f, const uint8_t *img)
{
    uint16_t fsw = get16(img + IMG_FSW);
    f->fsw = (uint16_t)((fsw & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3 | FSW_TOP)) |
                        ((f->fsw | fsw) & FSW_STICKY));
    x87_update_es(f);
    f->ftw = img[IMG_FTW];
    unsigned top = x87_top(f);
    for (unsigned k = 0; k < 8; k++) {
        memcpy(f->st_raw[(top + k) & 7], img + IMG_ST + 16 * k, 10);
        memset(f->st_raw[(top + k) & 7] + 10, 0, 6);
    }
    return fsw & FSW_EXC;
}

unsigned x87_host_exec(struct emu_fpu *f, unsigned opcode, unsigned modrm, void *mem,
                       uint64_t *rflags)
{
    _Alignas(64) uint8_t img[512];
    _Alignas(64) uint8_t save[512];
    const uint8_t *stub;
    unsigned esc = (opcode - 0xd8) & 7;
    if ((modrm >> 6) == 3)
        stub = hk_x87_reg_stubs + STUB_SIZE * (esc * 64 + (modrm & 0x3f));
    else
        stub = hk_x87_mem_stubs + STUB_SIZE * (esc * 8 + ((modrm >> 3) & 7));
    to_image(img, f);
    memset(img + 160, 0, sizeof(img) - 160);
    uint64_t in = (*rflags & RFLAGS_ARITH) | 0x2;
    *rflags = hk_x87_host_call(img, mem, stub, save, in) & RFLAGS_ARITH;
    return from_image(f, img);
}
