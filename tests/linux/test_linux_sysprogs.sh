#!/usr/bin/env bash
# Static programs written for this suite (tests/linux/progs, built by
# `make linux-progs`) run in Debian's kernel on the emu engine: 32-bit
# segments, signals and system calls through IA32 emulation, MOV SS before
# a breakpoint, ioperm/iopl port access, ptrace single-step and hardware
# watchpoints (issue 8 items 1, 2 and 10). One boot runs them all: each
# program prints "ok ..." / "FAIL ..." lines and exits non-zero on a
# failure. Any BUG:, Oops, WARNING:, soft lockup or RCU stall in the
# kernel's log (console and dmesg) fails the test too.
# HYPERKIT_KEEP_LOG=FILE keeps a copy of the guest's console.
. "$(dirname "$0")/lib.sh"
guest_missing "Linux system programs" && exit 0
progs_img=$(dirname "$HYPERKIT")/linux-progs/progs.cpio.gz
if [ ! -f "$progs_img" ]; then
    echo "FAIL: Linux system programs: no $progs_img (make linux-progs)"
    exit 1
fi
# The kernel's two boot-time W+X page-table walks (CONFIG_DEBUG_WX) run
# about 10 s of guest time each without yielding on an idle host, past the
# default soft-lockup (20 s) and RCU-stall (21 s) limits when the host's
# cores are busy (the guest's clock is the host's). These move the limits
# to 120 s: still a FAIL for a CPU that is really stuck, not for a slow host.
GUEST_CMDLINE="$GUEST_CMDLINE watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120"
progs="seg32 sig32 sys32 sys64 movss32 movss64 io ptrace32 ptrace64"
kernel_bad='BUG:|Oops|WARNING:|soft lockup|rcu: INFO: .*detected stall'

# The programs' archive after the busybox one: the kernel unpacks both.
initrd=$(mktemp)
trap 'rm -f "$initrd"' EXIT
cat "$GUEST_DIR/initramfs-shell.img" "$progs_img" >"$initrd"

# console_since MARK: the console log after the last line holding MARK,
# without carriage returns.
console_since() {
    tr -d '\r' <"$VM_LOG" | awk -v m="$1" 'index($0, m) { buf = ""; next } { buf = buf $0 "\n" } END { printf "%s", buf }'
}

start=$(date +%s)
vm_start "$initrd" -A
if ! vm_wait_for "hyperkit-init: ready"; then
    check "Linux boots to the busybox shell" false
    vm_cleanup
    exit 1
fi
echo "info: booted in $(($(date +%s) - start)) s"

alive=1
status=0
for p in $progs; do
    if [ $alive = 0 ]; then
        echo "FAIL: $p: not run, the guest stopped answering"
        status=1
        continue
    fi
    # "R""C" keeps the echoed command line from matching the marker.
    vm_send "echo \"B\"\"EGIN:$p\"; timeout 60 /progs/$p; echo \"R\"\"C:$p:\$?:\""
    if ! vm_wait_for "RC:$p:" 90; then
        echo "FAIL: $p: no exit status within 90 s; console tail: $(tail -c 600 "$VM_LOG" | tr '\r\n' ' |')"
        status=1
        vm_send 'echo "PI""NG"'
        vm_wait_for "PING" 30 || alive=0
        continue
    fi
    out=$(console_since "BEGIN:$p" | sed -n "/RC:$p:/q;p")
    rc=$(tr -d '\r' <"$VM_LOG" | grep -o "RC:$p:[0-9]*:" | tail -n 1 | cut -d: -f3)
    if [ "$rc" = 0 ] && printf '%s\n' "$out" | grep -q "^$p: all ok"; then
        echo "PASS: $p ($(printf '%s\n' "$out" | grep -c '^ok ') checks)"
    else
        echo "FAIL: $p exited $rc:"
        status=1
        printf '%s\n' "$out" | grep -v -e '^ok ' -e '^info ' | sed 's/^/    /'
    fi
    printf '%s\n' "$out" | grep '^info ' | sed 's/^info /info: /'
done
echo "info: programs done $(($(date +%s) - start)) s after start"

# The whole kernel log, raw (<level>): the test fails on the patterns,
# and lists KERN_WARNING and worse lines (levels 0-4) for the reader.
vm_send 'echo "D""MESG-BEGIN"; dmesg -r; echo "D""MESG-END"'
if vm_wait_for "DMESG-END" 60; then
    dmesg_out=$(console_since "DMESG-BEGIN" | sed -n '/DMESG-END/q;p')
    warn=$(printf '%s\n' "$dmesg_out" | grep -E '^<[0-4]>')
    printf '%s\n' "$warn" | grep . | head -n 8 | sed 's/^/info: dmesg warning or worse: /'
    n=$(printf '%s\n' "$warn" | grep -c .)
    [ "$n" -le 8 ] || echo "info: ... $((n - 8)) more dmesg lines at warning level or worse"
else
    echo "FAIL: dmesg did not answer within 60 s"
    status=1
fi
# The console shows each line twice (printk, then dmesg -r): drop <N>.
bad=$(tr -d '\r' <"$VM_LOG" | grep -E "$kernel_bad" | sed 's/^<[0-9]*>//' | sort -u)
if [ -z "$bad" ]; then
    echo "PASS: no BUG:, Oops, WARNING:, soft lockup or RCU stall in the kernel log"
else
    echo "FAIL: the kernel log shows:"
    status=1
    printf '%s\n' "$bad" | head -n 20 | sed 's/^/    /'
fi
vm_send 'poweroff -f'
vm_wait_exit 120
check "poweroff -f ends hyperkit with status 0 (got $VM_STATUS)" [ "$VM_STATUS" = 0 ]
[ "$VM_STATUS" = 0 ] || status=1
echo "info: total $(($(date +%s) - start)) s"
if [ -n "${HYPERKIT_KEEP_LOG:-}" ]; then
    cp "$VM_LOG" "$HYPERKIT_KEEP_LOG"
fi
vm_cleanup
exit $status
