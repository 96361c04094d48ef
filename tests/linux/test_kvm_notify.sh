#!/usr/bin/env bash
# Virtio queue notifications without vCPU exits on kvm (issue 11;
# src/devices/virtio/virtio_pci_notify.c). The same disk workload in two
# boots of Debian's kernel, with ioeventfds and with HYPERKIT_IOEVENTFD=off:
# diskio's O_DIRECT sequential and random reads, one request (so one queue
# notify) at a time. hyperkit's --trace counts the exits to the VMM on kvm.
# Checked: the engine took registrations, the guest's disk works either
# way, and without ioeventfds every notify is an MMIO exit that with them
# stays in the kernel (at least half the random reads' worth fewer).
# Prints both runs' exit counts and random-read IOPS (guest clock; in the
# test bed nested under QEMU's TCG, so no hardware figure).
# kvm only (TEST_ACCEL=kvm): emu's exits are function calls, it has none.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/disk_lib.sh"
DISK_TEST="kvm notify"
if [ "$ACCEL" != kvm ]; then
    echo "SKIP: $DISK_TEST: kvm only (TEST_ACCEL=kvm; the test bed runs it)"
    exit 0
fi
guest_missing "$DISK_TEST" && exit 0

reads=2000
mib=8
work=$(mktemp -d)
trap 'vm_cleanup 2>/dev/null; rm -rf "$work"' EXIT
initrd=$work/initrd.img
disk_initrd "$initrd" || exit 1

# run LABEL IOEVENTFD: one boot; the trace in $work/trace.LABEL, the
# random reads' line in $work/randread.LABEL. Status 1 if it broke.
run() {
    local label=$1 line
    rm -f "$work/disk.img"
    truncate -s $((2 * mib))M "$work/disk.img"
    export HYPERKIT_IOEVENTFD=$2
    DISK_HYPERKIT_FLAGS="--trace=$work/trace.$label"
    disk_vm_start "$initrd" raw:"$work/disk.img"
    unset HYPERKIT_IOEVENTFD
    if ! vm_wait_for "hyperkit-init: ready"; then
        result "$label: boot reaches the shell" false
        return 1
    fi
    line=$(guest_step "$(step_limit $((4 * mib)))" '^disk: bench /dev/vda (done|failed)' \
        bench /dev/vda "$mib" "$reads")
    result "$label: the disk workload runs" [ "$line" = "disk: bench /dev/vda done" ]
    tr -d '\r' <"$VM_LOG" | grep '^diskio: randread bytes=' >"$work/randread.$label"
    vm_send "poweroff -f"
    vm_wait_exit 120
    result "$label: hyperkit exits 0 at power-off" [ "$VM_STATUS" = 0 ]
    vm_cleanup
    result "$label: the trace has the exit counts" grep -q '^kvm exits: ' "$work/trace.$label"
}

# trace_field LABEL KEY: KEY=N of the run's "kvm exits:" line.
trace_field() {
    sed -n "s/^kvm exits:.* $2=\([0-9]*\).*/\1/p" "$work/trace.$1" | head -n 1
}

iops() { # LABEL
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
         END { if (v["usec"] > 0) printf "%d", v["ops"] * 1000000 / v["usec"]; else print "?" }' \
        "$work/randread.$1"
}

run on "" || exit 1
run off off || exit 1
on_fds=$(trace_field on ioeventfds)
off_fds=$(trace_field off ioeventfds)
on_mmio=$(trace_field on mmio)
off_mmio=$(trace_field off mmio)
echo "kvm notify: MMIO exits ${on_mmio:-?} with ioeventfds ($on_fds registered), ${off_mmio:-?} without;" \
    "port I/O exits $(trace_field on io) / $(trace_field off io);" \
    "randread 4 KiB IOPS $(iops on) / $(iops off) ($reads reads)"
result "the engine took the queues' notify registrations" [ "${on_fds:-0}" -gt 0 ]
result "HYPERKIT_IOEVENTFD=off takes none" [ "${off_fds:-1}" -eq 0 ]
spared() { [ -n "$on_mmio" ] && [ -n "$off_mmio" ] && [ $((off_mmio - on_mmio)) -ge $((reads / 2)) ]; }
result "ioeventfds spare at least $((reads / 2)) MMIO exits" spared
exit $((DISK_FAILED > 0))
