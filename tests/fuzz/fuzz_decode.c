/*
 * libFuzzer target for the emu decoder alone. Input: one byte choosing the
 * decoding mode, then up to 15 instruction bytes. Every prefix of those
 * bytes is decoded from a heap buffer of exactly that size, so ASan sees
 * any read past `avail`, and the answers must agree with each other:
 *  - a length in 1..15, or 0 ("needs more bytes") only when avail < 15;
 *  - a length no larger than avail unless it is the 15-byte #GP form;
 *  - once some prefix decodes, every longer one decodes to the same insn
 *    (block.c relies on this when an instruction ends at a page boundary);
 *  - the decoded fields stay in the ranges the executors index with.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/emu/cpu.h"

static const enum emu_mode modes[6] = {MODE_LONG64,  MODE_PROT32,   MODE_COMPAT32,
                                       MODE_PROT16,  MODE_COMPAT16, MODE_REAL};

static void fail(const char *why, int avail, int len)
{
    fprintf(stderr, "fuzz_decode: %s (avail %d, length %d)\n", why, avail, len);
    abort();
}

static void check_fields(const struct emu_insn *in, int avail)
{
    if (!in->fn)
        fail("no executor", avail, in->len);
    if (in->opsz != 1 && in->opsz != 2 && in->opsz != 4 && in->opsz != 8)
        fail("operand size", avail, in->opsz);
    if (in->adsz != 2 && in->adsz != 4 && in->adsz != 8)
        fail("address size", avail, in->adsz);
    if (in->seg > SEG_GS)
        fail("segment", avail, in->seg);
    if (in->reg >= REG_HIGH8 + 4 || in->rm >= REG_HIGH8 + 4)
        fail("register number", avail, in->reg);
    if (in->flags & INSN_MEM) {
        if (in->base != EA_NONE && in->base > EA_RIP)
            fail("base register", avail, in->base);
        if (in->index != EA_NONE && in->index >= 16)
            fail("index register", avail, in->index);
        if (in->scale > 3)
            fail("scale", avail, in->scale);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct emu_cpu cpu;
    if (size < 1)
        return 0;
    cpu.mode = modes[data[0] % 6];
    uint8_t bytes[15] = {0};
    int n = size - 1 < 15 ? (int)size - 1 : 15;
    memcpy(bytes, data + 1, (size_t)n);

    struct emu_insn full;
    int full_len = emu_decode(&cpu, bytes, 15, &full);
    if (full_len < 1 || full_len > 15)
        fail("bad length with 15 bytes", 15, full_len);
    check_fields(&full, 15);

    int first_ok = 0;
    for (int avail = 0; avail < 15; avail++) {
        uint8_t *buf = malloc(avail ? (size_t)avail : 1);
        memcpy(buf, bytes, (size_t)avail);
        struct emu_insn in;
        int len = emu_decode(&cpu, buf, avail, &in);
        free(buf);
        if (len < 0 || len > 15)
            fail("bad length", avail, len);
        if (len == 0) {
            if (first_ok)
                fail("fewer bytes decoded, more did not", avail, len);
            continue;
        }
        if (len > avail)
            fail("length past avail", avail, len);
        if (!first_ok)
            first_ok = avail;
        if (len != full_len || memcmp(&in, &full, sizeof(in)) != 0)
            fail("decodes differently with more bytes", avail, len);
    }
    return 0;
}
