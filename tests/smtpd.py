#!/usr/bin/python3
"""A real SMTP server for certrecall's tests (aiosmtpd, from Debian).

Stores every accepted message as DIR/NNNNNN.eml and appends
"NNNNNN<TAB>recipient<TAB>message-id" to DIR/index.tsv.  Faults are chosen
by the recipient's local part:

  t451-...   451 at RCPT the first time that address is seen, then accepted
  p550-...   550 at RCPT, always
  drop-...   the first time: the connection is closed after the message
             data arrives, without an answer (and it is not stored)
  slow-...   the answer to DATA comes after one second

With --reject-port, a second listener greets every client with
"421 4.3.2 try again later" and closes the connection.  With --auth
USER:PASSWORD, AUTH (PLAIN, LOGIN) is required before MAIL and the login
is appended to each index line.
Listens on 127.0.0.1 only (--host: another loopback address, as `make demo`
uses); stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import email.parser
import os
import signal
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Store:
    def __init__(self, directory):
        self.dir = directory
        self.count = 0
        self.seen_451 = set()
        self.seen_drop = set()
        self.lock = threading.Lock()
        os.makedirs(directory, exist_ok=True)

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("p550-"):
            return "550 5.1.1 mailbox unavailable: " + address
        if local.startswith("t451-") and address not in self.seen_451:
            self.seen_451.add(address)
            return "451 4.3.0 temporary local problem, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        local = rcpt.split("@", 1)[0].lower()
        if local.startswith("drop-") and rcpt not in self.seen_drop:
            self.seen_drop.add(rcpt)
            server.transport.close()
            return "421 4.4.2 connection dropped (never sent)"
        if local.startswith("slow-"):
            await asyncio.sleep(1)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        msg = email.parser.BytesHeaderParser().parsebytes(content)
        with self.lock:
            self.count += 1
            n = self.count
            name = os.path.join(self.dir, "%06d.eml" % n)
            with open(name + ".tmp", "wb") as f:
                f.write(content)
            # The mtime is when it was stored, on this process's clock:
            # the kernel stamps files with the real time, which under
            # faketime is not the time `date` gives the test (008).
            now = time.time()
            os.utime(name + ".tmp", (now, now))
            os.rename(name + ".tmp", name)
            login = getattr(session, "auth_data", None)
            login = getattr(login, "login", login)
            with open(os.path.join(self.dir, "index.tsv"), "a") as f:
                f.write("%06d\t%s\t%s%s\n" % (
                    n, ",".join(envelope.rcpt_tos),
                    msg.get("Message-ID", ""),
                    "\t" + login.decode() if login else ""))
        return "250 2.0.0 stored as %06d" % n


async def reject(reader, writer):
    writer.write(b"421 4.3.2 try again later\r\n")
    await writer.drain()
    writer.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--reject-port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--auth", help="USER:PASSWORD required before MAIL")
    args = ap.parse_args()

    kwargs = {"decode_data": False}
    if args.auth:
        user, password = args.auth.encode().split(b":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (getattr(data, "login", None) == user and
                  getattr(data, "password", None) == password)
            return AuthResult(success=ok, handled=False,
                              auth_data=user if ok else None)

        # Loopback only: AUTH without TLS is what a test relay can do.
        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=False)
    controller = Controller(Store(args.dir), hostname=args.host,
                            port=args.port, server_kwargs=kwargs)
    controller.start()
    stop = threading.Event()
    loop = None
    if args.reject_port:
        loop = asyncio.new_event_loop()

        def run_reject():
            asyncio.set_event_loop(loop)
            server = loop.run_until_complete(asyncio.start_server(
                reject, args.host, args.reject_port))
            loop.run_forever()
            server.close()

        threading.Thread(target=run_reject, daemon=True).start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with open(os.path.join(args.dir, "ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    stop.wait()
    controller.stop()
    if loop is not None:
        loop.call_soon_threadsafe(loop.stop)


if __name__ == "__main__":
    main()
