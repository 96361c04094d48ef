#!/usr/bin/env bash
# Tight-loop benchmark: test_cpu_diff --bench's two loops (integer ALU, 64-bit
# memory copy) as the same guest machine code under hyperkit and under QEMU
# TCG (once per -cpu model), in instructions per second, with the ratios.
# The guest is bench/loop-guest.S, a Multiboot kernel both can boot.
#
#   bench/loop-bench.sh [--seconds S] [--runs N] [options]   (-h for all)
#
# Start-up is subtracted: each figure comes from two boots, with N and 2N
# iterations, and is N iterations' instructions over the difference of the
# two times. N grows until the differences of wall and of CPU time are both
# at least --seconds / 2.
set -euo pipefail
export LC_ALL=C

prog="loop-bench"
root=$(cd "$(dirname "$0")/.." && pwd)
runs=1
seconds=2
timeout_s=600
hyperkit=$root/build/hyperkit
hk_accel=emu
qemu="qemu-system-x86_64"
qemu_cpus="qemu64,max"
only=""
guest_elf=$root/build/bench/loop-guest.elf
logdir=$root/build/bench
install=1
shared_opts="--runs --timeout --hyperkit --accel --qemu --qemu-cpu --only --log-dir --no-install
    -h --help"
. "$root/bench/lib.sh"

# Per loop: instructions per unit (an iteration; a 64 KiB pass), the first
# N, the largest N (2N must fit the guest's 32-bit counters).
declare -A per_unit=([int]=6 [copy]=$((6 * 8192 + 5)))
declare -A first_n=([int]=100000 [copy]=4)
declare -A max_n=([int]=1000000000 [copy]=40000)
declare -A loop_label=([int]="integer loop"
    [copy]="copy loop (64-bit load/store)")

usage() {
    cat <<EOF
Usage: bench/loop-bench.sh [options]
Boots GUEST_ELF (bench/loop-guest.S: test_cpu_diff --bench's integer and
copy loops) under hyperkit and under qemu-system-x86_64 -accel tcg with each
-cpu model, and prints each engine's guest instructions per second on each
loop with the ratios hyperkit / QEMU in time per instruction.

  --seconds S        each figure's timed difference is at least S/2 seconds,
                     about S (default $seconds)
  --runs N           repeat the final pair of boots N times, take the median
                     (default $runs)
  --timeout S        seconds one boot may take (default $timeout_s)
  --hyperkit PATH    the hyperkit command (default build/hyperkit)
  --accel ENGINE     hyperkit's --accel (default $hk_accel)
  --qemu PATH        the QEMU command (default $qemu)
  --qemu-cpu LIST    QEMU -cpu models, comma-separated (default $qemu_cpus)
  --only ENGINE      run hyperkit or qemu alone (no ratios)
  --guest-elf PATH   the guest (default build/bench/loop-guest.elf; make bench-loop)
  --log-dir DIR      consoles of the boots (default build/bench)
  --no-install       do not apt-get install QEMU when it is missing
  -h, --help         this text
Exit status 0 when every boot ended through the debug-exit port with its
check passed, 1 otherwise.
EOF
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
        --seconds) need_arg "$@"; seconds=$2; shift ;;
        --guest-elf) need_arg "$@"; guest_elf=$2; shift ;;
        *) shared_opt "$@" || die "unknown option '$1' (see --help)"; shift $((OPT_WORDS - 1)) ;;
        esac
        shift
    done
    want_count --seconds "$seconds" "a positive whole number of seconds"
    want_count --runs "$runs" "a positive integer"
    want_count --timeout "$timeout_s" seconds
    want_engine "$only"
    want_cpu_list "$qemu_cpus"
    [ -f "$guest_elf" ] || die "$guest_elf is missing; build it with: make bench-loop"
    command -v timeout >/dev/null 2>&1 || die "needs timeout(1) from coreutils"
    need_engines
}

# cmd=(...) for engine $1 ("hyperkit" or "qemu-MODEL") and command line $2.
# Both get the debug-exit device at 0xf4 and COM1 on stdout.
# shellcheck disable=SC2054 # the commas belong to the engines' option syntax
engine_cmd() {
    if [ "$1" = hyperkit ]; then
        cmd=("$hyperkit" --accel="$hk_accel" -m 64M --debug-exit -l com1,stdio
            -f "multiboot,$guest_elf,,$2")
    else
        cmd=("$qemu" -accel tcg -cpu "${1#qemu-}" -smp 1 -m 64M -nodefaults -no-user-config
            -nographic -no-reboot -serial stdio -monitor none
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$guest_elf" -append "$2")
    fi
}

engine_pid=""
tmp=""
trap engine_cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# boot ENGINE LOOP N: one boot running LOOP N times; r_us is its wall time
# from process start to exit and r_cpu its CPU time (microseconds). Returns
# 1 on a failed boot.
boot() {
    local e=$1 loop=$2 n=$3 args log=$logdir/loop-$1-$2-$3.console rc=0 start line eax cpu cpu0
    args="0 0"
    [ "$loop" = int ] && args="$n 0"
    [ "$loop" = copy ] && args="0 $n"
    engine_cmd "$e" "$args"
    { printf '#' && printf ' %q' "${cmd[@]}" && echo; } >"$log"
    children_cpu_us
    cpu0=$cpu
    start=${EPOCHREALTIME/./}
    timeout -k 10 "$timeout_s" "${cmd[@]}" </dev/null >>"$log" 2>&1 &
    engine_pid=$!
    wait "$engine_pid" || rc=$?
    engine_pid=""
    r_us=$((${EPOCHREALTIME/./} - start))
    children_cpu_us
    r_cpu=$((cpu - cpu0))
    line=$(grep -a 'bench-loop: done' "$log" | tail -n 1) || true
    # The debug-exit write of 0 is status 1 on both engines.
    if [ "$rc" != 1 ] || [ -z "$line" ]; then
        say "$e: $loop loop x$n failed (exit status $rc; console: $log)"
        tail -n 3 "$log" | sed 's/^/    /' >&2
        return 1
    fi
    # Correctness canary: every engine must end the integer loop with the
    # same eax for the same N (the first N is the same for all).
    eax=${line##*eax=}
    if [ "$loop" = int ]; then
        if [ -z "${int_eax[$n]:-}" ]; then
            int_eax[$n]="$eax $e"
        elif [ "${int_eax[$n]%% *}" != "$eax" ]; then
            say "WARNING: $e's integer loop x$n ended with eax=$eax, ${int_eax[$n]#* }'s with ${int_eax[$n]%% *}"
            warnings=$((warnings + 1))
        fi
    fi
}

# pair ENGINE LOOP N: boots with N and 2N; r_diff and r_cdiff are the
# differences of their wall and CPU times (us).
pair() {
    local t1 c1
    boot "$1" "$2" "$3" || return 1
    t1=$r_us c1=$r_cpu
    boot "$1" "$2" $(($3 * 2)) || return 1
    r_diff=$((r_us - t1)) r_cdiff=$((r_cpu - c1))
    say "$1: $2 loop x$3 $(secs "$t1")s (CPU $(secs "$c1")s), x$(($3 * 2)) $(secs "$r_us")s" \
        "(CPU $(secs "$r_cpu")s), difference $(secs "$r_diff")s (CPU $(secs "$r_cdiff")s)"
}

secs() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }

median() {
    tr ' ' '\n' <<<"$1" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) exit; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure ENGINE LOOP: grows N until the difference is long enough, then
# repeats the final pair; sets rate[ENGINE.LOOP] (guest instructions per us).
measure() {
    local e=$1 loop=$2 n=${first_n[$2]} want=$((seconds * 500000)) diffs cdiffs grow i
    while :; do
        pair "$e" "$loop" "$n" || return 1
        # Both differences must be long enough: on a busy host the CPU
        # time's is the shorter one.
        if [ "$n" -ge "${max_n[$loop]}" ] ||
            { [ "$r_diff" -ge "$want" ] && [ "$r_cdiff" -ge "$want" ]; }; then
            break
        fi
        # Aim at --seconds of wall time from what this pair took (2x to 16x
        # a step: a noisy or negative difference must not stall or overshoot).
        grow=$(awk -v d="$r_diff" -v s="$seconds" 'BEGIN {
            g = d > 0 ? int(s * 1e6 / d) + 1 : 16
            if (g < 2) g = 2
            if (g > 16) g = 16
            print g }')
        n=$((n * grow > max_n[$loop] ? max_n[$loop] : n * grow))
    done
    diffs=$r_diff cdiffs=$r_cdiff
    for ((i = 2; i <= runs; i++)); do
        pair "$e" "$loop" "$n" || return 1
        diffs+=" $r_diff" cdiffs+=" $r_cdiff"
    done
    local d c
    d=$(median "$diffs")
    c=$(median "$cdiffs")
    if awk -v d="$d" 'BEGIN { exit !(d <= 0) }'; then
        say "$e: $loop loop: 2N iterations took no longer than N; the host is too busy to measure"
        return 1
    fi
    rate[$e.$loop]=$(awk -v n="$n" -v u="${per_unit[$loop]}" -v d="$d" 'BEGIN { printf "%.3f", n * u / d }')
    crate[$e.$loop]=$(awk -v n="$n" -v u="${per_unit[$loop]}" -v d="$c" 'BEGIN { if (d > 0) printf "%.3f", n * u / d }')
    units[$e.$loop]=$n
}

report() {
    echo
    echo "tight-loop bench: the same guest code ($guest_elf), guest instructions per"
    echo "second from two boots with N and 2N iterations (start-up subtracted), median of $runs"
    [ "$only" = qemu ] || echo "  hyperkit: $hyperkit --accel=$hk_accel"
    [ "$only" = hyperkit ] || echo "  qemu: $("$qemu" --version | head -n 1), -accel tcg -cpu ${cpus[*]}"
    echo "  host: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
        "$(nproc) CPUs, load average at start $load_start"
    echo
    local loop e v r
    printf '%-40s' "M guest instructions/s"
    for e in "${engines[@]}"; do printf ' %12s' "$e"; done
    echo
    for loop in int copy; do
        for r in wall CPU; do
            printf '%-40s' "${loop_label[$loop]}, $r"
            for e in "${engines[@]}"; do
                if [ $r = wall ]; then v=${rate[$e.$loop]:-}; else v=${crate[$e.$loop]:-}; fi
                printf ' %12s' "${v:--}"
            done
            echo
        done
    done
    printf '%-40s' "N (iterations; 64 KiB passes)"
    for loop in int copy; do
        [ $loop = int ] || printf '%-40s' ""
        for e in "${engines[@]}"; do printf ' %12s' "${units[$e.$loop]:--}"; done
        echo
    done
    [ -z "$only" ] || return 0
    echo
    echo "hyperkit / QEMU, time per instruction (above 1.0: hyperkit slower)"
    printf '%-40s' ""
    for e in "${cpus[@]}"; do printf ' %16s' "hk/qemu-$e"; done
    echo
    for loop in int copy; do
        for r in wall CPU; do
            printf '%-40s' "${loop_label[$loop]}, $r"
            for e in "${cpus[@]}"; do
                if [ $r = wall ]; then
                    awk -v h="${rate[hyperkit.$loop]:-}" -v q="${rate[qemu-$e.$loop]:-}" 'BEGIN {
                        printf " %16s", (h > 0 && q > 0) ? sprintf("%.2f", q / h) : "-" }'
                else
                    awk -v h="${crate[hyperkit.$loop]:-}" -v q="${crate[qemu-$e.$loop]:-}" 'BEGIN {
                        printf " %16s", (h > 0 && q > 0) ? sprintf("%.2f", q / h) : "-" }'
                fi
            done
            echo
        done
    done
}

main() {
    parse_args "$@"
    mkdir -p "$logdir"
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    IFS=, read -r -a cpus <<<"$qemu_cpus"
    engines=()
    [ "$only" = qemu ] || engines+=(hyperkit)
    if [ "$only" != hyperkit ]; then
        for c in "${cpus[@]}"; do engines+=("qemu-$c"); done
    fi
    declare -gA rate=() crate=() units=() int_eax=()
    tmp=$(mktemp -d)
    failures=0 warnings=0
    local e loop
    for loop in int copy; do
        for e in "${engines[@]}"; do
            measure "$e" "$loop" || failures=$((failures + 1))
        done
    done
    report
    [ "$warnings" = 0 ] || echo "$warnings integer-loop mismatch warning(s): see above"
    [ "$failures" = 0 ] || die "$failures figure(s) failed; see above"
}

main "$@"
