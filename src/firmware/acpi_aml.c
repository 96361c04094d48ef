/*
 * AML encoding after ACPI 6.3 section 20.2 (the AML grammar) and the
 * resource descriptors of section 6.4. See acpi_aml.h.
 */
#include "firmware/acpi_aml.h"

#include <string.h>

#include "firmware/firmware.h"

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
    *a = (struct aml){.buf = buf, .cap = cap};
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->overflow || n > a->cap - a->len) {
        a->overflow = true;
        return;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

/* Open a gap of n bytes at pos (pos <= len) and copy p into it. */
static void insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
    if (a->overflow || pos > a->len || n > a->cap - a->len) {
        a->overflow = true;
        return;
    }
    memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
    memcpy(a->buf + pos, p, n);
    a->len += n;
}

/* NameSeg (20.2.2): four characters, a lead of A-Z or '_', '_'-padded. */
static void nameseg(struct aml *a, const char *s, size_t n)
{
    char seg[4] = {'_', '_', '_', '_'};
    memcpy(seg, s, n > 4 ? 4 : n);
    aml_bytes(a, seg, 4);
}

void aml_namestring(struct aml *a, const char *path)
{
    if (*path == '\\') {
        aml_byte(a, AML_ROOT_CHAR);
        path++;
    }
    while (*path == '^') {
        aml_byte(a, AML_PARENT_PREFIX);
        path++;
    }
    size_t nsegs = *path ? 1 : 0;
    for (const char *c = path; *c; c++)
        nsegs += *c == '.';
    if (nsegs == 0) {
        aml_byte(a, 0x00);   /* NullName */
        return;
    }
    if (nsegs == 2) {
        aml_byte(a, AML_DUAL_NAME);
    } else if (nsegs > 2) {
        aml_byte(a, AML_MULTI_NAME);
        aml_byte(a, (uint8_t)nsegs);
    }
    while (*path) {
        size_t n = strcspn(path, ".");
        nameseg(a, path, n);
        path += n + (path[n] == '.');
    }
}

void aml_integer(struct aml *a, uint64_t v)
{
    uint8_t b[9];
    size_t n;
    if (v <= 1) {
        aml_byte(a, v ? AML_ONE : AML_ZERO);
        return;
    }
    if (v <= 0xff) {
        b[0] = AML_BYTE_PREFIX;
        n = 1;
    } else if (v <= 0xffff) {
        b[0] = AML_WORD_PREFIX;
        n = 2;
    } else if (v <= 0xffffffffull) {
        b[0] = AML_DWORD_PREFIX;
        n = 4;
    } else {
        b[0] = AML_QWORD_PREFIX;
        n = 8;
    }
    for (size_t i = 0; i < n; i++)
        b[1 + i] = (uint8_t)(v >> (8 * i));
    aml_bytes(a, b, n + 1);
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, AML_STRING_PREFIX);
    aml_bytes(a, s, strlen(s) + 1);
}

/* 6.1.5 _HID: three letters of 5 bits each (A = 1) and four hex digits,
 * stored most significant byte first. */
uint32_t aml_eisaid_value(const char *id)
{
    uint32_t v = 0;
    for (int i = 0; i < 3 && id[i]; i++)
        v = v << 5 | (uint32_t)((id[i] - 0x40) & 0x1f);
    for (int i = 3; i < 7 && id[i]; i++) {
        char c = id[i];
        uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0') : (uint32_t)((c | 0x20) - 'a' + 10);
        v = v << 4 | (d & 0xf);
    }
    return __builtin_bswap32(v);
}

void aml_eisaid(struct aml *a, const char *id)
{
    uint8_t b[5] = {AML_DWORD_PREFIX};
    put32(b + 1, aml_eisaid_value(id));
    aml_bytes(a, b, sizeof(b));
}

void aml_name(struct aml *a, const char *name)
{
    aml_byte(a, AML_NAME);
    aml_namestring(a, name);
}

size_t aml_scope_open(struct aml *a, const char *name)
{
    aml_byte(a, AML_SCOPE);
    size_t mark = a->len;
    aml_namestring(a, name);
    return mark;
}

size_t aml_device_open(struct aml *a, const char *name)
{
    aml_byte(a, AML_EXT_PREFIX);
    aml_byte(a, AML_DEVICE);
    size_t mark = a->len;
    aml_namestring(a, name);
    return mark;
}

size_t aml_package_open(struct aml *a, uint8_t nelements)
{
    aml_byte(a, AML_PACKAGE);
    size_t mark = a->len;
    aml_byte(a, nelements);
    return mark;
}

size_t aml_buffer_open(struct aml *a)
{
    aml_byte(a, AML_BUFFER);
    return a->len;
}

/* 20.2.4 PkgLength: the length counts its own bytes. One byte holds up to
 * 63; otherwise bits 7-6 of the lead byte count the bytes that follow,
 * its bits 3-0 are the low nibble and each following byte 8 more bits. */
void aml_close(struct aml *a, size_t mark)
{
    if (a->overflow || mark > a->len)
        return;
    size_t body = a->len - mark;
    uint8_t enc[4];
    size_t n;
    if (body + 1 <= 63) {
        n = 1;
        enc[0] = (uint8_t)(body + 1);
    } else {
        n = body + 2 < (1u << 12) ? 2 : body + 3 < (1u << 20) ? 3 : 4;
        size_t total = body + n;
        if (total >= (1u << 28)) {
            a->overflow = true;
            return;
        }
        enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
        for (size_t i = 1; i < n; i++)
            enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
    }
    insert(a, mark, enc, n);
}

void aml_buffer_close(struct aml *a, size_t mark)
{
    if (a->overflow || mark > a->len)
        return;
    /* DefBuffer := BufferOp PkgLength BufferSize ByteList (20.2.5.4). */
    struct aml size;
    uint8_t tmp[9];
    aml_init(&size, tmp, sizeof(tmp));
    aml_integer(&size, a->len - mark);
    insert(a, mark, tmp, size.len);
    aml_close(a, mark);
}

uint32_t aml_pkglength_decode(const uint8_t *p, size_t n, size_t *used)
{
    if (n == 0)
        return 0;
    size_t follow = p[0] >> 6;
    if (follow + 1 > n)
        return 0;
    *used = follow + 1;
    if (follow == 0)
        return p[0] & 0x3f;
    uint32_t v = p[0] & 0x0f;
    for (size_t i = 1; i <= follow; i++)
        v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
    return v;
}

/* --- Resource descriptors (ACPI 6.3 6.4) ---------------------------------- */

size_t aml_restemplate_open(struct aml *a)
{
    return aml_buffer_open(a);
}

void aml_restemplate_close(struct aml *a, size_t mark)
{
    /* 6.4.2.9 End Tag: a zero checksum means "treat as correct". */
    static const uint8_t end[] = {0x79, 0x00};
    aml_bytes(a, end, sizeof(end));
    aml_buffer_close(a, mark);
}

/* 6.4.2.5 I/O Port Descriptor: fixed base, 16-bit decode. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
    uint8_t d[8] = {0x47, 0x01};
    put16(d + 2, base);
    put16(d + 4, base);
    d[6] = 1;
    d[7] = len;
    aml_bytes(a, d, sizeof(d));
}

/* 6.4.2.1 IRQ Descriptor without the flags byte: edge, active high. */
void aml_res_irq(struct aml *a, unsigned irq)
{
    uint8_t d[3] = {0x22};
    put16(d + 1, (uint16_t)(1u << (irq & 15)));
    aml_bytes(a, d, sizeof(d));
}

/* General flags (6.4.3.5.3): _MAF and _MIF set (a fixed window), positive
 * decode, and bit 0 clear: this device produces the range (a bridge
 * window for its children, which is what Linux's root bridge looks for). */
#define ADDR_FIXED_WINDOW 0x0c
#define ADDR_TYPE_MEM 0
#define ADDR_TYPE_IO 1
#define ADDR_TYPE_BUS 2
#define IO_RANGE_ENTIRE 0x03   /* _RNG: ISA and non-ISA ranges */
#define MEM_READ_WRITE 0x01    /* _RW; _MEM 0: non-cacheable */

/* 6.4.3.5.3 Word Address Space Descriptor. */
static void word_space(struct aml *a, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
    uint8_t d[16] = {0x88, 13, 0, type, ADDR_FIXED_WINDOW, tflags};
    put16(d + 8, min);
    put16(d + 10, max);
    put16(d + 14, (uint16_t)(max - min + 1));
    aml_bytes(a, d, sizeof(d));
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
    word_space(a, ADDR_TYPE_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
    word_space(a, ADDR_TYPE_IO, IO_RANGE_ENTIRE, min, max);
}

/* 6.4.3.5.2 DWord Address Space Descriptor. */
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
    uint8_t d[26] = {0x87, 23, 0, ADDR_TYPE_MEM, ADDR_FIXED_WINDOW, MEM_READ_WRITE};
    put32(d + 10, min);
    put32(d + 14, max);
    put32(d + 22, max - min + 1);
    aml_bytes(a, d, sizeof(d));
}
