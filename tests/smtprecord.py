#!/usr/bin/env python3
"""A loopback SMTP relay that records how a client's bytes arrive.

For the notices' SMTP client (src/net/smtp.c) it shows what no stock
server reports:

- with PIPELINING offered, whether each message's MAIL FROM came in the
  same read as the previous message's final "." (one round trip a
  message, RFC 2920 3.1);
- without it (--no-pipelining), every read that held more than the
  command awaiting a reply: a client that pipelines unasked.

With --drop-after N the relay takes message N and drops the connection
without answering it.  RCPT TO an address with "refuse" in it gets 550, so DATA then gets 554
and the transaction stays open until RSET.  Lines: DIR/record.tsv has
one per message taken ("conn  n  with_prev  recipient", with_prev "-"
for the first message of a connection or one after a refused
envelope); DIR/violations.tsv one per unasked pipelining; each message
is written to DIR/<n>.eml, unstuffed.  DIR/ready appears when it
listens.
"""
import argparse
import asyncio
import itertools
import os

CONN = itertools.count(1)
MSG = itertools.count(1)


class Relay(asyncio.Protocol):
    def __init__(self, args):
        self.args = args

    def connection_made(self, transport):
        self.t = transport
        self.conn = next(CONN)
        self.buf = b""
        self.reads = 0
        self.in_data = False
        self.lines = []
        self.rcpt_ok = False
        self.mail_ok = False
        self.last_end = None  # the read that held the last final "."
        self.mail_read = None
        self.prev_refused = True  # the first message has no predecessor
        self.t.write(b"220 recorder ESMTP\r\n")

    def reply(self, text):
        self.t.write(text.encode() + b"\r\n")

    def data_received(self, chunk):
        if self.t.is_closing():
            return
        self.reads += 1
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if self.in_data:
                if not self.data_line(line):
                    continue
            else:
                self.command(line)
            if self.args.no_pipelining and self.buf:
                # more came before the reply to what was just read
                with open(os.path.join(self.args.dir, "violations.tsv"), "a") as f:
                    f.write("%d\t%r\t%r\n" % (self.conn, line[:20], self.buf[:40]))

    def data_line(self, line):
        """A line of data: True when it was the final "."."""
        if line == b".":
            self.in_data = False
            n = next(MSG)
            with open(os.path.join(self.args.dir, "%d.eml" % n), "wb") as f:
                f.write(b"".join(l + b"\r\n" for l in self.lines))
            with_prev = "-" if self.prev_refused else ("1" if self.mail_read == self.last_end else "0")
            with open(os.path.join(self.args.dir, "record.tsv"), "a") as f:
                f.write("%d\t%d\t%s\t%s\n" % (self.conn, n, with_prev, self.rcpt))
            self.last_end = self.reads
            self.prev_refused = False
            self.lines = []
            self.mail_ok = self.rcpt_ok = False
            if n == self.args.drop_after:
                # taken, but the client never hears so
                self.buf = b""
                self.t.abort()
                return True
            self.reply("250 2.0.0 taken as %d" % n)
            return True
        if line.startswith(b"."):
            line = line[1:]
        self.lines.append(line)
        return False

    def command(self, line):
        verb = line[:4].upper()
        if verb in (b"EHLO",):
            ext = [] if self.args.no_pipelining else ["PIPELINING"]
            ext.append("SIZE 52428800")
            self.reply("\r\n".join(["250-recorder"] + ["250-" + e for e in ext[:-1]] + ["250 " + ext[-1]]))
        elif verb == b"HELO":
            self.reply("250 recorder")
        elif verb == b"MAIL":
            if self.mail_ok:
                self.reply("503 5.5.1 nested MAIL command")
                return
            self.mail_ok = True
            self.mail_read = self.reads
            self.reply("250 2.1.0 ok")
        elif verb == b"RCPT":
            addr = line.split(b":", 1)[1].strip().split(b" ")[0].strip(b"<>").decode()
            if not self.mail_ok:
                self.reply("503 5.5.1 need MAIL")
            elif "refuse" in addr:
                self.prev_refused = True
                self.reply("550 5.1.1 <%s> refused" % addr)
            else:
                self.rcpt_ok = True
                self.rcpt = addr
                self.reply("250 2.1.5 ok")
        elif verb == b"DATA":
            if not self.rcpt_ok:
                self.reply("554 5.5.1 no valid recipients")
                if self.mail_ok:
                    self.prev_refused = True
                return
            self.in_data = True
            self.reply("354 go ahead")
        elif verb == b"RSET":
            self.mail_ok = self.rcpt_ok = False
            self.reply("250 2.0.0 reset")
        elif verb == b"QUIT":
            self.reply("221 2.0.0 bye")
            self.t.close()
        elif verb == b"NOOP":
            self.reply("250 2.0.0 ok")
        else:
            self.reply("502 5.5.2 unknown command")


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--no-pipelining", action="store_true")
    p.add_argument("--drop-after", type=int, default=0,
                   help="drop the connection, unanswered, after taking message N")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Relay(args), "127.0.0.1", args.port)
    open(os.path.join(args.dir, "ready"), "w").close()
    async with server:
        await server.serve_forever()


asyncio.run(main())
