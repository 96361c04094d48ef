# Shared by scripts/fetch-guest.sh and scripts/kvm-testbed.sh (sourced, POSIX
# sh): Debian packages fetched into a cache, the kernel package's modules in
# load order, and the pieces of a cpio (newc) initramfs. The sourcing script
# sets prog (its name for messages), cache and out (where extract_kernel puts
# the kernel); start_build sets work (a scratch directory).
# shellcheck disable=SC2154 # prog, cache, out: set by the sourcing script
say() { echo "$prog: $*" >&2; }
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

# Copy the modules named by the arguments and their dependencies into
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
    for m in "$@"; do resolve_module "$m"; done
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
            *) die "$m wants $soft (softdep): add the module that provides it to the list" ;;
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
    say "modules:$mod_order"
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

# The versioned kernel package's .deb (fetched or cached); see kernel_package.
kernel_deb() {
    kpkg=$(kernel_package)
    if [ -z "$kpkg" ]; then
        # Offline with a cache: take the kernel package we fetched last.
        kpkg=$(find "$cache" -mindepth 1 -maxdepth 1 -name 'linux-image-[0-9]*' -exec basename {} \; |
            sort -V | tail -n 1)
        [ -n "$kpkg" ] || die "cannot tell which linux-image-6.x linux-image-amd64 depends on"
    fi
    fetch_deb "$kpkg"
}

# start_build MODULE...: what both scripts do first: the tools, $out and
# $cache, a $work removed on exit, the package lists, the kernel (into $out)
# and MODULEs with their dependencies (into $work/modules).
start_build() {
    need_tools
    mkdir -p "$out" "$cache"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    ensure_lists
    kdeb=$(kernel_deb)
    extract_kernel "$kdeb"
    collect_modules "$@"
}

# Pack directory $1 into the gzip'd initramfs $2 with /dev/console added.
pack_initramfs() {
    # Fixed timestamps and order make the image byte-for-byte reproducible.
    find "$1" -exec touch -h -d @0 {} +
    # Files first, so `cpio -i` (which stops at the first trailer) shows them.
    {
        (cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
            cpio -o -H newc -R 0:0 --reproducible --quiet)
        device_nodes
    } | gzip -9 -n >"$2.new"
    mv "$2.new" "$2"
}
