#!/usr/bin/python3
"""Checks the messages tests/smtpd.py stored.

  mailcheck.py DIR DEADLINE      every message parses without defects, has
                                 exactly one To/Subject/Date/Message-ID,
                                 no Bcc/Cc, and states DEADLINE in its
                                 Subject and its text
  mailcheck.py --count DIR       per recipient: "address count", sorted
  mailcheck.py --duplicates DIR KILL...
                                 every recipient stored more than once, with
                                 the cause: its first copy was accepted by
                                 the server before (or as) a worker was
                                 killed at one of the KILL times (epoch
                                 seconds), and a later copy after it; a
                                 duplicate no kill explains is a problem
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


def duplicates(directory, kills):
    # A message in flight when the worker died may be stored a moment
    # after the kill; a resent copy comes a lease later.
    in_flight = 1.0
    seen = {}
    with open(os.path.join(directory, "index.tsv")) as f:
        for line in f:
            n, rcpt, _ = line.rstrip("\n").split("\t")
            when = os.stat(os.path.join(directory, n + ".eml")).st_mtime
            seen.setdefault(rcpt, []).append((when, n))
    problems = 0
    for rcpt in sorted(seen):
        copies = sorted(seen[rcpt])
        if len(copies) < 2:
            continue
        first, later = copies[0], copies[1:]
        kill = next((k for k in sorted(kills)
                     if first[0] <= k + in_flight), None)
        if kill is None or any(c[0] <= kill for c in later):
            problems += 1
            print("unexplained duplicate: %s stored as %s" %
                  (rcpt, ", ".join("%s at %.3f" % (n, t) for t, n in copies)))
            continue
        gap = kill - first[0]
        if gap >= 0:
            why = ("accepted %.3f s before the kill at %.3f, its outcome "
                   "still in the killed worker's uncommitted group" %
                   (gap, kill))
        else:
            why = ("accepted %.3f s after the kill at %.3f: in flight "
                   "when the worker died" % (-gap, kill))
        print("duplicate: %s: %s %s; %s sent again by a later run once "
              "the lease ended" %
              (rcpt, first[1], why, ", ".join(n for _, n in later)))
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1] == "--count":
        sys.exit(count(sys.argv[2]))
    if sys.argv[1] == "--duplicates":
        sys.exit(duplicates(sys.argv[2], [float(k) for k in sys.argv[3:]]))
    sys.exit(check(sys.argv[1], sys.argv[2]))
