# shellcheck shell=bash
# Helpers for the disk tests (tests/linux/test_disk_*.sh): boot the shell
# image plus the disk layer (build/linux-progs/disk.cpio.gz) with virtio
# disks, on hyperkit or, with DISK_VMM=qemu, on QEMU's TCG with the same
# guest and disks (to check the tests themselves against a known-good
# virtio-blk). Source after lib.sh.
DISK_VMM=${DISK_VMM:-hyperkit}
DISK_LAYER=${DISK_LAYER:-$(dirname "$HYPERKIT")/linux-progs/disk.cpio.gz}
# Hang guards scale with the work: a step that moves N MiB through the
# guest gets DISK_STEP_BASE + N * DISK_SEC_PER_MIB seconds. The emu engine
# hashes and copies a few MiB/s in the guest; 5 s per MiB is several times
# that, and the boot limit's factor (HYPERKIT_BOOT_TIMEOUT, raised under
# ASan) stretches it the same way.
DISK_SEC_PER_MIB=$((5 * BOOT_TIMEOUT / 600))
DISK_STEP_BASE=$((60 * BOOT_TIMEOUT / 600))

step_limit() { # MiB
    echo $((DISK_STEP_BASE + $1 * DISK_SEC_PER_MIB))
}

# disk_tools_missing NAME: SKIP (and status 0) when a tool is missing.
disk_tools_missing() {
    local t
    for t in qemu-img mke2fs e2fsck sha256sum cmp "$@"; do
        if ! command -v "$t" >/dev/null 2>&1 && ! [ -x "/sbin/$t" ] && ! [ -x "/usr/sbin/$t" ]; then
            echo "SKIP: $DISK_TEST: $t is missing (scripts/install-deps.sh installs it)"
            return 0
        fi
    done
    if [ "$DISK_VMM" = qemu ] && ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
        echo "SKIP: $DISK_TEST: DISK_VMM=qemu and qemu-system-x86_64 is missing"
        return 0
    fi
    return 1
}
PATH=$PATH:/sbin:/usr/sbin

# disk_initrd FILE: the shell image with the disk layer after it.
disk_initrd() {
    if [ ! -f "$DISK_LAYER" ]; then
        echo "FAIL: $DISK_TEST: no $DISK_LAYER (make linux-progs)"
        return 1
    fi
    # Images from before the guest carried modules see no virtio disk.
    if ! gzip -dc "$GUEST_DIR/initramfs-shell.img" | grep -qa 'virtio_blk\.ko'; then
        echo "FAIL: $DISK_TEST: $GUEST_DIR/initramfs-shell.img has no virtio modules (run: make guest)"
        return 1
    fi
    cat "$GUEST_DIR/initramfs-shell.img" "$DISK_LAYER" >"$1"
}

# disk_vm_args SPEC...: the devices for $DISK_VMM in DISK_ARGS, one per
# SPEC, in order (the guest names the disks vda, vdb, ... in that order):
#   raw:PATH  raw-ro:PATH  qcow2:PATH  rng
disk_vm_args() {
    local spec slot=2
    DISK_ARGS=()
    for spec in "$@"; do
        case $DISK_VMM:$spec in
        hyperkit:raw:*) DISK_ARGS+=(-s "$slot,virtio-blk,${spec#raw:}") ;;
        hyperkit:raw-ro:*) DISK_ARGS+=(-s "$slot,virtio-blk,${spec#raw-ro:},ro") ;;
        hyperkit:qcow2:*) DISK_ARGS+=(-s "$slot,virtio-blk,file://${spec#qcow2:},format=qcow") ;;
        hyperkit:rng) DISK_ARGS+=(-s "$slot,virtio-rnd") ;;
        qemu:raw:*) DISK_ARGS+=(-drive "file=${spec#raw:},if=virtio,format=raw") ;;
        qemu:raw-ro:*) DISK_ARGS+=(-drive "file=${spec#raw-ro:},if=virtio,format=raw,readonly=on") ;;
        qemu:qcow2:*) DISK_ARGS+=(-drive "file=${spec#qcow2:},if=virtio,format=qcow2") ;;
        qemu:rng) DISK_ARGS+=(-device virtio-rng-pci) ;;
        *) echo "disk_vm_args: bad spec $DISK_VMM:$spec" >&2; return 1 ;;
        esac
        slot=$((slot + 1))
    done
}

# disk_vm_cmd INITRD SPEC...: the whole command line in DISK_CMD.
# loglevel=4: only kernel errors reach the console, where an informational
# message (e.g. the clocksource watchdog's on nested KVM) could land in the
# middle of a step's result line; dmesg still has everything.
disk_vm_cmd() {
    local initrd=$1 cmdline="loglevel=4 $GUEST_CMDLINE"
    shift
    disk_vm_args "$@" || return 1
    if [ "$DISK_VMM" = hyperkit ]; then
        # shellcheck disable=SC2054 # the commas belong to hyperkit's option syntax
        DISK_CMD=("$HYPERKIT" -m 512M -s 0:0,hostbridge -s 31,lpc -l com1,stdio --accel="$ACCEL" -A
            ${DISK_HYPERKIT_FLAGS:-} "${DISK_ARGS[@]}" -f "kexec,$GUEST_DIR/vmlinuz,$initrd,console=ttyS0 $cmdline")
    else
        # -cpu qemu64: the model nearest emu's CPUID (see bench/README.md).
        DISK_CMD=(qemu-system-x86_64 -accel tcg -cpu qemu64 -smp 1 -m 512M -nodefaults
            -no-user-config -display none -serial stdio -monitor none -no-reboot
            -kernel "$GUEST_DIR/vmlinuz" -initrd "$initrd"
            -append "console=ttyS0 panic=-1 $cmdline" "${DISK_ARGS[@]}")
    fi
}

# disk_vm_start INITRD SPEC...: boot with the devices of disk_vm_args.
# Sets VM_PID, VM_LOG, VM_IN as vm_start does.
disk_vm_start() {
    disk_vm_cmd "$@" || return 1
    VM_DIR=$(mktemp -d)
    VM_LOG=$VM_DIR/console.log
    VM_IN=$VM_DIR/console.in
    mkfifo "$VM_IN"
    "${DISK_CMD[@]}" <"$VM_IN" >"$VM_LOG" 2>&1 &
    VM_PID=$!
    exec 9>"$VM_IN"
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
guest_step() {
    local limit=$1 re=$2
    shift 2
    local before
    before=$(wc -l <"$VM_LOG")
    vm_send "sh /progs/disk-guest.sh $*"
    wait_line "$limit" "$re" "$VM_LOG" "$((before + 1))"
}

# result NAME CONDITION...: PASS/FAIL like check, with the console's tail
# on a failure; counts failures in DISK_FAILED.
DISK_FAILED=0
result() {
    local name=$1; shift
    if "$@"; then
        echo "PASS: $DISK_TEST: $name"
    else
        echo "FAIL: $DISK_TEST: $name; console tail: $(tail -c 400 "$VM_LOG" 2>/dev/null | tr '\r\n' ' |')"
        DISK_FAILED=$((DISK_FAILED + 1))
    fi
}

# field LINE KEY: the value of KEY=VALUE in a "disk: ..." line.
field() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# qcow2_raw_sha QCOW2: sha256 of the image's guest-visible bytes.
qcow2_raw_sha() {
    local raw
    raw=$(mktemp)
    qemu-img convert -f qcow2 -O raw "$1" "$raw" && sha_of "$raw"
    rm -f "$raw"
}

# qcow2_clean QCOW2: qemu-img check finds no corruption and no leaks.
qcow2_clean() {
    local out
    if out=$(qemu-img check -f qcow2 "$1" 2>&1); then
        return 0
    fi
    echo "info: qemu-img check $1: $(printf '%s' "$out" | tr '\n' ' ' | head -c 400)"
    return 1
}

# qcow2_consistent QCOW2: qemu-img check finds no corruption; leaked
# clusters (exit 3) are allowed. A crash between a cluster's refcount
# update and the L2 entry that uses it leaks the cluster: the safe order,
# which QEMU's own images show after kill -9 too. Leaks are reported.
qcow2_consistent() {
    local out rc
    out=$(qemu-img check -f qcow2 "$1" 2>&1)
    rc=$?
    [ $rc = 3 ] && echo "info: qemu-img check $1: $(printf '%s' "$out" | grep -i leaked | tail -n 1)"
    [ $rc = 0 ] || [ $rc = 3 ] && return 0
    echo "info: qemu-img check $1 (exit $rc): $(printf '%s' "$out" | tr '\n' ' ' | head -c 400)"
    return 1
}

# e2fsck_clean IMAGE: e2fsck -fn finds nothing to fix (exit 0).
e2fsck_clean() {
    local out
    if out=$(e2fsck -fn "$1" 2>&1); then
        return 0
    fi
    echo "info: e2fsck -fn $1: $(printf '%s' "$out" | tr '\n' ' ' | head -c 400)"
    return 1
}
