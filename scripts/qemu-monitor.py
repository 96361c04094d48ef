#!/usr/bin/env python3
"""Send HMP commands to a QEMU monitor on a Unix socket; print the replies.

    python3 scripts/qemu-monitor.py SOCKET COMMAND...

Used by scripts/kvm-testbed.sh when the bed's console stops: it records
the stalled CPU's state (info registers, info lapic) and can send an NMI.
Exits 1 when the monitor cannot be reached.
"""
import socket
import sys
import time


def read_until_prompt(sock, limit):
    data = b""
    end = time.monotonic() + limit
    while not data.endswith(b"(qemu) "):
        sock.settimeout(max(0.1, end - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: qemu-monitor.py SOCKET COMMAND...")
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(sys.argv[1])
    except OSError as e:
        print(f"qemu-monitor: {sys.argv[1]}: {e}", file=sys.stderr)
        sys.exit(1)
    read_until_prompt(sock, 10)  # the banner
    for cmd in sys.argv[2:]:
        sock.sendall(cmd.encode() + b"\n")
        reply = read_until_prompt(sock, 30).decode(errors="replace")
        # HMP echoes the command with terminal escapes; keep the reply lines.
        lines = reply.replace("\r", "").split("\n")[1:]
        print(f"({cmd})")
        print("\n".join(line for line in lines if line != "(qemu) ").rstrip())
    sock.close()


if __name__ == "__main__":
    main()
