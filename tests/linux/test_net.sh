#!/usr/bin/env bash
# virtio-net on user-mode networking (slirp) seen from Debian's kernel
# (issue 10, "Done when"), in one boot of the shell image:
#   the guest gets its address by DHCP (busybox udhcpc with a small
#   script that configures eth0), fetches a file with busybox wget from an
#   HTTP server this test runs on the host's 127.0.0.1 (the guest reaches
#   it as 10.0.2.2): same sha256 on both sides; then a host client
#   (python3) fetches a file from busybox httpd in the guest through a
#   hostfwd=tcp:127.0.0.1:PORT-:8080 forward: same sha256.
# All traffic stays on loopback. HYPERKIT_KEEP_LOG=DIR keeps the console.
. "$(dirname "$0")/lib.sh"
T="net slirp"
guest_missing "$T" && exit 0
if ! gzip -dc "$GUEST_DIR/initramfs-shell.img" | grep -qa 'virtio_net\.ko'; then
    echo "SKIP: $T: $GUEST_DIR/initramfs-shell.img has no virtio_net module (run: make guest)"
    exit 0
fi
command -v python3 >/dev/null || { echo "SKIP: $T: python3 is missing"; exit 0; }

work=$(mktemp -d)
srv_pid=
trap '[ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; vm_cleanup 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir "$work/www"
head -c 1048576 /dev/urandom >"$work/www/file.bin"
sha=$(sha256sum "$work/www/file.bin" | cut -d' ' -f1)
web=$(free_port)
fwd=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$web" >"$work/http.log" 2>&1 &
srv_pid=$!

vm_start initramfs-shell.img -A -s "2,virtio-net,hostfwd=tcp:127.0.0.1:$fwd-:8080"
FAILED=0
res() { # NAME CONDITION...
    local n=$1; shift
    if "$@"; then echo "PASS: $T: $n"; else
        echo "FAIL: $T: $n; console tail: $(tail -c 600 "$VM_LOG" | tr '\r\n' ' |')"
        FAILED=$((FAILED + 1)); fi
}
# step LIMIT MARKER COMMAND: type COMMAND, wait for "MARKER=" (the command
# prints it as NET""X so the echoed command line never matches), print the value.
step() {
    local limit=$1 re=$2 cmd=$3 waited=0 before line
    before=$(wc -l <"$VM_LOG")
    vm_send "$cmd"
    while :; do
        line=$(tail -n +"$((before + 1))" "$VM_LOG" | tr -d '\r' | grep -E -m1 -o -- "$re=[^ ]*")
        [ -n "$line" ] && { printf '%s\n' "${line#*=}"; return 0; }
        { ! kill -0 "$VM_PID" 2>/dev/null || [ $waited -ge $((limit * 10)) ]; } && return 1
        sleep 0.1; waited=$((waited + 1))
    done
}
lim=$((120 * BOOT_TIMEOUT / 600))
res "boot" vm_wait_for "hyperkit-init: ready"
# busybox udhcpc does not bring the link up: on a down eth0 it loops on
# "Network is down" forever (-n or not), so eth0 goes up first.
vm_send "printf '%s\\n' '#!/bin/sh' '[ \"\$1\" = bound ] || exit 0' 'ifconfig \$interface \$ip netmask \$subnet up' 'route add default gw \$router' >/tmp/dhcp.sh; chmod +x /tmp/dhcp.sh; ifconfig lo up; ifconfig eth0 up"
ip=$(step "$lim" NETIP "udhcpc -i eth0 -f -q -n -t 5 -s /tmp/dhcp.sh >/dev/null 2>&1; echo NET\"\"IP=\$(ifconfig eth0 | sed -n 's/.*inet addr:\\([0-9.]*\\).*/\\1/p')")
res "DHCP gives 10.0.2.15 (got '$ip')" test "$ip" = 10.0.2.15
got=$(step "$lim" NETSHA "wget -q -O /tmp/file.bin http://10.0.2.2:$web/file.bin; echo NET\"\"SHA=\$(sha256sum /tmp/file.bin | cut -d' ' -f1)")
res "guest fetches from the host's 127.0.0.1, sha256 equal" test "$got" = "$sha"
st=$(step "$lim" NETHTTPD "mkdir -p /tmp/www && cp /tmp/file.bin /tmp/www/g.bin && httpd -p 8080 -h /tmp/www; echo NET\"\"HTTPD=\$?")
res "busybox httpd in the guest" test "$st" = 0
hsha=$(timeout "$lim" python3 -c 'import sys,urllib.request,hashlib; print(hashlib.sha256(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read()).hexdigest())' "http://127.0.0.1:$fwd/g.bin" "$lim" 2>"$work/client.err")
res "host fetches from the guest through hostfwd, sha256 equal" test "$hsha" = "$sha"
vm_send "poweroff -f"
vm_wait_exit 60
[ -n "${HYPERKIT_KEEP_LOG:-}" ] && cp "$VM_LOG" "$HYPERKIT_KEEP_LOG/net.console.log"
[ $FAILED = 0 ]
