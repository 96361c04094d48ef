#!/usr/bin/env bash
# Debian's kernel boots to a busybox shell on the emu engine; the test types
# commands on the serial console and checks the answers against the host.
. "$(dirname "$0")/lib.sh"
guest_missing "Linux shell" && exit 0

# kernel-version holds "linux-image-RELEASE VERSION": uname -r prints RELEASE.
kver=$(sed -e "s/^linux-image-//" -e "s/ .*//" "$GUEST_DIR/kernel-version")
want_sha=$(seq 1 20000 | sha256sum | cut -d' ' -f1)

vm_start initramfs-shell.img --accel=emu
check "Linux boots to the busybox shell" vm_wait_for "hyperkit-init: ready"
vm_send 'echo "U:$(uname -r):U"'
check "uname -r in the guest is the package's kernel" vm_wait_for "U:$kver:U" 60
vm_send 'echo "C:$(grep -c ^processor /proc/cpuinfo):$(grep -o -w sse2 /proc/cpuinfo | head -n1):C"'
check "/proc/cpuinfo shows one CPU with SSE2" vm_wait_for "C:1:sse2:C" 60
vm_send 'seq 1 20000 > /tmp/f; echo "S:$(sha256sum /tmp/f | cut -d" " -f1):S"'
check "sha256sum of a generated file matches the host's" vm_wait_for "S:$want_sha:S" 120
vm_send 'echo "A:$(( (123456789 * 987 + 42) % 1000003 )):$((7 ** 13)):A"'
check "shell arithmetic" vm_wait_for "A:$(( (123456789 * 987 + 42) % 1000003 )):$((7 ** 13)):A" 60
vm_send 'poweroff -f'
vm_wait_exit 120
check "poweroff -f ends hyperkit with status 0 (got $VM_STATUS)" [ "$VM_STATUS" = 0 ]
vm_cleanup

vm_start initramfs-shell.img --accel=emu
check "second boot reaches the shell" vm_wait_for "hyperkit-init: ready"
vm_send 'reboot -f'
vm_wait_exit 120
check "reboot -f ends hyperkit with status 2 (got $VM_STATUS)" [ "$VM_STATUS" = 2 ]
vm_cleanup
