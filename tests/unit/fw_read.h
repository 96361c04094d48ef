/* Firmware tables read back as an OS reads them (test_acpi, test_mptable):
 * little-endian fields (core/bytes.h), byte checksums, and addresses
 * bounds-checked against the area the tables were built in. */
#ifndef HK_TESTS_UNIT_FW_READ_H
#define HK_TESTS_UNIT_FW_READ_H

#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"

/* The 8-bit sum of n bytes: 0 for a table with a correct checksum. */
static inline uint8_t byte_sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* The len bytes at guest address gpa inside area (size bytes at guest
 * address base), or NULL if they are not all inside. */
static inline const uint8_t *area_at(const uint8_t *area, uint64_t base, uint64_t size,
                                     uint64_t gpa, uint32_t len)
{
    if (gpa < base || gpa + len > base + size)
        return NULL;
    return area + (gpa - base);
}

#endif
