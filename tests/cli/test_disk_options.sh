#!/usr/bin/env bash
# virtio-blk and virtio-rnd on the command line (issue 9): a missing file,
# a bad option, a qcow2 feature hyperkit does not support, and a second
# hyperkit on an image another one holds each end with one "hyperkit:"
# line and exit 1; the accepted spellings start a VM. No Linux boots here:
# the tiny flat64 guests run in milliseconds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${HYPERKIT:?set HYPERKIT to the hyperkit binary}"
: "${GUESTS:?set GUESTS to the test guests directory}"
H=$HYPERKIT
halt="flat64,$GUESTS/halt.bin"

# refused NAME -- CMD...: one "hyperkit:" line and exit 1 (expect_one_line),
# for a reason other than the device type missing from this build.
refused() {
    local name=$1; shift 2
    local err
    err=$(timeout 60 "$@" </dev/null 2>&1 >/dev/null)
    if [[ "$err" == *"not implemented"* || "$err" == *"not supported yet"* ]]; then
        echo "FAIL: $name: refused only because: $err"
        return
    fi
    expect_one_line "$name" -- "$@"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
truncate -s 16M "$img"

# --- accepted spellings: the VM runs the guest and exits 0 ----------------
expect "raw image" 0 "halting" -- "$H" -s 2,virtio-blk,"$img" -l com1,stdio -f "$halt"
expect "raw image, ro" 0 "halting" -- "$H" -s 2,virtio-blk,"$img",ro -l com1,stdio -f "$halt"
expect "raw image, sync" 0 "halting" -- "$H" -s 2,virtio-blk,"$img",sync -l com1,stdio -f "$halt"
expect "raw image, direct" 0 "halting" -- "$H" -s 2,virtio-blk,"$img",direct -l com1,stdio -f "$halt"
expect "raw image, sectorsize=4096" 0 "halting" -- \
    "$H" -s 2,virtio-blk,"$img",sectorsize=4096 -l com1,stdio -f "$halt"
expect "raw image, sectorsize=512/4096" 0 "halting" -- \
    "$H" -s 2,virtio-blk,"$img",sectorsize=512/4096 -l com1,stdio -f "$halt"
expect "file:// with query" 0 "halting" -- \
    "$H" -s 2,virtio-blk,"file://$img?sync=os&buffered=1" -l com1,stdio -f "$halt"
expect "virtio-rnd" 0 "halting" -- "$H" -s 3,virtio-rnd -l com1,stdio -f "$halt"
if command -v qemu-img >/dev/null 2>&1; then
    qemu-img create -q -f qcow2 "$tmp/disk.qcow2" 16M
    expect "qcow2, format=qcow" 0 "halting" -- \
        "$H" -s 2,virtio-blk,"file://$tmp/disk.qcow2,format=qcow" -l com1,stdio -f "$halt"
    expect "qcow2, qcow-config" 0 "halting" -- "$H" -s 2,virtio-blk,"file://$tmp/disk.qcow2?sync=os&buffered=1,format=qcow,qcow-config=discard=true" \
        -l com1,stdio -f "$halt"
    qemu-img create -q -f qcow2 -b "$tmp/disk.qcow2" -F qcow2 "$tmp/over.qcow2"
    expect "qcow2 with a backing file" 0 "halting" -- \
        "$H" -s 2,virtio-blk,"file://$tmp/over.qcow2,format=qcow" -l com1,stdio -f "$halt"
    # An external data file is a feature hyperkit refuses at start.
    qemu-img create -q -f qcow2 -o data_file="$tmp/data.raw" "$tmp/ext.qcow2" 16M
    refused "qcow2 with an external data file" -- \
        "$H" -s 2,virtio-blk,"file://$tmp/ext.qcow2,format=qcow" -f "$halt"
    refused "qcow2 whose backing file is missing" -- \
        sh -c 'qemu-img create -q -f qcow2 -b "$1/gone.qcow2" -F qcow2 -u "$1/orphan.qcow2" 16M &&
            exec "$2" -s 2,virtio-blk,"file://$1/orphan.qcow2,format=qcow" -f "$3"' _ "$tmp" "$H" "$halt"
else
    echo "SKIP: qcow2 options: qemu-img is missing (scripts/install-deps.sh installs it)"
fi

# --- one line and exit 1 ---------------------------------------------------
refused "missing image" -- "$H" -s 2,virtio-blk,"$tmp/none.img" -f "$halt"
expect "missing image names the file" 1 "none.img" -- "$H" -s 2,virtio-blk,"$tmp/none.img" -f "$halt"
refused "no path" -- "$H" -s 2,virtio-blk -f "$halt"
refused "unknown option" -- "$H" -s 2,virtio-blk,"$img",bogus -f "$halt"
expect "unknown option names it" 1 "bogus" -- "$H" -s 2,virtio-blk,"$img",bogus -f "$halt"
refused "sectorsize=0" -- "$H" -s 2,virtio-blk,"$img",sectorsize=0 -f "$halt"
refused "sectorsize=1000 (not a power of 2)" -- "$H" -s 2,virtio-blk,"$img",sectorsize=1000 -f "$halt"
refused "sectorsize=4096/512 (physical below logical)" -- \
    "$H" -s 2,virtio-blk,"$img",sectorsize=4096/512 -f "$halt"
refused "sectorsize=junk" -- "$H" -s 2,virtio-blk,"$img",sectorsize=x -f "$halt"
refused "unknown format" -- "$H" -s 2,virtio-blk,"file://$img,format=vmdk" -f "$halt"
refused "a directory" -- "$H" -s 2,virtio-blk,"$tmp" -f "$halt"
chmod 444 "$img"
if [ "$(id -u)" != 0 ]; then
    refused "read-only file without ro" -- "$H" -s 2,virtio-blk,"$img" -f "$halt"
fi
chmod 644 "$img"
refused "virtio-rnd with an option" -- "$H" -s 3,virtio-rnd,bogus -f "$halt"

# --- a second hyperkit on an image the first holds --------------------------
fifo=$tmp/in
mkfifo "$fifo"
"$H" -s 2,virtio-blk,"$img" -l com1,stdio -f "flat64,$GUESTS/echo.bin" <"$fifo" >"$tmp/first.out" 2>&1 &
first=$!
exec 7>"$fifo"
# The guest prompts once the VM runs, after its devices opened their files.
for _ in $(seq 100); do
    grep -q "echo>" "$tmp/first.out" 2>/dev/null && break
    kill -0 "$first" 2>/dev/null || break
    sleep 0.1
done
if grep -q "echo>" "$tmp/first.out"; then
    refused "a second hyperkit on the same image" -- "$H" -s 2,virtio-blk,"$img" -f "$halt"
    expect "a second hyperkit says the image is in use" 1 "disk.img" -- \
        "$H" -s 2,virtio-blk,"$img" -f "$halt"
else
    echo "FAIL: the first hyperkit with a disk did not start: $(head -c 300 "$tmp/first.out")"
fi
kill -TERM "$first" 2>/dev/null
wait "$first"
rc=$?
exec 7>&-
[ "$rc" = 0 ] && echo "PASS: the first hyperkit ends on SIGTERM" || echo "FAIL: the first hyperkit exited $rc"
expect "the image is free again after it exits" 0 "halting" -- \
    "$H" -s 2,virtio-blk,"$img" -l com1,stdio -f "$halt"
