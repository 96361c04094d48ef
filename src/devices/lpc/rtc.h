/*
 * The PC's MC146818-compatible real-time clock and CMOS NVRAM at ports
 * 0x70 (index; bit 7 masks NMI) and 0x71 (data), interrupting on IRQ 8.
 * The model computes the time, the update-in-progress window and the
 * periodic/alarm/update flags from the clock when the guest looks or the
 * irqchip polls it; nothing runs in the background.
 */
#ifndef HK_DEVICES_LPC_RTC_H
#define HK_DEVICES_LPC_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/iobus.h"
#include "devices/irqchip/devclock.h"

#define RTC_BASE 0x70
#define RTC_NPORTS 2
#define RTC_IRQ 8
#define RTC_NVRAM_SIZE 128
#define RTC_CENTURY 0x32   /* the ACPI FADT's CENTURY field names this */

struct dev_env;
struct irqchip;
struct rtc;

/* irq is called with the RTC's lock held (the line follows REG_C.IRQF). */
typedef void (*rtc_irq_fn)(void *opaque, bool level);

/* epoch_secs: the time the clock shows at clock time start_ns, as seconds
 * since 1970 in the frame the guest expects (UTC, or local time already
 * shifted by the UTC offset). */
int rtc_new(const struct devclock *clk, int64_t epoch_secs, uint64_t start_ns, rtc_irq_fn irq,
            void *opaque, struct rtc **out);
void rtc_free(struct rtc *r);

/* Fill the memory-size bytes firmware-less boots read: 0x15-0x18 and
 * 0x30-0x31 (base/extended KiB), 0x34-0x35 (64 KiB blocks above 16 MiB
 * below 4 GiB) and 0x5b-0x5d (64 KiB blocks above 4 GiB). */
void rtc_set_memory(struct rtc *r, uint64_t lowmem_bytes, uint64_t highmem_bytes);

uint8_t rtc_read(struct rtc *r, uint8_t reg);
void rtc_write(struct rtc *r, uint8_t reg, uint8_t val);

/* Set the interrupt flags due by `now` (may raise IRQ 8), and when the
 * next one is due (UINT64_MAX: none enabled, or IRQF still pending). */
void rtc_poll(struct rtc *r, uint64_t now);
uint64_t rtc_next_event(struct rtc *r);

extern const struct io_ops rtc_io_ops;   /* 0x70-0x71; opaque: struct rtc */

/* The VM's RTC: host time (local unless env->rtc_utc), memory size from
 * env->mem, ports registered, IRQ 8 through the environment, interrupts
 * timed by the irqchip's polling (chip may be NULL: then flags are seen
 * only when the guest reads register C). */
int rtc_create(struct dev_env *env, struct irqchip *chip);

#endif
