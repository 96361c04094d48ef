#!/usr/bin/env python3
"""The host's end of tests/linux/test_vsock.sh: the same exchange as the
guest's tests/linux/progs/vsock.c (see there), over hyperkit's Unix sockets.

  vsock_peer.py listen SOCK BYTES N          bind SOCK (DIR/00000002.<port>),
                                             serve N connections at once
  vsock_peer.py connect SOCK BYTES N [LINE]  N connections at once to SOCK,
                                             each writing LINE + "\\n" first
                                             (DIR/connect's "cid.port")

Each connection sends a header and BYTES of its seed's pattern (seeds
1001...), shuts down writing, and checks what the guest sends until EOF:
the sha256 of what came must be that of the stream the header names.
With VSOCK_PEER_STALL=I, connection I neither reads nor sends until
every other connection is done ("peer: others done" then): a peer that
stops reading must block only its own connection.
Prints "peer: conn I sent=N got=N want=N sha=ok|bad" per connection,
then "peer: done conns=N ok=K usec=T", and "peer: listening" once bound.
"""
import functools
import hashlib
import os
import socket
import struct
import sys
import threading
import time

MAGIC = 0x53564B48
PERIOD = 65521
CHUNK = 1 << 20


@functools.lru_cache(maxsize=None)
def pattern(seed):
    """Computed once per seed: in the kvm test bed this Python runs under
    QEMU's emulator, where 64 connections' patterns took minutes."""
    x = (seed * 2654435761 + 12345) & 0xFFFFFFFF
    p = bytearray(PERIOD)
    for i in range(PERIOD):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        p[i] = (x >> 16) & 0xFF
    return bytes(p)


def tiled(p):
    """The pattern repeated past CHUNK + PERIOD bytes: any CHUNK-long
    window starting below PERIOD is a slice."""
    return p * ((CHUNK + 2 * PERIOD) // PERIOD)


def stream_sha(seed, nbytes):
    t, h, off = tiled(pattern(seed)), hashlib.sha256(), 0
    while off < nbytes:
        k = min(CHUNK, nbytes - off)
        h.update(t[off % PERIOD:off % PERIOD + k])
        off += k
    return h.hexdigest()


def sender(sock, seed, nbytes, out):
    t, off = tiled(pattern(seed)), 0
    try:
        sock.sendall(struct.pack("<IIQ", MAGIC, seed, nbytes))
        off = 0
        while off < nbytes:
            k = min(CHUNK, nbytes - off)
            sock.sendall(t[off % PERIOD:off % PERIOD + k])
            off += k
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        print(f"peer: send error {e}", flush=True)
    out["sent"] = off


def exchange(sock, idx, nbytes, results, lock, release=None):
    info = {}
    if release:
        release.wait()
    th = threading.Thread(target=sender, args=(sock, 1001 + idx, nbytes, info))
    th.start()
    hdr, h, got = b"", hashlib.sha256(), 0
    try:
        while True:
            b = sock.recv(CHUNK)
            if not b:
                break
            if len(hdr) < 16:
                take = 16 - len(hdr)
                hdr += b[:take]
                b = b[take:]
            h.update(b)
            got += len(b)
    except OSError as e:
        print(f"peer: conn {idx} recv error {e}", flush=True)
    th.join()
    sock.close()
    ok, want = False, -1
    if len(hdr) == 16:
        magic, seed, want = struct.unpack("<IIQ", hdr)
        ok = magic == MAGIC and got == want and h.hexdigest() == stream_sha(seed, want)
    with lock:
        results.append(ok)
        print(f"peer: conn {idx} sent={info.get('sent', 0)} got={got} want={want} "
              f"sha={'ok' if ok else 'bad'} {h.hexdigest()}", flush=True)


def main():
    mode, path, nbytes, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    line = sys.argv[5] if len(sys.argv) > 5 else None
    results, lock, threads = [], threading.Lock(), []
    stall = int(os.environ.get("VSOCK_PEER_STALL", "-1"))
    release = threading.Event()
    t0 = None
    if mode == "listen":
        if os.path.exists(path):
            os.unlink(path)
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(128)
        print("peer: listening", flush=True)
        for i in range(n):
            s, _ = ls.accept()
            t0 = t0 or time.monotonic()
            th = threading.Thread(target=exchange, args=(s, i, nbytes, results, lock))
            th.start()
            threads.append(th)
        ls.close()
        os.unlink(path)
    else:
        t0 = time.monotonic()
        for i in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            if line:
                s.sendall((line + "\n").encode())
            th = threading.Thread(target=exchange, args=(s, i, nbytes, results, lock,
                                                         release if i == stall else None))
            th.start()
            threads.append(th)
    for i, th in enumerate(threads):
        if i != stall:
            th.join()
    if 0 <= stall < len(threads):
        print(f"peer: others done ok={sum(results)} while conn {stall} stalled", flush=True)
        release.set()
        threads[stall].join()
    usec = int((time.monotonic() - t0) * 1e6)
    print(f"peer: done conns={n} ok={sum(results)} usec={usec}", flush=True)


if __name__ == "__main__":
    main()
