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
step() {
    local limit=$1 re=$2 cmd=$3 waited=0 before line
    before=$(wc -l <"$VM_LOG")
    vm_send "$cmd"
    while :; do
        line=$(tail -n +"$((before + 1))" "$VM_LOG" | tr -d '\r' | grep -E -m1 -o -- "$re=[^ ]*")
        [ -n "$line" ] && { printf '%s\n' "${line#*=}"; return 0; }
        { ! kill -0 "$VM_PID" 2>/dev/null || [ $waited -ge $((limit * 10)) ]; } && return 1
        sleep 0.1; waited=$((waited + 1))
    done
}
