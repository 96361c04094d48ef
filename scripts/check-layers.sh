#!/usr/bin/env bash
# The include rules between the source folders (issue 9: the core/devices
# include loop must not come back). One line per broken rule; exit 1 if any.
#   src/core      nothing from devices/ boot/ board/ firmware/
#   src/devices   nothing from core/vm.h board/ boot/ firmware/
#   src/firmware  nothing from board/
#   src/boot      nothing from board/
#   src/backends  nothing from devices/ board/ core/vm.h
# Usage: check-layers.sh [SRC_DIR]   (default: src next to this script)
set -u
src=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
[ -d "$src" ] || { echo "check-layers: no source folder $src" >&2; exit 2; }
bad=0

# check FOLDER REGEX WHAT: every #include "X" in FOLDER whose X matches REGEX.
check() {
    local dir=$1 re=$2 what=$3 hits
    [ -d "$src/$dir" ] || return 0
    hits=$(grep -rnE --include='*.c' --include='*.h' \
        "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"($re)" "$src/$dir" || true)
    if [ -n "$hits" ]; then
        printf '%s\n' "$hits" | sed "s|^$src/|src/|; s|\$|   ($what)|"
        bad=1
    fi
}

check core 'devices/|boot/|board/|firmware/' 'core must not include devices, boot, board or firmware'
check devices 'core/vm\.h"|board/|boot/|firmware/' 'devices see struct dev_env, not the VM, board, boot or firmware'
check firmware 'board/' 'firmware must not include the board'
check boot 'board/' 'boot must not include the board'
check backends 'devices/|board/|core/vm\.h"' 'backends must not include devices, the board or the VM'

exit $bad
