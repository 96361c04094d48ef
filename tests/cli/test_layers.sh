#!/usr/bin/env bash
# The include rules between source folders (scripts/check-layers.sh): the
# tree keeps them, and the check catches each kind of break (tried on a
# scratch tree, so it is known to be able to fail).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
check=$root/scripts/check-layers.sh

expect "layers: the source tree keeps the include rules" 0 "" -- "$check" "$root/src"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# broken FOLDER INCLUDE: a scratch tree with one file in FOLDER including
# INCLUDE must fail the check, naming the file.
broken() {
    local dir=$1 inc=$2
    rm -rf "$tmp/src" && mkdir -p "$tmp/src/$dir"
    printf '#include <stdio.h>\n#include "%s"\n' "$inc" >"$tmp/src/$dir/x.c"
    expect "layers: $dir including $inc is caught" 1 "src/$dir/x.c:2:" -- "$check" "$tmp/src"
}
broken core devices/devenv.h
broken core board/pc.h
broken core boot/boot.h
broken core firmware/firmware.h
broken devices core/vm.h
broken devices/lpc board/board_env.h
broken devices boot/linux.h
broken devices firmware/acpi.h
broken firmware board/pc.h
broken boot board/pc.h
broken backends devices/devenv.h
broken backends core/vm.h
broken backends/block board/pc.h

# What is allowed stays allowed.
allowed() {
    local dir=$1 inc=$2
    rm -rf "$tmp/src" && mkdir -p "$tmp/src/$dir"
    printf '#include "%s"\n' "$inc" >"$tmp/src/$dir/x.h"
    expect "layers: $dir may include $inc" 0 "" -- "$check" "$tmp/src"
}
allowed devices core/iobus.h
allowed devices core/evloop.h
allowed board devices/devenv.h
allowed board core/vm.h
allowed firmware core/vm.h
