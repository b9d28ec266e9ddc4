#!/usr/bin/env python3
"""Slowloris against `warden serve`: N connections
trickle a request head one byte per second for SECONDS while two real
clients, one from 127.0.0.1 (the attackers' address) and one from 127.0.0.2,
send a moderation request every 0.5 s. Starts its own server on a free
loopback port; every loop is bounded.

    python3 bench/serve_slowloris.py [WARDEN] [N] [SECONDS] [-- serve flags]
    python3 bench/serve_slowloris.py build/warden 1100 20

Prints how many slow connections the server closed (and when) and, per real
client, answers ok / failed with p50 and max latency."""
import asyncio, collections, os, resource, statistics, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "serve"))
from wardenserve import WardenServe

args = sys.argv[1:]
extra = args[args.index("--") + 1:] if "--" in args else []
args = args[:args.index("--")] if "--" in args else args
WARDEN = args[0] if args else "build/warden"
N = int(args[1]) if len(args) > 1 else 1100
DUR = float(args[2]) if len(args) > 2 else 20
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, N + 1000)), hard))
BODY = b'{"input":"How do I bake sourdough bread with a crispy crust at home?"}'
REQ = (b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
       % len(BODY) + BODY)
res = collections.Counter()
closed_at = []
lat = collections.defaultdict(list)


async def loris(port, t0, stop_at):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    except Exception:
        res["loris-connect-failed"] += 1
        return
    data = b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 1000
    i = 0
    try:
        while time.time() < stop_at:
            w.write(data[i:i + 1])
            i += 1
            await w.drain()
            try:
                got = await asyncio.wait_for(r.read(4096), 1)
                if got is not None:
                    closed_at.append(time.time() - t0)
                    res["loris-closed-by-server"] += 1
                    return
            except asyncio.TimeoutError:
                pass
        res["loris-alive-at-end"] += 1
    except Exception:
        closed_at.append(time.time() - t0)
        res["loris-closed-by-server"] += 1
    finally:
        w.close()


async def probe(port, src, stop_at):
    await asyncio.sleep(2)
    while time.time() < stop_at - 0.5:
        t = time.time()
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0)), 3)
            w.write(REQ)
            await w.drain()
            buf = await asyncio.wait_for(r.read(), 3)
            w.close()
            ok = buf.startswith(b"HTTP/1.1 200")
        except Exception:
            ok = False
        res[f"probe-{src}-{'ok' if ok else 'failed'}"] += 1
        if ok:
            lat[src].append(time.time() - t)
        await asyncio.sleep(0.5)


async def run(port):
    t0 = time.time()
    stop_at = t0 + DUR
    await asyncio.gather(*([loris(port, t0, stop_at) for _ in range(N)] +
                           [probe(port, "127.0.0.1", stop_at), probe(port, "127.0.0.2", stop_at)]))


with WardenServe(WARDEN, extra) as srv:
    asyncio.run(run(srv.port))
print(f"slowloris N={N} for {DUR:.0f} s against {WARDEN} {' '.join(extra)}")
c = sorted(closed_at)
print(f"  slow connections closed by the server: {res['loris-closed-by-server']}"
      + (f" (at {c[0]:.1f}..{c[-1]:.1f} s, median {statistics.median(c):.1f} s)" if c else "")
      + f", alive at the end: {res['loris-alive-at-end']}, connect failed: {res['loris-connect-failed']}")
for src in ("127.0.0.1", "127.0.0.2"):
    l = sorted(lat[src])
    print(f"  real client from {src}: ok {res[f'probe-{src}-ok']}, failed {res[f'probe-{src}-failed']}"
          + (f", latency p50 {statistics.median(l)*1e3:.1f} ms, max {l[-1]*1e3:.1f} ms" if l else ""))
