#!/usr/bin/env bash
# Build a fuzzer and fuzz. Usage:
#   tests/fuzz/run.sh [emu|decode|virtq|virtio_blk|qcow2|p9|vsock|net] [SECONDS] [extra libFuzzer flags...]
# Defaults: emu, 3600 s. The working corpus grows in build-fuzz/corpus-TARGET
# (seeded from tests/fuzz/corpus/TARGET); crashes, hangs and slow inputs
# land in build-fuzz/artifacts/; the log is build-fuzz/fuzz-TARGET.log.
# Reproduce a crash with: build-fuzz/fuzz_emu build-fuzz/artifacts/crash-...
# (FUZZ_EMU_VERBOSE=1 prints every exit), or without clang:
#   make -f tests/fuzz/fuzz.mk replay && build-fuzz/replay_emu FILE
set -eu
cd "$(dirname "$0")/../.."
target=${1:-emu}
secs=${2:-3600}
shift $(($# < 2 ? $# : 2))
out=${FUZZ_BUILD:-build-fuzz}
make -s -f tests/fuzz/fuzz.mk FUZZ_BUILD="$out" "$out/fuzz_$target"
mkdir -p "$out/corpus-$target" "$out/artifacts"
case $target in
emu) len=4120 ;;
virtq | virtio_blk) len=4096 ;;
qcow2) len=65536 ;; # small-cluster images (make_seeds.sh)
vsock | net) len=2048 ;;
p9) len=4096 ;; # several messages, each cut at its own size field
*) len=16 ;;
esac
# -timeout: an input taking seconds means a hang (each run is budgeted to
# milliseconds of CPU). -rss_limit_mb: the 4 MiB guest plus ASan.
exec "$out/fuzz_$target" -max_total_time="$secs" -max_len=$len -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
    "$@" "$out/corpus-$target" "tests/fuzz/corpus/$target" 2>&1 | tee "$out/fuzz-$target.log"
