#!/usr/bin/env python3
"""A TCP relay on loopback that adds a one-way delay in each direction,
so that a round trip costs --rtt-ms: the latency of a relay across a
network, which loopback lacks (and sch_netem is not on every kernel).
Bytes keep their order; each read is passed on whole after the delay.

    delayproxy.py --listen PORT --to PORT --rtt-ms 10
"""
import argparse
import asyncio
import collections
import time


async def pump(reader, writer, delay):
    queue = collections.deque()
    ready = asyncio.Event()
    done = False

    async def deliver():
        while True:
            while not queue:
                ready.clear()
                if done:
                    writer.close()
                    return
                await ready.wait()
            when, chunk = queue.popleft()
            wait = when - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()

    task = asyncio.ensure_future(deliver())
    try:
        while True:
            chunk = await reader.read(262144)
            if not chunk:
                break
            queue.append((time.monotonic() + delay, chunk))
            ready.set()
    except ConnectionError:
        pass
    done = True
    ready.set()
    try:
        await task
    except ConnectionError:
        pass


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--to", type=int, required=True)
    p.add_argument("--rtt-ms", type=float, required=True)
    args = p.parse_args()
    delay = args.rtt_ms / 2000.0

    async def client(reader, writer):
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", args.to)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pump(reader, up_w, delay), pump(up_r, writer, delay))

    server = await asyncio.start_server(client, "127.0.0.1", args.listen, backlog=1024)
    async with server:
        await server.serve_forever()


asyncio.run(main())
