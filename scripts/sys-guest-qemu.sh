#!/bin/sh
# Run one ring-0 test guest (tests/guests/sys, a flat64 binary) under plain
# QEMU TCG, without KVM or hyperkit, and print its PASS:/FAIL: lines:
#
#   sh scripts/sys-guest-qemu.sh build/guests/sys_debug.bin [CPU]
#
# The kvm test bed runs the guests on KVM nested in QEMU's emulator, where
# QEMU runs most guest instructions itself; a check that fails here too is
# QEMU's doing, not KVM's or hyperkit's (tests/cli/sys_guests_qemu_tcg.tsv).
# CPU is QEMU's -cpu (max). Exits with the guest's status (1 all passed,
# 3 some failed; 0 when the guest reset the CPU, e.g. a triple fault;
# 124 when it hung). The loader is built with cc -m32 (gcc-multilib).
set -eu
prog=sys-guest-qemu
say() { echo "$prog: $*" >&2; }
die() { say "$*"; exit 1; }

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    die "usage: sh scripts/sys-guest-qemu.sh GUEST.bin [CPU]"
fi
guest=$1 cpu=${2:-max}
[ -f "$guest" ] || die "$guest: no such guest (make guests builds build/guests/sys_*.bin)"
here=$(cd "$(dirname "$0")/.." && pwd)
command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 is not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The loader sits at 48 MiB, above anything the guests touch.
cc -m32 -c -o "$tmp/entry.o" "$here/tests/guests/sys/qemu_entry.S"
ld -m elf_i386 -Ttext=0x3000000 --build-id=none -o "$tmp/loader.elf" "$tmp/entry.o"
status=0
# A bound for a guest QEMU leaves hanging (sys_cr: QEMU takes CR0.PG without
# PE), not a speed limit: each guest takes seconds.
timeout 600 qemu-system-x86_64 -accel tcg -cpu "$cpu" -smp 1 -m 64M -nodefaults \
    -no-user-config -nographic -no-reboot -serial "file:$tmp/serial" -monitor none \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$tmp/loader.elf" -initrd "$guest" </dev/null >"$tmp/qemu.log" 2>&1 || status=$?
tr -d '\r' <"$tmp/serial" | grep -E '^(PASS|FAIL|SKIP|DONE|note):' || true
[ "$status" != 124 ] || say "the guest did not end within 600 s"
exit "$status"
