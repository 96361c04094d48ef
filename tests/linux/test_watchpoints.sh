#!/usr/bin/env bash
# Hardware watchpoints and breakpoints set through ptrace in Debian's guest
# (watchpoints.c; issue 8, item 10): a data breakpoint trapping after each
# store, an instruction breakpoint the kernel resumes past with RF.
. "$(dirname "$0")/lib.sh"
guest_missing "watchpoints" && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
if ! ${CC:-cc} -static -O2 -o "$work/root/wp" "$(dirname "$0")/watchpoints.c" 2>/dev/null; then
    echo "SKIP: watchpoints: no static C library"
    exit 0
fi
# The kernel unpacks concatenated cpio archives: the shell's, then ours.
(cd "$work/root" && echo wp | cpio -o -H newc 2>/dev/null | gzip) >"$work/wp.cpio.gz"
cat "$GUEST_DIR/initramfs-shell.img" "$work/wp.cpio.gz" >"$work/initramfs-wp.img"
ln -s "$GUEST_DIR/vmlinuz" "$work/vmlinuz"
GUEST_DIR=$work

vm_start initramfs-wp.img --accel=emu
check "watchpoints: Linux boots to the shell" vm_wait_for "hyperkit-init: ready"
vm_send '/wp; echo "R:$?:R"'
check "watchpoints: four stops with the DR6 bits, values and RIPs a debugger expects" \
    vm_wait_for "WATCHOK" 120
check "watchpoints: the program exited 0" vm_wait_for "R:0:R" 30
check "watchpoints: no kernel oops, BUG or WARNING" \
    bash -c "! grep -qE 'Oops|BUG: unable|general protection|WARNING:' '$VM_LOG'"
vm_send 'poweroff -f'
vm_wait_exit 120
vm_cleanup
