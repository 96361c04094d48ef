/*
 * x87 opcode tables (SDM Vol. 2D appendix A.5, "escape opcode
 * instructions"). Memory forms by (opcode - D8, ModRM.reg); register forms
 * by (opcode - D8, ModRM & 0x3f). Arithmetic, loads and stores run on the
 * host FPU (ex_x87_reg, ex_x87_mload, ex_x87_mstore); the executors find
 * the operation again from the opcode and ModRM byte in emu_insn.
 *
 * The register forms include the aliases every x86 CPU executes though the
 * SDM marks them reserved: FSTP1 (D9 D8+i), FCOM2/FCOMP3 (DC D0+i), FXCH4
 * (DD C8+i), FCOMP5 (DE D0+i), FFREEP (DF C0+i), FXCH7 (DF C8+i), FSTP8/9
 * (DF D0+i). The 8087/287 leftovers FENI, FDISI and FSETPM stay #UD.
 */
#include <stddef.h>

#include "accel/emu/x87.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define LD {ex_x87_mload, O_MODRM}
#define ST {ex_x87_mstore, O_MODRM}
#define CTL(fn) {fn, O_MODRM}
#define ALL8(e) e, e, e, e, e, e, e, e

const struct op emu_x87_mem[8][8] = {
    /* D8 */ {ALL8(LD)},
    /* D9 */ {LD, {0}, ST, ST, CTL(ex_fldenv), CTL(ex_fldcw), CTL(ex_fnstenv), CTL(ex_fnstcw)},
    /* DA */ {ALL8(LD)},
    /* DB */ {LD, ST, ST, ST, {0}, LD, {0}, ST},
    /* DC */ {ALL8(LD)},
    /* DD */ {LD, ST, ST, ST, CTL(ex_frstor), {0}, CTL(ex_fnsave), CTL(ex_fnstsw_m)},
    /* DE */ {ALL8(LD)},
    /* DF */ {LD, ST, ST, ST, LD, LD, ST, ST},
};

#define H {ex_x87_reg, O_MODRM}
#define R(lo, hi) [lo ... hi] = H

const struct op emu_x87_reg[8][64] = {
    /* D8: FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR ST(0), ST(i) */
    [0] = {R(0x00, 0x3f)},
    /* D9: FLD, FXCH, FNOP, FSTP1, FCHS FABS FTST FXAM, constants, F2XM1..FCOS */
    [1] = {R(0x00, 0x10), R(0x18, 0x21), R(0x24, 0x25), R(0x28, 0x2e), R(0x30, 0x3f)},
    /* DA: FCMOVB/E/BE/U, FUCOMPP */
    [2] = {R(0x00, 0x1f), R(0x29, 0x29)},
    /* DB: FCMOVNB/NE/NBE/NU, FNCLEX, FNINIT, FUCOMI, FCOMI */
    [3] = {R(0x00, 0x1f), [0x22] = CTL(ex_fnclex), [0x23] = CTL(ex_fninit), R(0x28, 0x37)},
    /* DC: FADD FMUL FCOM2 FCOMP3 FSUBR FSUB FDIVR FDIV ST(i), ST(0) */
    [4] = {R(0x00, 0x3f)},
    /* DD: FFREE, FXCH4, FST, FSTP, FUCOM, FUCOMP */
    [5] = {R(0x00, 0x2f)},
    /* DE: FADDP FMULP FCOMP5 FCOMPP FSUBRP FSUBP FDIVRP FDIVP */
    [6] = {R(0x00, 0x17), R(0x19, 0x19), R(0x20, 0x3f)},
    /* DF: FFREEP, FXCH7, FSTP8/9, FNSTSW AX, FUCOMIP, FCOMIP */
    [7] = {R(0x00, 0x1f), [0x20] = CTL(ex_fnstsw_ax), R(0x28, 0x37)},
};
