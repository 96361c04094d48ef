#!/usr/bin/env bash
# virtio-9p seen from Debian's kernel (issue 10, "Done when"), in one boot
# with two shares: "share" (read-write) and "rosh" (ro). Files,
# directories, symlinks, hard links, renames, permissions and mtimes made
# on either side are seen on the other; symlinks on the host pointing out
# of the share and ".." paths do not reach the host's files outside it;
# the ro share refuses every change. HYPERKIT_KEEP_LOG=DIR keeps the console.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/disk_lib.sh"
DISK_TEST="9p"
guest_missing "$DISK_TEST" && exit 0
if ! gzip -dc "$GUEST_DIR/initramfs-shell.img" | grep -qa '9pnet_virtio\.ko'; then
    echo "FAIL: $DISK_TEST: $GUEST_DIR/initramfs-shell.img has no 9p modules (run: make guest)"
    exit 1
fi

work=$(mktemp -d)
trap 'vm_cleanup 2>/dev/null; rm -rf "$work"' EXIT
share=$work/share ro=$work/ro out=$work/outside
mkdir -p "$share/hostdir" "$share/emptydir" "$share/many" "$ro" "$out"
echo "SECRET outside the share" >"$out/secret.txt"
echo hostcontent >"$share/hostfile.txt"
echo inner >"$share/hostdir/inner.txt"
echo move >"$share/tomove.txt"
echo delete >"$share/todelete.txt"
ln -s hostfile.txt "$share/hostlink"
ln "$share/hostfile.txt" "$share/hosthard"
ln -s "$out" "$share/out_abs"
ln -s ../outside "$share/out_rel"
ln -s "$out/secret.txt" "$share/out_file"
chmod 640 "$share/hostfile.txt"
touch -d @1000000000 "$share/hostfile.txt"
for i in $(seq 1 300); do : >"$share/many/entry-with-a-longish-name-$i"; done
echo "read only" >"$ro/ro.txt"
cp "$(dirname "$0")/progs/p9-guest.sh" "$ro/g.sh"
ro_before=$(cd "$ro" && ls -l --time-style=+%s | sha256sum)

# shellcheck disable=SC2054 # the commas belong to hyperkit's option syntax
vm_start initramfs-shell.img -A \
    -s "2,virtio-9p,path=$share,tag=share" -s "3,virtio-9p,path=$ro,tag=rosh,ro"
shell_ready

# step NAME: run the guest script's step; its "p9: NAME ..." line in LINE.
step() {
    local before
    before=$(wc -l <"$VM_LOG")
    vm_send "sh /ro/g.sh $1"
    local waited=0
    while ! tail -n +"$((before + 1))" "$VM_LOG" | tr -d '\r' | grep -q "^p9: $1 end"; do
        if ! kill -0 "$VM_PID" 2>/dev/null || [ $waited -ge $((DISK_STEP_BASE * 10)) ]; then
            LINE=""
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    LINE=$(tail -n +"$((before + 1))" "$VM_LOG" | tr -d '\r' | grep "^p9: $1 " | grep -v " end$" | tail -n 1)
}

# The ro share carries the script, so it is mounted first, by hand.
vm_send "mkdir -p /ro && mount -t 9p -o trans=virtio,version=9p2000.L rosh /ro && echo p9: romount ok"
vm_wait_for "p9: romount ok" "$DISK_STEP_BASE"
result "the ro share mounts" grep -q "p9: romount ok" "$VM_LOG"

step mount
result "the rw share mounts ($LINE)" [ "$(field "$LINE" rw)" = yes ]

step hostmade
made_ok() {
    [ "$(field "$LINE" content)" = hostcontent ] && [ "$(field "$LINE" mode)" = 640 ] &&
        [ "$(field "$LINE" mtime)" = 1000000000 ] && [ "$(field "$LINE" link)" = hostfile.txt ] &&
        [ "$(field "$LINE" viaLink)" = hostcontent ] && [ "$(field "$LINE" dir)" = yes ] &&
        [ "$(field "$LINE" nested)" = inner ] && [ "$(field "$LINE" hard)" = yes ]
}
result "the host's files, dirs, symlinks, hard links, modes, mtimes in the guest ($LINE)" made_ok

step guestmake
big_guest=$(field "$LINE" big)
g_ok() {
    [ "$(cat "$share/gfile")" = "made in the guest" ] &&
        [ "$(stat -c %a "$share/gfile")" = 600 ] &&
        [ "$(stat -c %Y "$share/gfile")" = 1200000000 ] &&
        [ "$(cat "$share/gdir/n.txt")" = nested ] &&
        [ "$(readlink "$share/glink")" = gfile ] &&
        [ "$(stat -c %i "$share/gfile")" = "$(stat -c %i "$share/ghard")" ] &&
        [ "$(cat "$share/gdir/moved.txt")" = move ] && [ ! -e "$share/tomove.txt" ] &&
        [ ! -e "$share/todelete.txt" ] && [ ! -e "$share/emptydir" ] &&
        [ "$(sha_of "$share/big.bin")" = "$big_guest" ]
}
result "the guest's files, dirs, symlinks, hard links, renames, modes, mtimes on the host ($LINE)" g_ok

echo later >"$share/later.txt"
chmod 604 "$share/later.txt"
touch -d @1100000000 "$share/later.txt"
mkdir "$share/laterdir"
ln -s later.txt "$share/laterlink"
ln "$share/later.txt" "$share/laterhard"
mv "$share/hostfile.txt" "$share/renamed.txt"
head -c 200000 /dev/urandom >"$share/hostbig.bin"
step hostlater
later_ok() {
    [ "$(field "$LINE" content)" = later ] && [ "$(field "$LINE" mode)" = 604 ] &&
        [ "$(field "$LINE" link)" = later.txt ] && [ "$(field "$LINE" dir)" = yes ] &&
        [ "$(field "$LINE" hard)" = yes ] && [ "$(field "$LINE" old)" = no ] &&
        [ "$(field "$LINE" new)" = hostcontent ] && [ "$(field "$LINE" mtime)" = 1100000000 ] &&
        [ "$(field "$LINE" bigsha)" = "$(sha_of "$share/hostbig.bin")" ] &&
        [ "$(field "$LINE" entries)" = 300 ]
}
result "changes made on the host while mounted are seen in the guest ($LINE)" later_ok

step escape
result "symlinks out of the share and .. reach nothing outside ($LINE)" [ "$(field "$LINE" leak)" = no ]

step ro
ro_ok() {
    [ "$(field "$LINE" read)" = read ] && [ "$(field "$LINE" create)" = no ] &&
        [ "$(field "$LINE" append)" = no ] && [ "$(field "$LINE" rm)" = no ] &&
        [ "$(field "$LINE" mkdir)" = no ] && [ "$(field "$LINE" chmod)" = no ] &&
        [ "$(field "$LINE" mv)" = no ]
}
result "the ro share reads and refuses every change ($LINE)" ro_ok
result "the ro share's directory is unchanged" \
    [ "$(cd "$ro" && ls -l --time-style=+%s | sha256sum)" = "$ro_before" ]
result "the file outside the share is untouched" \
    [ "$(cat "$out/secret.txt")" = "SECRET outside the share" ]

power_off 9p
