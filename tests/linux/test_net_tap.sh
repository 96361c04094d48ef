#!/usr/bin/env bash
# virtio-tap seen from Debian's kernel (issue 10, "Done when"): inside a
# network namespace this test creates, hyperkit (run in the namespace)
# attaches to the tap interface the test made there
# (-s 2,virtio-tap,hktap0,mac=...); the guest has the given MAC, guest and
# namespace ping each other and fetch 1 MiB from each other over TCP
# (sha256 equal). Needs root for the namespace: otherwise one SKIP line.
# HYPERKIT_KEEP_LOG=DIR keeps the console.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns_lib.sh"
T="net tap"
ns_require
mac=02:00:00:77:00:02
# hyperkit runs inside the namespace, where the tap is.
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$(realpath "$HYPERKIT")" >"$NS_WORK/hyperkit"
chmod +x "$NS_WORK/hyperkit"
HYPERKIT=$NS_WORK/hyperkit vm_start initramfs-shell.img --accel=emu -A -s "2,virtio-tap,$NS_TAP,mac=$mac"
ns_guest_checks "$mac"
ns_poweroff net-tap
[ $FAILED = 0 ]
