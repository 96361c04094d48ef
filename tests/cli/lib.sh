# Helpers for command-line tests. Source it; use $HYPERKIT and $GUESTS.
# expect NAME STATUS REGEX -- CMD...: CMD exits STATUS and its combined
# output matches REGEX (extended grep; "" matches anything).
expect() {
    local name=$1 want=$2 re=$3; shift 4
    local out rc
    out=$(timeout 60 "$@" </dev/null 2>&1); rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $name: exit $rc, expected $want; output: $(printf '%s' "$out" | head -c 300)"
    elif [ -n "$re" ] && ! printf '%s' "$out" | grep -Eq -- "$re"; then
        echo "FAIL: $name: output does not match /$re/: $(printf '%s' "$out" | head -c 300)"
    else
        echo "PASS: $name"
    fi
}

# expect_one_line NAME -- CMD...: CMD exits 1 with exactly one line on stderr
# that starts with "hyperkit: " (bad input gets one clear line).
expect_one_line() {
    local name=$1; shift 2
    local err rc lines
    err=$(timeout 60 "$@" </dev/null 2>&1 >/dev/null); rc=$?
    lines=$(printf '%s\n' "$err" | grep -c .)
    if [ "$rc" != 1 ] || [ "$lines" != 1 ] || [[ "$err" != hyperkit:* ]]; then
        echo "FAIL: $name: exit $rc, stderr ($lines lines): $(printf '%s' "$err" | head -c 300)"
    else
        echo "PASS: $name"
    fi
}
