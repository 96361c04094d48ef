#!/usr/bin/env bash
# Ring-0 conformance guests (tests/guests/sys): each prints its own PASS:/FAIL:
# lines and a DONE line, then exits through debug-exit (status 1 when all
# its checks passed, 3 when some failed). Engine from $TEST_ACCEL (emu).
. "$(dirname "$0")/lib.sh"
accel=${TEST_ACCEL:-emu}
# On kvm the guest's "hardware" is the host CPU. In the kvm test bed that
# is QEMU's emulator (model name "QEMU TCG CPU"): checks it gets wrong
# there, each listed with QEMU's reason in sys_guests_qemu_tcg.tsv, are
# reported as SKIP on that CPU only, never as PASS.
artefacts=""
if [ "$accel" = kvm ] && grep -q '^model name.*QEMU TCG CPU' /proc/cpuinfo; then
    artefacts=$(dirname "$0")/sys_guests_qemu_tcg.tsv
fi
# artefact GUEST LINE: the reason when LINE (a FAIL: line) is a listed artefact.
artefact() {
    [ -n "$artefacts" ] || return 1
    local guest re why
    while IFS=$'\t' read -r guest re why; do
        case $guest in '#'* | '') continue ;; esac
        if [ "$guest" = "$1" ] && [[ $2 =~ $re ]]; then
            printf '%s\n' "$why"
            return 0
        fi
    done <"$artefacts"
    return 1
}
for bin in "$GUESTS"/sys_*.bin; do
    [ -f "$bin" ] || continue
    name=$(basename "$bin" .bin)
    case $name in *_shutdown) continue ;; esac # end the VM on purpose: test_guests.sh
    out=$(timeout 300 "$HYPERKIT" --accel="$accel" --debug-exit -m 64M -l com1,stdio \
        -f flat64,"$bin" </dev/null 2>&1); rc=$?
    skipped=0
    while IFS= read -r line; do
        case $line in
        '') continue ;;
        FAIL:*)
            if why=$(artefact "$name" "$line"); then
                echo "SKIP: [$accel] ${line#FAIL: } (QEMU TCG artefact: $why)"
                skipped=$((skipped + 1))
                continue
            fi ;;
        esac
        echo "${line%%: *}: [$accel] ${line#*: }"
    done <<<"$(printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP): ')" # no /dev/fd in the bed
    # A guest whose only failures are listed artefacts ends with status 3
    # and "N failed", N the number skipped above: its expected end there.
    done_ok=$(printf '%s\n' "$out" | grep -c '^DONE: .* 0 failed$')
    if [ $skipped -gt 0 ] && [ $rc = 3 ] &&
        [ "$(printf '%s\n' "$out" | grep -c '^FAIL: ')" = $skipped ] &&
        printf '%s\n' "$out" | grep -q "^DONE: .* $skipped failed\$"; then
        done_ok=1 rc=1
    fi
    if [ $rc != 1 ] || [ "$done_ok" = 0 ]; then
        # One line: the guest's own FAIL: lines above are already counted.
        line="FAIL: $name ended with status $rc: $(printf '%s\n' "$out" | grep -v '^PASS:' |
            tail -n 3 | tr '\n' ' ')"
        if why=$(artefact "$name" "$line"); then
            echo "SKIP: [$accel] ${line#FAIL: } (QEMU TCG artefact: $why)"
        else
            echo "FAIL: [$accel] ${line#FAIL: }"
        fi
    fi
done
