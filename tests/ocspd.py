#!/usr/bin/python3
"""An OCSP responder and CRL server for certrecall's tests, on 127.0.0.1.

    ocspd.py --port PORT --dir DIR [--signer NAME] [--host ADDRESS]
             [--ndays DAYS]

POST /ocsp is answered by `openssl ocsp` itself (real signed responses from
DIR/index.txt, the CA DIR/ca.pem, signed by DIR/NAME.pem with DIR/NAME.key,
default "ca"); GET /FILE serves DIR/FILE (CRLs).  DIR/ready.PORT appears once
listening.  --host: another loopback address (`make demo` uses its own).
--ndays: nextUpdate this many days after thisUpdate (default 7); 0 omits
nextUpdate, as `openssl ocsp` does without -ndays/-nmin.
SIGTERM stops it.
"""
import argparse
import http.server
import os
import subprocess
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--signer", default="ca")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--ndays", type=int, default=7)
    args = ap.parse_args()
    d = args.dir

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            with open(os.path.join(d, "ocspd.log"), "a") as f:
                f.write(fmt % a + "\n")

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            req = self.rfile.read(min(n, 65536))
            with tempfile.TemporaryDirectory() as t:
                rq, rs = os.path.join(t, "req"), os.path.join(t, "resp")
                with open(rq, "wb") as f:
                    f.write(req)
                subprocess.run(
                    ["openssl", "ocsp", "-index", os.path.join(d, "index.txt"),
                     "-CA", os.path.join(d, "ca.pem"),
                     "-rsigner", os.path.join(d, args.signer + ".pem"),
                     "-rkey", os.path.join(d, args.signer + ".key"),
                     "-reqin", rq, "-respout", rs]
                    + (["-ndays", str(args.ndays)] if args.ndays else []),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                body = open(rs, "rb").read() if os.path.exists(rs) else b""
            self.send_response(200 if body else 500)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = os.path.join(d, os.path.basename(self.path))
            if not os.path.isfile(path):
                self.send_error(404)
                return
            body = open(path, "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    with open(os.path.join(d, "ready.%d" % args.port), "w") as f:
        f.write("%d\n" % os.getpid())
    srv.serve_forever()


if __name__ == "__main__":
    main()
