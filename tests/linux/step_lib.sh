# Shared by the network tests (sourced after lib.sh): res reports one
# check (counting FAILED), step types a command and returns the value the
# guest prints after a marker.
res() { # NAME CONDITION...
    local n=$1; shift
    if "$@"; then echo "PASS: $T: $n"; else
        echo "FAIL: $T: $n; console tail: $(tail -c 600 "$VM_LOG" | tr '\r\n' ' |')"
        FAILED=$((FAILED + 1)); fi
}
# step LIMIT MARKER COMMAND: type COMMAND, wait for "MARKER=" (the command
# prints it as NET""X so the echoed command line never matches), print the value.
# Only whole lines count: a half-written hash would be read as a wrong one.
step() {
    local limit=$1 re=$2 cmd=$3 before line
    before=$(wc -l <"$VM_LOG")
    vm_send "$cmd"
    line=$(wait_line "$limit" "$re=[^ ]*" "$VM_LOG" "$((before + 1))") || return 1
    line=$(printf '%s\n' "$line" | grep -E -m1 -o -- "$re=[^ ]*")
    printf '%s\n' "${line#*=}"
}
