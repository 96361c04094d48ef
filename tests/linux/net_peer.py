#!/usr/bin/env python3
"""The host's side of tests/linux/test_net.sh: the same commands and the
same byte patterns as the guest's progs/net.c, so each end checks every
byte it gets.

  net_peer.py udp-echo ADDR PORT            echo datagrams, until killed
  net_peer.py tcp-echo ADDR PORT            echo each connection to its EOF
  net_peer.py udp-ping ADDR PORT N SECS     N datagrams, each until echoed
  net_peer.py tcp-many ADDR PORT N BYTES SECS
                                            N connections at once, checked
"""
import selectors
import socket
import sys
import threading
import time

MAXDGRAM = 1400


def pat(seed, start, n):
    out = bytearray(n)
    for k in range(n):
        i = start + k
        x = ((i * 2654435761) & 0xffffffff) ^ ((seed * 40503 + 7) & 0xffffffff)
        x ^= x >> 13
        x = (x * 0x5bd1e995) & 0xffffffff
        out[k] = x >> 24
    return bytes(out)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_echo(addr, port):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        b, peer = s.recvfrom(65536)
        s.sendto(b, peer)


def echo_conn(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
        c.shutdown(socket.SHUT_WR)


def tcp_echo(addr, port):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1024)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo_conn, args=(c,), daemon=True).start()


def dgram(seq):
    n = 4 + (seq * 97) % (MAXDGRAM - 3)
    return seq.to_bytes(4, "little") + pat(seq, 4, n - 4)


def udp_ping(addr, port, n, secs):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.connect((addr, port))
    end = time.monotonic() + secs
    ok = 0
    for seq in range(n):
        want = dgram(seq)
        done = False
        while not done and time.monotonic() < end:
            s.send(want)
            s.settimeout(1)
            try:
                while not done:
                    done = s.recv(65536) == want
            except (socket.timeout, ConnectionRefusedError):
                pass
        ok += done
    print(f"net_peer: udp-ping ok={ok} of {n}")
    return ok == n


def tcp_many(addr, port, n, nbytes, secs):
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(n):
        c = socket.socket(family(addr), socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex((addr, port))
        st = {"i": i, "s": c, "out": pat(i + 1, 0, nbytes), "sent": 0, "got": bytearray(),
              "eof": False, "bad": False}
        conns.append(st)
        sel.register(c, selectors.EVENT_READ | selectors.EVENT_WRITE, st)
    end = time.monotonic() + secs
    live = n
    while live and time.monotonic() < end:
        for key, ev in sel.select(0.2):
            st = key.data
            c = st["s"]
            try:
                if ev & selectors.EVENT_WRITE and st["sent"] < nbytes:
                    st["sent"] += c.send(st["out"][st["sent"]:st["sent"] + 65536])
                    if st["sent"] == nbytes:
                        c.shutdown(socket.SHUT_WR)
                        sel.modify(c, selectors.EVENT_READ, st)
                if ev & selectors.EVENT_READ:
                    b = c.recv(65536)
                    if b:
                        st["got"] += b
                    else:
                        st["eof"] = True
            except BlockingIOError:
                continue
            except OSError:
                st["bad"] = True
            if st["eof"] or st["bad"]:
                sel.unregister(c)
                live -= 1
    ok = sum(1 for st in conns if st["eof"] and not st["bad"] and st["sent"] == nbytes
             and bytes(st["got"]) == st["out"])
    total = sum(len(st["got"]) for st in conns)
    print(f"net_peer: tcp-many ok={ok} of {n} bytes={total}")
    return ok == n


def main(a):
    if len(a) == 3 and a[0] == "udp-echo":
        udp_echo(a[1], int(a[2]))
    elif len(a) == 3 and a[0] == "tcp-echo":
        tcp_echo(a[1], int(a[2]))
    elif len(a) == 5 and a[0] == "udp-ping":
        return udp_ping(a[1], int(a[2]), int(a[3]), float(a[4]))
    elif len(a) == 6 and a[0] == "tcp-many":
        return tcp_many(a[1], int(a[2]), int(a[3]), int(a[4]), float(a[5]))
    else:
        print(__doc__, file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:]) else 1)
