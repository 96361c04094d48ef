#!/usr/bin/env bash
# virtio-tap seen from Debian's kernel (issue 10, "Done when"): inside a
# network namespace this test creates, hyperkit (run in the namespace)
# attaches to the tap interface the test made there
# (-s 2,virtio-tap,hktap0,mac=...); the guest has the given MAC, guest and
# namespace ping each other and fetch 1 MiB from each other over TCP
# (sha256 equal). Offloads through the tap (IFF_VNET_HDR): the guest
# negotiates checksum offload and TSO both ways, and the transfers went in
# packets larger than the MTU both ways (the tap's counters in the
# namespace: bytes per packet). Needs root for the namespace: otherwise one
# SKIP line.
# HYPERKIT_KEEP_LOG=DIR keeps the console.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns_lib.sh"
T="net tap"
ns_require
mac=02:00:00:77:00:02
# hyperkit runs inside the namespace, where the tap is.
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$(realpath "$HYPERKIT")" >"$NS_WORK/hyperkit"
chmod +x "$NS_WORK/hyperkit"
HYPERKIT=$NS_WORK/hyperkit vm_start initramfs-shell.img -A -s "2,virtio-tap,$NS_TAP,mac=$mac"
ns_guest_checks "$mac"
lim=$((120 * BOOT_TIMEOUT / 600))
feat=$(step "$lim" NETFEAT "for d in /sys/bus/virtio/devices/*; do [ \$(cat \$d/device) = 0x0001 ] && echo NET\"\"FEAT=\$(cat \$d/features); done")
# features: one character per bit, bit 0 first.
for b in 0:CSUM 1:GUEST_CSUM 7:GUEST_TSO4 8:GUEST_TSO6 11:HOST_TSO4 12:HOST_TSO6; do
    res "guest negotiated ${b#*:} (features $feat)" test "${feat:${b%%:*}:1}" = 1
done
st=/sys/class/net/$NS_TAP/statistics
read -r rxb rxp txb txp < <(ip netns exec "$NS" cat $st/rx_bytes $st/rx_packets $st/tx_bytes \
    $st/tx_packets | tr '\n' ' ')
# The namespace's tap receives what the guest sends, and the reverse.
res "guest to namespace in packets over the MTU: $rxb bytes in $rxp packets" \
    test $((rxb / (rxp ? rxp : 1))) -gt 1514
res "namespace to guest in packets over the MTU: $txb bytes in $txp packets" \
    test $((txb / (txp ? txp : 1))) -gt 1514
ns_poweroff net-tap
[ $FAILED = 0 ]
