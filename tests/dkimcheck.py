#!/usr/bin/python3
"""Verifies DKIM signatures with python3-dkim (an implementation
independent of the signer), the public keys coming from a file instead of
DNS:

  dkimcheck.py KEYS FILE...   prints "ok N" when every FILE verifies,
                              else "FAIL FILE" lines; exit 1 on a failure

KEYS holds lines "SELECTOR._domainkey.DOMAIN TXT-RECORD".
"""
import sys

import dkim


def main():
    records = {}
    with open(sys.argv[1]) as f:
        for line in f:
            name, _, txt = line.strip().partition(" ")
            if name:
                records[name.rstrip(".") + "."] = txt.encode()

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return records.get(name.rstrip(".") + ".")

    bad = 0
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            msg = f.read()
        if not dkim.verify(msg, dnsfunc=dnsfunc):
            print("FAIL", path)
            bad += 1
    if bad == 0:
        print("ok", len(sys.argv) - 2)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
