#!/usr/bin/env python3
"""A small vpnkit-protocol server for test_net_vpnkit.sh.

vpnkit_peer.py SOCKET TAP MAC STATUS [MTU]

Listens on the Unix socket SOCKET, takes one connection and checks its
handshake as vpnkit would read it (init: "VMN3T", little-endian version
22, 40-byte commit; then the 41-byte ethernet command with a 36-character
uuid); answers with its own init and a vif (MTU, 1500 unless given; max
packet size 1550; MAC). Then it bridges the length-prefixed Ethernet
frames to the tap interface TAP (which must exist; the test makes it in
its namespace), checking each length hyperkit sends (14 to MTU + 18: the
guest keeps to the MTU it was told). STATUS gets "uuid=U" after
the handshake and "bad: WHY" on a protocol violation (then it exits 1).
SIGUSR1 makes it hang up (a vpnkit that goes away); at the end STATUS gets
the frame counts.
"""
import fcntl
import os
import select
import signal
import socket
import struct
import sys

MAX_PACKET = 1550
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000


class HangUp(Exception):
    pass


def hang_up(_sig, _frame):
    raise HangUp()


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        part = conn.recv(n - len(buf))
        if not part:
            raise EOFError("hyperkit closed the connection")
        buf += part
    return buf


def fail(status, why):
    with open(status, "a") as f:
        f.write("bad: %s\n" % why)
    print("vpnkit_peer: " + why, file=sys.stderr)
    sys.exit(1)


def handshake(conn, mac, mtu, status):
    magic, version, _commit = struct.unpack("<5sI40s", recv_exact(conn, 49))
    if magic != b"VMN3T" or version != 22:
        fail(status, "init magic %r version %d" % (magic, version))
    conn.sendall(struct.pack("<5sI40s", b"VMN3T", 22, b"0" * 40))
    cmd = recv_exact(conn, 41)
    uuid = cmd[1:37].decode("ascii", "replace")
    if cmd[0] != 1 or len(uuid) != 36 or uuid.count("-") != 4:
        fail(status, "command %d uuid %r" % (cmd[0], uuid))
    vif = struct.pack("<BHH6s", 1, mtu, MAX_PACKET, mac)
    conn.sendall(vif + b"\0" * (258 - len(vif)))
    with open(status, "a") as f:
        f.write("uuid=%s\n" % uuid)


class Counts:
    frames_in = frames_out = 0


def bridge(conn, tap, status, mtu):
    counts = Counts()
    try:
        relay(conn, tap, status, counts, mtu)
    except HangUp:
        pass
    conn.close()
    with open(status, "a") as f:
        f.write("frames from hyperkit=%d to hyperkit=%d\n" % (counts.frames_in, counts.frames_out))


def relay(conn, tap, status, counts, mtu):
    pending = b""
    while True:
        ready, _, _ = select.select([conn, tap], [], [])
        if conn in ready:
            data = conn.recv(65536)
            if not data:
                return
            pending += data
            while len(pending) >= 2:
                (n,) = struct.unpack("<H", pending[:2])
                if n < 14 or n > min(MAX_PACKET, mtu + 18):
                    fail(status, "frame of %d bytes from hyperkit" % n)
                if len(pending) < 2 + n:
                    break
                os.write(tap, pending[2:2 + n])
                pending = pending[2 + n:]
                counts.frames_in += 1
        if tap in ready:
            frame = os.read(tap, 65536)
            if len(frame) <= MAX_PACKET:     # the guest's MTU holds the rest
                conn.sendall(struct.pack("<H", len(frame)) + frame)
                counts.frames_out += 1


def main():
    path, tapname, mac, status = sys.argv[1:5]
    mtu = int(sys.argv[5]) if len(sys.argv) > 5 else 1500
    mac = bytes(int(x, 16) for x in mac.split(":"))
    tap = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", tapname.encode(), IFF_TAP | IFF_NO_PI))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path + ".tmp")
    srv.listen(1)
    os.rename(path + ".tmp", path)      # appears only once it accepts
    signal.signal(signal.SIGUSR1, hang_up)
    conn, _ = srv.accept()
    try:
        handshake(conn, mac, mtu, status)
        bridge(conn, tap, status, mtu)
    except EOFError as e:
        fail(status, str(e))


main()
