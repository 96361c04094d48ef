# The guest side of tests/linux/test_9p.sh: sh p9-guest.sh STEP. Prints
# "p9: STEP key=value ..." lines the host checks. /mnt is the rw share,
# /ro the read-only one (where this script lives).
step=$1
say() { echo "p9: $step $*"; }
yes_no() { if "$@" 2>/dev/null; then echo yes; else echo no; fi; }
case $step in
mount)
    mkdir -p /mnt
    a=$(yes_no mount -t 9p -o trans=virtio,version=9p2000.L share /mnt)
    say "rw=$a" ;;
hostmade)
    say "content=$(cat /mnt/hostfile.txt) mode=$(stat -c %a /mnt/hostfile.txt)" \
        "mtime=$(stat -c %Y /mnt/hostfile.txt) link=$(readlink /mnt/hostlink)" \
        "viaLink=$(cat /mnt/hostlink) dir=$(yes_no test -d /mnt/hostdir)" \
        "nested=$(cat /mnt/hostdir/inner.txt)" \
        "hard=$(yes_no test "$(stat -c %i /mnt/hostfile.txt)" = "$(stat -c %i /mnt/hosthard)")" ;;
guestmake)
    echo "made in the guest" >/mnt/gfile
    mkdir /mnt/gdir && echo nested >/mnt/gdir/n.txt
    ln -s gfile /mnt/glink
    ln /mnt/gfile /mnt/ghard
    mv /mnt/tomove.txt /mnt/gdir/moved.txt
    chmod 600 /mnt/gfile
    touch -d @1200000000 /mnt/gfile
    rm /mnt/todelete.txt
    rmdir /mnt/emptydir
    head -c 300000 /dev/urandom >/mnt/big.bin
    say "big=$(sha256sum /mnt/big.bin | cut -d' ' -f1) done=1" ;;
hostlater)
    say "content=$(cat /mnt/later.txt) mode=$(stat -c %a /mnt/later.txt)" \
        "link=$(readlink /mnt/laterlink) dir=$(yes_no test -d /mnt/laterdir)" \
        "hard=$(yes_no test "$(stat -c %i /mnt/later.txt)" = "$(stat -c %i /mnt/laterhard)")" \
        "old=$(yes_no test -e /mnt/hostfile.txt) new=$(cat /mnt/renamed.txt)" \
        "mtime=$(stat -c %Y /mnt/later.txt) bigsha=$(sha256sum /mnt/hostbig.bin | cut -d' ' -f1)" \
        "entries=$(ls /mnt/many | wc -l)" ;;
escape)
    # Symlinks made on the host that point out of the share resolve in
    # the guest's own namespace: nothing of the host's outside is read.
    r1=$(cat /mnt/out_abs/secret.txt 2>/dev/null)
    r2=$(cat /mnt/out_rel/secret.txt 2>/dev/null)
    r3=$(cat /mnt/../outside/secret.txt 2>/dev/null)
    r4=$(cat /mnt/hostdir/../../outside/secret.txt 2>/dev/null)
    r5=$(cat /mnt/out_file 2>/dev/null)
    all="$r1$r2$r3$r4$r5"
    case $all in *SECRET*) leak=yes ;; *) leak=no ;; esac
    say "leak=$leak" ;;
ro)
    mkdir -p /ro
    m=$(yes_no mount -t 9p -o trans=virtio,version=9p2000.L rosh /ro)
    say "mounted=$m read=$(cat /ro/ro.txt) create=$(yes_no sh -c 'echo x >/ro/new.txt')" \
        "append=$(yes_no sh -c 'echo x >>/ro/ro.txt') rm=$(yes_no rm -f /ro/ro.txt)" \
        "mkdir=$(yes_no mkdir /ro/d) chmod=$(yes_no chmod 600 /ro/ro.txt)" \
        "mv=$(yes_no mv /ro/ro.txt /ro/ro2.txt)" ;;
esac
echo "p9: $step end"
