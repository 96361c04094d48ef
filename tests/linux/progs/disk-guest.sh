#!/bin/sh
# The guest half of tests/linux/test_disk_data.sh (busybox sh, in the
# shell image with /progs). Every result is one "disk: ..." line on the
# console; the host compares them with what it computes on the images.
#
#   sh /progs/disk-guest.sh devs             disk: dev NAME sectors=N ro=R
#   sh /progs/disk-guest.sh pattern DEV MIB  write MIB MiB of a pseudo-random
#                                            pattern, flush, read it back
#   sh /progs/disk-guest.sh devsha DEV       sha256 of the whole device
#   sh /progs/disk-guest.sh fswrite DEV TAG  mount ext4, check the host's
#                                            files, write a file workload
#   sh /progs/disk-guest.sh fscheck DEV TAG  mount ext4, check both sets
#   sh /progs/disk-guest.sh rofail DEV       writes to DEV must fail
#   sh /progs/disk-guest.sh rng              virtio-rng is the hw_random
#   sh /progs/disk-guest.sh irqs             how the virtio devices interrupt:
#                                            disk: irqs msi=N ioapic=N (interrupts
#                                            counted on such lines)
#   sh /progs/disk-guest.sh flushloop DEV    diskio flushloop (crash test)
#   sh /progs/disk-guest.sh bench DEV MIB N  diskio seqwrite, seqread of MIB
#                                            and N random reads (bench/)
#   sh /progs/disk-guest.sh done             disk: done
PATH=/sbin:/bin:/usr/sbin:/usr/bin:/progs

say() { echo "disk: $*"; }

# sha256 of a device read after dropping the page cache, so the bytes come
# from the device, not from what this guest wrote.
uncached_sha() { # dev [bytes]
    sync
    echo 3 >/proc/sys/vm/drop_caches
    if [ -n "${2:-}" ]; then
        head -c "$2" "$1" | sha256sum | cut -d' ' -f1
    else
        sha256sum <"$1" | cut -d' ' -f1
    fi
}

mnt() { # dev -> mounts it on /mnt/NAME, prints the directory
    d=/mnt/${1##*/}
    mkdir -p "$d"
    mount -t ext4 "$1" "$d" || return 1
    echo "$d"
}

case $1 in
devs)
    for b in /sys/block/vd*; do
        [ -e "$b" ] || continue
        say "dev ${b##*/} sectors=$(cat "$b/size") ro=$(cat "$b/ro")"
    done
    say "devs end"
    ;;
pattern)
    # diskio writes the stream with O_DIRECT and a flush, and copies it to
    # stdout; then reads the device back and compares (no second hash).
    wrote=$(diskio pattern "$2" "$3" 2>/tmp/pattern.err | sha256sum | cut -d' ' -f1)
    [ ! -s /tmp/pattern.err ] || wrote="failed:$(tr ' ' _ </tmp/pattern.err)"
    v=$(diskio verify "$2" "$3" 2>&1)
    case $v in *"verify ok"*) v=ok ;; *) v=$(echo "$v" | tr ' ' _) ;; esac
    say "pattern $2 wrote=$wrote verify=$v"
    ;;
devsha)
    say "devsha $2 $(uncached_sha "$2")"
    ;;
fswrite)
    # The host put files and host.sha256 in the image (mke2fs -d).
    d=$(mnt "$2") || { say "fswrite $2 mount-failed"; exit 1; }
    (cd "$d" && sha256sum -c -s host.sha256) && host=ok || host=bad
    # A mix for the allocator and the journal: a large file, many small
    # ones in a directory, one host file rewritten and one deleted (on a
    # backing file these are copy-on-write).
    mkdir -p "$d/guest/small"
    head -c 3145728 /dev/urandom >"$d/guest/big"
    i=0
    while [ $i -lt 64 ]; do
        head -c $((i * 97 + 1)) /dev/urandom >"$d/guest/small/f$i"
        i=$((i + 1))
    done
    echo "rewritten by $3" >"$d/rewrite.txt"
    rm -f "$d/delete.txt"
    (cd "$d" && find guest rewrite.txt -type f | sort | xargs sha256sum >guest.sha256)
    [ -e "$d/delete.txt" ] && del=present || del=gone
    umount "$d" || { say "fswrite $2 umount-failed"; exit 1; }
    say "fswrite $2 $3 host=$host delete=$del"
    ;;
fscheck)
    d=$(mnt "$2") || { say "fscheck $2 mount-failed"; exit 1; }
    (cd "$d" && sha256sum -c -s guest.sha256) && guest=ok || guest=bad
    [ -e "$d/delete.txt" ] && del=present || del=gone
    n=$(wc -l <"$d/guest.sha256")
    umount "$d" || { say "fscheck $2 umount-failed"; exit 1; }
    say "fscheck $2 $3 guest=$guest files=$n delete=$del"
    ;;
rofail)
    # The kernel knows the disk is read-only (VIRTIO_BLK_F_RO): it refuses
    # the open or the write; either way nothing may reach the device.
    if dd if=/dev/zero of="$2" bs=4096 count=1 conv=fsync 2>/dev/null; then w=accepted; else w=refused; fi
    if diskio seqwrite "$2" 1 >/dev/null 2>&1; then dw=accepted; else dw=refused; fi
    say "rofail $2 dd=$w direct=$dw ro=$(cat "/sys/block/${2##*/}/ro")"
    ;;
rng)
    cur=$(cat /sys/class/misc/hw_random/rng_current)
    n=$(head -c 4096 /dev/hwrng | wc -c)
    nz=$(head -c 4096 /dev/hwrng | tr -d '\000' | wc -c)
    say "rng current=$cur bytes=$n nonzero=$nz"
    ;;
irqs)
    # /proc/interrupts: "IRQ: count TYPE ... NAME"; virtio lines come as
    # PCI-MSI(-X) with MSI-X, IO-APIC (fasteoi, through _PRT) with INTx.
    msi=0 ioapic=0
    while read -r irq count type rest; do
        case "$rest" in *virtio*) ;; *) continue ;; esac
        case "$type" in
        *MSI*) msi=$((msi + count)) ;;
        IO-APIC) ioapic=$((ioapic + count)) ;;
        esac
    done </proc/interrupts
    say "irqs msi=$msi ioapic=$ioapic"
    ;;
flushloop)
    diskio flushloop "$2" 260
    ;;
bench)
    say "bench $2 begin"
    for op in "seqwrite $2 $3" "seqread $2 $3" "randread $2 $4"; do
        # shellcheck disable=SC2086 # op is three words
        diskio $op || { say "bench $2 failed"; exit 1; }
    done
    say "bench $2 done"
    ;;
done)
    say "done"
    ;;
*)
    say "unknown step $1"
    exit 1
    ;;
esac
