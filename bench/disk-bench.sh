#!/usr/bin/env bash
# Disk benchmark: in Debian's guest, sequential write and read throughput
# (O_DIRECT, 1 MiB requests) and 4 KiB random-read IOPS on a raw and a
# qcow2 virtio-blk disk, under hyperkit (emu engine) and under QEMU's TCG
# with the same images, with the ratio hyperkit / QEMU. See bench/README.md.
#
#   bench/disk-bench.sh [options]      (bench/disk-bench.sh -h)
#
# The guest runs tests/linux/progs/diskio (the disk layer, `make
# linux-progs`); it prints a line as each operation starts and ends, and
# these are timestamped here as they reach the console: the figures use the
# host's clock. The guest's own figure is kept in the log for comparison.
set -euo pipefail
export LC_ALL=C

prog=disk-bench
root=$(cd "$(dirname "$0")/.." && pwd)
guest=$root/build/guest
hyperkit=$root/build/hyperkit
layer=$root/build/linux-progs/disk.cpio.gz
size=256
reads=4000
only=""
logdir=$root/build/bench
timeout_s=1800
qemu="qemu-system-x86_64"
install=0
shared_opts="--guest --hyperkit --layer --only --timeout --log-dir -h --help"
. "$root/bench/lib.sh"

usage() {
    cat <<EOF
Usage: bench/disk-bench.sh [options]
Boots GUEST/vmlinuz with GUEST/initramfs-shell.img and the disk layer under
hyperkit and under qemu-system-x86_64 -accel tcg, each with a fresh raw and
a fresh qcow2 image of --size MiB, and measures in the guest: sequential
O_DIRECT write then read of the whole disk, and --reads random 4 KiB reads.

  --size MIB         disk size and sequential transfer (default $size)
  --reads N          random 4 KiB reads per disk (default $reads)
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
    --size) need_arg "$@"; size=$2; shift ;;
    --reads) need_arg "$@"; reads=$2; shift ;;
    *) shared_opt "$@" || die "unknown option '$1' (see --help)"; shift $((OPT_WORDS - 1)) ;;
    esac
    shift
done
want_count --size "$size" MiB
want_count --reads "$reads" "a count"
want_count --timeout "$timeout_s" seconds
want_engine "$only"
need_guest initramfs-shell.img
[ -f "$layer" ] || die "$layer is missing; build it with: make linux-progs"
command -v qemu-img >/dev/null 2>&1 || die "qemu-img is missing (apt-get install qemu-utils)"
need_engines

# The test helpers build both engines' command lines (tests/linux/disk_lib.sh).
export HYPERKIT=$hyperkit HYPERKIT_GUEST_DIR=$guest DISK_LAYER=$layer
. "$root/tests/linux/lib.sh"
. "$root/tests/linux/disk_lib.sh"

tmp=$(mktemp -d)
vm_pid=""
cleanup() {
    [ -z "$vm_pid" ] || { kill "$vm_pid" 2>/dev/null || true; wait "$vm_pid" 2>/dev/null || true; }
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$logdir"
initrd=$tmp/initrd.img
cat "$guest/initramfs-shell.img" "$layer" >"$initrd"

# run ENGINE: one boot with a fresh raw (vda) and qcow2 (vdb) image; the
# stamped console goes to $logdir/disk-ENGINE.console.
run() {
    local engine=$1 log=$logdir/disk-$1.console deadline=$((SECONDS + timeout_s)) dev
    rm -f "$tmp/disk.raw" "$tmp/disk.qcow2"
    truncate -s "${size}M" "$tmp/disk.raw"
    qemu-img create -q -f qcow2 "$tmp/disk.qcow2" "${size}M"
    DISK_VMM=$engine
    disk_vm_cmd "$initrd" raw:"$tmp/disk.raw" qcow2:"$tmp/disk.qcow2"
    rm -f "$tmp/in" && mkfifo "$tmp/in"
    { printf '#' && printf ' %q' "${DISK_CMD[@]}" && echo; } >"$log.cmd"
    "${DISK_CMD[@]}" <"$tmp/in" > >(stamp >"$log") 2>&1 &
    vm_pid=$!
    exec 8>"$tmp/in"
    say "$engine: booting"
    wait_line "$log" "hyperkit-init: ready" "$deadline" || die "$engine: no shell; see $log"
    for dev in vda vdb; do
        say "$engine: /dev/$dev"
        echo "sh /progs/disk-guest.sh bench /dev/$dev $size $reads" >&8
        wait_line "$log" "^disk: bench /dev/$dev (done|failed)" "$deadline" ||
            die "$engine: /dev/$dev did not finish; see $log"
        ! cut -d' ' -f2- "$log" | grep -q "^disk: bench /dev/$dev failed" ||
            die "$engine: /dev/$dev failed; see $log"
    done
    echo "poweroff -f" >&8
    exec 8>&-
    wait "$vm_pid" || true
    vm_pid=""
    # figures: ENGINE DEV OP BYTES OPS HOST_US GUEST_US
    awk -v e="$engine" '
        $2 == "disk:" && $3 == "bench" && $5 == "begin" { dev = $4; sub(/.*\//, "", dev) }
        $2 == "diskio:" && $4 == "start" { t0 = $1 }
        $2 == "diskio:" && $4 ~ /^bytes=/ {
            split($4, b, "="); split($5, o, "="); split($6, u, "=")
            print e, dev, $3, b[2], o[2], $1 - t0, u[2] }' "$log" >>"$tmp/figures"
}

[ "$only" = qemu ] || run hyperkit
[ "$only" = hyperkit ] || run qemu
cp "$tmp/figures" "$logdir/disk-figures.txt"

# One row per disk and operation: MiB/s or IOPS on the host's clock.
printf '%-26s %12s %12s %14s\n' figure hyperkit qemu-tcg hyperkit/qemu
awk '
    { k = $2 " " $3; order[k] = order[k] ? order[k] : ++n; keys[order[k]] = k
      fig[$1, k] = ($3 == "randread") ? $5 / ($6 / 1e6) : $4 / 1048576 / ($6 / 1e6) }
    END {
      for (i = 1; i <= n; i++) {
        k = keys[i]; split(k, p, " ")
        name = (p[1] == "vda" ? "raw" : "qcow2") " " p[2] (p[2] == "randread" ? " 4K IOPS" : " MiB/s")
        h = fig["hyperkit", k]; q = fig["qemu", k]
        printf "%s|%s|%s\n", name, h == "" ? "" : sprintf("%.17g", h), q == "" ? "" : sprintf("%.17g", q)
      }
    }' "$tmp/figures" |
    while IFS='|' read -r name h q; do
        ratio_row 26 "$name" "$h" "$q" 1 "%.1f"
    done
say "console logs and figures (with the guests' own clocks) in $logdir"
