#!/usr/bin/env bash
# Host instructions per guest instruction: test_cpu_diff --bench's two loops
# run under callgrind, counting only inside emu_cpu_run. A count, not a
# time, so it is the same on a busy machine and comparable between commits
# (bench/README.md, "The interpreter's cost per instruction").
set -euo pipefail
prog=emu-cost
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bin=build/tests/test_cpu_diff
int_iters=200000
copy_passes=20
profile=0
usage() {
    cat <<EOF
usage: $0 [--bin PATH] [--int N] [--copy N] [--profile N]
  --bin PATH   test_cpu_diff to measure (default $bin)
  --int N      integer-loop iterations, 6 instructions each (default $int_iters)
  --copy N     copy-loop passes of 64 KiB, 49157 instructions each (default $copy_passes)
  --profile N  also list, per loop, the N places (function, or inlined
               function by source file) with the most host instructions of
               their own, per guest instruction
EOF
}
while [ $# -gt 0 ]; do
    case $1 in
    --bin) need_arg "$@"; bin=$2; shift 2 ;;
    --int) need_arg "$@"; want_count "$1" "$2" "a count"; int_iters=$2; shift 2 ;;
    --copy) need_arg "$@"; want_count "$1" "$2" "a count"; copy_passes=$2; shift 2 ;;
    --profile) need_arg "$@"; want_count "$1" "$2" "a count"; profile=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
[ -x "$bin" ] || die "$bin is not an executable (make tests)"
command -v valgrind >/dev/null || die "valgrind is not installed (apt-get install valgrind)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure NAME UNITS: one loop alone; prints NAME, guest and host instructions.
measure() {
    local name=$1 units=$2 guest ir
    HK_CPU_BENCH=$units valgrind --tool=callgrind --toggle-collect=emu_cpu_run \
        --callgrind-out-file="$tmp/cg.out" "$bin" --bench >"$tmp/out" 2>"$tmp/err" ||
        die "$bin --bench under callgrind failed: $(tail -3 "$tmp/err")"
    guest=$(sed -n 's/.*instructions\/s (\([0-9]*\) in.*/\1/p' "$tmp/out" | head -1)
    ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/err" | head -1)
    [ -n "$guest" ] && [ -n "$ir" ] || die "no figures from $bin --bench: $(cat "$tmp/out")"
    awk -v n="$name" -v g="$guest" -v h="$ir" \
        'BEGIN { printf "%-14s %12d %14d %10.1f\n", n, g, h, h / g }'
    [ "$profile" -gt 0 ] || return 0
    command -v callgrind_annotate >/dev/null || die "callgrind_annotate is not installed (valgrind)"
    # Inlined code is listed under the file it comes from ("emu.h:emu_cpu_run").
    callgrind_annotate --threshold=100 "$tmp/cg.out" 2>/dev/null |
        awk -v g="$guest" -v n="$profile" '
            /^ *[0-9][0-9,]* \(/ && $NF != "TOTALS" && shown < n {
                ir = $1; gsub(",", "", ir)
                where = $0; sub(/^[^)]*\) */, "", where); sub(/ .*/, "", where)
                printf "    %8.2f  %s\n", ir / g, where
                shown++
            }'
}

printf "%-14s %12s %14s %10s\n" loop "guest insns" "host insns" "host/guest"
measure integer "$int_iters 0"
measure copy "0 $copy_passes"
