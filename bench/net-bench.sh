#!/usr/bin/env bash
# Network and sharing benchmark: in Debian's guest, TCP throughput over
# user-mode networking both ways (guest -> a host sink on 127.0.0.1 seen as
# 10.0.2.2; host -> guest through a port forward), 9p sequential read and
# write of a shared host directory, and vsock throughput, under hyperkit
# (emu engine: virtio-net on libslirp, the built-in 9p server, virtio-sock)
# and under QEMU's TCG (-netdev user with hostfwd, -virtfs local), with the
# ratio hyperkit / QEMU. QEMU's vsock is vhost-vsock, which needs the
# host's /dev/vhost-vsock (and an AF_VSOCK host end this script does not
# drive): the vsock row has hyperkit's figure alone, and the script says
# why. See bench/README.md.
#
#   bench/net-bench.sh [options]      (bench/net-bench.sh -h)
#
# TCP figures are the host's (bench/net_peer.py: bytes over the time from
# the first byte, or from connect, to EOF); 9p figures come from console
# lines the guest prints before and after each transfer, timestamped here
# as they arrive; vsock's from the host peer (tests/linux/vsock_peer.py:
# the same bytes both ways at once, counted together).
set -euo pipefail
export LC_ALL=C

prog=net-bench
root=$(cd "$(dirname "$0")/.." && pwd)
guest=$root/build/guest
hyperkit=$root/build/hyperkit
layer=$root/build/linux-progs/disk.cpio.gz
tcp_mib=16
p9_mib=32
vsock_mib=16
only=""
logdir=$root/build/bench
timeout_s=900
qemu="qemu-system-x86_64"
install=0
shared_opts="--guest --hyperkit --layer --only --timeout --log-dir -h --help"
. "$root/bench/lib.sh"

usage() {
    cat <<EOF
Usage: bench/net-bench.sh [options]
Boots GUEST/vmlinuz with GUEST/initramfs-shell.img and the disk layer (for
the guest's vsock tool) under hyperkit and under qemu-system-x86_64 -accel
tcg, and measures TCP over user-mode networking both ways, 9p sequential
read and write, and vsock (hyperkit; QEMU only with /dev/vhost-vsock).

  --tcp-mib N        MiB each TCP direction (default $tcp_mib)
  --p9-mib N         MiB read and written over 9p (default $p9_mib)
  --vsock-mib N      MiB each vsock direction (default $vsock_mib)
  --guest DIR        kernel and initramfs directory (default build/guest)
  --hyperkit PATH    the hyperkit command (default build/hyperkit)
  --layer FILE       the disk layer (default build/linux-progs/disk.cpio.gz)
  --only ENGINE      run hyperkit or qemu alone (no ratios)
  --timeout S        seconds one engine's run may take (default $timeout_s)
  --log-dir DIR      timestamped console logs (default build/bench)
  -h, --help         this text
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
    --tcp-mib) need_arg "$@"; tcp_mib=$2; shift ;;
    --p9-mib) need_arg "$@"; p9_mib=$2; shift ;;
    --vsock-mib) need_arg "$@"; vsock_mib=$2; shift ;;
    *) shared_opt "$@" || die "unknown option '$1' (see --help)"; shift $((OPT_WORDS - 1)) ;;
    esac
    shift
done
want_count --tcp-mib "$tcp_mib" MiB
want_count --p9-mib "$p9_mib" MiB
want_count --vsock-mib "$vsock_mib" MiB
want_count --timeout "$timeout_s" seconds
want_engine "$only"
need_guest initramfs-shell.img
[ -f "$layer" ] || die "$layer is missing; build it with: make linux-progs"
command -v python3 >/dev/null 2>&1 || die "python3 is missing"
need_engines

tmp=$(mktemp -d)
vm_pid="" peer_pid=""
cleanup() {
    local p
    for p in $vm_pid $peer_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$logdir" "$tmp/share" "$tmp/vs"
initrd=$tmp/initrd.img
cat "$guest/initramfs-shell.img" "$layer" >"$initrd"
head -c $((p9_mib << 20)) /dev/urandom >"$tmp/share/big.bin"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cmdline="console=ttyS0 panic=-1 cryptomgr.notests"

# The stamp of the first console line matching REGEX.
stamp_of() { awk -v re="$2" '{ l = $0; sub(/^[0-9]+ /, "", l) } l ~ re { print $1; exit }' "$1"; }

# wait_peer: the host peer's exit; its last "peer:" line in PEER.
wait_peer() {
    while kill -0 "$peer_pid" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || { kill "$peer_pid"; break; }
        sleep 0.2
    done
    wait "$peer_pid" || true
    peer_pid=""
    PEER=$(grep '^peer:' "$tmp/peer.out" | tail -n 1)
}

figure() { echo "$1 $2 $3 $4" >>"$tmp/figures"; } # ENGINE NAME BYTES USEC

# run ENGINE: one boot; figures appended to $tmp/figures, the stamped
# console in $logdir/net-ENGINE.console.
run() {
    local engine=$1 log=$logdir/net-$1.console sink fwd cmd t0 t1
    deadline=$((SECONDS + timeout_s))
    sink=$(free_port)
    fwd=$(free_port)
    if [ "$engine" = hyperkit ]; then
        # shellcheck disable=SC2054 # the commas belong to hyperkit's option syntax
        cmd=("$hyperkit" -m 512M -s 0:0,hostbridge -s 31,lpc -l com1,stdio --accel=emu -A
            -s "2,virtio-net,hostfwd=tcp:127.0.0.1:$fwd-:5001"
            -s "3,virtio-9p,path=$tmp/share,tag=share"
            -s "4,virtio-sock,guest_cid=3,path=$tmp/vs"
            -f "kexec,$guest/vmlinuz,$initrd,$cmdline")
    else
        # -cpu qemu64: the model nearest emu's CPUID (see bench/README.md).
        # shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
        cmd=(qemu-system-x86_64 -accel tcg -cpu qemu64 -smp 1 -m 512M -nodefaults
            -no-user-config -display none -serial stdio -monitor none -no-reboot
            -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$fwd-:5001" -device virtio-net-pci,netdev=n0
            -virtfs "local,path=$tmp/share,mount_tag=share,security_model=none,id=fs0"
            -kernel "$guest/vmlinuz" -initrd "$initrd" -append "$cmdline")
    fi
    rm -f "$tmp/in" "$tmp/share/w.bin" && mkfifo "$tmp/in"
    : >"$log"
    { printf '#' && printf ' %q' "${cmd[@]}" && echo; } >"$log.cmd"
    "${cmd[@]}" <"$tmp/in" > >(stamp >"$log") 2>&1 &
    vm_pid=$!
    exec 8>"$tmp/in"
    say "$engine: booting"
    wait_line "$log" "hyperkit-init: ready" "$deadline" || die "$engine: no shell; see $log"

    # Markers are printed with \072 for ':' so the echoed command never matches.
    echo "printf '%s\\n' '#!/bin/sh' '[ \"\$1\" = bound ] || exit 0' 'ifconfig \$interface \$ip netmask \$subnet up' 'route add default gw \$router' >/tmp/dhcp.sh; chmod +x /tmp/dhcp.sh; ifconfig lo up; ifconfig eth0 up; udhcpc -i eth0 -f -q -n -t 5 -s /tmp/dhcp.sh >/dev/null 2>&1; printf 'nb\\072 net %s\\n' \$(ifconfig eth0 | grep -c 'inet addr')" >&8
    wait_line "$log" "^nb: net 1" "$deadline" || die "$engine: no DHCP lease; see $log"

    say "$engine: TCP guest -> host, $tcp_mib MiB"
    rm -f "$tmp/ready"
    python3 "$root/bench/net_peer.py" sink "$sink" "$tmp/ready" "$timeout_s" >"$tmp/peer.out" 2>&1 &
    peer_pid=$!
    while [ ! -e "$tmp/ready" ]; do sleep 0.1; done
    echo "dd if=/dev/zero bs=65536 count=$((tcp_mib * 16)) 2>/dev/null | nc 10.0.2.2 $sink >/dev/null; printf 'nb\\072 up done\\n'" >&8
    wait_peer
    [[ $PEER =~ bytes=([0-9]+)\ usec=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" = $((tcp_mib << 20)) ] ||
        die "$engine: TCP guest -> host failed ($PEER); see $log"
    figure "$engine" tcp-up "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    wait_line "$log" "^nb: up done" "$deadline" || die "$engine: guest's nc did not end; see $log"

    say "$engine: TCP host -> guest, $tcp_mib MiB"
    echo "nc -l -p 5001 </dev/null >/dev/null & sleep 1; printf 'nb\\072 listening\\n'" >&8
    wait_line "$log" "^nb: listening" "$deadline" || die "$engine: guest's nc did not listen; see $log"
    python3 "$root/bench/net_peer.py" source "$fwd" $((tcp_mib << 20)) "$timeout_s" >"$tmp/peer.out" 2>&1 &
    peer_pid=$!
    wait_peer
    [[ $PEER =~ bytes=([0-9]+)\ usec=([0-9]+) ]] || die "$engine: TCP host -> guest failed ($PEER)"
    figure "$engine" tcp-down "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"

    say "$engine: 9p read and write, $p9_mib MiB"
    echo "mkdir -p /mnt/s && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share /mnt/s && printf 'nb\\072 mounted\\n'" >&8
    wait_line "$log" "^nb: mounted" "$deadline" || die "$engine: 9p share did not mount; see $log"
    echo "printf 'nb\\072 p9read begin\\n'; cat /mnt/s/big.bin >/dev/null; printf 'nb\\072 p9read end\\n'" >&8
    wait_line "$log" "^nb: p9read end" "$deadline" || die "$engine: 9p read did not end; see $log"
    t0=$(stamp_of "$log" "^nb: p9read begin")
    t1=$(stamp_of "$log" "^nb: p9read end")
    figure "$engine" p9-read $((p9_mib << 20)) $((t1 - t0))
    echo "printf 'nb\\072 p9write begin\\n'; dd if=/dev/zero of=/mnt/s/w.bin bs=1048576 count=$p9_mib 2>/dev/null; printf 'nb\\072 p9write end\\n'" >&8
    wait_line "$log" "^nb: p9write end" "$deadline" || die "$engine: 9p write did not end; see $log"
    [ "$(stat -c %s "$tmp/share/w.bin")" = $((p9_mib << 20)) ] ||
        die "$engine: 9p write left $(stat -c %s "$tmp/share/w.bin") bytes on the host"
    t0=$(stamp_of "$log" "^nb: p9write begin")
    t1=$(stamp_of "$log" "^nb: p9write end")
    figure "$engine" p9-write $((p9_mib << 20)) $((t1 - t0))

    if [ "$engine" = hyperkit ]; then
        say "$engine: vsock, $vsock_mib MiB each way at once"
        python3 "$root/tests/linux/vsock_peer.py" listen "$tmp/vs/00000002.00000400" \
            $((vsock_mib << 20)) 1 >"$tmp/peer.out" 2>&1 &
        peer_pid=$!
        while ! grep -q "peer: listening" "$tmp/peer.out"; do sleep 0.1; done
        echo "/progs/vsock connect 1024 $((vsock_mib << 20)) 1 >/dev/null" >&8
        wait_peer
        [[ $PEER =~ ok=1\ usec=([0-9]+) ]] || die "$engine: vsock failed ($PEER)"
        figure "$engine" vsock $((vsock_mib << 21)) "${BASH_REMATCH[1]}"
    fi
    echo "poweroff -f" >&8
    exec 8>&-
    wait "$vm_pid" || true
    vm_pid=""
}

[ "$only" = qemu ] || run hyperkit
[ "$only" = hyperkit ] || run qemu
cp "$tmp/figures" "$logdir/net-figures.txt"

# MiB/s on the host's clock, one row per figure.
printf '%-26s %12s %12s %14s\n' "figure (MiB/s)" hyperkit qemu-tcg hyperkit/qemu
for name in tcp-up tcp-down p9-read p9-write vsock; do
    row() { awk -v e="$1" -v n="$name" '$1 == e && $2 == n { printf "%.17g", $3 / 1048576 / ($4 / 1e6) }' "$tmp/figures"; }
    label=$name
    case $name in
    tcp-up) label="TCP guest->host" ;;
    tcp-down) label="TCP host->guest" ;;
    p9-read) label="9p seq read" ;;
    p9-write) label="9p seq write" ;;
    vsock) label="vsock (both ways)" ;;
    esac
    ratio_row 26 "$label" "$(row hyperkit)" "$(row qemu)" 1 "%.1f"
done
if [ "$only" != hyperkit ]; then
    if [ -c /dev/vhost-vsock ]; then
        say "no QEMU vsock figure: its host end is AF_VSOCK through vhost-vsock, which this script does not drive yet"
    else
        say "no QEMU vsock figure: QEMU's vhost-vsock needs /dev/vhost-vsock (the host's vhost_vsock module), which this host lacks"
    fi
fi
say "console logs and figures in $logdir"
