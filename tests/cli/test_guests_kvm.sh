#!/usr/bin/env bash
# The same assembly guests on the kvm engine, where /dev/kvm is usable:
# output and exit status must match the emu engine's exactly.
. "$(dirname "$0")/lib.sh"
# The engine itself decides whether this host's KVM can run our guests
# (no /dev/kvm, or a /dev/kvm without VMX/SVM such as PVM, is refused).
probe=$(timeout 60 "$HYPERKIT" --accel=kvm --debug-exit -f flat64,"$GUESTS/hello.bin" 2>&1)
if [ $? != 43 ]; then
    echo "SKIP: kvm engine guests: $probe"
    exit 0
fi
for g in hello compute exceptions usermode legacy32 triple_fault; do
    emu=$(timeout 60 "$HYPERKIT" --accel=emu --debug-exit -l com1,stdio -f flat64,"$GUESTS/$g.bin" 2>&1)
    emu_rc=$?
    kvm=$(timeout 60 "$HYPERKIT" --accel=kvm --debug-exit -l com1,stdio -f flat64,"$GUESTS/$g.bin" 2>&1)
    kvm_rc=$?
    if [ "$emu" = "$kvm" ] && [ $emu_rc = $kvm_rc ]; then
        echo "PASS: kvm runs $g as emu does"
    else
        echo "FAIL: $g: emu exit $emu_rc output [$emu], kvm exit $kvm_rc output [$kvm]"
    fi
done
