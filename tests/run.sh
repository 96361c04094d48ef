#!/usr/bin/env bash
# Run every test program and script; each prints PASS:/FAIL: lines, which
# are counted here. Ends with "N passed, N failed"; exits 1 on any failure.
set -u
build=$(cd "${1:-build}" && pwd) || exit 1
here=$(cd "$(dirname "$0")" && pwd)
export HYPERKIT="$build/hyperkit" GUESTS="$build/guests" TESTS_DIR="$here"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
crashed=0

# A safety net against a hung script, not a speed limit: the Linux boot
# tests bound each step themselves (BOOT_TIMEOUT...), and under ASan on a
# busy 2-core machine two boots take well over 5 minutes.
run_one() {
    local name=$1 limit=$2; shift 2
    local out rc start=$SECONDS
    out=$(timeout "$limit" "$@" 2>&1); rc=$?
    echo "   ($((SECONDS - start)) s)"
    printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP):' >>"$log"
    printf '%s\n' "$out" | grep -E '^(FAIL|SKIP):' || true
    if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL:'; then
        echo "FAIL: $name exited $rc without reporting a failure:"
        printf '%s\n' "$out" | tail -n 20
        echo "FAIL: $name crashed (exit $rc)" >>"$log"
        crashed=1
    fi
}

for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    echo "== $(basename "$t")"
    run_one "$(basename "$t")" 600 "$t"
done
for s in "$here"/cli/test_*.sh "$here"/fuzz/test_*.sh "$here"/linux/test_*.sh; do
    [ -f "$s" ] || continue
    case $s in */fuzz/*) [ "${RUN_FUZZ_SMOKE:-1}" = 0 ] && continue ;; esac
    echo "== $(basename "$s")"
    case $s in
    */linux/*) limit=3600 ;;
    *) limit=900 ;;
    esac
    run_one "$(basename "$s")" "$limit" bash "$s"
done

passed=$(grep -c '^PASS:' "$log")
failed=$(grep -c '^FAIL:' "$log")
skipped=$(grep -c '^SKIP:' "$log")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ $crashed -eq 0 ]
