/* Opcode-table entry types shared by decode.c and decode_tables.c. */
#ifndef HK_EMU_DECODE_TABLES_H
#define HK_EMU_DECODE_TABLES_H

#include "accel/emu/cpu.h"

#define O_MODRM 0x0001    /* has a ModRM byte */
#define O_BYTE 0x0002     /* 8-bit operands */
#define O_RMBYTE 0x0004   /* r/m is an 8-bit operand (MOVZX, SETcc) */
#define O_IMM8 0x0008     /* imm8, sign-extended */
#define O_IMM8U 0x0010    /* imm8, zero-extended */
#define O_IMMZ 0x0020     /* imm16/32 by operand size, sign-extended */
#define O_IMMV 0x0040     /* imm16/32/64 by operand size (MOV r, imm) */
#define O_IMM16 0x0080    /* imm16 (RET imm16) */
#define O_ENTER 0x0100    /* imm16 then imm8 */
#define O_MOFFS 0x0200    /* address-size offset (MOV A0-A3) */
#define O_DEF64 0x0400    /* 64-bit operand size by default in long mode */
#define O_ENDS 0x0800     /* ends a block */
#define O_REGOP 0x1000    /* register in the opcode's low three bits */
#define O_ACC 0x2000      /* r/m operand is the accumulator */
#define O_FORCEREG 0x4000 /* ModRM names registers whatever mod says */
#define O_LOCK 0x8000     /* LOCK allowed (with a memory destination) */
#define O_NO64 0x10000    /* invalid in 64-bit mode */
#define O_FARPTR 0x20000  /* offset (operand size) then selector: ptr16:16/32 */

struct op {
    emu_exec_fn fn;
    uint32_t f;
    uint8_t sub;
    uint8_t io;               /* operand size capped at 4 (port I/O) */
    const struct op *group;   /* 8 entries chosen by ModRM.reg */
    const struct op *group_reg; /* for ModRM.mod == 3, when it differs */
    uint8_t srcsize;          /* MOVZX/MOVSX source size, kept in imm */
};

extern const struct op emu_map1[256];
extern const struct op emu_map0f[256];

/*
 * SSE-style opcodes whose mandatory prefix picks the instruction: entry
 * [none, 66, F3, F2]. An entry with fn == NULL and no group falls back to
 * emu_map0f (so F3 0F B8 POPCNT can sit beside plain 0F B8). A prefix used
 * this way is not an operand-size or REP prefix. (decode_sse.c)
 */
struct op_prefixed {
    struct op p[4];
};
extern const struct op_prefixed emu_map0f_sse[256];
extern const struct op_prefixed emu_map0f38[256];
extern const struct op_prefixed emu_map0f3a[256]; /* all take an imm8 (add O_IMM8U) */

/*
 * x87 escapes D8-DF (decode_x87.c): memory forms by ModRM.reg, register
 * forms by ModRM & 0x3f. Index 0 is D8.
 */
extern const struct op emu_x87_mem[8][8];
extern const struct op emu_x87_reg[8][64];

#endif
