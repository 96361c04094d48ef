# shellcheck shell=bash
# What the benchmarks share: messages under the script's name ($prog),
# option checks, and a row of hyperkit / QEMU figures with their ratio.

# shellcheck disable=SC2154 # prog: set by the script that sources this
say() { echo "$prog: $*" >&2; }
die() {
    say "$*"
    exit 1
}

need_arg() { [ $# -ge 2 ] || die "$1 needs a value (see --help)"; }

# want_count OPTION VALUE WHAT: a positive integer, or die.
want_count() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 wants $3, not '$2'"; }

# shared_opt OPTION [VALUE...]: an option several benchmarks take, when the
# script lists it in $shared_opts: sets its variable and OPT_WORDS (the
# words it used). Status 1 for any other option.
# shellcheck disable=SC2034 # the variables are the script's
shared_opt() {
    local o known=0
    for o in $shared_opts; do [ "$o" != "$1" ] || known=1; done
    [ "$known" = 1 ] || return 1
    OPT_WORDS=2
    case $1 in
    --guest) need_arg "$@"; guest=$2 ;;
    --hyperkit) need_arg "$@"; hyperkit=$2 ;;
    --accel) need_arg "$@"; hk_accel=$2 ;;
    --layer) need_arg "$@"; layer=$2 ;;
    --qemu) need_arg "$@"; qemu=$2 ;;
    --qemu-cpu) need_arg "$@"; qemu_cpus=$2 ;;
    --only) need_arg "$@"; only=$2 ;;
    --runs) need_arg "$@"; runs=$2 ;;
    --timeout) need_arg "$@"; timeout_s=$2 ;;
    --log-dir) need_arg "$@"; logdir=$2 ;;
    --no-install) install=0; OPT_WORDS=1 ;;
    -h | --help) usage; exit 0 ;;
    *) return 1 ;;
    esac
}

want_engine() { case $1 in "" | hyperkit | qemu) ;; *) die "--only wants hyperkit or qemu" ;; esac; }

# ratio_row WIDTH LABEL HYPERKIT QEMU SCALE FORMAT: one table row; a
# figure that is missing (empty) shows as '-', and so does its ratio.
ratio_row() {
    awk -v w="$1" -v l="$2" -v h="$3" -v q="$4" -v s="$5" -v f="$6" 'BEGIN {
        hs = h == "" ? "-" : sprintf(f, h / s)
        qs = q == "" ? "-" : sprintf(f, q / s)
        r = (h == "" || q == "" || q == 0) ? "-" : sprintf("%.2f", h / q)
        printf "%-" w "s %12s %12s %14s\n", l, hs, qs, r
    }'
}

# want_cpu_list LIST: QEMU -cpu models, comma-separated, each a plain name.
want_cpu_list() {
    [[ $1 =~ ^[A-Za-z0-9_.+-]+(,[A-Za-z0-9_.+-]+)*$ ]] ||
        die "--qemu-cpu wants comma-separated CPU model names (e.g. qemu64,max), not '$1'"
}

# ratio_header WIDTH FIRST CPU...: the header of ratio_row_n's table, one
# QEMU column per -cpu model and a ratio column for each.
ratio_header() {
    local w=$1 first=$2 c
    shift 2
    printf "%-${w}s %12s" "$first" hyperkit
    for c in "$@"; do printf ' %12s' "qemu-$c"; done
    for c in "$@"; do printf ' %14s' "hk/qemu-$c"; done
    echo
}

# ratio_row_n WIDTH LABEL SCALE FORMAT HYPERKIT QEMU...: one row, the
# QEMU figures in the header's order, then hyperkit / each of them.
ratio_row_n() {
    local w=$1 l=$2 s=$3 f=$4
    shift 4
    awk -v w="$w" -v l="$l" -v s="$s" -v f="$f" -v v="$*" 'BEGIN {
        n = split(v, x, " ")
        printf "%-" w "s", l
        for (i = 1; i <= n; i++) printf " %12s", x[i] == "-" ? "-" : sprintf(f, x[i] / s)
        for (i = 2; i <= n; i++)
            printf " %14s", (x[1] == "-" || x[i] == "-" || x[i] == 0) ? "-" : sprintf("%.2f", x[1] / x[i])
        printf "\n"
    }' </dev/null
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        return 1
    fi
}

# ensure_qemu: $qemu must run. Debian's qemu-system-x86 is installed when
# it is missing, as scripts/install-deps.sh does (as root, or through
# sudo), unless $install is 0 or --qemu names another command.
# shellcheck disable=SC2154 # qemu, install: set by the script
ensure_qemu() {
    command -v "$qemu" >/dev/null 2>&1 && return 0
    local hint="install it with: sudo apt-get install qemu-system-x86 (or run --only hyperkit)"
    if [ "$install" != 1 ] || [ "$qemu" != qemu-system-x86_64 ]; then
        die "$qemu not found; $hint"
    fi
    command -v apt-get >/dev/null 2>&1 || die "$qemu not found and no apt-get; $hint"
    say "$qemu not found: installing qemu-system-x86"
    if ! as_root apt-get update -qq ||
        ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86; then
        die "installing qemu-system-x86 failed (needs root or sudo); $hint"
    fi
    command -v "$qemu" >/dev/null 2>&1 || die "$qemu still missing after the install"
}

# need_guest INITRD: $guest holds the kernel and INITRD, or die.
# shellcheck disable=SC2154 # guest: set by the script
need_guest() {
    if [ ! -f "$guest/vmlinuz" ] || [ ! -f "$guest/$1" ]; then
        die "$guest has no vmlinuz or $1; make them with: sh scripts/fetch-guest.sh"
    fi
}

# need_engines: hyperkit unless --only qemu, QEMU (ensure_qemu) unless
# --only hyperkit.
# shellcheck disable=SC2154 # only, hyperkit: set by the script
need_engines() {
    [ "$only" = qemu ] || [ -x "$hyperkit" ] || die "$hyperkit is missing; build it with: make cli"
    [ "$only" = hyperkit ] || ensure_qemu
}

# engine_cleanup: the teardown of a script that runs one engine at a time
# (its timeout(1) wrapper in $engine_pid) in a scratch directory $tmp.
engine_cleanup() {
    if [ -n "$engine_pid" ]; then
        kill -TERM "$engine_pid" 2>/dev/null || true
        wait "$engine_pid" 2>/dev/null || true
        engine_pid=""
    fi
    [ -z "$tmp" ] || rm -rf "$tmp"
}

# children_cpu_us: cpu = the CPU time (user + system, microseconds) of all
# the children reaped so far: the second line of `times`, e.g. "0m12.345s
# 0m0.678s" (through a file in $tmp). No command substitution: a forked
# subshell would count its own (no) children.
# shellcheck disable=SC2034 # cpu: read by the script
children_cpu_us() {
    times >"$tmp/times"
    cpu=$(awk 'NR == 2 {
        n = split($0, f, /[ms ]+/); us = 0
        for (i = 1; i + 1 <= n; i += 2) us += (f[i] * 60 + f[i + 1]) * 1e6
        printf "%d", us }' "$tmp/times")
}

# Each console line with the host's time in microseconds in front.
stamp() {
    local line
    while IFS= read -r line; do
        printf '%s %s\n' "${EPOCHREALTIME/./}" "${line%$'\r'}"
    done
}

# wait_line LOG REGEX DEADLINE: until a line (after its stamp) matches, while
# $vm_pid lives and $SECONDS is below DEADLINE.
wait_line() {
    while ! cut -d' ' -f2- "$1" | grep -Eq -- "$2"; do
        kill -0 "$vm_pid" 2>/dev/null || return 1
        [ "$SECONDS" -lt "$3" ] || return 1
        sleep 0.2
    done
}
