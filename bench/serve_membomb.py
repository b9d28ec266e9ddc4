#!/usr/bin/env python3
"""Memory of `warden serve` under buffered bodies: N
connections each announce a 1 MiB body, send all of it but the last 16
bytes, and hold for HOLD seconds. Starts its own server on a free loopback
port and samples its resident memory; every loop is bounded.

    python3 bench/serve_membomb.py [WARDEN] [N] [HOLD] [-- serve flags]
    python3 bench/serve_membomb.py build/warden 1000 8

Prints the server's RSS at start and its peak, and the answers the clients
got while holding (503 = the body budget was spent)."""
import asyncio, collections, os, resource, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "serve"))
from wardenserve import WardenServe

args = sys.argv[1:]
extra = args[args.index("--") + 1:] if "--" in args else []
args = args[:args.index("--")] if "--" in args else args
WARDEN = args[0] if args else "build/warden"
N = int(args[1]) if len(args) > 1 else 1000
HOLD = float(args[2]) if len(args) > 2 else 8
SZ = (1 << 20) - 16
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, N + 1000)), hard))
res = collections.Counter()


async def one(port):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        w.write(b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % SZ
                + b'{"input":"' + b"a" * (SZ - 26))
        await w.drain()
        try:
            buf = await asyncio.wait_for(r.read(200), HOLD)
            res[buf.split(b" ", 2)[1].decode() if buf.startswith(b"HTTP/") else "closed"] += 1
        except asyncio.TimeoutError:
            res["held"] += 1
        w.close()
    except Exception as e:
        res["error:" + type(e).__name__] += 1


async def sample(srv, peak, stop):
    while not stop.is_set():
        peak[0] = max(peak[0], srv.rss_kb())
        await asyncio.sleep(0.25)


async def run(srv):
    peak = [srv.rss_kb()]
    stop = asyncio.Event()
    s = asyncio.create_task(sample(srv, peak, stop))
    await asyncio.gather(*[one(srv.port) for _ in range(N)])
    stop.set()
    await s
    return peak[0]


with WardenServe(WARDEN, extra) as srv:
    rss0 = srv.rss_kb()
    t0 = time.time()
    peak = asyncio.run(run(srv))
    hwm = srv.rss_kb("VmHWM")
print(f"membomb N={N} x 1 MiB, held {HOLD:.0f} s, against {WARDEN} {' '.join(extra)}")
print(f"  server RSS: start {rss0/1024:.0f} MiB, peak sampled {peak/1024:.0f} MiB, VmHWM {hwm/1024:.0f} MiB")
print(f"  answers while holding: {dict(res)}")
