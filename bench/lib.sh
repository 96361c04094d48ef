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
