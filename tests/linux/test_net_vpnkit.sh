#!/usr/bin/env bash
# virtio-vpnkit seen from Debian's kernel (issue 10, "Done when"): a small
# vpnkit-protocol server (vpnkit_peer.py), run in a network namespace this
# test creates, completes hyperkit's handshake (it checks the init and the
# command; the uuid must be the VM's -U), assigns the MAC and an MTU of
# 1400, and bridges the frames to a tap interface in the namespace (MTU
# 1400 too). The guest has that MAC (also in macfile=), its eth0 the
# server's MTU (VIRTIO_NET_F_MTU; the server refuses longer frames), pings
# and is pinged, and fetches 1 MiB each way over TCP (sha256 equal). When
# the server hangs up, hyperkit says so in one line and the guest runs on.
# First, without a guest: a missing socket and a server
# that is not vpnkit each stop hyperkit with one line. Needs root for the
# namespace: otherwise one SKIP line. HYPERKIT_KEEP_LOG=DIR keeps the console.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns_lib.sh"
T="net vpnkit"
ns_require
peer=$(dirname "$0")/vpnkit_peer.py
mac=02:50:00:00:77:05
uuid=6a5e8e1c-3f0b-4c9a-9d2e-7b1f0c2d3e4f
sock=$NS_WORK/vpnkit.sock
lim=$((120 * BOOT_TIMEOUT / 600))

# one_line_error NAME WANT ARGS...: hyperkit exits 1 with one line holding WANT.
one_line_error() {
    local name=$1 want=$2; shift 2
    timeout "$lim" "$HYPERKIT" -s 0:0,hostbridge -s 31,lpc "$@" -f kexec,"$GUEST_DIR/vmlinuz" \
        >"$NS_WORK/err.out" 2>&1
    local st=$? n
    n=$(wc -l <"$NS_WORK/err.out")
    if [ $st = 1 ] && [ "$n" = 1 ] && grep -qF -- "$want" "$NS_WORK/err.out"; then
        echo "PASS: $T: $name"
    else
        echo "FAIL: $T: $name: status $st, $n lines: $(tr '\n' '|' <"$NS_WORK/err.out")"
        FAILED=$((FAILED + 1))
    fi
}
one_line_error "missing socket: one line" "$NS_WORK/none.sock: No such file" \
    -s "2,virtio-vpnkit,path=$NS_WORK/none.sock"
# A server that answers like HTTP: not vpnkit.
python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c,_=s.accept(); c.recv(49); c.sendall(b"HTTP/1.1 400 Bad Request\r\n" + b"x" * 60); c.recv(1)' \
    "$NS_WORK/http.sock" 2>/dev/null &
NS_PIDS="$NS_PIDS $!"
for _ in $(seq $((lim * 10))); do [ -S "$NS_WORK/http.sock" ] && break; sleep 0.1; done
one_line_error "a server that is not vpnkit: one line" "not a vpnkit server (magic 'HTTP/'" \
    -s "2,virtio-vpnkit,path=$NS_WORK/http.sock"

mtu=1400
ip netns exec "$NS" ip link set "$NS_TAP" mtu $mtu
ip netns exec "$NS" python3 "$peer" "$sock" "$NS_TAP" "$mac" "$NS_WORK/status" $mtu \
    2>"$NS_WORK/peer.err" &
peer_pid=$!
NS_PIDS="$NS_PIDS $peer_pid"
for _ in $(seq $((lim * 10))); do [ -S "$sock" ] && break; sleep 0.1; done
vm_start initramfs-shell.img -A -U "$uuid" \
    -s "2,virtio-vpnkit,path=$sock,macfile=$NS_WORK/mac"
ns_guest_checks "$mac"
got=$(step "$lim" NETMTU "echo NET\"\"MTU=\$(cat /sys/class/net/eth0/mtu)")
res "guest eth0 MTU is the server's $mtu (got '$got')" test "$got" = $mtu
res "the server got the VM's uuid ($(grep uuid= "$NS_WORK/status"))" \
    grep -qx "uuid=$uuid" "$NS_WORK/status"
res "macfile holds the server's MAC ($(cat "$NS_WORK/mac" 2>/dev/null))" \
    test "$(cat "$NS_WORK/mac" 2>/dev/null)" = "$mac"
# The server goes away: one line from hyperkit, the guest runs on.
kill -USR1 "$peer_pid"
for _ in $(seq $((lim * 10))); do grep -q frames "$NS_WORK/status" && break; sleep 0.1; done
res "every frame well-formed ($(tail -n 1 "$NS_WORK/status"))" \
    grep -q "^frames from hyperkit=[1-9]" "$NS_WORK/status"
res "no protocol violation seen by the server" \
    eval '! grep -q "^bad:" "$NS_WORK/status"'
res "server hang-up: hyperkit says so" vm_wait_for "vpnkit: the server closed the connection" "$lim"
st=$(step "$lim" NETALIVE "ping -c 1 -w 2 $NS_HOST_IP >/dev/null; echo NET\"\"ALIVE=\$?")
res "server hang-up: the guest runs on, its packets go nowhere (ping status '$st')" test "$st" = 1
res "server hang-up: said once" test "$(grep -c "vpnkit: the server closed" "$VM_LOG")" = 1
ns_poweroff net-vpnkit
[ $FAILED = 0 ]
