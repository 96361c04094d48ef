#!/usr/bin/env bash
# Boot benchmark: the same Debian kernel and bench initramfs under hyperkit
# (emu engine) and under QEMU's software emulator (qemu-system-x86_64
# -accel tcg, once per -cpu model: qemu64 and max by default), with the
# ratio hyperkit / QEMU for each figure and model. See
# bench/README.md for what the figures mean.
#
#   bench/boot-bench.sh [--runs N] [options]      (bench/boot-bench.sh -h)
#
# Console lines are timestamped here, on the host, as they arrive: the
# guest's clock is the thing under test, so it is not trusted for timings.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME with a '.', and sort -n

prog=boot-bench
root=$(cd "$(dirname "$0")/.." && pwd)
runs=1
timeout_s=900
guest=$root/build/guest
hyperkit=$root/build/hyperkit
hk_accel=emu
qemu="qemu-system-x86_64"
qemu_cpus="qemu64,max" # each a QEMU engine of its own, one column each
cmdline="console=ttyS0 quiet panic=-1"
only=""
logdir=$root/build/bench
install=1
acpi=auto
shared_opts="--runs --timeout --guest --hyperkit --accel --qemu --qemu-cpu --only --log-dir
    --no-install -h --help"
marker="hyperkit-init: ready"
zeros_bytes=33554432 # the guest hashes this many bytes of /dev/zero
. "$root/bench/lib.sh"

usage() {
    cat <<EOF
Usage: bench/boot-bench.sh [options]
Boots GUEST/vmlinuz with GUEST/initramfs-bench.img under hyperkit and under
qemu-system-x86_64 -accel tcg with each -cpu model, each RUNS times
(interleaved), and prints the median of each figure with the ratios
hyperkit / QEMU.

  --runs N           runs per engine (default $runs)
  --timeout S        seconds one run may take before it is killed (default $timeout_s)
  --guest DIR        kernel and initramfs directory (default build/guest;
                     make it with: sh scripts/fetch-guest.sh)
  --hyperkit PATH    the hyperkit command (default build/hyperkit)
  --accel ENGINE     hyperkit's --accel (default $hk_accel)
  --acpi auto|yes|no pass -A to hyperkit (default auto: when it accepts -A)
  --qemu PATH        the QEMU command (default $qemu)
  --qemu-cpu LIST    QEMU's -cpu models, comma-separated, one QEMU engine each
                     (default $qemu_cpus: qemu64 is the model nearest to emu's
                     CPUID, so both run the same kernel and busybox code paths;
                     max is everything TCG can do)
  --cmdline TEXT     kernel command line for both (default "$cmdline")
  --only ENGINE      run hyperkit or qemu alone (no ratios)
  --log-dir DIR      timestamped console logs (default build/bench)
  --no-install       do not apt-get install QEMU when it is missing
  -h, --help         this text
Exit status 0 when every run reached power-off with all its markers, 1 otherwise.
EOF
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
        --acpi) need_arg "$@"; acpi=$2; shift ;;
        --cmdline) need_arg "$@"; cmdline=$2; shift ;;
        *) shared_opt "$@" || die "unknown option '$1' (see --help)"; shift $((OPT_WORDS - 1)) ;;
        esac
        shift
    done
    want_count --runs "$runs" "a positive integer"
    want_count --timeout "$timeout_s" seconds
    want_engine "$only"
    want_cpu_list "$qemu_cpus"
    case $acpi in auto | yes | no) ;; *) die "--acpi wants auto, yes or no" ;; esac
}

check_inputs() {
    need_guest initramfs-bench.img
    command -v timeout >/dev/null 2>&1 || die "needs timeout(1) from coreutils"
    need_engines
}

# -A (ACPI tables) lets the guest power off through ACPI S5; without it
# Linux halts instead, which also ends hyperkit with status 0. Whether this
# build accepts -A shows in how it fails on a missing kernel: an unsupported
# flag is refused while the options are read, before the firmware is opened.
hyperkit_acpi_flag() {
    case $acpi in
    no) return 0 ;;
    yes) echo -A; return 0 ;;
    esac
    local out
    out=$("$hyperkit" -A -m 16M -f "kexec,/nonexistent/vmlinuz" </dev/null 2>&1) || true
    case $out in *"-A:"*) ;; *) echo -A ;; esac
}

hyperkit_cmd() {
    local trace=$1
    cmd=("$hyperkit" --accel="$hk_accel")
    [ -z "$acpi_flag" ] || cmd+=("$acpi_flag")
    [ -z "$trace" ] || cmd+=(--trace="$trace")
    # shellcheck disable=SC2054 # the commas belong to hyperkit's option syntax
    cmd+=(-m 512M -s 0:0,hostbridge -s 31,lpc -l com1,stdio
        -f "kexec,$guest/vmlinuz,$guest/initramfs-bench.img,$cmdline")
}

# -nodefaults drops the VGA card, the NIC (and its iPXE ROM) and the
# drives: hyperkit has none of them either.
qemu_cmd() {
    cmd=("$qemu" -accel tcg -cpu "$1" -smp 1 -m 512M -nodefaults -no-user-config
        -nographic -no-reboot -serial stdio -monitor none
        -kernel "$guest/vmlinuz" -initrd "$guest/initramfs-bench.img" -append "$cmdline")
}

engine_pid=""
tmp=""
trap engine_cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

now_us() { now=${EPOCHREALTIME/./}; }

# Run one engine once: cmd=(...) is the command line, $1 its name, $2 the
# run number. Sets the r_* figures (microseconds from process start) or
# returns 1 with the reason in r_error.
run_once() {
    local name=$1 n=$2 log=$logdir/$1-$2.console err=$logdir/$1-$2.stderr
    local fifo=$tmp/console line now start rc cpu cpu_start
    r_init="" r_sha_start="" r_sha_end="" r_loop_start="" r_loop_end="" r_done=""
    r_total="" r_cpu="" r_digest="" r_guest_sha="" r_guest_loop="" r_error=""
    rm -f "$fifo" && mkfifo "$fifo"
    { printf '#' && printf ' %q' "${cmd[@]}" && echo; } >"$log"
    children_cpu_us
    cpu_start=$cpu
    now_us
    start=$now
    # Without --foreground timeout(1) runs the engine in a process group of
    # its own and forwards our TERM to it; -k makes sure it dies.
    timeout -k 10 "$timeout_s" "${cmd[@]}" </dev/null >"$fifo" 2>"$err" &
    engine_pid=$!
    exec 3<"$fifo"
    while IFS= read -r line <&3 || [ -n "$line" ]; do
        now_us
        line=${line%$'\r'}
        printf '%d.%06d %s\n' $(((now - start) / 1000000)) $(((now - start) % 1000000)) \
            "$line" >>"$log"
        note_line "$line" $((now - start))
    done
    exec 3<&-
    rc=0
    wait "$engine_pid" || rc=$?
    engine_pid=""
    now_us
    r_total=$((now - start))
    children_cpu_us
    r_cpu=$((cpu - cpu_start))
    check_run "$rc" "$log" "$err"
}

# Markers can share a line with the firmware's or kernel's own output (no
# newline comes before the first /init line under "quiet"): match anywhere.
note_line() {
    local line=$1 t=$2
    case $line in
    *"$marker"*) [ -n "$r_init" ] || r_init=$t ;;
    *"bench: sha256 start"*) r_sha_start=$t; r_guest_sha=$(uptime_of "$line") ;;
    *"bench: sha256 end"*)
        r_sha_end=$t
        r_digest=$(sed -n 's/.*sha256 end \([0-9a-f]*\).*/\1/p' <<<"$line")
        r_guest_sha=$(guest_delta "$r_guest_sha" "$line") ;;
    *"bench: loop start"*) r_loop_start=$t; r_guest_loop=$(uptime_of "$line") ;;
    *"bench: loop end"*) r_loop_end=$t; r_guest_loop=$(guest_delta "$r_guest_loop" "$line") ;;
    *"bench: done"*) r_done=$t ;;
    esac
}

uptime_of() { sed -n 's/.*uptime=\([0-9.]*\).*/\1/p' <<<"$1"; }
guest_delta() { awk -v a="$1" -v b="$(uptime_of "$2")" 'BEGIN { if (a != "" && b != "") printf "%.2f", b - a }'; }

check_run() {
    local rc=$1 log=$2 err=$3
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        r_error="timed out after ${timeout_s}s"
    elif [ "$rc" != 0 ]; then
        r_error="exited with status $rc"
    elif [ -z "$r_init" ]; then
        r_error="no '$marker' line from /init"
    elif [ -z "$r_sha_end" ] || [ -z "$r_loop_end" ] || [ -z "$r_done" ]; then
        r_error="the guest stopped before its workloads finished"
    fi
    [ -z "$r_error" ] && return 0
    r_error="$r_error (console: $log, stderr: $err)"
    return 1
}

# The engine's instruction count: emu stamps each trace line with the
# instructions it has run, and the trace is written only at exceptions and
# interrupts (a few thousand lines a boot), so reading it costs nothing.
trace_insns() {
    [ -f "$1" ] || return 0
    sed -n 's/^\[\([0-9]*\)\].*/\1/p' "$1" | tail -n 1
}

# Figures per engine, one list each: "name.figure" -> "v1 v2 ...".
declare -A fig
add_fig() { fig[$1.$2]="${fig[$1.$2]:-}${fig[$1.$2]:+ }$3"; }

record() {
    local name=$1 trace=$2 insns
    add_fig "$name" init "$r_init"
    add_fig "$name" sha $((r_sha_end - r_sha_start))
    add_fig "$name" loop $((r_loop_end - r_loop_start))
    add_fig "$name" total "$r_total"
    add_fig "$name" cpu "$r_cpu"
    if [ "$r_digest" != "$host_digest" ]; then
        say "WARNING: $name's guest sha256 of 32 MiB of zeros is '$r_digest'," \
            "the host's is $host_digest"
        warnings=$((warnings + 1))
    fi
    insns=$(trace_insns "$trace")
    if [ -n "$insns" ]; then
        add_fig "$name" insns "$insns"
        add_fig "$name" mips "$(awk -v i="$insns" -v t="$r_total" 'BEGIN { printf "%.1f", i / t }')"
        add_fig "$name" mips_cpu "$(awk -v i="$insns" -v t="$r_cpu" 'BEGIN { if (t > 0) printf "%.1f", i / t }')"
    fi
    say "$name run $3: /init $(secs "$r_init")s, sha256 $(secs $((r_sha_end - r_sha_start)))s" \
        "(guest clock ${r_guest_sha:-?}s), loop $(secs $((r_loop_end - r_loop_start)))s" \
        "(guest clock ${r_guest_loop:-?}s), total $(secs "$r_total")s," \
        "CPU $(secs "$r_cpu")s${insns:+, $insns instructions}"
}

secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }

median() {
    tr ' ' '\n' <<<"$1" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) exit; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One row: label, figure, scale (divide by), format.
row() {
    local label=$1 f=$2 scale=$3 fmt=$4 h q=() c all
    h=$(median "${fig[hyperkit.$f]:-}")
    all=$h
    for c in "${cpus[@]}"; do
        q+=("$(median "${fig[qemu-$c.$f]:-}")")
        all+=${q[-1]}
        q[-1]=${q[-1]:--}
    done
    [ -n "$all" ] || return 0
    ratio_row_n 30 "$label" "$scale" "$fmt" "${h:--}" "${q[@]}"
}

report() {
    echo
    echo "boot bench: $(cat "$guest/kernel-version" 2>/dev/null || echo "$guest/vmlinuz"), median of $runs run(s)"
    echo "  hyperkit: ${hk_display}"
    printf '%s\n' "${q_display[@]}"
    echo "  kernel command line: $cmdline"
    echo "  host: $(host_cpu), $(nproc) CPUs, load average at start $load_start"
    echo
    ratio_header 30 figure "${cpus[@]}"
    row "first /init line (s)" init 1e6 "%.2f"
    row "sha256 of 32 MiB zeros (s)" sha 1e6 "%.2f"
    row "shell loop, 20000 iter. (s)" loop 1e6 "%.2f"
    row "total to exit (s)" total 1e6 "%.2f"
    row "engine CPU time, whole run (s)" cpu 1e6 "%.2f"
    row "guest instructions (millions)" insns 1e6 "%.0f"
    row "instructions/s, whole run (M)" mips 1 "%.1f"
    row "instructions/CPU second (M)" mips_cpu 1 "%.1f"
    echo
    echo "console logs: $logdir"
}

host_cpu() { sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1; }

run_engine() {
    local name=$1 n=$2 trace=""
    if [ "$name" = hyperkit ]; then
        [ "$hk_accel" != emu ] || trace=$logdir/hyperkit-$n.trace
        hyperkit_cmd "$trace"
    else
        qemu_cmd "${name#qemu-}"
    fi
    say "$name run $n of $runs"
    if ! run_once "$name" "$n"; then
        say "$name run $n failed: $r_error"
        tail -n 5 "$logdir/$name-$n.console" | sed 's/^/    /' >&2
        tail -n 3 "$logdir/$name-$n.stderr" | sed 's/^/    stderr: /' >&2
        failures=$((failures + 1))
        return 0
    fi
    record "$name" "$trace" "$n"
}

main() {
    parse_args "$@"
    check_inputs
    mkdir -p "$logdir"
    tmp=$(mktemp -d)
    host_digest=$(head -c "$zeros_bytes" /dev/zero | sha256sum | cut -d' ' -f1)
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    IFS=, read -r -a cpus <<<"$qemu_cpus"
    engines=()
    [ "$only" = qemu ] || engines+=(hyperkit)
    if [ "$only" != hyperkit ]; then
        for c in "${cpus[@]}"; do engines+=("qemu-$c"); done
    fi
    hk_display="-" q_display=()
    if [ "$only" != qemu ]; then
        acpi_flag=$(hyperkit_acpi_flag)
        hyperkit_cmd ""
        hk_display=$(printf "%q " "${cmd[@]}")
    fi
    local n e c
    if [ "$only" != hyperkit ]; then
        for c in "${cpus[@]}"; do
            qemu_cmd "$c"
            q_display+=("  qemu-$c: $(printf "%q " "${cmd[@]}")")
        done
        q_display+=("  ($("$qemu" --version | head -n 1))")
    fi
    failures=0 warnings=0
    for ((n = 1; n <= runs; n++)); do
        for e in "${engines[@]}"; do
            run_engine "$e" "$n"
        done
    done
    [ "${#fig[@]}" -gt 0 ] || die "every run failed: no figures"
    report
    [ "$warnings" = 0 ] || echo "$warnings sha256 mismatch warning(s): see above"
    [ "$failures" = 0 ] || die "$failures run(s) failed; their figures are left out"
}

main "$@"
