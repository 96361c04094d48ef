#!/usr/bin/env bash
# virtio-9p's relay form seen from Debian's kernel: an independent 9P
# server (Debian's diod) serves a host directory on a Unix socket and on a
# TCP port of 127.0.0.1; the guest mounts one share through each relay
# (path=SOCK and port=N) and the host checks what the guest wrote, the
# guest what the host wrote (sha256 both ways). Then diod is killed: the
# guest's file access fails but the VM goes on, and once diod is back a
# new mount (a new Tversion) works again. SKIP without diod.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/disk_lib.sh"
DISK_TEST="9p-relay"
guest_missing "$DISK_TEST" && exit 0
PATH=$PATH:/usr/sbin:/sbin
if ! command -v diod >/dev/null; then
    echo "SKIP: $DISK_TEST: diod (Debian's 9P server) is missing (scripts/install-deps.sh installs it)"
    exit 0
fi

work=$(mktemp -d)
DIOD_PID=""
trap 'vm_cleanup 2>/dev/null; [ -n "$DIOD_PID" ] && kill "$DIOD_PID" 2>/dev/null; rm -rf "$work"' EXIT
share=$work/share sock=$work/diod.sock
mkdir -p "$share"
head -c 300000 /dev/urandom >"$share/fromhost.bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# diod squashes every attach to one user: the test's own, or root when run as root.
start_diod() {
    local who=()
    [ "$(id -u)" = 0 ] && who=(-U root)
    diod -f -n -S "${who[@]}" -e "$share" -l "$sock" -l "127.0.0.1:$port" -L "$work/diod.log" ${DIOD_DEBUG:+-d 1} &
    DIOD_PID=$!
    local i
    for i in $(seq 100); do
        [ -S "$sock" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" \
            2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
if ! start_diod; then
    echo "FAIL: $DISK_TEST: diod did not start: $(tail -3 "$work/diod.log" 2>/dev/null)"
    exit 1
fi

# shellcheck disable=SC2054 # the commas belong to hyperkit's option syntax
vm_start initramfs-shell.img -A \
    -s "2,virtio-9p,path=$sock,tag=viasock" -s "3,virtio-9p,port=$port,tag=viatcp"
shell_ready

# gcmd NAME LIMIT COMMANDS: run COMMANDS in the guest; LINE gets its
# "r-NAME rc=N ..." line (the command's status, then what it printed).
gcmd() {
    local before
    before=$(wc -l <"$VM_LOG")
    vm_send "{ $3 ; } >/tmp/o 2>&1; echo r-$1 rc=\$? \$(tr '\n' ' ' </tmp/o)"
    LINE=$(wait_line "$2" "^r-$1 rc=[0-9]+" "$VM_LOG" "$((before + 1))")
}
mnt() { # TAG DIR
    echo "mkdir -p $2 && mount -t 9p -o trans=virtio,version=9p2000.L,aname=$share,access=client,msize=262144 $1 $2"
}

gcmd mount "$DISK_STEP_BASE" "$(mnt viasock /a) && $(mnt viatcp /b) && echo mounted"
result "both relayed shares mount ($LINE)" grep -q "mounted" <<<"$LINE"
if [ "$DISK_FAILED" != 0 ]; then
    echo "diod's log: $(tail -n 20 "$work/diod.log" | tr '\n' '|')"
    exit 1
fi

lim=$(step_limit 1)
gcmd read "$lim" "sha256sum /a/fromhost.bin | cut -c1-64; sha256sum /b/fromhost.bin | cut -c1-64"
want=$(sha_of "$share/fromhost.bin")
result "the guest reads the host's file through both relays" \
    [ "$LINE" = "r-read rc=0 $want $want" ]

gcmd write "$lim" "dd if=/dev/urandom of=/a/g1.bin bs=1000 count=250 2>/dev/null && sha256sum /a/g1.bin | cut -c1-64 && echo tcp >/b/g2.txt && mkdir /b/gdir && mv /b/g2.txt /b/gdir/g3.txt && echo ok"
gsha=$(printf '%s\n' "$LINE" | cut -d' ' -f3)
w_ok() {
    grep -q " ok" <<<"$LINE" && [ "$(sha_of "$share/g1.bin")" = "$gsha" ] &&
        [ "$(cat "$share/gdir/g3.txt")" = tcp ] && [ ! -e "$share/g2.txt" ]
}
result "files, a directory and a rename made by the guest are on the host ($LINE)" w_ok

echo later >"$share/later.txt"
gcmd later "$DISK_STEP_BASE" "cat /a/later.txt /b/later.txt"
result "a file the host makes later is seen through both" [ "$LINE" = "r-later rc=0 later later" ]

# The server dies: only the share fails.
kill "$DIOD_PID"
wait "$DIOD_PID" 2>/dev/null
DIOD_PID=""
gcmd dead "$DISK_STEP_BASE" "cat /a/fromhost.bin >/dev/null && echo still"
result "with diod gone, reading fails in the guest ($LINE)" \
    [ -n "$LINE" ] && ! grep -q still <<<"$LINE"
gcmd alive "$DISK_STEP_BASE" "echo vm-alive"
result "the VM goes on" grep -q "vm-alive" <<<"$LINE"

# diod again: a new mount is a new Tversion, which reconnects.
rm -f "$sock"
if ! start_diod; then
    result "diod restarts" false
fi
gcmd remount "$DISK_STEP_BASE" "umount -l /a; umount -l /b; $(mnt viasock /a) && $(mnt viatcp /b) && cat /a/later.txt /b/gdir/g3.txt"
result "after a remount both relays work again ($LINE)" [ "$LINE" = "r-remount rc=0 later tcp" ]

power_off 9p-relay
