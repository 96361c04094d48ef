/*
 * x87 opcode tables (SDM Vol. 2D appendix A.5, "escape opcode
 * instructions"). Empty for now: every x87 encoding is #UD until its
 * executor exists.
 */
#include <stddef.h>

#include "accel/emu/decode_tables.h"
#include "accel/emu/exec.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

const struct op emu_x87_mem[8][8] = {{{0}}};
const struct op emu_x87_reg[8][64] = {{{0}}};
