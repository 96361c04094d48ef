#!/usr/bin/env bash
# Debian's kernel boots to a busybox shell (engine from TEST_ACCEL, emu when
# unset); the test types commands on the serial console and checks the
# answers against the host.
. "$(dirname "$0")/lib.sh"
guest_missing "Linux shell" && exit 0

# kernel-version holds "linux-image-RELEASE VERSION": uname -r prints RELEASE.
kver=$(sed -e "s/^linux-image-//" -e "s/ .*//" "$GUEST_DIR/kernel-version")
want_sha=$(seq 1 20000 | sha256sum | cut -d' ' -f1)

# The README's command: ACPI tables (-A), host bridge and LPC.
vm_start initramfs-shell.img -A
check "Linux boots to the busybox shell" vm_wait_for "hyperkit-init: ready"
vm_send 'echo "U:$(uname -r):U"'
check "uname -r in the guest is the package's kernel" vm_wait_for "U:$kver:U" 60
vm_send 'echo "C:$(grep -c ^processor /proc/cpuinfo):$(grep -o -w sse2 /proc/cpuinfo | head -n1):C"'
check "/proc/cpuinfo shows one CPU with SSE2" vm_wait_for "C:1:sse2:C" 60
# emu's CPU model: its own brand string, and IA32_ARCH_CAPABILITIES says
# what an interpreter is not affected by: no page-table isolation
# (meltdown) and no VERW clearing (mds) in the guest. kvm shows the host's.
if [ "$ACCEL" = emu ]; then
    vm_send 'echo "B:$(grep -m1 "^model name" /proc/cpuinfo | cut -d: -f2):B"'
    check "/proc/cpuinfo model name is the CPUID brand string" vm_wait_for "B: hyperkit emu x86-64 CPU:B" 60
    vm_send 'v=/sys/devices/system/cpu/vulnerabilities; echo "V:$(cat $v/meltdown):$(cat $v/mds):$(cat $v/l1tf):V"'
    check "Linux sees no Meltdown, MDS or L1TF" vm_wait_for "V:Not affected:Not affected:Not affected:V" 60
fi
vm_send 'seq 1 20000 > /tmp/f; echo "S:$(sha256sum /tmp/f | cut -d" " -f1):S"'
check "sha256sum of a generated file matches the host's" vm_wait_for "S:$want_sha:S" 120
vm_send 'echo "A:$(( (123456789 * 987 + 42) % 1000003 )):$((7 ** 13)):A"'
check "shell arithmetic" vm_wait_for "A:$(( (123456789 * 987 + 42) % 1000003 )):$((7 ** 13)):A" 60
# What the guest makes of its CPU. kvm presents KVM's paravirtual leaves
# (src/accel/kvm/cpuid.c): Linux names the hypervisor and takes kvm-clock.
# emu says it is a VM but under its own name ("hyperkit"), which Linux does
# not know, and offers a 1 GHz invariant TSC as the clock.
case $ACCEL in
kvm) want_hv=1 want_cs=kvm-clock ;;
*) want_hv=0 want_cs=tsc ;;
esac
vm_send 'echo "H:$(dmesg | grep -c "Hypervisor detected: KVM"):$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource):H"'
check "$ACCEL: Hypervisor detected: KVM printed $want_hv times, clocksource $want_cs" \
    vm_wait_for "H:$want_hv:$want_cs:H" 60
# Only S5 is implemented, so ACPI offers no S3 ("deep") or S1 ("standby"):
# Linux lists "mem" in /sys/power/state regardless, backed by s2idle.
vm_send 'echo "P:$(cat /sys/power/mem_sleep):$(grep -c standby /sys/power/state):P"'
check "no ACPI S1/S3 offered: mem_sleep is s2idle only, no standby" vm_wait_for "P:[s2idle]:0:P" 60
# Idle at the prompt, the guest sleeps in HLT until its next timer: the
# process must stay under 5% of one host CPU (user + system time).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$VM_PID/stat"; }
sleep 2
t0=$(cpu_ticks)
sleep 10
used=$(( $(cpu_ticks) - t0 ))
limit=$(( $(getconf CLK_TCK) * 10 / 20 ))
# Nested under QEMU's emulator (the kvm test bed) the host's CPU time is the
# emulator's work for each of the guest's timer ticks and grows with the
# load on the machine under it (14 to 69 ticks seen): no measure of hyperkit.
if [ "$ACCEL" = kvm ] && grep -q '^model name.*QEMU TCG CPU' /proc/cpuinfo; then
    echo "SKIP: idle guest: $used CPU ticks in 10 s, not judged on KVM nested under QEMU TCG"
else
    check "idle guest: $used CPU ticks in 10 s (limit $limit, 5%)" [ "$used" -lt "$limit" ]
fi
vm_send 'poweroff -f'
vm_wait_exit 120
check "poweroff -f ends hyperkit with status 0 (got $VM_STATUS)" [ "$VM_STATUS" = 0 ]
check "the kernel powered off through ACPI S5" grep -q "reboot: Power down" "$VM_LOG"
vm_cleanup

vm_start initramfs-shell.img
check "second boot reaches the shell" vm_wait_for "hyperkit-init: ready"
vm_send 'reboot -f'
vm_wait_exit 120
check "reboot -f ends hyperkit with status 2 (got $VM_STATUS)" [ "$VM_STATUS" = 2 ]
vm_cleanup
