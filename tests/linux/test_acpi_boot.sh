#!/usr/bin/env bash
# Debian's kernel with the firmware tables (src/firmware): with -A it finds
# the ACPI tables without complaint and `poweroff -f` turns the VM off
# through ACPI S5 (hyperkit exits 0 after "reboot: Power down"); with
# acpi=off it reads the MP table instead. Engine from TEST_ACCEL (emu).
: "${HYPERKIT:?set HYPERKIT to the hyperkit binary}"
GUEST_DIR=${HYPERKIT_GUEST_DIR:-$(dirname "$HYPERKIT")/guest}
BOOT_TIMEOUT=${HYPERKIT_BOOT_TIMEOUT:-240}
if [ ! -f "$GUEST_DIR/vmlinuz" ] || [ ! -f "$GUEST_DIR/initramfs-poweroff.img" ]; then
    echo "SKIP: ACPI boot: no guest kernel in $GUEST_DIR (run: sh scripts/fetch-guest.sh)"
    exit 0
fi
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

# boot CMDLINE [hyperkit options...]: run the poweroff initramfs to the end;
# sets STATUS, the console in $LOG.
boot() {
    local cmdline=$1; shift
    timeout "$BOOT_TIMEOUT" "$HYPERKIT" --accel="${TEST_ACCEL:-emu}" -m 512M -s 0:0,hostbridge -s 31,lpc -l com1,stdio "$@" \
        -f "kexec,$GUEST_DIR/vmlinuz,$GUEST_DIR/initramfs-poweroff.img,$cmdline" \
        </dev/null >"$LOG" 2>&1
    STATUS=$?
}

check() {
    local name=$1; shift
    if "$@"; then
        echo "PASS: $name"
    else
        echo "FAIL: $name; console tail: $(tail -c 600 "$LOG" | tr '\n' '|')"
    fi
}
has() { grep -qF -- "$1" "$LOG"; }
lacks() { ! grep -qE -- "$1" "$LOG"; }

boot "console=ttyS0" -A
check "-A: poweroff -f ends hyperkit with status 0 (got $STATUS)" [ "$STATUS" = 0 ]
check "-A: the kernel powers down" has "reboot: Power down"
check "-A: RSDP found at 0xe0000" has "ACPI: RSDP 0x00000000000E0000"
check "-A: XSDT found" has "ACPI: XSDT 0x"
check "-A: FADT found" has "ACPI: FACP 0x"
check "-A: DSDT found" has "ACPI: DSDT 0x"
check "-A: MADT found" has "ACPI: APIC 0x"
check "-A: no ACPI errors or warnings" lacks "ACPI (BIOS )?(Error|Warning)|ACPI Exception"
check "-A: S5 is supported" has "ACPI: PM: (supports S0 S5)"
check "-A: SMP configuration from the MADT" has "Using ACPI (MADT) for SMP configuration"
check "-A: SCI override, level" has "INT_SRC_OVR (bus 0 bus_irq 9 global_irq 9 high level)"
check "-A: interpreter enabled" has "ACPI: Interpreter enabled"
check "-A: PCI root bridge from the DSDT" has "ACPI: PCI Root Bridge [PCI0]"
check "-A: PCI MMIO window from _CRS" has "root bus resource [mem 0xc0000000-0xfebfffff window]"
check "-A: COM1 enumerated by ACPI PnP" has "00:00: ttyS0 at I/O 0x3f8 (irq = 4"
check "-A: the RTC enumerated by ACPI PnP" lacks "registered platform RTC device \(no PNP device found\)"
check "-A: no i8042 probe (FADT says there is none)" lacks "i8042: Probing ports directly"

boot "console=ttyS0 acpi=off" -A
check "acpi=off: status 0 (got $STATUS)" [ "$STATUS" = 0 ]
check "acpi=off: the kernel reads the MP table" has "Intel MultiProcessor Specification v1.4"
check "acpi=off: MP table names the boot CPU" has "Processor #0 (Bootup-CPU)"
check "acpi=off: MP table names the I/O APIC" has "IOAPIC[0]: apic_id 0, version 17, address 0xfec00000"
