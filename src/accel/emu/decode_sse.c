/*
 * SSE-family opcode tables (SDM Vol. 2D appendix A, tables ):
 * prefix-selected 0F entries and the 0F38 / 0F3A maps. Empty for now:
 * every SSE encoding is #UD until its executor exists.
 */
#include <stddef.h>

#include "accel/emu/decode_tables.h"
#include "accel/emu/exec.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

const struct op_prefixed emu_map0f_sse[256] = {{{{0}}}};
const struct op_prefixed emu_map0f38[256] = {{{{0}}}};
const struct op_prefixed emu_map0f3a[256] = {{{{0}}}};
