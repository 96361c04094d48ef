#!/usr/bin/env bash
# Host instructions per guest instruction over the start of a Linux boot on
# the emu engine: hyperkit under callgrind, counting only inside emu_cpu_run,
# until the console shows a marker line; then the run loop's own share (the
# bookkeeping between and around handlers). A count, not a time: two builds
# compared over the same marker run nearly the same guest instructions
# (bench/README.md, "The interpreter's cost per instruction").
set -euo pipefail
prog=emu-boot-cost
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

hyperkit=build/hyperkit
guest=build/guest
marker="pid_max:"
profile=0
usage() {
    cat <<EOF
usage: $0 [--hyperkit PATH] [--guest DIR] [--marker TEXT] [--profile N]
  --hyperkit PATH  the hyperkit to measure (default $hyperkit)
  --guest DIR      vmlinuz and initramfs-poweroff.img (default $guest)
  --marker TEXT    stop at the first console line with TEXT (default "$marker",
                   about 120 M guest instructions into the boot)
  --profile N      also list the N places with the most host instructions of
                   their own, per guest instruction
EOF
}
while [ $# -gt 0 ]; do
    case $1 in
    --hyperkit) need_arg "$@"; hyperkit=$2; shift 2 ;;
    --guest) need_arg "$@"; guest=$2; shift 2 ;;
    --marker) need_arg "$@"; marker=$2; shift 2 ;;
    --profile) need_arg "$@"; want_count "$1" "$2" "a count"; profile=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
[ -x "$hyperkit" ] || die "$hyperkit is missing; build it with: make cli"
need_guest initramfs-poweroff.img
for t in valgrind callgrind_control callgrind_annotate; do
    command -v "$t" >/dev/null || die "$t is not installed (apt-get install valgrind)"
done

tmp=$(mktemp -d)
vg_pid=""
cleanup() {
    [ -z "$vg_pid" ] || kill -9 "$vg_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# The console goes to a file: hyperkit's stdout is a pipe, so lines come in
# chunks, and the dump may fall a little after the marker.
valgrind --tool=callgrind --toggle-collect=emu_cpu_run --callgrind-out-file="$tmp/cg.out" \
    "$hyperkit" --accel=emu -A -m 512M -s 0:0,hostbridge -s 31,lpc -l com1,stdio \
    -f "kexec,$guest/vmlinuz,$guest/initramfs-poweroff.img,console=ttyS0 cryptomgr.notests" \
    </dev/null >"$tmp/console" 2>"$tmp/err" &
vg_pid=$!
until grep -aqF -- "$marker" "$tmp/console"; do
    kill -0 "$vg_pid" 2>/dev/null || die "hyperkit ended before the console showed '$marker': $(tail -3 "$tmp/err")"
    sleep 1
done
callgrind_control -d "$vg_pid" >/dev/null 2>&1 || die "callgrind_control could not dump pid $vg_pid"
dump=$tmp/cg.out.1
for _ in $(seq 60); do [ -s "$dump" ] && break; sleep 1; done
[ -s "$dump" ] || die "no callgrind dump appeared"
sleep 2 # the dump is written whole before the next poll
kill "$vg_pid" 2>/dev/null || true
wait "$vg_pid" 2>/dev/null || true
vg_pid=""

# Guest instructions: the calls made from run_block's handler call (the
# source line `st = in->fn(cpu, in)` in run.c), REP iterations counted once.
callgrind_annotate --auto=yes --threshold=100 "$dump" >"$tmp/ann" 2>/dev/null
awk -v n="$profile" '
    BEGIN { shown = 0 }
    /PROGRAM TOTALS/ { t = $1; gsub(",", "", t) }
    /^-- Auto-annotated source: .*accel\/emu\/run\.c/ { run = 1; next }
    /^-- Auto-annotated source/ { run = 0 }
    run && /= in->fn\(cpu, in\);/ { calls = 1; next }
    run && calls && /=>/ {
        c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); gsub(",", "", c); g += c; next
    }
    calls && !/=>/ { calls = 0 }
    /^-+$/ { sect++ }
    sect == 6 && /^ *[0-9][0-9,]* \(/ {
        ir = $1; gsub(",", "", ir)
        where = $0; sub(/^[^)]*\) */, "", where); sub(/ .*/, "", where)
        if (where ~ /(run\.c|emu\.h):emu_cpu_run$/) loop += ir
        if (shown < n) { top[shown] = ir; name[shown] = where; shown++ }
    }
    END {
        if (!g || !t) { print "no figures (run.c no longer calls in->fn(cpu, in)?)"; exit 1 }
        printf "%-28s %12d\n%-28s %12d\n%-28s %12.1f\n", "guest instructions", g,
            "host instructions", t, "host/guest", t / g
        printf "%-28s %12.1f (%.1f%%)\n", "run loop own, per guest", loop / g, 100 * loop / t
        for (i = 0; i < shown; i++) printf "    %8.2f  %s\n", top[i] / g, name[i]
    }' "$tmp/ann" || die "could not read the profile"
