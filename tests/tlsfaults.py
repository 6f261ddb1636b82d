#!/usr/bin/python3
"""Misbehaving TLS peers for the scanner tests (stdlib only).

    tlsfaults.py --dir DIR --port PORT

Listens on 127.0.x.y:PORT, one fault per address:

    127.0.1.1  tarpit   accepts, never sends a byte, holds the connection
    127.0.1.2  garbage  sends non-TLS bytes (an HTTP error), then closes
    127.0.1.3  reset    resets the connection on accept (SO_LINGER 0)
    127.0.1.4  trickle  sends a TLS record header and body one byte a second
    127.0.0.1  watch    like tarpit: used to prove a filtered address was
                        never connected to

Every accepted connection appends "KIND" to DIR/accepts.log (flushed),
so a test can count them; DIR/ready appears once listening.  SIGTERM
stops it.
"""
import argparse
import os
import selectors
import signal
import socket
import struct
import sys
import time

FAULTS = {
    "tarpit": "127.0.1.1",
    "garbage": "127.0.1.2",
    "reset": "127.0.1.3",
    "trickle": "127.0.1.4",
    "watch": "127.0.0.1",
}
# A handshake record announcing 16 KiB: a client keeps waiting for more.
TRICKLE = b"\x16\x03\x03\x40\x00" + b"\x02" * 64
GARBAGE = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4
MAX_HELD = 20000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    log = open(os.path.join(args.dir, "accepts.log"), "a", buffering=1)
    held = {}  # socket -> (kind, next send time, bytes sent)
    for kind, addr in FAULTS.items():
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, args.port))
        ls.listen(4096)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, ("listen", kind))

    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    open(os.path.join(args.dir, "ready"), "w").close()

    def drop(s):
        held.pop(s, None)
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()

    while running:
        for key, _ in sel.select(timeout=0.2):
            what, kind = key.data
            if what == "listen":
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                log.write(kind + "\n")
                if kind == "reset":
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                    c.close()
                    continue
                if kind == "garbage":
                    try:
                        c.sendall(GARBAGE)
                    except OSError:
                        pass
                    c.close()
                    continue
                if len(held) >= MAX_HELD:
                    c.close()
                    continue
                c.setblocking(False)
                held[c] = (kind, time.monotonic(), 0)
                sel.register(c, selectors.EVENT_READ, ("conn", kind))
            else:
                # The client spoke (ClientHello) or left: read and drop
                # what it says; close when it closes.
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    drop(s)
        now = time.monotonic()
        for s, (kind, due, sent) in list(held.items()):
            if kind != "trickle" or now < due:
                continue
            try:
                s.send(TRICKLE[sent % len(TRICKLE):][:1])
            except OSError:
                drop(s)
                continue
            held[s] = (kind, now + 1.0, sent + 1)
    for s in list(held):
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
