#!/bin/sh
# The kvm engine's test bed: real KVM nested under QEMU's software emulator.
# QEMU's TCG implements AMD SVM, so Debian's own kernel booted with
# `-cpu max,+svm` loads kvm and kvm-amd and offers a real /dev/kvm; a static
# hyperkit in the initramfs then runs the suite's engine-independent tests
# there with --accel=kvm (TEST_ACCEL=kvm).
#
#   sh scripts/kvm-testbed.sh BUILD      (make kvm-testbed)
#   KVM_TESTBED_MODE=bench sh scripts/kvm-testbed.sh BUILD    (make bench-kvm)
#
# The bench mode runs bench/boot-bench.sh's hyperkit part with --accel kvm
# in the bed instead of the tests (KVM_TESTBED_RUNS runs, default 1) and
# prints its figures labelled as what they are: nested under QEMU's TCG.
#
# Needs BUILD/hyperkit and BUILD/guests (the make target builds them), and
# for the Linux tests BUILD/guest (make guest);
# hyperkit goes in with the shared libraries it loads (Debian ships
# libslirp only as a shared library, so no static build). Prints the tests' PASS:/FAIL:/SKIP: lines tagged "[kvm]", as
# tests/run.sh counts them, then "N passed, N failed, N skipped"; exits 1
# on any failure. Only where QEMU is missing does it print one SKIP: line.
# The image, the console log and the kernel it boots stay in
# BUILD/kvm-testbed. Debian packages come from fetch-guest.sh's cache.
set -eu

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$build/kvm-testbed
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hyperkit-guest
prog=kvm-testbed
# shellcheck source=scripts/guest-lib.sh
. "$here/scripts/guest-lib.sh"

# The tests the bed runs, relative to tests/: the one list for both engines.
# Each takes the engine from TEST_ACCEL (emu when unset). make check runs
# them all; KVM_TESTBED_TESTS picks others.
default_tests="cli/test_guests.sh cli/test_sys_guests.sh linux/test_acpi_boot.sh linux/test_linux_shell.sh"
default_tests="$default_tests linux/test_9p.sh linux/test_disk_data.sh linux/test_kvm_notify.sh"
default_tests="$default_tests linux/test_net.sh linux/test_vsock.sh"
tests=${KVM_TESTBED_TESTS:-$default_tests}
mode=${KVM_TESTBED_MODE:-tests}
bench_runs=${KVM_TESTBED_RUNS:-1}
bench_label="kvm nested under QEMU TCG (not a hardware figure)"
# Host programs the tests run that busybox lacks or has in a smaller form:
# getconf (CLK_TCK), ls (--time-style), the disk tests' oracles.
host_tools="getconf ls qemu-img mke2fs e2fsck cmp"
# The network tests' python3 (their peers, http.server, urllib, hashlib):
# Debian's interpreter with the stdlib modules these imports load, about
# 100 files, not the whole 40 MB stdlib. http.server run as a program adds
# argparse and contextlib; getaddrinfo on a name string, encodings.idna.
python=/usr/bin/python3
python_imports="http.server argparse contextlib encodings.idna urllib.request hashlib selectors socket struct threading runpy"

# kvm-amd's dependencies (irqbypass, kvm, ccp) come from its modinfo.
kvm_modules="kvm_amd"

# A bed that makes progress is never cut short, however busy the host:
# each test bounds its own steps (a Linux boot waits at most
# HYPERKIT_BOOT_TIMEOUT) and the whole test (test_limit). The tests' hang guards scale with HYPERKIT_BOOT_TIMEOUT (lib.sh,
# disk_lib.sh), as under ASan: the bed's own programs (bash, the network
# tests' python3 peers) run under QEMU's TCG, and test_vsock.sh's 64-way
# peer alone outlasted the default 600 s's limits there.
boot_timeout=${KVM_TESTBED_BOOT_TIMEOUT:-1200}
# Each test ends within test_limit (coreutils' timeout, a FAIL line if it
# does not). The bed's init prints a heartbeat every minute, so a silent
# console means the bed's kernel (or QEMU) stopped, not a hung test.
test_limit=${KVM_TESTBED_TEST_LIMIT:-$((boot_timeout * 3))}
silence_limit=${KVM_TESTBED_SILENCE:-300}
max_nudges=5
heartbeat="kvm-testbed: alive"
# KVM_TESTBED_ENV="VAR=value ...": more environment for the tests (e.g.
# HYPERKIT_IOEVENTFD=off).
test_env=${KVM_TESTBED_ENV:-}
done_marker="kvm-testbed: done"

qemu="qemu-system-x86_64"
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "SKIP: kvm test bed: $qemu is not installed (scripts/install-deps.sh installs qemu-system-x86)"
    exit 0
fi
case $mode in tests | bench) ;; *) die "KVM_TESTBED_MODE wants tests or bench, not '$mode'" ;; esac
case $boot_timeout in '' | *[!0-9]* | 0*) die "KVM_TESTBED_BOOT_TIMEOUT wants seconds, not '$boot_timeout'" ;; esac
case $bench_runs in '' | *[!0-9]* | 0*) die "KVM_TESTBED_RUNS wants a positive integer, not '$bench_runs'" ;; esac
case $test_limit in '' | *[!0-9]* | 0*) die "KVM_TESTBED_TEST_LIMIT wants seconds, not '$test_limit'" ;; esac
case $silence_limit in '' | *[!0-9]* | 0*) die "KVM_TESTBED_SILENCE wants seconds, not '$silence_limit'" ;; esac
for kv in $test_env; do
    case $kv in
    [A-Z_]*=*) case ${kv%%=*}${kv#*=} in *[!A-Za-z0-9_.,:/=+-]*) die "KVM_TESTBED_ENV: '$kv' is not VAR=value" ;; esac ;;
    *) die "KVM_TESTBED_ENV: '$kv' is not VAR=value" ;;
    esac
done
[ -x "$build/hyperkit" ] || die "$build/hyperkit is missing (make kvm-testbed builds it)"
[ -d "$build/guests" ] || die "$build/guests is missing (make guests)"

# A host program and the shared libraries it loads, at the same paths.
add_host_program() { # root program dest
    mkdir -p "$1$(dirname "$3")"
    cp "$2" "$1$3"
    for lib in $(ldd "$2" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
        mkdir -p "$1$(dirname "$lib")"
        cp -L "$lib" "$1$lib"
    done
}

# Debian's python3 at its own paths, with the modules python_imports load
# (and their shared libraries). Compiled with unchecked hashes: the image's
# timestamps are all 0, so mtime-checked .pyc files would be rebuilt, slowly
# under TCG, on every run.
add_python() { # root
    if [ ! -x "$python" ]; then
        say "no $python: the tests that need python3 skip in the bed"
        return 0
    fi
    add_host_program "$1" "$(readlink -f "$python")" /usr/bin/python3
    # shellcheck disable=SC2086 # one word per module
    env -i "$python" -I -c 'import sys
for m in sys.argv[1:]: __import__(m)
for m in list(sys.modules.values()):
    f = getattr(m, "__file__", None)
    if f and f.startswith(sys.prefix + "/lib/python3"): print(f)' $python_imports |
        sort -u | while read -r f; do
            case $f in
            *.so) add_host_program "$1" "$f" "$f" ;;
            *) mkdir -p "$1$(dirname "$f")" && cp -L "$f" "$1$f" ;;
            esac
        done
    lib=$("$python" -I -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
    "$python" -I -m compileall -q --invalidation-mode unchecked-hash -s "$1" -p / "$1$lib" >/dev/null
}

init_tests() {
    cat <<EOF
    for t in $tests; do
        echo "== \$t"
        start=\$(cut -d. -f1 /proc/uptime)
        env HYPERKIT=/bin/hyperkit GUESTS=/guests HYPERKIT_GUEST_DIR=/guest TESTS_DIR=/tests \
            DISK_LAYER=/guest/disk.cpio.gz HYPERKIT_BOOT_TIMEOUT=$boot_timeout TEST_ACCEL=kvm $test_env \\
            timeout -k 30 $test_limit bash "/tests/\$t" 2>&1
        case \$? in 124 | 137) echo "FAIL: [kvm] \$t did not end within $test_limit s" ;; esac
        echo "   (\$((\$(cut -d. -f1 /proc/uptime) - start)) s)"
    done
EOF
}

# The bench's status line follows its report.
init_bench() {
    cat <<EOF
    echo "== bench"
    bash /bench/boot-bench.sh --only hyperkit --accel kvm --hyperkit /bin/hyperkit \\
        --guest /guest --runs $bench_runs --log-dir /tmp/bench --no-install 2>&1
    echo "kvm-testbed: bench status \$?"
EOF
}

init_script() {
    cat <<EOF
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
# coreutils' timeout first: busybox's exits 0 when its limit kills the command.
export PATH=/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The network tests' host ends listen on 127.0.0.1 and ::1.
ip link set lo up
for d in /lib/modules/*; do
    while read -r ko; do
        insmod "\$d/\$ko" || echo "FAIL: kvm test bed: insmod \$ko failed"
    done <"\$d/load"
done
(while sleep 60; do echo "$heartbeat"; done) &
heartbeat=\$!
if [ -c /dev/kvm ]; then
    grep -m1 -e vendor_id /proc/cpuinfo; grep -m1 "model name" /proc/cpuinfo
$(if [ "$mode" = bench ]; then init_bench; else init_tests; fi)
else
    echo "FAIL: kvm test bed: no /dev/kvm after loading the modules"
    dmesg | grep -i -E 'kvm|svm' | tail -n 5
fi
kill \$heartbeat
echo "$done_marker"
poweroff -f
EOF
}

build_image() {
    root=$work/root
    mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/tmp" "$root/guests" "$root/tests/cli"
    cp "$work/busybox/bin/busybox" "$root/bin/busybox"
    cp "$work/bash/bin/bash-static" "$root/bin/bash"
    add_host_program "$root" "$build/hyperkit" /bin/hyperkit
    add_host_program "$root" "$(command -v timeout)" /usr/local/bin/timeout
    # test_net.sh's library embedder, where the tests look: beside hyperkit.
    [ ! -x "$build/tests/net_embed" ] || add_host_program "$root" "$build/tests/net_embed" /bin/tests/net_embed
    add_python "$root"
    cp "$build"/guests/*.bin "$build"/guests/*.elf "$root/guests/"
    for tool in $host_tools; do # a missing one: the tests that need it skip
        path=$(command -v "$tool") || continue
        add_host_program "$root" "$path" "/usr/local/bin/$tool"
    done
    # The tests with their helpers; Debian's kernel and initramfs when a
    # Linux test is listed (build/guest, make guest).
    for d in cli linux; do
        mkdir -p "$root/tests/$d"
        find "$here/tests/$d" -maxdepth 2 -type f \( -name '*.sh' -o -name '*.py' -o -name '*.tsv' \) |
            while read -r f; do
                mkdir -p "$root/tests/$d/$(dirname "${f#"$here/tests/$d/"}")"
                cp "$f" "$root/tests/$d/${f#"$here/tests/$d/"}"
            done
    done
    mkdir -p "$root/bench"
    cp "$here/bench/boot-bench.sh" "$here/bench/lib.sh" "$root/bench/"
    case "$mode $tests" in
    bench* | *" linux/"*)
        [ -f "$build/guest/vmlinuz" ] || die "$build/guest is missing (make guest): the Linux tests and the bench need it"
        mkdir -p "$root/guest"
        cp "$build/guest/vmlinuz" "$build/guest/kernel-version" "$build"/guest/initramfs-*.img \
            "$root/guest/"
        # The disk tests' layer (make linux-progs), when built.
        [ ! -f "$build/linux-progs/disk.cpio.gz" ] || cp "$build/linux-progs/disk.cpio.gz" "$root/guest/"
        ;;
    esac
    mkdir -p "$root/lib"
    cp -R "$work/modules/lib/modules" "$root/lib/"
    init_script >"$root/init"
    chmod 755 "$root/init" "$root/bin/busybox" "$root/bin/bash" "$root/bin/hyperkit"
    pack_initramfs "$root" "$out/initramfs-kvm.img"
}

# Waits for QEMU (pid) to end. When the console has not grown for
# silence_limit seconds (no heartbeat: the bed's kernel stopped), records
# the CPU's state from QEMU's monitor in $out/stall.N.txt and sends an NMI
# (QEMU's TCG has been seen to leave its halted vCPU asleep with a timer
# interrupt due); if the console stays silent after that too, or after
# max_nudges, stops QEMU. Each stall gets a line in $stalls. Returns
# QEMU's status, 124 when it was stopped.
watch_console() { # pid log
    size=0 quiet_for=0 nudges=0 nudged_at=-1
    while kill -0 "$1" 2>/dev/null; do
        sleep 5
        now=$(wc -c <"$2")
        if [ "$now" -ne "$size" ]; then
            if [ "$nudged_at" -ge 0 ]; then
                echo "kvm-testbed: stall $nudges: the NMI woke the bed's kernel" >>"$stalls"
                nudged_at=-1
            fi
            size=$now quiet_for=0
        else
            quiet_for=$((quiet_for + 5))
        fi
        [ "$quiet_for" -ge "$silence_limit" ] || continue
        if [ "$nudged_at" -lt 0 ] && [ "$nudges" -lt "$max_nudges" ]; then
            nudges=$((nudges + 1)) nudged_at=$size quiet_for=0
            python3 "$here/scripts/qemu-monitor.py" "$monitor" "info registers" "info lapic" \
                >"$out/stall.$nudges.txt" 2>&1 || true
            echo "kvm-testbed: stall $nudges: no heartbeat for $silence_limit s during '$(current_test "$2")';" \
                "CPU state in $out/stall.$nudges.txt; sending an NMI" >>"$stalls"
            python3 "$here/scripts/qemu-monitor.py" "$monitor" nmi >/dev/null 2>&1 || true
            continue
        fi
        echo "kvm-testbed: the console said nothing for $silence_limit s (no heartbeat: the bed's kernel or QEMU stopped): stopping QEMU" >>"$stalls"
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
        return 124
    done
    wait "$1"
}

current_test() { # log: the test that was running
    grep -a '^== ' "$1" | tail -n 1 | cut -c4-
}

# The bench's lines from the console under the label; fails unless the
# bench itself ended with status 0.
bench_report() { # log qemu-rc
    echo "boot bench: $bench_label"
    echo "  hyperkit --accel kvm inside $(cat "$out/kernel-version") under $qemu -accel tcg -cpu max,+svm"
    echo "  on $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); times are the bed's clock"
    # Without the bed kernel's own messages (e.g. KVM's notes on the guest's MSRs).
    sed -n '/^== bench$/,/^kvm-testbed: bench status/p' "$1" | sed '1d' | grep -v -e '^\[ *[0-9.]*\] ' -e "^$heartbeat\$" || true
    grep -q '^kvm-testbed: bench status 0$' "$1" && return 0
    echo "FAIL: [kvm] the bench did not finish with status 0 (qemu exit $2; console in $1):"
    grep -v "^$heartbeat\$" "$1" | tail -n 15 | sed 's/^/    /'
    return 1
}

# Boots the bed's image once (console in $log, carriage returns dropped);
# rc is QEMU's status, 124 when the watcher stopped it.
run_qemu() {
    rm -f "$monitor"
    rc=0
    "$qemu" -accel tcg -cpu max,+svm -m 2G -smp 1 -nographic -no-reboot \
        -monitor "unix:$monitor,server=on,wait=off" \
        -kernel "$out/vmlinuz" -initrd "$out/initramfs-kvm.img" \
        -append "console=ttyS0 panic=-1 quiet" </dev/null >"$log" 2>&1 &
    watch_console $! "$log" || rc=$?
    tr -d '\r' <"$log" >"$log.txt"
    mv "$log.txt" "$log"
}

# The console up to the last test that finished (its "   (N s)" line).
finished_sections() { # log
    awk '/^== / { part = part $0 "\n"; open = 1; next }
         open { part = part $0 "\n" }
         !open { print }
         /^   \([0-9]+ s\)$/ && open { printf "%s", part; part = ""; open = 0 }' "$1"
}

# The listed tests from the one the console shows unfinished on.
tests_left() { # log
    finished=$(grep -c '^   ([0-9]* s)$' "$1" || true)
    # shellcheck disable=SC2086 # one test per word
    printf '%s\n' $tests | tail -n +"$((finished + 1))" | tr '\n' ' ' | sed 's/ $//'
}

main() {
    # shellcheck disable=SC2086 # one word per module
    start_build $kvm_modules # the kernel matching the modules, into $out
    dpkg-deb -x "$(fetch_deb busybox-static)" "$work/busybox"
    dpkg-deb -x "$(fetch_deb bash-static)" "$work/bash"
    build_image
    say "booting $(cat "$out/kernel-version") under $qemu (TCG, SVM)"
    log=$out/console.log
    stalls=$out/stalls.log
    monitor=$out/monitor.sock
    rm -f "$stalls" "$out"/stall.*.txt "$out"/console.1.log
    run_qemu
    # A stall the NMI did not end: once more, from the test it stopped in
    # (the tests are independent; what finished before it counts).
    if [ "$mode" = tests ] && [ "$rc" = 124 ] && ! grep -q "^$done_marker" "$log"; then
        left=$(tests_left "$log")
        echo "kvm-testbed: restarting QEMU once, with the tests not finished: $left" >>"$stalls"
        finished_sections "$log" >"$out/console.1.log"
        tests=$left
        build_image
        run_qemu
        cat "$log" >>"$out/console.1.log"
        mv "$out/console.1.log" "$log"
    fi
    # Stalls of the bed's kernel, each with what was done about it.
    [ ! -s "$stalls" ] || { cat "$stalls" >>"$log"; cat "$stalls"; }
    [ "$mode" = tests ] || { bench_report "$log" "$rc"; return; }
    results=$work/results
    # The results, with each test's name and guest-clock duration.
    grep -E '^(PASS|FAIL|SKIP): |^== |^   \([0-9]+ s\)$' "$log" |
        sed -E 's/^(PASS|FAIL|SKIP): (\[kvm\] )?/\1: [kvm] /' >"$results" || true
    if ! grep -q "^$done_marker" "$log"; then
        echo "FAIL: [kvm] the test bed did not finish (qemu exit $rc; console in $log):" >>"$results"
        grep -v "^$heartbeat\$" "$log" | tail -n 15 | sed 's/^/    /' >>"$results"
    fi
    cat "$results"
    passed=$(grep -c '^PASS:' "$results" || true)
    failed=$(grep -c '^FAIL:' "$results" || true)
    skipped=$(grep -c '^SKIP:' "$results" || true)
    echo "kvm test bed: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# One line, read whole before it runs: editing this file during a run
# (which takes many minutes) cannot feed the shell the edited text.
main; exit
