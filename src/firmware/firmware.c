/* The table area allocator, checksums, and writing the tables into a VM. */
#include "firmware/firmware.h"

#include <stdio.h>
#include <string.h>

#include "core/vm.h"
#include "firmware/acpi.h"

void fw_area_init(struct fw_area *a, uint8_t *buf, uint32_t gpa, uint32_t size)
{
    *a = (struct fw_area){.buf = buf, .gpa = gpa, .size = size};
}

uint8_t *fw_alloc(struct fw_area *a, uint32_t len, uint32_t align, uint32_t *gpa)
{
    uint64_t at = ((uint64_t)a->gpa + a->used + align - 1) & ~(uint64_t)(align - 1);
    uint64_t off = at - a->gpa;
    if (align == 0 || (align & (align - 1)) || off > a->size || len > a->size - off)
        return NULL;
    a->used = (uint32_t)(off + len);
    memset(a->buf + off, 0, len);
    if (gpa)
        *gpa = (uint32_t)at;
    return a->buf + off;
}

uint8_t fw_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)-sum;
}

static struct fw_platform platform_of(const struct vm *vm)
{
    struct fw_platform p = {.ncpus = vm->cfg.vcpus};
    for (int i = 0; i < 2 && i < HK_MAX_COM; i++)
        p.com[i] = vm->cfg.com[i].backend != HK_COM_NONE;
    return p;
}

/* Build into guest RAM at [gpa, gpa+size): a window of the BIOS area that
 * e820.c reports reserved, so the guest's allocator leaves it alone. */
static int build_in(struct vm *vm, uint32_t gpa, uint32_t size, struct fw_area *a, char *err,
                    size_t errlen, const char *what)
{
    uint8_t *buf = gmem_ptr_for_write(&vm->mem, gpa, size);
    if (!buf) {
        snprintf(err, errlen, "%s: no guest RAM at %#x-%#x", what, gpa, gpa + size - 1);
        return HK_EINVAL;
    }
    memset(buf, 0, size);
    fw_area_init(a, buf, gpa, size);
    return HK_OK;
}

int firmware_tables_build(struct vm *vm, char *err, size_t errlen)
{
    struct fw_platform p = platform_of(vm);
    struct fw_area a;
    int r = HK_OK;
    if (vm->cfg.flags[HK_FLAG_ACPI]) {
        uint32_t rsdp;
        r = build_in(vm, FW_ACPI_BASE, FW_ACPI_SIZE, &a, err, errlen, "ACPI tables");
        if (!r && (r = acpi_build(&a, &p, &rsdp)) != 0)
            snprintf(err, errlen, "cannot build the ACPI tables: %s", hk_strerror(r));
    }
    if (!r && !vm->cfg.flags[HK_FLAG_NO_MPTABLE]) {
        r = build_in(vm, FW_MPTABLE_BASE, FW_MPTABLE_SIZE, &a, err, errlen, "MP table");
        if (!r && (r = mptable_build(&a, &p)) != 0)
            snprintf(err, errlen, "cannot build the MP table: %s", hk_strerror(r));
    }
    return r;
}

uint64_t firmware_acpi_rsdp(const struct vm *vm)
{
    uint8_t sig[8];
    if (!vm->cfg.flags[HK_FLAG_ACPI] || gmem_read(&vm->mem, FW_ACPI_RSDP, sig, sizeof(sig)) ||
        memcmp(sig, RSDP_SIGNATURE, sizeof(sig)) != 0)
        return 0;
    return FW_ACPI_RSDP;
}
