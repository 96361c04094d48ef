#!/bin/sh
# Install what building and testing hyperkit needs on Debian 12 (as root or
# through sudo). Safe to run again. gcc-multilib builds the 32-bit static
# programs of tests/linux/progs; qemu-utils (qemu-img) and e2fsprogs make
# and check the disk tests' images (tests/linux/test_disk_*.sh); iproute2
# and iputils-ping the network-namespace tests (tests/linux/test_net_tap.sh,
# test_net_vpnkit.sh); diod is the independent 9P server behind virtio-9p's
# relay test; python3 runs the network tests' host ends (and goes into the kvm
# test bed).
set -e
pkgs="build-essential binutils make coreutils gawk python3 liblzma-dev libzstd-dev zlib1g-dev qemu-utils qemu-system-x86 e2fsprogs libslirp-dev acpica-tools cpio clang libclang-rt-14-dev gcc-multilib iproute2 iputils-ping diod"
need=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need="$need $p"
done
[ -z "$need" ] && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
