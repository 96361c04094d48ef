#!/usr/bin/env bash
# Ring-0 conformance guests (tests/guests/sys): each prints its own PASS:/FAIL:
# lines and a DONE line, then exits through debug-exit (status 1 when all
# its checks passed, 3 when some failed). Engine from $TEST_ACCEL (emu).
. "$(dirname "$0")/lib.sh"
accel=${TEST_ACCEL:-emu}
for bin in "$GUESTS"/sys_*.bin; do
    [ -f "$bin" ] || continue
    name=$(basename "$bin" .bin)
    case $name in *_shutdown) continue ;; esac # end the VM on purpose: test_guests.sh
    out=$(timeout 300 "$HYPERKIT" --accel="$accel" --debug-exit -m 64M -l com1,stdio \
        -f flat64,"$bin" </dev/null 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP): ' | sed "s/^\(PASS\|FAIL\|SKIP\): /\1: [$accel] /"
    if [ $rc != 1 ] || ! printf '%s\n' "$out" | grep -q '^DONE: .* 0 failed$'; then
        # One line: the guest's own FAIL: lines above are already counted.
        echo "FAIL: [$accel] $name ended with status $rc: $(printf '%s\n' "$out" | grep -v '^PASS:' |
            tail -n 3 | tr '\n' ' ')"
    fi
done
