#!/usr/bin/env python3
"""Hostile STARTTLS peers for the scanner tests.

    starttls_hostile.py --dir DIR PROTO:MODE:PORT ...

Listens on 0.0.0.0:PORT (inside the test's network namespace) for each
spec and behaves badly in one way:

    silent   accepts and never says anything
    flood    a greeting of 500 lines (pop3: one line of 20,000 bytes;
             xmpp, ldap: 500 elements, messages)
    refuse   a proper dialogue up to STARTTLS, then "no" (454, NO, -ERR,
             534, <failure/>, LDAP result 2)
    drop     a proper dialogue up to STARTTLS, then closes the connection

PROTO is smtp, imap, pop3, ftp, xmpp or ldap.  Writes DIR/ready once every
port listens.
"""
import argparse
import asyncio
import os

GREETING = {
    "smtp": b"220 hostile.test ESMTP\r\n",
    "imap": b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hostile\r\n",
    "pop3": b"+OK hostile\r\n",
    "ftp": b"220 hostile\r\n",
}
FLOOD_LINE = {
    "smtp": b"220-hostile greeting line\r\n",
    "imap": b"* OK hostile\r\n* CAPABILITY IMAP4rev1\r\n",
    "pop3": b"+OK a greeting line that never ends " + b"x" * 4,
    "ftp": b"220-hostile greeting line\r\n",
    "xmpp": b"<x/>" * 64,
    "ldap": b"\x30\x0c\x02\x01\x05\x61\x07\x0a\x01\x00\x04\x00\x04\x00",
}
REFUSAL = {
    "smtp": b"454 4.7.0 TLS not available due to local problem\r\n",
    "imap": b". NO STARTTLS unavailable\r\n",
    "pop3": b"-ERR TLS unavailable\r\n",
    "ftp": b"534 TLS not available\r\n",
    "xmpp": b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    "ldap": b"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x02\x04\x00\x04\x00",
}
XMPP_FEATURES = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' from='hostile.test' "
    b"id='h' version='1.0'><stream:features><starttls "
    b"xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
)


async def lines_until(reader, word):
    """Reads client lines until one contains word; False at EOF."""
    while True:
        line = await reader.readline()
        if not line:
            return False
        if word in line.upper():
            return True


async def dialogue(proto, reader, writer):
    """The proper part: up to and including the client's STARTTLS."""
    if proto == "xmpp":
        await reader.readuntil(b">")  # <?xml ...?>
        await reader.readuntil(b">")  # <stream:stream ...>
        writer.write(XMPP_FEATURES)
        await writer.drain()
        await reader.readuntil(b"/>")
        return True
    if proto == "ldap":
        await reader.readexactly(31)
        return True
    writer.write(GREETING[proto])
    await writer.drain()
    if proto == "smtp":
        if not await lines_until(reader, b"EHLO"):
            return False
        writer.write(b"250-hostile.test\r\n250 STARTTLS\r\n")
        await writer.drain()
    word = {"smtp": b"STARTTLS", "imap": b"STARTTLS", "pop3": b"STLS",
            "ftp": b"AUTH"}[proto]
    return await lines_until(reader, word)


def handler(proto, mode):
    async def handle(reader, writer):
        try:
            if mode == "silent":
                await reader.read()  # until the client gives up
            elif mode == "flood":
                if proto == "xmpp":
                    await reader.readuntil(b">")
                    await reader.readuntil(b">")
                    writer.write(b"<stream:stream>")
                if proto == "imap":
                    writer.write(b"* OK hi\r\n")
                    await writer.drain()
                    await reader.readline()
                writer.write(FLOOD_LINE[proto] * 500)
                await writer.drain()
                await reader.read()
            elif await dialogue(proto, reader, writer):
                if mode == "refuse":
                    writer.write(REFUSAL[proto])
                    await writer.drain()
                    await reader.read()
                # drop: close at once
        except (ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
    return handle


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()
    servers = []
    for spec in args.specs:
        proto, mode, port = spec.split(":")
        servers.append(await asyncio.start_server(
            handler(proto, mode), "0.0.0.0", int(port), backlog=4096))
    with open(os.path.join(args.dir, "ready"), "w") as f:
        f.write("ready\n")
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())
