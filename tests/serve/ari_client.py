#!/usr/bin/env python3
"""An ACME-style ARI client (RFC 9773 4.3) with urllib only.

    ari_client.py URL NOW MAX_SLEEP

Polls URL.  On 429/503 it waits as Retry-After says (at most MAX_SLEEP
seconds, so a test stays short) and asks again; on 200 it reads the
suggested window, decides as a client would at time NOW (RFC 3339), and
prints one JSON line: polls, statuses, the window, the Retry-After it
was told and the next poll it schedules, and whether it renews now.
"""
import datetime
import json
import sys
import time
import urllib.error
import urllib.request


def rfc3339(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def main():
    url, now, max_sleep = sys.argv[1], rfc3339(sys.argv[2]), float(sys.argv[3])
    statuses, waited = [], 0.0
    for _ in range(10):
        req = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                status, body, ra = r.status, r.read(), r.headers["Retry-After"]
        except urllib.error.HTTPError as e:
            status, body, ra = e.code, e.read(), e.headers["Retry-After"]
        statuses.append(status)
        if status in (429, 503) and ra is not None:
            pause = min(float(ra), max_sleep)
            time.sleep(pause)
            waited += pause
            continue
        break
    out = {"polls": len(statuses), "statuses": statuses, "waited": waited}
    if status == 200:
        ans = json.loads(body)
        w = ans["suggestedWindow"]
        start, end = rfc3339(w["start"]), rfc3339(w["end"])
        out.update(start=w["start"], end=w["end"],
                   explanationURL=ans.get("explanationURL"),
                   retry_after=int(ra),
                   next_poll=(now + datetime.timedelta(seconds=int(ra)))
                   .strftime("%Y-%m-%dT%H:%M:%SZ"),
                   renew_now=now >= start)
    print(json.dumps(out, sort_keys=True))


main()
