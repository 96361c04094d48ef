# Helpers for tests that boot Debian's kernel (from scripts/fetch-guest.sh)
# on hyperkit and drive its serial console. Source it; needs $HYPERKIT.
GUEST_DIR=${HYPERKIT_GUEST_DIR:-$(dirname "$HYPERKIT")/guest}
BOOT_TIMEOUT=${HYPERKIT_BOOT_TIMEOUT:-600}
# The kernel's crypto self-tests are half of an interpreted boot; the tests
# check hyperkit, not the kernel's crypto (bench/ boots with them on).
GUEST_CMDLINE=${HYPERKIT_GUEST_CMDLINE:-cryptomgr.notests}
# The engine: emu unless TEST_ACCEL says (scripts/kvm-testbed.sh runs kvm).
ACCEL=${TEST_ACCEL:-emu}

guest_missing() {
    [ -f "$GUEST_DIR/vmlinuz" ] && [ -f "$GUEST_DIR/initramfs-shell.img" ] && return 1
    echo "SKIP: $1: no guest kernel in $GUEST_DIR (run: sh scripts/fetch-guest.sh)"
    return 0
}

# vm_start INITRD [hyperkit options...]: boot with the console on a fifo
# (input) and a log file (output). INITRD is a name in $GUEST_DIR or an
# absolute path. Sets VM_PID, VM_LOG, VM_IN.
vm_start() {
    local initrd=$1; shift
    case $initrd in /*) ;; *) initrd=$GUEST_DIR/$initrd ;; esac
    VM_DIR=$(mktemp -d)
    VM_LOG=$VM_DIR/console.log
    VM_IN=$VM_DIR/console.in
    mkfifo "$VM_IN"
    "$HYPERKIT" --accel="$ACCEL" -m 512M -s 0:0,hostbridge -s 31,lpc -l com1,stdio "$@" \
        -f "kexec,$GUEST_DIR/vmlinuz,$initrd,console=ttyS0 $GUEST_CMDLINE" \
        <"$VM_IN" >"$VM_LOG" 2>&1 &
    VM_PID=$!
    exec 9>"$VM_IN"
}

# vm_wait_for TEXT [SECONDS]: wait until the console shows TEXT (fixed string).
# The limit is in seconds of the clock, not polls: on a slow host (the kvm
# test bed runs under QEMU's emulator) each poll takes far longer than 0.1 s.
vm_wait_for() {
    local text=$1 limit=${2:-$BOOT_TIMEOUT}
    local end=$((SECONDS + limit))
    while ! grep -qF -- "$text" "$VM_LOG" 2>/dev/null; do
        if ! kill -0 "$VM_PID" 2>/dev/null || [ $SECONDS -ge $end ]; then
            return 1
        fi
        sleep 0.1
    done
}

# vm_send LINE: type a line on the console.
vm_send() {
    printf '%s\n' "$1" >&9
}

# vm_wait_exit [SECONDS]: wait for hyperkit to exit; sets VM_STATUS to its
# exit status ("timeout" if it had to be killed). Not in a subshell: only
# this shell can wait for the process.
vm_wait_exit() {
    local limit=${1:-120}
    local end=$((SECONDS + limit))
    while kill -0 "$VM_PID" 2>/dev/null && [ $SECONDS -lt $end ]; do
        sleep 0.1
    done
    if kill -0 "$VM_PID" 2>/dev/null; then
        kill "$VM_PID"
        wait "$VM_PID" 2>/dev/null
        VM_STATUS=timeout
        return
    fi
    wait "$VM_PID"
    VM_STATUS=$?
}

vm_cleanup() {
    exec 9>&-
    kill "$VM_PID" 2>/dev/null
    wait "$VM_PID" 2>/dev/null
    rm -rf "$VM_DIR"
}

# check NAME CONDITION-COMMAND...: PASS or FAIL with the console's tail.
check() {
    local name=$1; shift
    if "$@"; then
        echo "PASS: $name"
    else
        echo "FAIL: $name; console tail: $(tail -c 600 "$VM_LOG" 2>/dev/null | tr '\n' '|')"
    fi
}

# wait_line LIMIT PATTERN FILE [FROM]: the first line of FILE matching the
# extended regex PATTERN (from line FROM on; carriage returns removed)
# within LIMIT s. Status 1 on a timeout or a dead VM.
wait_line() {
    local limit=$1 re=$2 file=$3 from=${4:-1} line chunk
    local end=$((SECONDS + limit))
    while :; do
        # Only whole lines: on a slow guest a line can be read half-written.
        chunk=$(tail -n +"$from" "$file"; echo .)
        chunk=${chunk%.}
        case $chunk in
        *$'\n') ;;
        *$'\n'*) chunk=${chunk%$'\n'*}$'\n' ;;
        *) chunk="" ;;
        esac
        line=$(printf '%s' "$chunk" | tr -d '\r' | grep -E -m1 -- "$re")
        if [ -n "$line" ]; then
            printf '%s\n' "$line"
            return 0
        fi
        if ! kill -0 "$VM_PID" 2>/dev/null || [ $SECONDS -ge $end ]; then
            return 1
        fi
        sleep 0.1
    done
}
