#!/usr/bin/python3
"""Checks the messages tests/smtpd.py stored.

  mailcheck.py DIR DEADLINE      every message parses without defects, has
                                 exactly one To/Subject/Date/Message-ID,
                                 no Bcc/Cc, and states DEADLINE in its
                                 Subject and its text
  mailcheck.py --count DIR       per recipient: "address count", sorted
Prints "ok N" or one line per problem, exit 1 on problems.
"""
import email
import email.policy
import glob
import os
import sys


def texts(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            yield part.get_content()


def check(directory, deadline):
    problems = []
    files = sorted(glob.glob(os.path.join(directory, "*.eml")))
    for name in files:
        with open(name, "rb") as f:
            raw = f.read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        where = os.path.basename(name)
        defects = list(msg.defects)
        for part in msg.walk():
            defects += part.defects
        if defects:
            problems.append("%s: defects %r" % (where, defects))
        for h in ("To", "Subject", "Date", "Message-ID", "From"):
            if len(msg.get_all(h, [])) != 1:
                problems.append("%s: %d %s headers" %
                                (where, len(msg.get_all(h, [])), h))
        for h in ("Bcc", "Cc"):
            if msg.get_all(h):
                problems.append("%s: has a %s header" % (where, h))
        if not msg["Date"].endswith("+0000"):
            problems.append("%s: Date %s" % (where, msg["Date"]))
        if deadline not in str(msg["Subject"]):
            problems.append("%s: subject %r lacks %s" %
                            (where, str(msg["Subject"]), deadline))
        if not any(deadline in t for t in texts(msg)):
            problems.append("%s: body lacks %s" % (where, deadline))
        for line in raw.split(b"\r\n"):
            if len(line) > 998 or b"\n" in line or b"\r" in line:
                problems.append("%s: bad line ending or length" % where)
                break
    for p in problems:
        print(p)
    if not problems:
        print("ok %d" % len(files))
    return 1 if problems else 0


def count(directory):
    seen = {}
    with open(os.path.join(directory, "index.tsv")) as f:
        for line in f:
            n, rcpt, mid = line.rstrip("\n").split("\t")
            seen.setdefault(rcpt, []).append((n, mid))
    for rcpt in sorted(seen):
        print(rcpt, len(seen[rcpt]), " ".join(n for n, _ in seen[rcpt]))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--count":
        sys.exit(count(sys.argv[2]))
    sys.exit(check(sys.argv[1], sys.argv[2]))
