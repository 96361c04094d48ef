#!/usr/bin/env bash
# Assembly guests run through the hyperkit command. Engine from $TEST_ACCEL
# (emu); scripts/kvm-testbed.sh runs them with kvm.
. "$(dirname "$0")/lib.sh"
accel=${TEST_ACCEL:-emu}
HKA="$HYPERKIT --accel=$accel"
HK="$HKA --debug-exit -l com1,stdio"

expect "hello prints over COM1 and exits with its chosen status" 43 '^hello$' \
    -- $HK -f flat64,"$GUESTS/hello.bin"
expect "HLT with interrupts off ends the VM with status 0" 0 '^halting$' \
    -- $HK -f flat64,"$GUESTS/halt.bin"
expect "an undeliverable #UD triple-faults: status 3" 3 'about to fault' \
    -- $HK -f flat64,"$GUESTS/triple_fault.bin"
expect "a fault while delivering #DF shuts down: status 3" 3 '^about to shut down$' \
    -- $HK -m 64M -f flat64,"$GUESTS/sys_exc_shutdown.bin"
expect "the debug-exit port is off unless asked for" 0 '^hello$' \
    -- $HKA -l com1,stdio -f flat64,"$GUESTS/hello.bin"
expect "HYPERKIT_ACCEL=$accel selects the engine" 43 '^hello$' \
    -- env HYPERKIT_ACCEL="$accel" $HYPERKIT --debug-exit -l com1,stdio -f flat64,"$GUESTS/hello.bin"

out=$($HK -f flat64,"$GUESTS/compute.bin" 2>&1); rc=$?
want='000000012a06b550
00000299c335ccf6
0000000000003412
0000000000000000
fffffffffffffff0
0000000000000102
0000000000000005
0000000000001a6d'
if [ $rc = 1 ] && [ "$out" = "$want" ]; then echo "PASS: compute guest results"; else
    echo "FAIL: compute guest results: exit $rc, output: $out"; fi

out=$($HK -f flat64,"$GUESTS/exceptions.bin" 2>&1); rc=$?
want='in #BP
after #BP
in #DE
after #DE
in #PF at 0000000140000000
0000000000000000
after #PF'
if [ $rc = 1 ] && [ "$out" = "$want" ]; then echo "PASS: exceptions reach IDT handlers and IRETQ resumes"; else
    echo "FAIL: exceptions guest: exit $rc, output: $out"; fi

out=$(printf 'abc xyz!q' | $HK -f flat64,"$GUESTS/echo.bin" 2>&1); rc=$?
if [ $rc = 1 ] && [ "$out" = "$(printf 'echo> ABC XYZ!\nbye')" ]; then
    echo "PASS: COM1 input reaches the guest"; else
    echo "FAIL: echo guest: exit $rc, output: $out"; fi

log=$(mktemp); rm -f "$log"
expect "-l com1,log=FILE writes the console to a file" 43 '' \
    -- $HKA --debug-exit -l com1,log="$log" -f flat64,"$GUESTS/hello.bin"
if [ "$(cat "$log" 2>/dev/null)" = hello ]; then echo "PASS: console log file holds the output"; else
    echo "FAIL: console log file holds: $(cat "$log" 2>&1)"; fi
rm -f "$log"

expect "-e ends the VM on an unhandled port access" 1 'unhandled port I/O' \
    -- $HKA -e --debug-exit -f flat64,"$GUESTS/hello.bin"

# Signals: SIGUSR1 pauses, SIGUSR2 resumes, SIGTERM stops with status 0.
fifo=$(mktemp -u); mkfifo "$fifo"
pid_file=$(mktemp -u)
$HKA --debug-exit -l com1,stdio -F "$pid_file" -f flat64,"$GUESTS/echo.bin" <"$fifo" >/dev/null 2>&1 &
pid=$!
exec 7>"$fifo"
sleep 0.5
[ -f "$pid_file" ] && [ "$(cat "$pid_file")" = "$pid" ] && echo "PASS: -F writes the pid" || echo "FAIL: -F pidfile: $(cat "$pid_file" 2>&1)"
kill -USR1 $pid; sleep 0.3
state=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)
kill -USR2 $pid; sleep 0.2
kill -TERM $pid
wait $pid; rc=$?
exec 7>&-
rm -f "$fifo"
[ "$rc" = 0 ] && echo "PASS: SIGTERM stops the VM with status 0" || echo "FAIL: SIGTERM: exit $rc"
[ "$state" = S ] && echo "PASS: SIGUSR1 pauses (process sleeps)" || echo "FAIL: SIGUSR1 pause: state $state"
[ ! -e "$pid_file" ] && echo "PASS: the pidfile is removed at exit" || echo "FAIL: pidfile left behind"

# Engines differ here: emu models an Intel CPU, kvm shows the host's vendor,
# and AMD raises #UD for SYSENTER in 64-bit mode (APM Vol. 3, SYSENTER)
# where Intel runs it. The guest has no #UD gate: its empty gate raises #GP.
vendor=GenuineIntel
[ "$accel" = emu ] || vendor=$(awk -F': *' '/^vendor_id/ { print $2; exit }' /proc/cpuinfo)
sysenter='sysenter at CPL 0
'
[ "$vendor" != AuthenticAMD ] || sysenter=''
out=$($HK -f flat64,"$GUESTS/usermode.bin" 2>&1); rc=$?
want="to user mode
hello from CPL 3
000000000000002b
0000000000000023
${sysenter}#GP from 000000000000002b"
if [ $rc = 1 ] && [ "$out" = "$want" ]; then
    echo "PASS: GDT/TSS reload, IRETQ to CPL 3, SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS, #GP stack switch ($vendor)"; else
    echo "FAIL: usermode guest: exit $rc, output: $out"; fi

out=$($HK -f flat64,"$GUESTS/legacy32.bin" 2>&1); rc=$?
want='33333333
80000000
7fffffff
00000100
00000603
0000003f
00000044
00000fa2
12345678
00000030
000000de'
if [ $rc = 1 ] && [ "$out" = "$want" ]; then
    echo "PASS: leaving long mode; 32-bit protected mode instructions and IDT delivery"; else
    echo "FAIL: legacy32 guest: exit $rc, output: $out"; fi

# Multiboot: an ELF kernel and an a.out-kludge image, with two modules.
tmp=$(mktemp -d)
printf 'first module line\nsecond\n' >"$tmp/mod1.txt"
printf 'another module\n' >"$tmp/mod2.txt"
want="multiboot: console=ttyS0 quiet
mod-one args: first module line
$tmp/mod2.txt: another module
0001fc00
00000003"
for k in multiboot.elf multiboot-aout.bin; do
    out=$($HKA -m 128M --debug-exit -l com1,stdio \
        -f "multiboot,$GUESTS/$k,$tmp/mod1.txt;mod-one args:$tmp/mod2.txt,console=ttyS0 quiet" 2>&1); rc=$?
    if [ $rc = 1 ] && [ "$out" = "$want" ]; then
        echo "PASS: multiboot $k: magic, command line, modules, memory info"; else
        echo "FAIL: multiboot $k: exit $rc, output: $out"; fi
done
rm -rf "$tmp"
