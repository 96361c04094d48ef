#!/bin/sh
# Fetch the Linux test guest: Debian's own kernel (linux-image-amd64, which
# depends on the real versioned linux-image-6.x package) and busybox-static,
# then build one initramfs (cpio newc, gzip) per scenario.
#
#   sh scripts/fetch-guest.sh [OUTDIR]          (default build/guest)
#
# Outputs in OUTDIR:
#   vmlinuz                  the bzImage from the package
#   System.map               when the package ships a real one (Debian's
#                            is a placeholder: the real one is in -dbg)
#   config                   the kernel's .config
#   kernel-version           e.g. "linux-image-6.1.0-56-amd64 6.1.192-2"
#   initramfs-shell.img      /init mounts proc/sys/dev, loads the kernel
#                            package's modules for virtio disks, entropy, vsock and
#                            ext4 (see guest_modules) when the VM has a
#                            virtio device, prints the marker, then runs a
#                            shell on the console
#   initramfs-poweroff.img   /init prints the marker, then `poweroff -f`
#   initramfs-bench.img      /init prints the marker as its very first line,
#                            then runs the two workloads of bench/boot-bench.sh
#                            between "bench: ..." markers, then `poweroff -f`
# Every scenario prints "hyperkit-init: ready" (the marker tests wait for).
#
# Downloads are cached in ${XDG_CACHE_HOME:-~/.cache}/hyperkit-guest and
# reused while they match apt's candidate version, so running it again is
# cheap and works offline once the cache is filled. Needs Debian (apt,
# dpkg); installs cpio if it is missing (as root, or through sudo).
set -eu

# The kernel modules the shell image loads, by module name. Their hard
# dependencies come from each module's own "depends=" (Debian ships no
# modules.dep: depmod makes it at install time); a soft dependency
# ("softdep=") must be one of these or an alias of one, else the build stops.
# ext4 and jbd2 ask for "crypto-crc32c": both crc32c_generic and crc32c-intel
# provide it, and only the generic one loads on a CPU without SSE4.2 (emu).
# hw_random's core is built in (CONFIG_HW_RANDOM=y).
guest_modules="virtio_pci virtio_blk virtio_rng virtio_net crc32c_generic ext4 9pnet_virtio 9p vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport"

out=${1:-build/guest}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hyperkit-guest
marker="hyperkit-init: ready"

prog=fetch-guest
# shellcheck source=scripts/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

# The /init of each scenario. busybox installs its applet links at boot, so
# the image holds one binary and does not depend on the host's busybox.
init_script() {
    echo '#!/bin/busybox sh'
    # The boot bench times the kernel up to its marker: print it first
    # (echo is a shell builtin, so it needs no applet links yet).
    [ "$1" != bench ] || echo "echo \"$marker\""
    cat <<'EOF'
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
EOF
    case $1 in
    shell)
        cat <<EOF
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
# The package's modules, dependencies first (see guest_modules). Loading
# them costs seconds of an emulated boot (ext4 most), so only when a virtio
# PCI device (vendor 0x1af4) is there to use them.
if grep -qs 0x1af4 /sys/bus/pci/devices/*/vendor; then
    for d in /lib/modules/*; do
        [ -f "\$d/load" ] || continue
        while read -r ko; do
            insmod "\$d/\$ko" || echo "hyperkit-init: insmod \$ko failed"
        done <"\$d/load"
    done
fi
echo "$marker"
# setsid + cttyhack give the shell a controlling terminal, so ^C works.
exec setsid cttyhack sh
EOF
        ;;
    poweroff)
        cat <<EOF
mount -t proc proc /proc
echo "$marker"
poweroff -f
EOF
        ;;
    bench)
        bench_script
        ;;
    esac
}

# The in-guest workloads of bench/boot-bench.sh, which timestamps these
# markers on the host as they reach the console. Each marker also carries
# the guest's own uptime, for comparing its clock with the host's. The
# digest goes out with the end marker: the host checks it against its own
# sha256 of 32 MiB of zeros.
bench_script() {
    cat <<'EOF'
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev 2>/dev/null || [ -c /dev/zero ] || mknod /dev/zero c 1 5
mark() { read -r up _ </proc/uptime; echo "bench: $* uptime=$up"; }
mark sha256 start
sum=$(head -c 33554432 /dev/zero | sha256sum)
mark sha256 end "${sum%% *}"
mark loop start
i=0
while [ "$i" -lt 20000 ]; do i=$((i + 1)); done
mark loop end "$i"
mark done
poweroff -f
EOF
}

build_initramfs() {
    scenario=$1
    root=$work/root-$scenario
    rm -rf "$root"
    mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/root"
    cp "$busybox" "$root/bin/busybox"
    chmod 755 "$root/bin/busybox"
    init_script "$scenario" >"$root/init"
    [ "$scenario" != shell ] || cp -R "$work/modules/lib" "$root/lib"
    chmod 755 "$root/init"
    pack_initramfs "$root" "$out/initramfs-$scenario.img"
}

main() {
    # shellcheck disable=SC2086 # one word per module
    start_build $guest_modules
    bdeb=$(fetch_deb busybox-static)
    dpkg-deb -x "$bdeb" "$work/busybox"
    busybox=$work/busybox/bin/busybox
    [ -f "$busybox" ] || die "$bdeb: no /bin/busybox inside"
    for scenario in shell poweroff bench; do
        build_initramfs "$scenario"
    done
    say "$(cat "$out/kernel-version") and initramfs images in $out"
}

main
