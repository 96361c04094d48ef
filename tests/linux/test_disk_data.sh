#!/usr/bin/env bash
# virtio-blk and virtio-rnd seen from Debian's kernel (issue 9, "Done
# when"), in two boots of the shell image with seven disks and an entropy
# device:
#   vda raw, 64 MiB (DISK_PATTERN_MIB; the ASan run takes less): a random
#       pattern written by the guest, flushed, read
#       back uncached; the host's sha256 of the file must be the guest's
#   vdb raw, made on the host: the guest's sha256 of the device = the host's
#   vdc raw ext4, vdd qcow2 ext4, vde qcow2 ext4 over a qcow2 backing file,
#       all made on the host (mke2fs -d): the host's files check in the
#       guest, a file workload is written, and after power-off the second
#       boot finds it; e2fsck -fn / qemu-img check are clean, the raw bytes
#       (qemu-img convert -O raw) are what the guest read, the backing file
#       is untouched
#   vdf raw ro: the guest's writes fail and the file is unchanged
#   vdg qcow2: the guest writes and flushes records in a loop and prints
#       each flushed one; kill -9 of the VMM in the middle; qemu-img check
#       finds no corruption (leaked clusters allowed: see qcow2_consistent)
#       and every record the console showed is in the image
#   virtio-rnd: hw_random's rng_current names virtio and /dev/hwrng reads
# DISK_VMM=qemu runs the same on QEMU TCG (to check the test itself).
# HYPERKIT_KEEP_LOG=DIR keeps the guest's consoles.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/disk_lib.sh"
DISK_TEST="disk data ($DISK_VMM)"
guest_missing "$DISK_TEST" && exit 0
disk_tools_missing && exit 0

work=$(mktemp -d)
trap 'vm_cleanup 2>/dev/null; rm -rf "$work"' EXIT
initrd=$work/initrd.img
disk_initrd "$initrd" || exit 1

# --- images made on the host ---------------------------------------------
mib=1048576
pat_mib=${DISK_PATTERN_MIB:-64}
truncate -s "${pat_mib}M" "$work/pattern.img"
head -c $((16 * mib)) /dev/urandom >"$work/host.img"
head -c $((8 * mib)) /dev/urandom >"$work/ro.img"
host_sha=$(sha_of "$work/host.img")
ro_sha=$(sha_of "$work/ro.img")
# The files every ext4 image starts with, and their manifest.
tree=$work/tree
mkdir -p "$tree/sub"
echo "made on the host" >"$tree/hello.txt"
echo "the guest rewrites this" >"$tree/rewrite.txt"
echo "the guest deletes this" >"$tree/delete.txt"
head -c $((1 * mib + 123)) /dev/urandom >"$tree/sub/random.bin"
(cd "$tree" && find . -type f ! -name host.sha256 | sort | xargs sha256sum >host.sha256)
# -d prints "Creating regular file" even with -q.
mkfs() { mke2fs -q -F -t ext4 -d "$tree" "$1" "$2" >/dev/null; }
mkfs "$work/fs.img" 20M
mkfs "$work/plain.raw" 14M
qemu-img convert -f raw -O qcow2 "$work/plain.raw" "$work/plain.qcow2"
mkfs "$work/base.raw" 24M
qemu-img convert -f raw -O qcow2 "$work/base.raw" "$work/base.qcow2"
qemu-img create -q -f qcow2 -b "$work/base.qcow2" -F qcow2 "$work/overlay.qcow2"
qemu-img create -q -f qcow2 "$work/crash.qcow2" 128M
rm -f "$work/plain.raw" "$work/base.raw"
base_sha=$(sha_of "$work/base.qcow2")

disks=(raw:"$work/pattern.img" raw:"$work/host.img" raw:"$work/fs.img"
    qcow2:"$work/plain.qcow2" qcow2:"$work/overlay.qcow2" raw-ro:"$work/ro.img"
    qcow2:"$work/crash.qcow2" rng)
# Sizes in 512-byte sectors, vda first: the guest must see them in order.
want_devs="vda:$((pat_mib * 2048)) vdb:32768 vdc:40960 vdd:28672 vde:49152 vdf:16384 vdg:262144"

keep_log() {
    [ -n "${HYPERKIT_KEEP_LOG:-}" ] || return 0
    mkdir -p "$HYPERKIT_KEEP_LOG" && cp "$VM_LOG" "$HYPERKIT_KEEP_LOG/disk-data-$1.log"
}

boot() {
    disk_vm_start "$initrd" "${disks[@]}"
    if ! vm_wait_for "hyperkit-init: ready"; then
        result "boot $1 reaches the shell" false
        return 1
    fi
    local line
    guest_step "$(step_limit 0)" '^disk: devs end' devs >/dev/null
    line=$(tr -d '\r' <"$VM_LOG" | sed -n 's/^disk: dev \(vd[a-z]*\) sectors=\([0-9]*\).*/\1:\2/p' | tr '\n' ' ')
    line=${line% }
    result "boot $1: the guest sees the seven disks in order ($line)" [ "$line" = "$want_devs" ]
}

# --- boot 1: write ---------------------------------------------------------
if boot 1; then
    line=$(guest_step "$(step_limit 0)" '^disk: irqs ' irqs)
    msix_only() { [ "$(field "$line" msi)" -gt 0 ] && [ "$(field "$line" ioapic)" = 0 ]; }
    result "boot 1: the virtio devices interrupt through MSI-X ($line)" msix_only
    pat=$(guest_step "$(step_limit $((pat_mib * 2)))" '^disk: pattern ' pattern /dev/vda "$pat_mib")
    pat_wrote=$(field "$pat" wrote)
    result "$pat_mib MiB pattern: the guest reads back what it wrote ($(field "$pat" verify))" \
        [ "$(field "$pat" verify)" = ok ]
    line=$(guest_step "$(step_limit 16)" '^disk: devsha /dev/vdb ' devsha /dev/vdb)
    result "a host-made image reads back in the guest with the host's sha256" \
        [ "${line##* }" = "$host_sha" ]
    declare -A dev_sha
    for dev in vdc vdd vde; do
        line=$(guest_step "$(step_limit 16)" "^disk: fswrite /dev/$dev " fswrite /dev/$dev boot1)
        write_ok() { [ "$(field "$line" host)" = ok ] && [ "$(field "$line" delete)" = gone ]; }
        result "$dev: ext4 mounts, the host's files check, the guest's are written ($line)" write_ok
        line=$(guest_step "$(step_limit 24)" "^disk: devsha /dev/$dev " devsha /dev/$dev)
        dev_sha[$dev]=${line##* }
    done
    line=$(guest_step "$(step_limit 2)" '^disk: rofail ' rofail /dev/vdf)
    ro_ok() {
        [ "$(field "$line" dd)" = refused ] && [ "$(field "$line" direct)" = refused ] &&
            [ "$(field "$line" ro)" = 1 ]
    }
    result "ro: the guest's writes are refused ($line)" ro_ok
    line=$(guest_step "$(step_limit 1)" '^disk: rng ' rng)
    rng_ok() {
        [[ "$(field "$line" current)" == virtio* ]] && [ "$(field "$line" bytes)" = 4096 ] &&
            [ "$(field "$line" nonzero)" -gt 3000 ]
    }
    result "virtio-rnd: rng_current names virtio, /dev/hwrng reads ($line)" rng_ok
    guest_step "$(step_limit 0)" '^disk: done' "done" >/dev/null
    vm_send 'poweroff -f'
    vm_wait_exit 120
    result "boot 1 powers off with status 0 (got $VM_STATUS)" [ "$VM_STATUS" = 0 ]
    keep_log 1
    vm_cleanup

    # --- on the host, between the boots ------------------------------------
    result "the host's sha256 of the pattern disk is the guest's" \
        [ "$(sha_of "$work/pattern.img")" = "$pat_wrote" ]
    result "vdc (raw ext4): e2fsck -fn clean" e2fsck_clean "$work/fs.img"
    result "vdc (raw ext4): the file's sha256 is what the guest read" \
        [ "$(sha_of "$work/fs.img")" = "${dev_sha[vdc]}" ]
    for q in vdd:plain vde:overlay; do
        dev=${q%%:*} img=$work/${q#*:}.qcow2
        result "$dev (${q#*:} qcow2): qemu-img check clean" qcow2_clean "$img"
        qemu-img convert -f qcow2 -O raw "$img" "$work/conv.raw"
        result "$dev (${q#*:} qcow2): qemu-img convert -O raw is what the guest read" \
            [ "$(sha_of "$work/conv.raw")" = "${dev_sha[$dev]}" ]
        result "$dev (${q#*:} qcow2): the ext4 inside is clean (e2fsck -fn)" \
            e2fsck_clean "$work/conv.raw"
        rm -f "$work/conv.raw"
    done
    result "the backing file is unchanged" [ "$(sha_of "$work/base.qcow2")" = "$base_sha" ]
    result "ro: the file is unchanged" [ "$(sha_of "$work/ro.img")" = "$ro_sha" ]
fi

# --- boot 2: the files survive; kill -9 in a flush loop ----------------------
# hyperkit's -W: no MSI-X, so Linux's virtio driver uses INTx, routed by the
# DSDT's _PRT onto IOAPIC pins it shares between slots.
[ "$DISK_VMM" = hyperkit ] && DISK_HYPERKIT_FLAGS=-W
if boot 2; then
    if [ "$DISK_VMM" = hyperkit ]; then
        line=$(guest_step "$(step_limit 0)" '^disk: irqs ' irqs)
        intx_only() { [ "$(field "$line" msi)" = 0 ] && [ "$(field "$line" ioapic)" -gt 0 ]; }
        result "boot 2 (-W): the virtio devices interrupt through INTx, not MSI ($line)" intx_only
    fi
    for dev in vdc vdd vde; do
        line=$(guest_step "$(step_limit 8)" "^disk: fscheck /dev/$dev " fscheck /dev/$dev boot2)
        check_ok() {
            [ "$(field "$line" guest)" = ok ] && [ "$(field "$line" files)" = 66 ] &&
                [ "$(field "$line" delete)" = gone ]
        }
        result "$dev: the guest's files survive power-off and a second boot ($line)" check_ok
    done
    # Kill once 32 records are flushed: the loop keeps writing meanwhile.
    if guest_step "$(step_limit 1)" '^flushed 31$' flushloop /dev/vdg >/dev/null; then
        kill -9 "$VM_PID"
        wait "$VM_PID" 2>/dev/null
        last=$(tr -d '\r' <"$VM_LOG" | sed -n 's/^flushed \([0-9]*\)$/\1/p' | tail -n 1)
        result "vdg: qemu-img check finds no corruption after kill -9 in the write loop" \
            qcow2_consistent "$work/crash.qcow2"
        qemu-img convert -f qcow2 -O raw "$work/crash.qcow2" "$work/crash.raw"
        missing=""
        for ((i = 0; i <= last; i++)); do
            # The record diskio writes: its line, zeros to 4 KiB.
            { printf 'hyperkit flush record %d\n' "$i"; head -c $((4096 - 23 - ${#i})) /dev/zero; } \
                >"$work/want"
            dd if="$work/crash.raw" bs=4096 skip=$((i * 65)) count=1 status=none | \
                cmp -s - "$work/want" || missing="$missing $i"
        done
        result "vdg: every record the guest saw flushed (0..$last) is in the image${missing:+ (missing:$missing)}" \
            [ -z "$missing" ]
    else
        result "vdg: the guest's flush loop runs" false
    fi
    keep_log 2
    vm_cleanup
    result "vdc after boot 2: e2fsck -fn clean" e2fsck_clean "$work/fs.img"
    for q in vdd:plain vde:overlay; do
        result "${q%%:*} after boot 2: qemu-img check clean" qcow2_clean "$work/${q#*:}.qcow2"
    done
fi
[ "$DISK_FAILED" = 0 ]
