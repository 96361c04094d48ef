/*
 * Opcode maps (SDM Vol. 2D, appendix A): the one-byte map and the 0F map.
 * An empty entry is an undefined or not-yet-implemented encoding: #UD.
 */
#include <stddef.h>

#include "accel/emu/decode_tables.h"
#include "accel/emu/exec.h"
#include "accel/emu/x87.h"

/* Tables list only the fields an entry needs. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* LOCK CMP is #UD: CMP (op 7) does not write its destination. */
#define ALU_LOCK(op) ((op) == 7 ? 0 : O_LOCK)
#define ALU(base, op)                                                                 \
    [base + 0] = {ex_alu_rm_reg, O_MODRM | O_BYTE | ALU_LOCK(op), op},                \
    [base + 1] = {ex_alu_rm_reg, O_MODRM | ALU_LOCK(op), op},                         \
    [base + 2] = {ex_alu_reg_rm, O_MODRM | O_BYTE, op},                               \
    [base + 3] = {ex_alu_reg_rm, O_MODRM, op},                                        \
    [base + 4] = {ex_alu_acc_imm, O_BYTE | O_IMM8 | O_ACC, op},                       \
    [base + 5] = {ex_alu_acc_imm, O_IMMZ | O_ACC, op}

#define X7(...) __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, \
    __VA_ARGS__, __VA_ARGS__, __VA_ARGS__
#define X8(...) __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, \
    __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__

static const struct op grp1_b[8] = {
    X7({ex_alu_rm_imm, O_MODRM | O_BYTE | O_IMM8 | O_LOCK, 0xff}),
    {ex_alu_rm_imm, O_MODRM | O_BYTE | O_IMM8, 0xff}, /* CMP */
};
static const struct op grp1_z[8] = {
    X7({ex_alu_rm_imm, O_MODRM | O_IMMZ | O_LOCK, 0xff}),
    {ex_alu_rm_imm, O_MODRM | O_IMMZ, 0xff}, /* CMP */
};
static const struct op grp1_s[8] = {
    X7({ex_alu_rm_imm, O_MODRM | O_IMM8 | O_LOCK, 0xff}),
    {ex_alu_rm_imm, O_MODRM | O_IMM8, 0xff}, /* CMP */
};
/* 82: 80's alias outside 64-bit mode (SDM Vol. 2D table A-2, "i64"). */
static const struct op grp1_82[8] = {
    X7({ex_alu_rm_imm, O_MODRM | O_BYTE | O_IMM8 | O_LOCK | O_NO64, 0xff}),
    {ex_alu_rm_imm, O_MODRM | O_BYTE | O_IMM8 | O_NO64, 0xff}, /* CMP */
};
static const struct op grp2_b1[8] = {X8({ex_shift, O_MODRM | O_BYTE, 0xff})};
static const struct op grp2_v1[8] = {X8({ex_shift, O_MODRM, 0xff})};
static const struct op grp2_bi[8] = {X8({ex_shift, O_MODRM | O_BYTE | O_IMM8U, 0xff})};
static const struct op grp2_vi[8] = {X8({ex_shift, O_MODRM | O_IMM8U, 0xff})};

static const struct op grp3_b[8] = {
    {ex_test_rm_imm, O_MODRM | O_BYTE | O_IMM8}, {ex_test_rm_imm, O_MODRM | O_BYTE | O_IMM8},
    {ex_not, O_MODRM | O_BYTE | O_LOCK},         {ex_neg, O_MODRM | O_BYTE | O_LOCK},
    {ex_mul, O_MODRM | O_BYTE},                  {ex_imul1, O_MODRM | O_BYTE},
    {ex_div, O_MODRM | O_BYTE},                  {ex_idiv, O_MODRM | O_BYTE},
};
static const struct op grp3_v[8] = {
    {ex_test_rm_imm, O_MODRM | O_IMMZ}, {ex_test_rm_imm, O_MODRM | O_IMMZ},
    {ex_not, O_MODRM | O_LOCK},         {ex_neg, O_MODRM | O_LOCK},
    {ex_mul, O_MODRM},                  {ex_imul1, O_MODRM},
    {ex_div, O_MODRM},                  {ex_idiv, O_MODRM},
};
static const struct op grp4[8] = {
    {ex_inc_dec_rm, O_MODRM | O_BYTE | O_LOCK, 0},
    {ex_inc_dec_rm, O_MODRM | O_BYTE | O_LOCK, 1},
};
static const struct op grp5[8] = {
    {ex_inc_dec_rm, O_MODRM | O_LOCK, 0},
    {ex_inc_dec_rm, O_MODRM | O_LOCK, 1},
    {ex_call_rm, O_MODRM | O_DEF64 | O_ENDS},
    {ex_call_far_mem, O_MODRM | O_ENDS},
    {ex_jmp_rm, O_MODRM | O_DEF64 | O_ENDS},
    {ex_jmp_far_mem, O_MODRM | O_ENDS},
    {ex_push_rm, O_MODRM | O_DEF64},
};
static const struct op grp1a[8] = {{ex_pop_rm, O_MODRM | O_DEF64}};
static const struct op grp11_b[8] = {{ex_mov_rm_imm, O_MODRM | O_BYTE | O_IMM8}};
static const struct op grp11_v[8] = {{ex_mov_rm_imm, O_MODRM | O_IMMZ}};
static const struct op grp7_mem[8] = {
    {ex_lgdt_lidt, O_MODRM, 0}, {ex_lgdt_lidt, O_MODRM, 1},
    {ex_lgdt_lidt, O_MODRM, 2}, {ex_lgdt_lidt, O_MODRM, 3},
    {ex_smsw, O_MODRM}, {0}, {ex_lmsw, O_MODRM | O_ENDS},
    {ex_invlpg, O_MODRM | O_ENDS},
};
static const struct op grp7_reg[8] = {
    [4] = {ex_smsw, O_MODRM},
    [6] = {ex_lmsw, O_MODRM | O_ENDS},
    [7] = {ex_grp7_reg7, O_MODRM | O_ENDS},
};
static const struct op grp6[8] = {X8({ex_group6, O_MODRM, 0xff})};
static const struct op grp9[8] = {[1] = {ex_cmpxchg8b, O_MODRM | O_LOCK}};
static const struct op grp9_reg[8] = {[6] = {ex_rdrand, O_MODRM}, [7] = {ex_rdrand, O_MODRM}};
static const struct op grp8[8] = {
    {0}, {0}, {0}, {0},
    {ex_bt_imm, O_MODRM | O_IMM8U, 4},          {ex_bt_imm, O_MODRM | O_IMM8U | O_LOCK, 5},
    {ex_bt_imm, O_MODRM | O_IMM8U | O_LOCK, 6}, {ex_bt_imm, O_MODRM | O_IMM8U | O_LOCK, 7},
};

#define JCC8(cc) [0x70 + cc] = {ex_jcc, O_IMM8 | O_DEF64 | O_ENDS, cc}
#define GROUP(opc, fl, g) [opc] = {NULL, O_MODRM | (fl), 0, 0, g}

const struct op emu_map1[256] = {
    ALU(0x00, 0), ALU(0x08, 1), ALU(0x10, 2), ALU(0x18, 3),
    ALU(0x20, 4), ALU(0x28, 5), ALU(0x30, 6), ALU(0x38, 7),
    [0x06] = {ex_push_sreg, O_NO64, SEG_ES}, [0x07] = {ex_pop_sreg, O_NO64 | O_ENDS, SEG_ES},
    [0x0e] = {ex_push_sreg, O_NO64, SEG_CS},
    [0x16] = {ex_push_sreg, O_NO64, SEG_SS}, [0x17] = {ex_pop_sreg, O_NO64 | O_ENDS, SEG_SS},
    [0x1e] = {ex_push_sreg, O_NO64, SEG_DS}, [0x1f] = {ex_pop_sreg, O_NO64 | O_ENDS, SEG_DS},
    [0x27] = {ex_daa_das, O_NO64}, [0x2f] = {ex_daa_das, O_NO64},
    [0x37] = {ex_aaa_aas, O_NO64}, [0x3f] = {ex_aaa_aas, O_NO64},
    [0x40 ... 0x47] = {ex_inc_dec_reg, O_REGOP | O_NO64, 0},
    [0x48 ... 0x4f] = {ex_inc_dec_reg, O_REGOP | O_NO64, 1},
    [0x60] = {ex_pusha, O_NO64}, [0x61] = {ex_popa, O_NO64},
    [0x62] = {ex_bound, O_MODRM | O_NO64},
    [0x50 ... 0x57] = {ex_push_reg, O_REGOP | O_DEF64},
    [0x58 ... 0x5f] = {ex_pop_reg, O_REGOP | O_DEF64},
    [0x63] = {ex_movsxd, O_MODRM},
    [0x68] = {ex_push_imm, O_IMMZ | O_DEF64},
    [0x69] = {ex_imul_reg_rm_imm, O_MODRM | O_IMMZ},
    [0x6a] = {ex_push_imm, O_IMM8 | O_DEF64},
    [0x6b] = {ex_imul_reg_rm_imm, O_MODRM | O_IMM8},
    [0x6c] = {ex_ins, O_BYTE}, [0x6d] = {ex_ins, 0, 0, 1},
    [0x6e] = {ex_outs, O_BYTE}, [0x6f] = {ex_outs, 0, 0, 1},
    JCC8(0), JCC8(1), JCC8(2), JCC8(3), JCC8(4), JCC8(5), JCC8(6), JCC8(7),
    JCC8(8), JCC8(9), JCC8(10), JCC8(11), JCC8(12), JCC8(13), JCC8(14), JCC8(15),
    GROUP(0x80, O_BYTE, grp1_b), GROUP(0x81, 0, grp1_z), GROUP(0x82, O_BYTE | O_NO64, grp1_82),
    GROUP(0x83, 0, grp1_s),
    [0x84] = {ex_test_rm_reg, O_MODRM | O_BYTE}, [0x85] = {ex_test_rm_reg, O_MODRM},
    [0x86] = {ex_xchg_rm_reg, O_MODRM | O_BYTE | O_LOCK},
    [0x87] = {ex_xchg_rm_reg, O_MODRM | O_LOCK},
    [0x88] = {ex_mov_rm_reg, O_MODRM | O_BYTE}, [0x89] = {ex_mov_rm_reg, O_MODRM},
    [0x8a] = {ex_mov_reg_rm, O_MODRM | O_BYTE}, [0x8b] = {ex_mov_reg_rm, O_MODRM},
    [0x8c] = {ex_mov_rm_sreg, O_MODRM},
    [0x8d] = {ex_lea, O_MODRM},
    [0x8e] = {ex_mov_sreg_rm, O_MODRM | O_ENDS},
    GROUP(0x8f, O_DEF64, grp1a),
    [0x90] = {ex_nop, 0},
    [0x91 ... 0x97] = {ex_xchg_acc_reg, O_REGOP},
    [0x98] = {ex_cbw, 0}, [0x99] = {ex_cwd, 0},
    [0x9a] = {ex_call_far_imm, O_FARPTR | O_NO64 | O_ENDS},
    [0x9b] = {ex_fwait, 0},
    [0x9c] = {ex_pushf, O_DEF64}, [0x9d] = {ex_popf, O_DEF64 | O_ENDS},
    [0x9e] = {ex_sahf, 0}, [0x9f] = {ex_lahf, 0},
    [0xa0] = {ex_mov_acc_moffs, O_MOFFS | O_BYTE}, [0xa1] = {ex_mov_acc_moffs, O_MOFFS},
    [0xa2] = {ex_mov_moffs_acc, O_MOFFS | O_BYTE}, [0xa3] = {ex_mov_moffs_acc, O_MOFFS},
    [0xa4] = {ex_movs, O_BYTE}, [0xa5] = {ex_movs, 0},
    [0xa6] = {ex_cmps, O_BYTE}, [0xa7] = {ex_cmps, 0},
    [0xa8] = {ex_test_rm_imm, O_BYTE | O_IMM8 | O_ACC}, [0xa9] = {ex_test_rm_imm, O_IMMZ | O_ACC},
    [0xaa] = {ex_stos, O_BYTE}, [0xab] = {ex_stos, 0},
    [0xac] = {ex_lods, O_BYTE}, [0xad] = {ex_lods, 0},
    [0xae] = {ex_scas, O_BYTE}, [0xaf] = {ex_scas, 0},
    [0xb0 ... 0xb7] = {ex_mov_reg_imm, O_REGOP | O_BYTE | O_IMM8},
    [0xb8 ... 0xbf] = {ex_mov_reg_imm, O_REGOP | O_IMMV},
    GROUP(0xc0, O_BYTE, grp2_bi), GROUP(0xc1, 0, grp2_vi),
    [0xc2] = {ex_ret, O_IMM16 | O_DEF64 | O_ENDS}, [0xc3] = {ex_ret, O_DEF64 | O_ENDS},
    [0xc4] = {ex_load_far_pointer, O_MODRM | O_NO64 | O_ENDS, SEG_ES},
    [0xc5] = {ex_load_far_pointer, O_MODRM | O_NO64 | O_ENDS, SEG_DS},
    GROUP(0xc6, O_BYTE, grp11_b), GROUP(0xc7, 0, grp11_v),
    [0xc8] = {ex_enter, O_ENTER | O_DEF64},
    [0xc9] = {ex_leave, O_DEF64},
    [0xca] = {ex_retf, O_IMM16 | O_ENDS}, [0xcb] = {ex_retf, O_ENDS},
    [0xcc] = {ex_int3, O_ENDS}, [0xcd] = {ex_int_imm, O_IMM8U | O_ENDS},
    [0xce] = {ex_into, O_NO64 | O_ENDS},
    [0xcf] = {ex_iret, O_ENDS},
    GROUP(0xd0, O_BYTE, grp2_b1), GROUP(0xd1, 0, grp2_v1),
    GROUP(0xd2, O_BYTE, grp2_b1), GROUP(0xd3, 0, grp2_v1),
    [0xd4] = {ex_aam_aad, O_IMM8U | O_NO64}, [0xd5] = {ex_aam_aad, O_IMM8U | O_NO64},
    [0xd6] = {ex_salc, O_NO64}, [0xd7] = {ex_xlat, 0},
    [0xe0 ... 0xe2] = {ex_loop, O_IMM8 | O_DEF64 | O_ENDS},
    [0xe3] = {ex_jcxz, O_IMM8 | O_DEF64 | O_ENDS},
    [0xe4] = {ex_in, O_BYTE | O_IMM8U}, [0xe5] = {ex_in, O_IMM8U, 0, 1},
    [0xe6] = {ex_out, O_BYTE | O_IMM8U}, [0xe7] = {ex_out, O_IMM8U, 0, 1},
    [0xe8] = {ex_call_rel, O_IMMZ | O_DEF64 | O_ENDS},
    [0xe9] = {ex_jmp_rel, O_IMMZ | O_DEF64 | O_ENDS},
    [0xea] = {ex_jmp_far_imm, O_FARPTR | O_NO64 | O_ENDS},
    [0xeb] = {ex_jmp_rel, O_IMM8 | O_DEF64 | O_ENDS},
    [0xec] = {ex_in, O_BYTE}, [0xed] = {ex_in, 0, 0, 1},
    [0xee] = {ex_out, O_BYTE}, [0xef] = {ex_out, 0, 0, 1},
    [0xf1] = {ex_icebp, O_ENDS},
    [0xf4] = {ex_hlt, O_ENDS},
    [0xf5] = {ex_flag_op, 0},
    GROUP(0xf6, O_BYTE, grp3_b), GROUP(0xf7, 0, grp3_v),
    [0xf8] = {ex_flag_op, 0}, [0xf9] = {ex_flag_op, 0},
    [0xfa] = {ex_cli, 0}, [0xfb] = {ex_sti, O_ENDS},
    [0xfc] = {ex_flag_op, 0}, [0xfd] = {ex_flag_op, 0},
    GROUP(0xfe, O_BYTE, grp4), GROUP(0xff, 0, grp5),
};

#define JCC32(cc) [0x80 + cc] = {ex_jcc, O_IMMZ | O_DEF64 | O_ENDS, cc}
#define SETCC(cc) [0x90 + cc] = {ex_setcc, O_MODRM | O_RMBYTE, cc}
#define CMOV(cc) [0x40 + cc] = {ex_cmovcc, O_MODRM, cc}

const struct op emu_map0f[256] = {
    GROUP(0x00, 0, grp6),
    [0x01] = {NULL, O_MODRM, 0, 0, grp7_mem, grp7_reg},
    [0x02] = {ex_lar_lsl, O_MODRM}, [0x03] = {ex_lar_lsl, O_MODRM},
    [0x05] = {ex_syscall, O_ENDS},
    [0x06] = {ex_clts, 0},
    [0x07] = {ex_sysret, O_ENDS},
    [0x08] = {ex_invd, 0}, [0x09] = {ex_wbinvd, 0},
    [0x0b] = {ex_ud, O_ENDS},
    [0x18 ... 0x1f] = {ex_nop, O_MODRM}, /* hint NOPs, incl. NOP r/m and ENDBR64 */
    [0x20] = {ex_mov_from_cr, O_MODRM | O_FORCEREG},
    [0x21] = {ex_mov_dr, O_MODRM | O_FORCEREG},
    [0x23] = {ex_mov_dr, O_MODRM | O_FORCEREG},
    [0x22] = {ex_mov_to_cr, O_MODRM | O_FORCEREG | O_ENDS},
    [0x30] = {ex_wrmsr, O_ENDS},
    [0x31] = {ex_rdtsc, 0},
    [0x32] = {ex_rdmsr, 0}, [0x33] = {ex_rdpmc, 0},
    [0x34] = {ex_sysenter, O_ENDS}, [0x35] = {ex_sysexit, O_ENDS},
    CMOV(0), CMOV(1), CMOV(2), CMOV(3), CMOV(4), CMOV(5), CMOV(6), CMOV(7),
    CMOV(8), CMOV(9), CMOV(10), CMOV(11), CMOV(12), CMOV(13), CMOV(14), CMOV(15),
    [0x77] = {ex_emms, 0},
    JCC32(0), JCC32(1), JCC32(2), JCC32(3), JCC32(4), JCC32(5), JCC32(6), JCC32(7),
    JCC32(8), JCC32(9), JCC32(10), JCC32(11), JCC32(12), JCC32(13), JCC32(14), JCC32(15),
    SETCC(0), SETCC(1), SETCC(2), SETCC(3), SETCC(4), SETCC(5), SETCC(6), SETCC(7),
    SETCC(8), SETCC(9), SETCC(10), SETCC(11), SETCC(12), SETCC(13), SETCC(14), SETCC(15),
    [0xa0] = {ex_push_sreg, O_DEF64, SEG_FS}, [0xa1] = {ex_pop_sreg, O_DEF64 | O_ENDS, SEG_FS},
    [0xa2] = {ex_cpuid, 0},
    [0xa8] = {ex_push_sreg, O_DEF64, SEG_GS}, [0xa9] = {ex_pop_sreg, O_DEF64 | O_ENDS, SEG_GS},
    [0xa3] = {ex_bt_reg, O_MODRM, 4},
    [0xa4] = {ex_shld_shrd, O_MODRM | O_IMM8U}, [0xa5] = {ex_shld_shrd, O_MODRM},
    [0xab] = {ex_bt_reg, O_MODRM | O_LOCK, 5},
    [0xac] = {ex_shld_shrd, O_MODRM | O_IMM8U}, [0xad] = {ex_shld_shrd, O_MODRM},
    [0xae] = {NULL, O_MODRM, 0, 0, emu_grp15_mem, emu_grp15_reg},
    [0xaf] = {ex_imul_reg_rm, O_MODRM},
    [0xb0] = {ex_cmpxchg, O_MODRM | O_BYTE | O_LOCK},
    [0xb1] = {ex_cmpxchg, O_MODRM | O_LOCK},
    [0xb2] = {ex_load_far_pointer, O_MODRM | O_ENDS, SEG_SS},
    [0xb3] = {ex_bt_reg, O_MODRM | O_LOCK, 6},
    [0xb4] = {ex_load_far_pointer, O_MODRM | O_ENDS, SEG_FS},
    [0xb5] = {ex_load_far_pointer, O_MODRM | O_ENDS, SEG_GS},
    [0xb6] = {ex_movzx, O_MODRM | O_RMBYTE, 0, 0, 0, 0, 1},
    [0xb7] = {ex_movzx, O_MODRM, 0, 0, 0, 0, 2},
    GROUP(0xba, 0, grp8),
    [0xbb] = {ex_bt_reg, O_MODRM | O_LOCK, 7},
    [0xbc] = {ex_bsf, O_MODRM},
    [0xbd] = {ex_bsr, O_MODRM},
    [0xbe] = {ex_movsx, O_MODRM | O_RMBYTE, 0, 0, 0, 0, 1},
    [0xbf] = {ex_movsx, O_MODRM, 0, 0, 0, 0, 2},
    [0xc0] = {ex_xadd, O_MODRM | O_BYTE | O_LOCK},
    [0xc1] = {ex_xadd, O_MODRM | O_LOCK},
    [0xc7] = {NULL, O_MODRM, 0, 0, grp9, grp9_reg},
    [0xc8 ... 0xcf] = {ex_bswap, O_REGOP},
};
