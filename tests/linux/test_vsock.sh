#!/usr/bin/env bash
# virtio-sock seen from Debian's kernel (issue 10, "Done when"), in one
# boot with -s virtio-sock,guest_cid=3,path=DIR,guest_forwards=1025:
#   guest -> host: a host peer on DIR/00000002.00000400 takes the guest's
#       connection to port 1024; VSOCK_MIB each way, both ends check every
#       byte (sha256 on the host, the pattern compared in the guest)
#   host -> guest through DIR/connect ("00000003.00000402\n") to a guest
#       listener on 1026, VSOCK_MIB each way
#   host -> guest through the guest_forwards listener DIR/00000003.00000401
#   VSOCK_CONNS connections at once each way (VSOCK_CONN_KIB each way each)
#   refused both ways: the guest connecting to a host port nobody listens
#       on gets ECONNRESET, DIR/connect to a guest port nobody listens on EOF
#   a host peer that stops reading one connection (4 MiB waiting in it)
#       does not hold up another one's 4 MiB each way
# 100 MiB each way takes ~7 s per transfer on the emu engine (~28 MiB/s,
# both directions together, on a busy 2-core machine).
# The helpers: progs/vsock.c in the guest, vsock_peer.py on the host (the
# same exchange). Every wait is a step limit (disk_lib.sh), the peer's
# too: it hashes the expected stream after the transfer, which on a slow
# host (the kvm bed, under QEMU's emulator) takes as long again.
# Throughput lines ("info: ...") are the host's figures.
# HYPERKIT_KEEP_LOG=DIR keeps the console.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/disk_lib.sh"
DISK_TEST="vsock"
VSOCK_MIB=${VSOCK_MIB:-100}
VSOCK_CONNS=${VSOCK_CONNS:-64}
VSOCK_CONN_KIB=${VSOCK_CONN_KIB:-64}
guest_missing "$DISK_TEST" && exit 0
if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP: $DISK_TEST: python3 is missing"
    exit 0
fi
if ! gzip -dc "$GUEST_DIR/initramfs-shell.img" | grep -qa 'vmw_vsock_virtio_transport\.ko'; then
    echo "FAIL: $DISK_TEST: $GUEST_DIR/initramfs-shell.img has no vsock modules (run: make guest)"
    exit 1
fi
peer=$(dirname "$0")/vsock_peer.py

work=$(mktemp -d)
trap 'kill $PEER_PID 2>/dev/null; vm_cleanup 2>/dev/null; rm -rf "$work"' EXIT
initrd=$work/initrd.img
disk_initrd "$initrd" || exit 1
dir=$work/vs
mkdir -p "$dir"
mib=1048576
big=$((VSOCK_MIB * mib))
small=$((VSOCK_CONN_KIB * 1024))
conn_mib=$(((VSOCK_CONNS * small + mib - 1) / mib))

# shellcheck disable=SC2054 # the commas belong to hyperkit's option syntax
vm_start "$initrd" -A -s "2,virtio-sock,guest_cid=3,path=$dir,guest_forwards=1025"
shell_ready

# Both ends' summaries agree: every connection checked on each side.
both_ok() { # guest-line peer-line conns
    [ "$(field "$1" ok)" = "$3" ] && [ "$(field "$2" ok)" = "$3" ]
}

# mibps BYTES USEC: MiB/s with one decimal.
mibps() {
    if [ -z "$2" ] || [ "$2" -le 0 ]; then
        echo "?"
        return
    fi
    local t=$(($1 * 10 * 1000000 / $2 / mib))
    echo "$((t / 10)).$((t % 10))"
}

# guest_to_host PORT BYTES N NAME: the host peer listens, the guest connects.
guest_to_host() {
    local port=$1 bytes=$2 n=$3 name=$4 limit=$5 g p sock from
    sock=$dir/$(printf '00000002.%08x' "$port")
    python3 "$peer" listen "$sock" "$bytes" "$n" >"$work/peer.log" 2>&1 &
    PEER_PID=$!
    wait_line "$DISK_STEP_BASE" '^peer: listening' "$work/peer.log" >/dev/null
    from=$(($(wc -l <"$VM_LOG") + 1))
    vm_send "/progs/vsock connect $port $bytes $n"
    g=$(wait_line "$limit" '^vsock: connect done' "$VM_LOG" "$from")
    p=$(wait_line "$limit" '^peer: done' "$work/peer.log")
    kill "$PEER_PID" 2>/dev/null
    wait "$PEER_PID" 2>/dev/null
    result "$name: guest -> DIR/00000002.$(printf %08x "$port"), $n x $bytes bytes each way ($g | $p)" \
        both_ok "$g" "$p" "$n"
    [ "$n" = 1 ] || return 0
    echo "info: $name: $((2 * bytes)) bytes in $(field "$p" usec) us: $(mibps $((2 * bytes)) "$(field "$p" usec)") MiB/s (both directions together)"
}

# host_to_guest PORT BYTES N NAME LIMIT SOCK [LINE]: the guest listens, the
# host peer connects to SOCK (writing LINE first).
host_to_guest() {
    local port=$1 bytes=$2 n=$3 name=$4 limit=$5 sock=$6 line=${7:-} g p from
    from=$(($(wc -l <"$VM_LOG") + 1))
    vm_send "/progs/vsock listen $port $bytes $n"
    wait_line "$DISK_STEP_BASE" "^vsock: listening $port" "$VM_LOG" "$from" >/dev/null
    python3 "$peer" connect "$sock" "$bytes" "$n" ${line:+"$line"} >"$work/peer.log" 2>&1 &
    PEER_PID=$!
    g=$(wait_line "$limit" '^vsock: listen done' "$VM_LOG" "$from")
    p=$(wait_line "$limit" '^peer: done' "$work/peer.log")
    kill "$PEER_PID" 2>/dev/null
    wait "$PEER_PID" 2>/dev/null
    result "$name: $n x $bytes bytes each way ($g | $p)" both_ok "$g" "$p" "$n"
    [ "$n" = 1 ] || return 0
    echo "info: $name: $((2 * bytes)) bytes in $(field "$p" usec) us: $(mibps $((2 * bytes)) "$(field "$p" usec)") MiB/s (both directions together)"
}

guest_to_host 1024 "$big" 1 "guest -> host" "$(step_limit $((2 * VSOCK_MIB)))"
host_to_guest 1026 "$big" 1 "host -> guest through DIR/connect" \
    "$(step_limit $((2 * VSOCK_MIB)))" "$dir/connect" 00000003.00000402
host_to_guest 1025 "$mib" 1 "host -> guest through guest_forwards DIR/00000003.00000401" \
    "$(step_limit 2)" "$dir/00000003.00000401"
result "guest_forwards: the convenience link DIR/guest.00000401 names the listener" \
    [ "$(readlink "$dir/guest.00000401")" = 00000003.00000401 ]
guest_to_host 1027 "$small" "$VSOCK_CONNS" "$VSOCK_CONNS connections at once, guest -> host" \
    "$(step_limit $((2 * conn_mib)))"
host_to_guest 1028 "$small" "$VSOCK_CONNS" "$VSOCK_CONNS connections at once, host -> guest (DIR/connect)" \
    "$(step_limit $((2 * conn_mib)))" "$dir/connect" 00000003.00000404
# Connection 0's host end reads nothing until connection 1 is done.
stall=$((4 * mib))
from=$(($(wc -l <"$VM_LOG") + 1))
vm_send "/progs/vsock listen 1030 $stall 2"
wait_line "$DISK_STEP_BASE" "^vsock: listening 1030" "$VM_LOG" "$from" >/dev/null
VSOCK_PEER_STALL=0 python3 "$peer" connect "$dir/connect" "$stall" 2 00000003.00000406 \
    >"$work/peer.log" 2>&1 &
PEER_PID=$!
o=$(wait_line "$(step_limit 8)" '^peer: others done' "$work/peer.log")
g=$(wait_line "$(step_limit 8)" '^vsock: listen done' "$VM_LOG" "$from")
p=$(wait_line "$(step_limit 8)" '^peer: done' "$work/peer.log")
wait "$PEER_PID" 2>/dev/null
stall_ok() {
    [ "$(field "$o" ok)" = 1 ] && both_ok "$g" "$p" 2
}
result "a stalled host reader blocks only its own connection ($o | $g | $p)" stall_ok

from=$(($(wc -l <"$VM_LOG") + 1))
vm_send "/progs/vsock connect 1029 16 1"
g=$(wait_line "$DISK_STEP_BASE" '^vsock: (conn 0 connect|connect done)' "$VM_LOG" "$from")
result "a guest connection to a port nobody listens on is refused ($g)" \
    grep -q 'Connection reset\|refused' <<<"$g"

# DIR/connect to a guest port nobody listens on: the guest's RST closes
# the host's socket (EOF, nothing read), within the hang guard.
refused_host() {
    python3 - "$dir/connect" "$DISK_STEP_BASE" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[2]))
s.connect(sys.argv[1])
s.sendall(b"00000003.00000999\n")
try:
    sys.exit(0 if s.recv(1) == b"" else 1)
except OSError:
    sys.exit(1)
PY
}
result "DIR/connect to a guest port nobody listens on ends in EOF" refused_host

power_off vsock
