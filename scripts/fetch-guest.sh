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
#                            package's modules for virtio disks, entropy and
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
guest_modules="virtio_pci virtio_blk virtio_rng virtio_net crc32c_generic ext4"

out=${1:-build/guest}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hyperkit-guest
marker="hyperkit-init: ready"

say() { echo "fetch-guest: $*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Every tool this script runs, and the package that provides it.
need_tools() {
    missing=""
    for pair in apt-get:apt dpkg-deb:dpkg cpio:cpio gzip:gzip find:findutils sort:coreutils \
        objcopy:binutils; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
    done
    [ -z "$missing" ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "need$missing, and apt-get is missing"
    say "installing$missing"
    as_root apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
}

# apt's candidate version of a package, or nothing.
candidate() {
    apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }'
}

# Make sure the package lists know our packages (a fresh machine has none).
ensure_lists() {
    if [ -z "$(candidate linux-image-amd64)" ] || [ -z "$(candidate busybox-static)" ]; then
        say "apt has no candidate for linux-image-amd64/busybox-static: running apt-get update"
        as_root apt-get update -qq || say "apt-get update failed; using the cache if it can"
    fi
}

# The versioned kernel package linux-image-amd64 depends on today
# (linux-image-6.1.0-NN-amd64); not pinned, so it follows Debian's updates.
kernel_package() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# Download package $1 into the cache unless the cached .deb already is
# apt's candidate. Prints the path of the .deb. Falls back to a cached
# .deb when apt cannot say what the candidate is (offline).
fetch_deb() {
    pkg=$1
    dir=$cache/$pkg
    mkdir -p "$dir"
    want=$(candidate "$pkg")
    for deb in "$dir"/*.deb; do
        [ -f "$deb" ] || continue
        have=$(dpkg-deb -f "$deb" Version)
        if [ -z "$want" ] || [ "$have" = "$want" ]; then
            echo "$deb"
            return 0
        fi
    done
    [ -n "$want" ] || die "$pkg: not known to apt and not cached (apt-get update?)"
    say "downloading $pkg $want"
    rm -f "$dir"/*.deb
    # apt-get download writes into the current directory; as root it warns
    # that _apt cannot write there, which is harmless.
    (cd "$dir" && apt-get download -q "$pkg=$want" 2>&1 | grep -v -i 'unsandboxed' >&2) || true
    for deb in "$dir"/*.deb; do
        [ -f "$deb" ] && { echo "$deb"; return 0; }
    done
    die "$pkg: apt-get download failed"
}

# Kernel image (and System.map when the package ships it, see dpkg -c).
extract_kernel() {
    deb=$1
    tmp=$work/kernel
    dpkg-deb -x "$deb" "$tmp"
    vmlinuz=$(find "$tmp/boot" -name 'vmlinuz-*' -type f | sort | head -n 1)
    [ -n "$vmlinuz" ] || die "$deb: no /boot/vmlinuz-* inside"
    cp "$vmlinuz" "$out/vmlinuz.new" && mv "$out/vmlinuz.new" "$out/vmlinuz"
    # Debian ships a one-line placeholder System.map (the real one is in the
    # -dbg package); copy it only when it is a real symbol table.
    map=$(find "$tmp/boot" -name 'System.map-*' -type f | sort | head -n 1)
    if [ -n "$map" ] && [ "$(wc -l <"$map")" -gt 1 ]; then
        cp "$map" "$out/System.map"
    else
        rm -f "$out/System.map"
    fi
    config=$(find "$tmp/boot" -name 'config-*' -type f | sort | head -n 1)
    [ -z "$config" ] || cp "$config" "$out/config"
    printf '%s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
        >"$out/kernel-version"
}

# A field of a kernel module's .modinfo section (NUL-separated key=value),
# one value a line.
modinfo_field() { # file.ko field
    objcopy -O binary --only-section=.modinfo "$1" "$work/modinfo"
    tr '\0' '\n' <"$work/modinfo" | sed -n "s/^$2=//p"
}

# Path of module $1 under $moddir: files use - or _ where names use _.
module_path() {
    awk -v n="$1" '$1 == n { print $2; exit }' "$work/modindex"
}

# Append module $1 to $mod_order after its dependencies (depth first).
resolve_module() {
    case " $mod_order " in *" $1 "*) return 0 ;; esac
    case " $mod_visiting " in *" $1 "*) die "module dependency loop through $1" ;; esac
    mod_visiting="$mod_visiting $1"
    path=$(module_path "$1")
    [ -n "$path" ] || die "module $1 is not in the kernel package"
    # The word list is expanded before the loop, so recursion may reuse $deps.
    deps=$(modinfo_field "$moddir/$path" depends | tr ',' ' ')
    for dep in $deps; do resolve_module "$dep"; done
    mod_order="$mod_order $1"
}

# Copy the modules named by guest_modules and their dependencies into
# $work/modules/lib/modules/KVER, uncompressed (busybox insmod may lack
# xz/zstd), with "load", the insmod order /init follows.
collect_modules() {
    moddir=$(find "$work/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d | sort | head -n 1)
    [ -n "$moddir" ] || die "the kernel package has no lib/modules/KVER"
    kver=$(basename "$moddir")
    # name path: the name is the file's, without .ko*, with - as _.
    (cd "$moddir" && find kernel -name '*.ko*' -type f) |
        awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); gsub(/-/, "_", n); print n, $0 }' \
        >"$work/modindex"
    mod_order="" mod_visiting=""
    for m in $guest_modules; do resolve_module "$m"; done
    provided=""
    for m in $mod_order; do
        provided="$provided $m $(modinfo_field "$moddir/$(module_path "$m")" alias | tr '\n' ' ')"
    done
    dest=$work/modules/lib/modules/$kver
    rm -rf "$work/modules"
    mkdir -p "$dest"
    for m in $mod_order; do
        path=$(module_path "$m")
        for soft in $(modinfo_field "$moddir/$path" softdep | tr ' ' '\n' | grep -v ':$' || true); do
            case " $provided " in
            *" $soft "*) ;;
            *) die "$m wants $soft (softdep): add the module that provides it to guest_modules" ;;
            esac
        done
        ko=${path%.ko*}.ko
        mkdir -p "$dest/$(dirname "$ko")"
        case $path in
        *.ko) cp "$moddir/$path" "$dest/$ko" ;;
        *.ko.xz) xz -dc "$moddir/$path" >"$dest/$ko" ;;
        *.ko.zst) zstd -qdc "$moddir/$path" >"$dest/$ko" ;;
        *.ko.gz) gzip -dc "$moddir/$path" >"$dest/$ko" ;;
        *) die "$path: unknown module compression" ;;
        esac
        echo "$ko" >>"$dest/load"
    done
    say "modules for the shell image:$mod_order"
}

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

# A newc entry with no data (directories, device nodes): the fields are
# 8 hex digits each (see the kernel's Documentation/driver-api/early-userspace
# /buffer-format.rst), the name NUL-terminated and padded to 4 bytes.
newc_entry() { # name mode(octal) rdevmajor rdevminor ino
    name=$1 namesize=$((${#1} + 1))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
        "$5" "$(($2))" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0 "$name"
    pad=$(((4 - (110 + namesize) % 4) % 4))
    [ $pad -eq 0 ] || head -c $pad /dev/zero
}

# /dev and /dev/console as a small archive of its own: creating the node on
# disk would need root, and the kernel opens /dev/console before /init runs.
# The kernel unpacks concatenated archives one after the other (init/
# initramfs.c skips the zero padding between them).
device_nodes() {
    newc_entry dev 040755 0 0 1
    newc_entry dev/console 020600 5 1 2
    newc_entry TRAILER!!! 0 0 0 0
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
    # Fixed timestamps and order make the image byte-for-byte reproducible.
    find "$root" -exec touch -h -d @0 {} +
    # Files first, so `cpio -i` (which stops at the first trailer) shows them.
    {
        (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
            cpio -o -H newc -R 0:0 --reproducible --quiet)
        device_nodes
    } | gzip -9 -n >"$out/initramfs-$scenario.img.new"
    mv "$out/initramfs-$scenario.img.new" "$out/initramfs-$scenario.img"
}

main() {
    need_tools
    mkdir -p "$out" "$cache"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    ensure_lists
    kpkg=$(kernel_package)
    if [ -z "$kpkg" ]; then
        # Offline with a cache: take the kernel package we fetched last.
        kpkg=$(find "$cache" -mindepth 1 -maxdepth 1 -name 'linux-image-[0-9]*' -exec basename {} \; |
            sort -V | tail -n 1)
        [ -n "$kpkg" ] || die "cannot tell which linux-image-6.x linux-image-amd64 depends on"
    fi
    kdeb=$(fetch_deb "$kpkg")
    bdeb=$(fetch_deb busybox-static)
    extract_kernel "$kdeb"
    collect_modules
    dpkg-deb -x "$bdeb" "$work/busybox"
    busybox=$work/busybox/bin/busybox
    [ -f "$busybox" ] || die "$bdeb: no /bin/busybox inside"
    for scenario in shell poweroff bench; do
        build_initramfs "$scenario"
    done
    say "$(cat "$out/kernel-version") and initramfs images in $out"
}

main
