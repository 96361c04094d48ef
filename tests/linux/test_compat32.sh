#!/usr/bin/env bash
# A 32-bit program (compat32.S) in Debian's guest: segment loads, INT 80h
# system calls and a signal's 32-bit frame, all of which read the kernel's
# GDT and TSS above 4 GiB from compatibility mode (issue 8, item 1: a
# truncated table base made the kernel oops at 0x1028).
. "$(dirname "$0")/lib.sh"
guest_missing "compat32" && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
if ! ${CC:-cc} -m32 -c -o "$work/c32.o" "$(dirname "$0")/compat32.S" 2>/dev/null ||
   ! ld -m elf_i386 -static -o "$work/root/c32" "$work/c32.o" 2>/dev/null; then
    echo "SKIP: compat32: no 32-bit assembler or linker"
    exit 0
fi
# The kernel unpacks concatenated cpio archives: the shell's, then ours.
(cd "$work/root" && echo c32 | cpio -o -H newc 2>/dev/null | gzip) >"$work/c32.cpio.gz"
cat "$GUEST_DIR/initramfs-shell.img" "$work/c32.cpio.gz" >"$work/initramfs-c32.img"
ln -s "$GUEST_DIR/vmlinuz" "$work/vmlinuz"
GUEST_DIR=$work

vm_start initramfs-c32.img --accel=emu
check "compat32: Linux boots to the shell" vm_wait_for "hyperkit-init: ready"
vm_send '/c32; echo "R:$?:R"'
check "compat32: the 32-bit program ran to its end" vm_wait_for "C32OK" 120
check "compat32: and exited 0" vm_wait_for "R:0:R" 30
# Soft lockups are left out: the kernel's W+X page-table walk takes about
# 25 s interpreted on a loaded host, which is timing, not the CPU's rules.
check "compat32: no kernel oops, BUG or WARNING" \
    bash -c "! grep -qE 'Oops|BUG: unable|general protection|WARNING:' '$VM_LOG'"
vm_send 'poweroff -f'
vm_wait_exit 120
vm_cleanup
