#!/usr/bin/env bash
# virtio-net on user-mode networking (slirp) seen from Debian's kernel
# (issue 10, "Done when"). Boot 1, through the library embedder
# net_embed (tests/linux/net_embed.c), with three forwards given as
# options:
#   the guest gets its address by DHCP (busybox udhcpc with a small script
#   that configures eth0), fetches a file with busybox wget from an HTTP
#   server this test runs on the host's 127.0.0.1 (the guest reaches it as
#   10.0.2.2): same sha256 on both sides; a host client (python3) fetches a
#   file from busybox httpd in the guest through hostfwd=tcp:...-:8080;
#   UDP echo both ways: the guest to a host echo server on 127.0.0.1, the
#   host through hostfwd=udp:...-:7777 to an echo server in the guest;
#   NET_CONNS (64) TCP connections at once both ways, each carrying
#   NET_CONN_KIB each way, every byte checked at both ends (the guest's
#   progs/net.c and the host's net_peer.py);
#   the guest's driver negotiates the checksum offloads (CSUM, GUEST_CSUM)
#   and TSO (HOST_TSO4/6), so all of the above ran with them; the transfer
#   through the forward went out as TSO packets (more than 1514 bytes per
#   packet on eth0's counters);
#   run-time forwards through hk_vm_net_hostfwd: one added while the guest
#   runs carries a fetch, and after its removal (and the removal of one
#   given at start) connecting is refused; removing it twice is ENOENT.
# Boot 2, through the hyperkit CLI: net=192.168.76.0/24,ipv6: DHCP gives
#   192.168.76.15, the fetch from the host works at 192.168.76.2, the guest
#   gets an fec0::/64 address from slirp's router advertisement and reaches
#   the host's ::1 as fec0::2 (UDP echo and TCP).
# All traffic stays on loopback. HYPERKIT_KEEP_LOG=DIR keeps the consoles.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/disk_lib.sh"
T="net slirp"
DISK_TEST=$T
NET_CONNS=${NET_CONNS:-64}
NET_CONN_KIB=${NET_CONN_KIB:-16}
guest_missing "$T" && exit 0
if ! gzip -dc "$GUEST_DIR/initramfs-shell.img" | grep -qa 'virtio_net\.ko'; then
    echo "SKIP: $T: $GUEST_DIR/initramfs-shell.img has no virtio_net module (run: make guest)"
    exit 0
fi
command -v python3 >/dev/null || { echo "SKIP: $T: python3 is missing"; exit 0; }
EMBED=$(dirname "$HYPERKIT")/tests/net_embed
[ -x "$EMBED" ] || { echo "FAIL: $T: no $EMBED (make tests)"; exit 1; }
peer=$(dirname "$0")/net_peer.py

work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; vm_cleanup 2>/dev/null; rm -rf "$work"' EXIT
initrd=$work/initrd.img
disk_initrd "$initrd" || exit 1
free_port() { # tcp|udp [ADDR]
    python3 -c 'import socket,sys; t=socket.SOCK_STREAM if sys.argv[1]=="tcp" else socket.SOCK_DGRAM
a=sys.argv[2]; s=socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, t); s.bind((a,0)); print(s.getsockname()[1])' "$1" "${2:-127.0.0.1}"
}
bg() { "$@" >>"$work/bg.log" 2>&1 & pids+=($!); }
mkdir "$work/www"
head -c 1048576 /dev/urandom >"$work/www/file.bin"
sha=$(sha256sum "$work/www/file.bin" | cut -d' ' -f1)
web=$(free_port tcp); fwd=$(free_port tcp); lfwd=$(free_port tcp); tfwd=$(free_port tcp)
ufwd=$(free_port udp); uecho=$(free_port udp); techo=$(free_port tcp)
uecho6=$(free_port udp ::1); techo6=$(free_port tcp ::1)
bg python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$web"
bg python3 "$peer" udp-echo 127.0.0.1 "$uecho"
bg python3 "$peer" tcp-echo 127.0.0.1 "$techo"
bg python3 "$peer" udp-echo ::1 "$uecho6"
bg python3 "$peer" tcp-echo ::1 "$techo6"

FAILED=0
. "$(dirname "$0")/step_lib.sh"
# Small steps (a DHCP exchange, a 1 MiB fetch) get the 1 MiB step limit;
# the connection tests move NET_CONNS * NET_CONN_KIB each way.
lim=$(step_limit 1)
conn_mib=$(((NET_CONNS * NET_CONN_KIB * 2 + 1023) / 1024))
clim=$(step_limit "$conn_mib")
# host_get PORT FILE: sha256 of http://127.0.0.1:PORT/FILE, or the error.
host_get() {
    timeout "$lim" python3 -c 'import sys,urllib.request,hashlib
try: print(hashlib.sha256(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read()).hexdigest())
except OSError as e: print(type(e).__name__, getattr(e, "reason", e))' "http://127.0.0.1:$1/$2" "$lim" 2>&1
}
# DHCP on eth0, then print its IPv4 address. busybox udhcpc does not bring
# the link up: on a down eth0 it loops on "Network is down" forever (-n or
# not), so eth0 goes up first.
dhcp() {
    vm_send "printf '%s\\n' '#!/bin/sh' '[ \"\$1\" = bound ] || exit 0' 'ifconfig \$interface \$ip netmask \$subnet up' 'route add default gw \$router' >/tmp/dhcp.sh; chmod +x /tmp/dhcp.sh; ifconfig lo up; ifconfig eth0 up"
    step "$lim" NETIP "udhcpc -i eth0 -f -q -n -t 5 -s /tmp/dhcp.sh >/dev/null 2>&1; echo NET\"\"IP=\$(ifconfig eth0 | sed -n 's/.*inet addr:\\([0-9.]*\\).*/\\1/p')"
}
# The guest's fetch of file.bin from the host at ADDR: "sha256,size=N,wget=STATUS".
fetch_cmd() { # ADDR
    echo "wget -q -O /tmp/file.bin http://$1:$web/file.bin; r=\$?; echo NET\"\"SHA=\$(sha256sum /tmp/file.bin | cut -d' ' -f1),size=\$(wc -c </tmp/file.bin),wget=\$r"
}
# fwd_cmd LINE: one command to net_embed; prints its answer's rc. (Called
# in $(...): nothing counts across calls but the answers file itself.)
fwd_cmd() {
    local waited=0 n line
    n=$(wc -l <"$work/fwd.out")
    printf '%s\n' "$1" >"$work/ctl"
    while [ "$(wc -l <"$work/fwd.out")" -le "$n" ]; do
        [ $waited -ge $((lim * 10)) ] && { echo none; return; }
        sleep 0.1; waited=$((waited + 1))
    done
    line=$(sed -n "$((n + 1))p" "$work/fwd.out")
    echo "$line" >>"$work/fwd.log"
    line=${line#* rc=}
    echo "${line%% *}"
}
refused() { # PORT: a TCP connect to 127.0.0.1:PORT is refused
    python3 -c 'import socket,sys
try: socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=float(sys.argv[2]))
except ConnectionRefusedError: sys.exit(0)
sys.exit(1)' "$1" "$lim"
}

# --- Boot 1: the library embedder, 10.0.2.0/24 --------------------------------------
mkfifo "$work/ctl"
: >"$work/fwd.out"
# shellcheck disable=SC2054 # the commas belong to hyperkit's option syntax
NET_EMBED_CTL=$work/ctl NET_EMBED_OUT=$work/fwd.out HYPERKIT=$EMBED vm_start "$initrd" -A \
    -s "2,virtio-net,hostfwd=tcp:127.0.0.1:$fwd-:8080,hostfwd=udp:127.0.0.1:$ufwd-:7777,hostfwd=tcp:127.0.0.1:$tfwd-:7778"
res "boot" vm_wait_for "hyperkit-init: ready"
ip=$(dhcp)
res "DHCP gives 10.0.2.15 (got '$ip')" test "$ip" = 10.0.2.15
# The driver's features as negotiated: bit N is character N+1.
feat=$(step "$lim" NETFEAT "for d in /sys/bus/virtio/devices/*; do [ \$(cat \$d/device) = 0x0001 ] && f=\$(cat \$d/features); done; echo NET\"\"FEAT=\$f")
res "the guest negotiates CSUM and GUEST_CSUM (features $feat)" test "${feat:0:2}" = 11
res "the guest negotiates HOST_TSO4 and HOST_TSO6" test "${feat:11:2}" = 11
got=$(step "$lim" NETSHA "$(fetch_cmd 10.0.2.2)")
res "guest fetches from the host's 127.0.0.1, sha256 equal (${got#*,})" test "${got%%,*}" = "$sha"
st=$(step "$lim" NETHTTPD "mkdir -p /tmp/www && cp /tmp/file.bin /tmp/www/g.bin && httpd -p 8080 -h /tmp/www && (/progs/net udp-echo 7777 &) && (/progs/net tcp-echo 7778 &); echo NET\"\"HTTPD=\$?")
res "busybox httpd and the echo servers in the guest" test "$st" = 0
# eth0's transmit counters around it: the guest sends little but this
# file, so bytes per packet above an Ethernet frame's 1514 shows TSO
# packets went out (and reached the host whole, sha256 equal).
txc() { step "$lim" NETTXC "echo NET\"\"TXC=\$(cat /sys/class/net/eth0/statistics/tx_bytes),\$(cat /sys/class/net/eth0/statistics/tx_packets)"; }
tx0=$(txc)
hsha=$(host_get "$fwd" g.bin)
tx1=$(txc)
tx0=${tx0:-0,0} tx1=${tx1:-0,0}
res "host fetches from the guest through hostfwd, sha256 equal" test "$hsha" = "$sha"
per=$(( (${tx1%,*} - ${tx0%,*}) / (${tx1#*,} - ${tx0#*,} > 0 ? ${tx1#*,} - ${tx0#*,} : 1) ))
res "the guest sent it as TSO packets (${per} bytes per packet)" test "$per" -gt 1514

st=$(step "$lim" NETUDP "/progs/net udp-ping 10.0.2.2 $uecho 32 $lim; echo NET\"\"UDP=\$?")
res "UDP echo guest -> host 127.0.0.1, 32 datagrams" test "$st" = 0
out=$(timeout "$lim" python3 "$peer" udp-ping 127.0.0.1 "$ufwd" 32 "$lim" 2>&1)
res "UDP echo host -> guest through hostfwd=udp ($out)" test "$out" = "net_peer: udp-ping ok=32 of 32"
st=$(step "$clim" NETTCP "/progs/net tcp-many 10.0.2.2 $techo $NET_CONNS $((NET_CONN_KIB * 1024)) $clim; echo NET\"\"TCP=\$?")
res "$NET_CONNS TCP connections at once guest -> host, ${NET_CONN_KIB} KiB each way each" test "$st" = 0
out=$(timeout "$clim" python3 "$peer" tcp-many 127.0.0.1 "$tfwd" "$NET_CONNS" $((NET_CONN_KIB * 1024)) "$clim" 2>&1)
res "$NET_CONNS TCP connections at once host -> guest through hostfwd ($out)" \
    test "$out" = "net_peer: tcp-many ok=$NET_CONNS of $NET_CONNS bytes=$((NET_CONNS * NET_CONN_KIB * 1024))"

spec=tcp:127.0.0.1:$lfwd-:8080
res "hk_vm_net_hostfwd adds a forward at run time" test "$(fwd_cmd "add $spec")" = 0
hsha=$(host_get "$lfwd" g.bin)
res "host fetches through the run-time forward, sha256 equal" test "$hsha" = "$sha"
res "hk_vm_net_hostfwd removes it" test "$(fwd_cmd "del $spec")" = 0
res "connecting to the removed forward is refused" refused "$lfwd"
res "removing it again: HK_ENOENT" test "$(fwd_cmd "del $spec")" = -3
res "hk_vm_net_hostfwd removes a forward given at start" test "$(fwd_cmd "del tcp:127.0.0.1:$fwd-:8080")" = 0
res "connecting to that one is refused too" refused "$fwd"
vm_send "poweroff -f"
vm_wait_exit 60
[ -n "${HYPERKIT_KEEP_LOG:-}" ] && cp "$VM_LOG" "$HYPERKIT_KEEP_LOG/net.console.log"
vm_cleanup

# --- Boot 2: the CLI, net= and ipv6 ---------------------------------------------------
vm_start "$initrd" -A -s "2,virtio-net,net=192.168.76.0/24,ipv6"
res "boot 2 (net=192.168.76.0/24,ipv6)" vm_wait_for "hyperkit-init: ready"
ip=$(dhcp)
res "DHCP gives 192.168.76.15 (got '$ip')" test "$ip" = 192.168.76.15
got=$(step "$lim" NETSHA "$(fetch_cmd 192.168.76.2)")
res "guest fetches from the host as 192.168.76.2, sha256 equal (${got#*,})" test "${got%%,*}" = "$sha"
# The router advertisement comes when eth0 goes up (its solicitation);
# autoconfiguration then takes a duplicate-address check (~1 s).
ip6=$(step "$lim" NETIP6 "for i in \$(seq $lim); do a=\$(ip -6 addr show dev eth0 | sed -n 's/.*inet6 \\(fec0:[0-9a-f:]*\\).*/\\1/p'); [ -n \"\$a\" ] && ! ip -6 addr show dev eth0 | grep -q tentative && break; sleep 1; done; echo NET\"\"IP6=\$a")
res "IPv6 address from slirp's router advertisement (got '$ip6')" test -n "$ip6"
st=$(step "$lim" NETUDP6 "/progs/net udp-ping fec0::2 $uecho6 8 $lim; echo NET\"\"UDP6=\$?")
res "UDP echo over IPv6 guest -> host ::1" test "$st" = 0
st=$(step "$lim" NETTCP6 "/progs/net tcp-many fec0::2 $techo6 8 4096 $lim; echo NET\"\"TCP6=\$?")
res "TCP over IPv6 guest -> host ::1, 8 connections" test "$st" = 0
vm_send "poweroff -f"
vm_wait_exit 60
[ -n "${HYPERKIT_KEEP_LOG:-}" ] && cp "$VM_LOG" "$HYPERKIT_KEEP_LOG/net2.console.log"
[ $FAILED = 0 ]
