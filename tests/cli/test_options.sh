#!/usr/bin/env bash
# The hyperkit command line: -h, -v, and one clear "hyperkit:" line with
# exit 1 for every kind of bad input. No guest runs here: each bad case
# fails while the options are parsed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${HYPERKIT:?set HYPERKIT to the hyperkit binary}"
H=$HYPERKIT

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
k=$tmp/kernel
echo x >"$k"
echo x >"$tmp/initrd"
echo x >"$tmp/pid.exists"
fw="flat64,$k"

# --- help and version ---------------------------------------------------
expect "-h exits 0 with usage" 0 "^Usage: hyperkit" -- "$H" -h
expect "--help exits 0 with usage" 0 "^Usage: hyperkit" -- "$H" --help
expect "-h lists -f kinds" 0 "multiboot,KERNEL" -- "$H" -h
expect "-h lists emulations" 0 "virtio-blk.*virtio-net" -- "$H" -h
expect "-h lists serial backends" 0 "autopty" -- "$H" -h
expect "-h lists --accel" 0 "--accel=auto\|emu\|kvm" -- "$H" -h
expect "-h lists --debug-exit" 0 "--debug-exit" -- "$H" -h
for opt in A b c C e f F g h H l m M P s u U v w W x Y; do
    expect "-h describes -$opt" 0 "^ +-$opt: " -- "$H" -h
done
out=$("$H" -h 2>/dev/null)
if [ -n "$out" ]; then echo "PASS: -h writes to stdout"; else echo "FAIL: -h writes to stdout"; fi
expect "-v exits 0 with version" 0 "^hyperkit: [0-9]+\.[0-9]+" -- "$H" -v
expect "-v lists emu" 0 "engines:.* emu" -- "$H" -v
expect "--version lists emu" 0 "engines:.* emu" -- "$H" --version

# --- options themselves -------------------------------------------------
expect_one_line "unknown flag -z" -- "$H" -z
expect "unknown flag -z names it" 1 "^hyperkit: unknown option -z" -- "$H" -z
expect_one_line "unknown long option" -- "$H" --bogus
expect_one_line "missing value for -m" -- "$H" -m
expect_one_line "value given to --help" -- "$H" --help=1
expect_one_line "missing -f" -- "$H" -m 512M
expect "missing -f says so" 1 "^hyperkit: no firmware given" -- "$H" -m 512M
expect_one_line "stray argument" -- "$H" -f "$fw" extra
expect_one_line "-b not supported" -- "$H" -b -f "$fw"
expect_one_line "-M not supported" -- "$H" -M -f "$fw"

# --- -s -----------------------------------------------------------------
expect_one_line "slot 32" -- "$H" -s 32,virtio-blk -f "$fw"
expect_one_line "function 8" -- "$H" -s 1:8,virtio-blk -f "$fw"
expect_one_line "bus 256" -- "$H" -s 256:0:0,virtio-blk -f "$fw"
expect_one_line "junk slot" -- "$H" -s x,virtio-blk -f "$fw"
expect_one_line "slot without emulation" -- "$H" -s 3 -f "$fw"
expect "slot 32 message" 1 "invalid PCI slot '32'" -- "$H" -s 32,virtio-blk -f "$fw"
# No emulation is implemented yet, so the first -s already fails; this
# keeps covering duplicates once one lands.
expect_one_line "duplicate slot" -- "$H" -s 3,virtio-rnd -s 3,virtio-rnd -f "$fw"
expect_one_line "duplicate slot, other spelling" -- "$H" -s 0:3:0,virtio-rnd -s 3,virtio-rnd -f "$fw"
expect_one_line "unknown emulation" -- "$H" -s 3,virtio-foo -f "$fw"
expect "unknown emulation message" 1 "^hyperkit: .*unknown PCI emulation 'virtio-foo'" -- \
    "$H" -s 3,virtio-foo -f "$fw"
expect_one_line "unimplemented emulation" -- "$H" -s 3,ahci-hd -f "$fw"
expect "unimplemented emulation message" 1 \
    "^hyperkit: -s 3,ahci-hd: PCI emulation 'ahci-hd' is not implemented yet" -- \
    "$H" -s 3,ahci-hd -f "$fw"

# --- -m -----------------------------------------------------------------
for m in 0 12Q -5 2T 99999999999999999999 512K; do
    expect_one_line "bad memory size $m" -- "$H" -m "$m" -f "$fw"
done
expect "bad memory size names it" 1 "^hyperkit: -m 12Q: invalid memory size" -- \
    "$H" -m 12Q -f "$fw"
expect "huge memory size names the limit" 1 "1 TiB" -- "$H" -m 2T -f "$fw"

# --- -c, -U, -g, flags, engines ------------------------------------------
expect_one_line "-c 2" -- "$H" -c 2 -f "$fw"
expect "-c 2 says SMP" 1 "SMP is not implemented yet" -- "$H" -c 2 -f "$fw"
expect_one_line "-c 0" -- "$H" -c 0 -f "$fw"
expect_one_line "-c junk" -- "$H" -c many -f "$fw"
expect_one_line "bad uuid" -- "$H" -U not-a-uuid -f "$fw"
expect_one_line "short uuid" -- "$H" -U 01234567-89ab-cdef-0123-456789abcde -f "$fw"
expect_one_line "-g not implemented" -- "$H" -g 1234 -f "$fw"
expect_one_line "-g bad port" -- "$H" -g 70000 -f "$fw"
# -A and -Y pass option parsing: the run fails on the missing kernel instead.
expect "-A accepted" 1 "^hyperkit: .*nokernel" -- "$H" -A -f "flat64,$tmp/nokernel"
expect "-A -Y accepted" 1 "^hyperkit: .*nokernel" -- "$H" -A -Y -f "flat64,$tmp/nokernel"
expect_one_line "-x not implemented" -- "$H" -x -f "$fw"
expect_one_line "bad --accel" -- "$H" --accel=tcg -f "$fw"
expect_one_line "bad HYPERKIT_ACCEL" -- env HYPERKIT_ACCEL=tcg "$H" -f "$fw"
expect "bad HYPERKIT_ACCEL names it" 1 "^hyperkit: HYPERKIT_ACCEL: unknown accelerator 'tcg'" -- \
    env HYPERKIT_ACCEL=tcg "$H" -f "$fw"
expect_one_line "bad --debug-exit port" -- "$H" --debug-exit=0x10000 -f "$fw"
expect_one_line "junk --debug-exit port" -- "$H" --debug-exit=port -f "$fw"

# --- -l -----------------------------------------------------------------
expect_one_line "stdio used twice" -- "$H" -l com1,stdio -l com2,stdio -f "$fw"
expect "stdio used twice message" 1 "stdio is already used by com1" -- \
    "$H" -l com1,stdio -l com2,stdio -f "$fw"
expect_one_line "same com port twice" -- "$H" -l com1,null -l com1,null -f "$fw"
expect "same com port twice message" 1 "com1 is already configured" -- \
    "$H" -l com1,null -l com1,null -f "$fw"
expect_one_line "unknown LPC device" -- "$H" -l com3,stdio -f "$fw"
expect_one_line "missing serial device" -- "$H" -l com1,/nonexistent/tty -f "$fw"
expect "missing serial device named" 1 "/nonexistent/tty" -- "$H" -l com1,/nonexistent/tty -f "$fw"

# --- -f -----------------------------------------------------------------
expect_one_line "missing kernel file" -- "$H" -f kexec,/nonexistent/vmlinuz
expect "missing kernel file named" 1 "^hyperkit: .*'/nonexistent/vmlinuz' does not exist" -- \
    "$H" -f kexec,/nonexistent/vmlinuz
expect_one_line "missing initrd file" -- "$H" -f "kexec,$k,/nonexistent/initrd"
expect_one_line "missing flat64 file" -- "$H" -f flat64,/nonexistent
expect "missing flat64 file named" 1 "'/nonexistent' does not exist" -- "$H" -f flat64,/nonexistent
expect_one_line "kexec of a file that is not a kernel" -- "$H" -f "kexec,$k,$tmp/initrd,\"console=ttyS0,115200\""
expect "kexec of a file that is not a kernel is named" 1 "^hyperkit: .*not a Linux kernel" -- \
    "$H" -f "kexec,$k,$tmp/initrd,\"console=ttyS0,115200\""
expect_one_line "multiboot kernel without a header" -- "$H" -f "multiboot,$k,$tmp/initrd;x,quiet"
expect "multiboot kernel without a header is named" 1 "no multiboot header" -- "$H" -f "multiboot,$k"
expect_one_line "bootrom not implemented" -- "$H" -f "bootrom,$k"
expect_one_line "fbsd not supported" -- "$H" -f "fbsd,$k,$k"
expect_one_line "unknown firmware" -- "$H" -f "bogus,$k"
expect_one_line "-f given twice" -- "$H" -f "$fw" -f "$fw"

# --- -F -----------------------------------------------------------------
expect_one_line "existing pidfile" -- "$H" -F "$tmp/pid.exists" -f "$fw"
expect "existing pidfile message" 1 "^hyperkit: -F .*pid.exists: File exists" -- \
    "$H" -F "$tmp/pid.exists" -f "$fw"
if [ "$(cat "$tmp/pid.exists")" = x ]; then
    echo "PASS: existing pidfile left untouched"
else
    echo "FAIL: existing pidfile left untouched"
fi
"$H" -F "$tmp/pid.new" -m 12Q -f "$fw" 2>/dev/null
if [ ! -e "$tmp/pid.new" ]; then
    echo "PASS: no pidfile after an option error"
else
    echo "FAIL: no pidfile after an option error"
fi
