# Helpers for the virtio-net tests whose host side is a network namespace
# the test creates (test_net_tap.sh, test_net_vpnkit.sh): the namespace
# holds a tap interface at $NS_HOST_IP/24, the guest gets $NS_GUEST_IP by
# ifconfig, and ns_guest_checks exchanges pings both ways and files over
# TCP both ways (sha256 compared). No packet leaves the namespace. Source
# after lib.sh; set T (the test's name) first.
NS_HOST_IP=10.77.0.1
NS_GUEST_IP=10.77.0.2
NS_TAP=hktap0
NS_WEB_PORT=8000
NS_GUEST_PORT=8080
FAILED=0

# ns_require: root, the tools, a namespace and a tap in it; else one SKIP
# line and exit 0. Sets NS (the namespace's name) and an EXIT trap that
# removes it with everything it holds.
ns_require() {
    guest_missing "$T" && exit 0
    if ! gzip -dc "$GUEST_DIR/initramfs-shell.img" | grep -qa 'virtio_net\.ko'; then
        echo "SKIP: $T: $GUEST_DIR/initramfs-shell.img has no virtio_net module (run: make guest)"
        exit 0
    fi
    command -v python3 >/dev/null || { echo "SKIP: $T: python3 is missing"; exit 0; }
    command -v ip >/dev/null || { echo "SKIP: $T: ip (iproute2) is missing"; exit 0; }
    command -v ping >/dev/null || { echo "SKIP: $T: ping (iputils-ping) is missing"; exit 0; }
    NS=hk-test-$$
    if ! ip netns add "$NS" 2>/dev/null; then
        echo "SKIP: $T: cannot create a network namespace (needs root)"
        exit 0
    fi
    NS_WORK=$(mktemp -d)
    NS_PIDS=
    trap 'for p in $NS_PIDS; do kill $p 2>/dev/null; done; vm_cleanup 2>/dev/null; ip netns del "$NS" 2>/dev/null; rm -rf "$NS_WORK"' EXIT
    if ! [ -c /dev/net/tun ] || ! ip netns exec "$NS" ip tuntap add dev "$NS_TAP" mode tap 2>/dev/null; then
        echo "SKIP: $T: cannot create a tap device (/dev/net/tun)"
        exit 0
    fi
    ip netns exec "$NS" ip link set lo up
    ip netns exec "$NS" ip addr add "$NS_HOST_IP/24" dev "$NS_TAP"
    ip netns exec "$NS" ip link set "$NS_TAP" up
    mkdir "$NS_WORK/www"
    head -c 1048576 /dev/urandom >"$NS_WORK/www/file.bin"
    NS_SHA=$(sha256sum "$NS_WORK/www/file.bin" | cut -d' ' -f1)
    ip netns exec "$NS" python3 -m http.server --bind "$NS_HOST_IP" --directory "$NS_WORK/www" \
        "$NS_WEB_PORT" >"$NS_WORK/http.log" 2>&1 &
    NS_PIDS="$NS_PIDS $!"
}

ns_ping() { # LIMIT
    ip netns exec "$NS" ping -c 3 -w "$1" "$NS_GUEST_IP" >/dev/null 2>&1
}

. "$(dirname "${BASH_SOURCE[0]}")/step_lib.sh"

# ns_guest_checks WANT_MAC: after boot, the guest's eth0 has WANT_MAC, takes
# its address, pings the namespace and is pinged, fetches a file from the
# namespace's HTTP server and serves one to it, both with equal sha256.
ns_guest_checks() {
    local want_mac=$1 lim=$((120 * BOOT_TIMEOUT / 600)) mac st got hsha
    res "boot" vm_wait_for "hyperkit-init: ready"
    mac=$(step "$lim" NETMAC "echo NET\"\"MAC=\$(cat /sys/class/net/eth0/address)")
    res "guest MAC is $want_mac (got '$mac')" test "$mac" = "$want_mac"
    st=$(step "$lim" NETUP "ifconfig lo up; ifconfig eth0 $NS_GUEST_IP netmask 255.255.255.0 up; echo NET\"\"UP=\$?")
    res "guest eth0 up at $NS_GUEST_IP" test "$st" = 0
    st=$(step "$lim" NETPING "ping -c 3 -w $lim $NS_HOST_IP >/dev/null; echo NET\"\"PING=\$?")
    res "guest pings the namespace" test "$st" = 0
    res "the namespace pings the guest" ns_ping "$lim"
    got=$(step "$lim" NETSHA "wget -q -O /tmp/file.bin http://$NS_HOST_IP:$NS_WEB_PORT/file.bin; echo NET\"\"SHA=\$(sha256sum /tmp/file.bin | cut -d' ' -f1)")
    res "guest fetches 1 MiB from the namespace over TCP, sha256 equal" test "$got" = "$NS_SHA"
    st=$(step "$lim" NETHTTPD "mkdir -p /tmp/www && cp /tmp/file.bin /tmp/www/g.bin && httpd -p $NS_GUEST_PORT -h /tmp/www; echo NET\"\"HTTPD=\$?")
    res "busybox httpd in the guest" test "$st" = 0
    hsha=$(ip netns exec "$NS" timeout "$lim" python3 -c 'import sys,urllib.request,hashlib; print(hashlib.sha256(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read()).hexdigest())' "http://$NS_GUEST_IP:$NS_GUEST_PORT/g.bin" "$lim" 2>"$NS_WORK/client.err")
    res "the namespace fetches 1 MiB from the guest over TCP, sha256 equal" test "$hsha" = "$NS_SHA"
}

# ns_poweroff NAME: power the guest off; hyperkit exits 0.
ns_poweroff() {
    vm_send "poweroff -f"
    vm_wait_exit $((60 * BOOT_TIMEOUT / 600))
    res "powered off, hyperkit exits 0 (got $VM_STATUS)" test "$VM_STATUS" = 0
    [ -n "${HYPERKIT_KEEP_LOG:-}" ] && cp "$VM_LOG" "$HYPERKIT_KEEP_LOG/$1.console.log"
}
