#!/usr/bin/env bash
# A short fuzzing run of every target: the checked-in corpus, then
# fresh mutations for a bounded number of runs. SKIP without clang's
# libFuzzer (Debian: clang and libclang-rt-14-dev).
set -u
cd "$(dirname "$0")/../.."
out=${FUZZ_BUILD:-build-fuzz}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >/dev/null 2>&1; then
    echo "SKIP: fuzz smoke: clang with libFuzzer not available"
    exit 0
fi
if ! make -s -j"$(nproc)" -f tests/fuzz/fuzz.mk FUZZ_BUILD="$out" >"$probe/build.log" 2>&1; then
    cat "$probe/build.log"
    echo "FAIL: fuzz smoke: build"
    exit 1
fi
fail=0
for t in decode emu virtq virtio_blk qcow2 p9 vsock net; do
    # The corpus replays unchanged; mutations go to a scratch corpus.
    mkdir -p "$probe/$t"
    runs=20000 len=512
    [ $t = decode ] && runs=200000
    [ $t = virtq ] && runs=100000
    [ $t = virtio_blk ] && runs=200000
    [ $t = qcow2 ] && runs=5000 len=65536
    [ $t = p9 ] && runs=20000 len=4096
    [ $t = vsock ] && runs=50000 len=2048
    [ $t = net ] && runs=1000 len=2048
    if "$out/fuzz_$t" -runs=$runs -max_len=$len -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$probe/" "$probe/$t" "tests/fuzz/corpus/$t" >"$probe/$t.log" 2>&1; then
        echo "PASS: fuzz_$t: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$probe/$t.log")"
    else
        tail -n 40 "$probe/$t.log"
        # Keep the reproducer: the scratch directory goes away on exit.
        mkdir -p "$out/artifacts"
        cp "$probe"/crash-* "$probe"/timeout-* "$probe"/leak-* "$out/artifacts/" 2>/dev/null
        echo "FAIL: fuzz_$t (log above; reproducer in $out/artifacts)"
        fail=1
    fi
done
exit $fail
