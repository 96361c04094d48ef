#!/usr/bin/env bash
# docs/system-coverage.md is generated from tests/guests/sys/coverage.tsv:
# it must be up to date, and every check a row credits must still exist.
# Then the checker itself, on a scratch copy: a renamed check, a stale
# table and an unlisted ring-0 guest must each fail.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bash "$root/scripts/system-coverage.sh" --check

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs"
cp -r "$root/scripts" "$root/tests" "$tmp/"
cp "$root/docs/system-coverage.md" "$tmp/docs/"

# expect_fail NAME REGEX: the scratch copy's check fails with REGEX in a FAIL line.
expect_fail() {
    local out
    out=$(bash "$tmp/scripts/system-coverage.sh" --check 2>&1)
    if [ $? != 0 ] && printf '%s\n' "$out" | grep -q "^FAIL: .*$2"; then
        echo "PASS: system coverage check: $1"
    else
        echo "FAIL: system coverage check: $1: $(printf '%s' "$out" | tr '\n' '|' | head -c 300)"
    fi
}

sed -i 's/basic: UD2 raises #UD/basic: UD2 gives #UD/' "$tmp/tests/guests/sys/sys_basic.c"
expect_fail "a renamed check is caught" 'sys_basic.c has no "basic: UD2 raises #UD"'
cp "$root/tests/guests/sys/sys_basic.c" "$tmp/tests/guests/sys/"

printf 'Paging\tA new row\tmissing\t\tnot rendered yet\n' >>"$tmp/tests/guests/sys/coverage.tsv"
expect_fail "a stale table is caught" 'docs/system-coverage.md is stale'
cp "$root/tests/guests/sys/coverage.tsv" "$tmp/tests/guests/sys/"

printf '#include "rt.h"\nvoid test_main(void) {}\n' >"$tmp/tests/guests/sys/sys_unlisted.c"
expect_fail "a ring-0 guest no row names is caught" 'sys_unlisted.c is not named'
rm "$tmp/tests/guests/sys/sys_unlisted.c"

printf 'Paging\tTested by nothing\ttested\t\t\n' >>"$tmp/tests/guests/sys/coverage.tsv"
expect_fail "a tested row without a test is caught" 'tested, but no test named'
