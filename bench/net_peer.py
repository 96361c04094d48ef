#!/usr/bin/env python3
"""The host's end of bench/net-bench.sh's TCP figures, timed on the host.

  net_peer.py sink PORT READY TIMEOUT      listen on 127.0.0.1:PORT (touch
                                           READY once bound), take one
                                           connection, read it to EOF
  net_peer.py source PORT BYTES TIMEOUT    connect to 127.0.0.1:PORT, send
                                           BYTES, shut down writing, wait for
                                           the peer's EOF

Prints "peer: bytes=N usec=T": sink from the connection's first byte to
EOF, source from connect to the peer's EOF (all data delivered). Exit 1
on a timeout or an error.
"""
import socket
import sys
import time

CHUNK = 1 << 16


def sink(port, ready, timeout):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    ls.settimeout(timeout)
    open(ready, "w").close()
    c, _ = ls.accept()
    c.settimeout(timeout)
    n, t0 = 0, None
    while True:
        b = c.recv(CHUNK)
        if t0 is None:
            t0 = time.monotonic()
        if not b:
            break
        n += len(b)
    return n, time.monotonic() - (t0 or time.monotonic())


def source(port, nbytes, timeout):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    c.settimeout(timeout)
    t0 = time.monotonic()
    buf = bytes(CHUNK)
    left = nbytes
    while left:
        left -= c.send(buf[: min(left, CHUNK)])
    c.shutdown(socket.SHUT_WR)
    while c.recv(CHUNK):
        pass
    return nbytes, time.monotonic() - t0


def main():
    mode, port, arg, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    try:
        n, secs = sink(port, arg, timeout) if mode == "sink" else source(port, int(arg), timeout)
    except OSError as e:
        print("peer: error %s" % e, flush=True)
        return 1
    print("peer: bytes=%d usec=%d" % (n, secs * 1e6), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
