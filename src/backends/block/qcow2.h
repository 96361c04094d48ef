/* qcow2 images inside the block layer (the format's private header). */
#ifndef HK_BACKENDS_BLOCK_QCOW2_H
#define HK_BACKENDS_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

static inline bool qcow2_has_magic(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) ==
           QCOW2_MAGIC;
}

#endif
