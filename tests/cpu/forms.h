/*
 * The instruction forms the emu decoder claims, read from its own opcode
 * tables (decode_tables.c), and what the tester knows about each executor:
 * a name, how to build valid inputs for it, and which flags the SDM leaves
 * undefined after it. Executors the tester does not know are listed as
 * implemented but not tested, never run blindly on the host.
 */
#ifndef HK_TESTS_CPU_FORMS_H
#define HK_TESTS_CPU_FORMS_H

#include <stdio.h>

#include "accel/emu/decode_tables.h"
#include "accel/emu/exec.h"
#include "accel/emu/x87.h"
#include "sys_forms.h"

/* How to build inputs (cd_info.kind bits). */
#define CK_STACK 0x0001   /* RSP points into the data pages */
#define CK_RBP 0x0002     /* so does RBP (ENTER, LEAVE) */
#define CK_STR 0x0004     /* string op: RSI, RDI in the data, small RCX */
#define CK_JREL 0x0008    /* immediate is a branch displacement into the INT3 sled */
#define CK_JRM 0x0010     /* r/m operand is a branch target in the sled */
#define CK_RET 0x0020     /* [RSP] is a return address in the sled */
#define CK_POPF 0x0040    /* [RSP] is an RFLAGS image without TF/AC/NT */
#define CK_DIV 0x0080     /* bias the dividend so most divisions do not #DE */
#define CK_SHIFT 0x0100   /* count from the edge cases of shift counts */
#define CK_BTREG 0x0200   /* the bit-offset register must stay near the operand */
#define CK_CMPX 0x0400    /* make the accumulator equal the operand half the time */
#define CK_NO66 0x0800    /* 66h on near branches: AMD truncates RIP, Intel ignores it */
#define CK_NOREP 0x1000   /* F3 turns it into another instruction (TZCNT, LZCNT) */
#define CK_NOLOCK 0x2000  /* LOCK MOV CR0 is MOV CR8 on AMD */
#define CK_SKIP 0x4000    /* not comparable with a user-mode host */
#define CK_PRIV 0x8000    /* privileged: #GP at CPL 3 on both sides */
#define CK_LOOP 0x10000   /* LOOPcc/JrCXZ: RCX from small counts */
#define CK_XLAT 0x20000   /* RBX points into the data pages */
#define CK_DSHIFT 0x40000 /* SHLD/SHRD: a 16-bit operand's count stays <= 16 (else undefined) */
#define CK_BR66 0x80000   /* 66h on near branches in 64-bit code: AMD truncates RIP, Intel ignores it */
#define CK_POPSEG 0x100000 /* [RSP] is a selector (POP Sreg) */
#define CK_FARPTR 0x200000 /* the memory operand is a far pointer (LES, LDS, LSS) */
#define CK_FARIMM 0x400000 /* the immediate is a far pointer into the sled */
#define CK_BOUND 0x800000 /* the memory operand holds bounds around the register */
#define CK_LEGACY 0x1000000 /* compared in 32-bit and 16-bit code only */

struct cd_info {
    emu_exec_fn fn;
    const char *name;     /* mnemonic; "%s" takes the sub-operation name */
    const char *operands;
    unsigned kind;
    const char *why_skip;
};

#define BR (CK_BR66)
static const struct cd_info cd_infos[] = {
    {ex_alu_rm_reg, "%s", "E,G", 0, NULL},
    {ex_alu_reg_rm, "%s", "G,E", 0, NULL},
    {ex_alu_acc_imm, "%s", "acc,I", 0, NULL},
    {ex_alu_rm_imm, "%s", "E,I", 0, NULL},
    {ex_test_rm_reg, "test", "E,G", 0, NULL},
    {ex_test_rm_imm, "test", "E,I", 0, NULL},
    {ex_inc_dec_rm, "%s", "E", 0, NULL},
    {ex_inc_dec_reg, "%s", "Z", 0, NULL},
    {ex_not, "not", "E", 0, NULL},
    {ex_neg, "neg", "E", 0, NULL},
    {ex_mul, "mul", "E", 0, NULL},
    {ex_imul1, "imul", "E", 0, NULL},
    {ex_imul_reg_rm, "imul", "G,E", 0, NULL},
    {ex_imul_reg_rm_imm, "imul", "G,E,I", 0, NULL},
    {ex_div, "div", "E", CK_DIV, NULL},
    {ex_idiv, "idiv", "E", CK_DIV, NULL},
    {ex_shift, "%s", "E,count", CK_SHIFT, NULL},
    {ex_shld_shrd, "shld/shrd", "E,G,count", CK_DSHIFT, NULL},
    {ex_bt_reg, "%s", "E,G", CK_BTREG, NULL},
    {ex_bt_imm, "%s", "E,I", 0, NULL},
    {ex_bsf, "bsf", "G,E", CK_NOREP, NULL},
    {ex_bsr, "bsr", "G,E", CK_NOREP, NULL},
    {ex_xadd, "xadd", "E,G", 0, NULL},
    {ex_cmpxchg, "cmpxchg", "E,G", CK_CMPX, NULL},
    {ex_setcc, "set%s", "Eb", 0, NULL},
    {ex_cmovcc, "cmov%s", "G,E", 0, NULL},
    {ex_bswap, "bswap", "Z", 0, NULL},
    {ex_mov_rm_reg, "mov", "E,G", 0, NULL},
    {ex_mov_reg_rm, "mov", "G,E", 0, NULL},
    {ex_mov_rm_imm, "mov", "E,I", 0, NULL},
    {ex_mov_reg_imm, "mov", "Z,I", 0, NULL},
    {ex_mov_acc_moffs, "mov", "acc,moffs", 0, NULL},
    {ex_mov_moffs_acc, "mov", "moffs,acc", 0, NULL},
    {ex_lea, "lea", "G,M", 0, NULL},
    {ex_xchg_rm_reg, "xchg", "E,G", 0, NULL},
    {ex_xchg_acc_reg, "xchg", "Z,acc", 0, NULL},
    {ex_movzx, "movzx", "G,E", 0, NULL},
    {ex_movsx, "movsx", "G,E", 0, NULL},
    {ex_movsxd, "movsxd", "G,E", 0, NULL},
    {ex_push_reg, "push", "Z", CK_STACK, NULL},
    {ex_pop_reg, "pop", "Z", CK_STACK, NULL},
    {ex_push_imm, "push", "I", CK_STACK, NULL},
    {ex_push_rm, "push", "E", CK_STACK, NULL},
    {ex_pop_rm, "pop", "E", CK_STACK, NULL},
    {ex_pushf, "pushf", "", CK_STACK, NULL},
    {ex_popf, "popf", "", CK_STACK | CK_POPF, NULL},
    {ex_lahf, "lahf", "", 0, NULL},
    {ex_sahf, "sahf", "", 0, NULL},
    {ex_leave, "leave", "", CK_STACK | CK_RBP, NULL},
    {ex_enter, "enter", "I,I", CK_STACK | CK_RBP, NULL},
    {ex_cbw, "cbw", "", 0, NULL},
    {ex_cwd, "cwd", "", 0, NULL},
    {ex_jmp_rel, "jmp", "J", CK_JREL | BR, NULL},
    {ex_jcc, "j%s", "J", CK_JREL | BR, NULL},
    {ex_call_rel, "call", "J", CK_JREL | CK_STACK | BR, NULL},
    {ex_ret, "ret", "", CK_RET | CK_STACK | BR, NULL},
    {ex_jmp_rm, "jmp", "E", CK_JRM | BR, NULL},
    {ex_call_rm, "call", "E", CK_JRM | CK_STACK | BR, NULL},
    /* REP LOOPcc is reserved: AMD inverts the condition */
    {ex_loop, "%s", "J", CK_JREL | CK_LOOP | BR | CK_NOREP, NULL},
    {ex_jcxz, "jrcxz", "J", CK_JREL | CK_LOOP | BR, NULL},
    {ex_nop, "nop", "", 0, NULL},
    {ex_flag_op, "%s", "", 0, NULL},
    {ex_movs, "movs", "", CK_STR, NULL},
    {ex_stos, "stos", "", CK_STR, NULL},
    {ex_lods, "lods", "", CK_STR, NULL},
    {ex_cmps, "cmps", "", CK_STR, NULL},
    {ex_scas, "scas", "", CK_STR, NULL},
    {ex_ins, "ins", "", CK_STR | CK_PRIV, NULL},
    {ex_outs, "outs", "", CK_STR | CK_PRIV, NULL},
    {ex_hlt, "hlt", "", CK_PRIV, NULL},
    {ex_in, "in", "", CK_PRIV, NULL},
    {ex_out, "out", "", CK_PRIV, NULL},
    {ex_cli, "cli", "", CK_PRIV, NULL},
    {ex_sti, "sti", "", CK_PRIV, NULL},
    {ex_rdmsr, "rdmsr", "", CK_PRIV, NULL},
    {ex_wrmsr, "wrmsr", "", CK_PRIV, NULL},
    {ex_wbinvd, "wbinvd", "", CK_PRIV, NULL},
    {ex_invd, "invd", "", CK_PRIV, NULL},
    {ex_rdpmc, "rdpmc", "", CK_PRIV, NULL},
    {ex_invlpg, "invlpg", "M", CK_PRIV, NULL},
    {ex_mov_from_cr, "mov", "R,C", CK_PRIV | CK_NOLOCK, NULL},
    {ex_mov_to_cr, "mov", "C,R", CK_PRIV | CK_NOLOCK, NULL},
    {ex_lgdt_lidt, "%s", "M", CK_PRIV, NULL},
    {ex_ud, "ud2", "", 0, NULL},
    {ex_mov_rm_sreg, "mov", "E,Sw", 0, NULL},
    {ex_cmpxchg8b, "cmpxchg8b", "M", CK_CMPX, NULL},
    {ex_xlat, "xlat", "", CK_XLAT, NULL},
    {ex_fwait, "fwait", "", 0, NULL},
    /* Known emu bug, left to the SSE tables' owner: 66/F2/F3 before EMMS
     * and the fences should make them #UD (other instructions) but the
     * decoder falls back to the plain entry. Not generated until fixed. */
    {ex_emms, "emms", "", CK_NO66 | CK_NOREP, NULL},
    {ex_fence, "fence", "", CK_NO66 | CK_NOREP, NULL},
    {ex_clflush, "clflush", "M", 0, NULL},
    {ex_clts, "clts", "", CK_PRIV, NULL},
    {ex_sysret, "sysret", "", CK_PRIV, NULL},
    {ex_sysenter, "sysenter", "", CK_SKIP,
     "a system call into the host kernel (#UD on AMD in long mode); the usermode guest runs it"},
    {ex_sysexit, "sysexit", "", CK_PRIV, NULL},
    {ex_mov_dr, "mov", "DR", CK_PRIV | CK_NOLOCK, NULL},
    {ex_push_sreg, "push", "Sw", CK_STACK, NULL},
    {ex_pop_sreg, "pop", "Sw", CK_STACK | CK_POPSEG, NULL},
    /* Valid only outside 64-bit code (#UD64 forms there), and LSS LFS LGS,
     * whose REX.W form vendors disagree on (sys_gen.h leaves it out on AMD,
     * which reads m16:32). */
    {ex_daa_das, "%s", "", 0, NULL},
    {ex_aaa_aas, "%s", "", 0, NULL},
    {ex_aam_aad, "%s", "I", 0, NULL},
    {ex_pusha, "pusha", "", CK_STACK, NULL},
    {ex_popa, "popa", "", CK_STACK, NULL},
    {ex_bound, "bound", "G,M", CK_BOUND, NULL},
    {ex_into, "into", "", 0, NULL},
    {ex_salc, "salc", "", 0, NULL},
    {ex_load_far_pointer, "l%s", "G,Mp", CK_FARPTR | CK_SYS, NULL},
    {ex_jmp_far_imm, "jmp far", "Ap", CK_FARIMM, NULL},
    {ex_call_far_imm, "call far", "Ap", CK_FARIMM | CK_STACK, NULL},
    CD_SYS_INFOS
};
#undef BR

/* Maps: the two the tester runs, then the ones only the coverage table
 * reads (their entries work on XMM and x87 state the tester does not
 * compare). */
enum { CD_MAP1, CD_MAP0F, CD_MAP0F_SSE, CD_MAP0F38, CD_MAP0F3A, CD_X87_MEM, CD_X87_REG };

struct cd_form {
    uint8_t map;   /* CD_MAP* */
    uint8_t opc;   /* x87: D8-DF */
    int8_t pfx;    /* mandatory prefix 0-3 (none, 66, F3, F2), or -1 */
    uint8_t x87;   /* x87 register forms: ModRM & 0x3f */
    int8_t greg;   /* ModRM.reg of a group entry, or -1 */
    int8_t mod;    /* -1 any, 3 registers only, 0 memory only */
    const struct op *op;
    const struct cd_info *info; /* NULL: unknown executor */
    unsigned kind;
};

static const struct cd_info *cd_info_of(emu_exec_fn fn)
{
    for (unsigned i = 0; i < sizeof(cd_infos) / sizeof(cd_infos[0]); i++)
        if (cd_infos[i].fn == fn)
            return &cd_infos[i];
    return NULL;
}

static bool cd_implemented(const struct cd_form *f)
{
    return f->op->fn && (f->op->fn != ex_ud || (f->map == CD_MAP0F && f->opc == 0x0b));
}

/* Not run: unknown executor, or not comparable with the host. */
static bool cd_no64(const struct cd_form *f)
{
    return f->map <= CD_MAP0F && (f->op->f & O_NO64);
}

static const char *cd_untested_why(const struct cd_form *f)
{
    if (f->map > CD_MAP0F)
        return "SSE/x87 form: no harness (test_sse, test_sse4, test_x87) runs it";
    if (cd_no64(f) && f->map == CD_MAP1 &&
        ((f->opc & 0xf0) == 0x40 || f->opc == 0x62 || f->opc == 0xc4 || f->opc == 0xc5))
        return "a prefix in 64-bit mode (REX, EVEX, VEX)";
    if (cd_no64(f))
        return NULL; /* #UD in 64-bit mode on both sides */
    if (!f->info)
        return "executor unknown to the tester";
    if (f->info->kind & CK_SKIP)
        return f->info->why_skip;
    if (cd_sys_untested_why(f->op->fn, f->greg))
        return cd_sys_untested_why(f->op->fn, f->greg);
    if (f->info->fn == ex_lgdt_lidt && f->greg < 2)
        return "SGDT/SIDT: Linux answers them at CPL 3 itself under UMIP "
               "(arch/x86/kernel/umip.c), with dummy values, not the CPU's";
    if (f->info->kind & CK_LEGACY)
        return "compared in 32-bit and 16-bit code only";
    return NULL;
}

/* Why form f is not compared in 32-bit and 16-bit code, or NULL. */
static const char *cd_untested_legacy_why(const struct cd_form *f)
{
    if (f->map > CD_MAP0F || !f->info || (f->info->kind & CK_SKIP))
        return "not compared in 64-bit code either";
    const char *why = cd_untested_why(f);
    if (!cd_no64(f) && why && !(f->info->kind & CK_LEGACY))
        return why;
    return NULL;
}

#define CD_MAX_FORMS 20000

static void cd_add_form(struct cd_form *out, int *n, int map, int opc, int greg, int mod,
                        const struct op *op)
{
    struct cd_form f = {(uint8_t)map, (uint8_t)opc, -1, 0, (int8_t)greg, (int8_t)mod, op, NULL, 0};
    f.info = op->fn ? cd_info_of(op->fn) : NULL;
    f.kind = f.info ? f.info->kind : 0;
    if (map == CD_MAP0F) { /* 66/F3/F2 would select an SSE instruction */
        const struct op_prefixed *t = &emu_map0f_sse[opc];
        for (int p = 1; p < 4; p++)
            if (t->p[p].fn || t->p[p].group)
                f.kind |= CK_NO66 | CK_NOREP;
    }
    if (*n < CD_MAX_FORMS)
        out[(*n)++] = f;
}

/* One opcode's entry, groups expanded by ModRM.reg (and by mod where the
 * register forms have their own table). */
static void cd_add_entry(struct cd_form *out, int *n, int map, int opc, const struct op *e)
{
    if (!e->group) {
        cd_add_form(out, n, map, opc, -1, -1, e);
        return;
    }
    for (int r = 0; r < 8; r++) {
        cd_add_form(out, n, map, opc, r, e->group_reg ? 0 : -1, &e->group[r]);
        if (e->group_reg)
            cd_add_form(out, n, map, opc, r, 3, &e->group_reg[r]);
    }
}

static void cd_add_prefixed(struct cd_form *out, int *n, int map, const struct op_prefixed *t)
{
    for (int opc = 0; opc < 256; opc++) {
        for (int p = 0; p < 4; p++) {
            int first = *n;
            cd_add_entry(out, n, map, opc, &t[opc].p[p]);
            for (int i = first; i < *n; i++)
                out[i].pfx = (int8_t)p;
        }
    }
}

/* Every table entry of every map. Returns the count. */
static int cd_enumerate(struct cd_form *out)
{
    int n = 0;
    for (int opc = 0; opc < 256; opc++)
        cd_add_entry(out, &n, CD_MAP1, opc, &emu_map1[opc]);
    for (int opc = 0; opc < 256; opc++)
        cd_add_entry(out, &n, CD_MAP0F, opc, &emu_map0f[opc]);
    cd_add_prefixed(out, &n, CD_MAP0F_SSE, emu_map0f_sse);
    cd_add_prefixed(out, &n, CD_MAP0F38, emu_map0f38);
    cd_add_prefixed(out, &n, CD_MAP0F3A, emu_map0f3a);
    for (int esc = 0; esc < 8; esc++) {
        for (int r = 0; r < 8; r++)
            cd_add_form(out, &n, CD_X87_MEM, 0xd8 + esc, r, 0, &emu_x87_mem[esc][r]);
        for (int m = 0; m < 64; m++) {
            cd_add_form(out, &n, CD_X87_REG, 0xd8 + esc, -1, 3, &emu_x87_reg[esc][m]);
            out[n - 1].x87 = (uint8_t)m;
        }
    }
    return n;
}

static const char *const cd_alu_names[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
static const char *const cd_shift_names[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
static const char *const cd_cc_names[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                            "s", "ns", "p", "np", "l", "ge", "le", "g"};
static const char *const cd_bt_names[4] = {"bt", "bts", "btr", "btc"};

/* The sub-operation name a "%s" mnemonic takes. */
static const char *cd_sub_name(const struct cd_form *f)
{
    emu_exec_fn fn = f->op->fn;
    unsigned sub = f->op->sub == 0xff ? (unsigned)(f->greg & 7) : f->op->sub;
    if (cd_sys_sub_name(fn, f->greg, f->opc))
        return cd_sys_sub_name(fn, f->greg, f->opc);
    if (fn == ex_alu_rm_reg || fn == ex_alu_reg_rm || fn == ex_alu_acc_imm || fn == ex_alu_rm_imm)
        return cd_alu_names[sub & 7];
    if (fn == ex_shift)
        return cd_shift_names[sub & 7];
    if (fn == ex_setcc || fn == ex_cmovcc || fn == ex_jcc)
        return cd_cc_names[sub & 15];
    if (fn == ex_bt_reg || fn == ex_bt_imm)
        return cd_bt_names[sub & 3];
    if (fn == ex_inc_dec_rm || fn == ex_inc_dec_reg)
        return sub & 1 ? "dec" : "inc";
    if (fn == ex_loop)
        return f->opc == 0xe0 ? "loopne" : f->opc == 0xe1 ? "loope" : "loop";
    if (fn == ex_lgdt_lidt)
        return (const char *[]){"sgdt", "sidt", "lgdt", "lidt"}[sub & 3];
    if (fn == ex_daa_das || fn == ex_aaa_aas || fn == ex_aam_aad)
        return f->opc == 0x27 ? "daa" : f->opc == 0x2f ? "das" : f->opc == 0x37 ? "aaa"
             : f->opc == 0x3f ? "aas" : f->opc == 0xd4 ? "aam" : "aad";
    if (fn == ex_load_far_pointer)
        return (const char *[]){"es", "cs", "ss", "ds", "fs", "gs"}[f->op->sub % 6];
    if (fn == ex_flag_op)
        return f->opc == 0xf5 ? "cmc" : f->opc == 0xf8 ? "clc" : f->opc == 0xf9 ? "stc"
             : f->opc == 0xfc ? "cld" : "std";
    return "?";
}

/* "imul", "shl", "#UD64" (invalid in 64-bit mode), "?" (unknown executor). */
static void cd_form_mnemonic_in(const struct cd_form *f, bool legacy, char *buf, size_t n)
{
    if (cd_no64(f) && (!legacy || !f->info))
        snprintf(buf, n, "#UD64");
    else if (legacy && f->op->fn == ex_movsxd) /* 63 outside 64-bit code */
        snprintf(buf, n, "arpl");
    else if (!f->info)
        snprintf(buf, n, "?");
    else
        snprintf(buf, n, f->info->name, cd_sub_name(f));
}

/* "0f af imul G,E", "f7 /3 neg E", "c1 /4 shl E,count"; legacy: as
 * 32-bit and 16-bit code decode it. */
static void cd_form_name_in(const struct cd_form *f, bool legacy, char *buf, size_t n)
{
    char op[24], mn[24];
    static const char *const maps[] = {"", "0f ", "0f ", "0f 38 ", "0f 3a ", "", ""};
    static const char *const pfx[] = {"", "66 ", "f3 ", "f2 "};
    int k = snprintf(op, sizeof(op), "%s%s%02x", f->pfx >= 0 ? pfx[f->pfx] : "", maps[f->map],
                     f->opc);
    if (f->map == CD_X87_REG)
        k += snprintf(op + k, sizeof(op) - (size_t)k, " %02x", 0xc0 | f->x87);
    if (f->greg >= 0)
        snprintf(op + k, sizeof(op) - (size_t)k, " /%d%s", f->greg,
                 f->mod == 3 ? "r" : f->mod == 0 ? "m" : "");
    cd_form_mnemonic_in(f, legacy, mn, sizeof(mn));
    const char *ops = f->info && (legacy || !cd_no64(f)) ? f->info->operands : "";
    snprintf(buf, n, "%s %s%s%s", op, mn, ops[0] ? " " : "", ops);
}

static void cd_form_name(const struct cd_form *f, char *buf, size_t n)
{
    cd_form_name_in(f, false, buf, n);
}

#endif
