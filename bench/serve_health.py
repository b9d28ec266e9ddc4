#!/usr/bin/env python3
"""Health checks under load: while PAR clients each
POST a 512 KB text to /v1/check (the real guard, busy for seconds), a
prober GETs /healthz, /readyz and /metrics on fresh connections every
100 ms for SECONDS. Starts its own server on a free loopback port; every
loop is bounded (the big requests time out after 120 s at most).

    python3 bench/serve_health.py [WARDEN] [PAR] [SECONDS] [-- serve flags]
    python3 bench/serve_health.py build/warden 6 15

TEXT=prose in the environment sends ordinary prose instead of
split-letter text. Prints the probe latencies (p50, p99, max) and failures (a probe fails when
no answer comes within 2 s)."""
import json, os, socket, statistics, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "serve"))
from wardenserve import WardenServe

args = sys.argv[1:]
extra = args[args.index("--") + 1:] if "--" in args else []
args = args[:args.index("--")] if "--" in args else args
WARDEN = args[0] if args else "build/warden"
PAR = int(args[1]) if len(args) > 1 else 6
DUR = float(args[2]) if len(args) > 2 else 15
# a slow input (split letters); TEXT=prose for ordinary text
TEXT = ("Please summarise the quarterly report and list the three main risks. " * 8000)[:512 * 1024] \
    if os.environ.get("TEXT") == "prose" else "a " * (256 * 1024)


def big_request(port, out):
    body = json.dumps({"input": TEXT}).encode()
    req = (b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
           b"Connection: close\r\n\r\n" % len(body)) + body
    t = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=120)
        s.sendall(req)
        buf = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            buf += c
        s.close()
        out.append((buf[9:12].decode(errors="replace"), time.time() - t))
    except Exception as e:
        out.append((type(e).__name__, time.time() - t))


def probe(port, path):
    t = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
        buf = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            buf += c
        s.close()
        return buf.startswith(b"HTTP/1.1 200"), time.time() - t
    except Exception:
        return False, time.time() - t


with WardenServe(WARDEN, ["--threads", "2"] + extra) as srv:
    done = []
    ths = [threading.Thread(target=big_request, args=(srv.port, done), daemon=True) for _ in range(PAR)]
    for t in ths:
        t.start()
    time.sleep(1)
    lat = {p: [] for p in ("/healthz", "/readyz", "/metrics")}
    fails = {p: 0 for p in lat}
    stop = time.time() + DUR
    while time.time() < stop:
        for p in lat:
            ok, dt = probe(srv.port, p)
            lat[p].append(dt)
            fails[p] += not ok
        time.sleep(0.1)
    busy = PAR - len(done)
print(f"health under load: {PAR} x 512 KB /v1/check, probing for {DUR:.0f} s, against {WARDEN} {' '.join(extra)}")
print(f"  big requests still running when probing ended: {busy} of {PAR}; finished: {done}")
for p, l in lat.items():
    l.sort()
    print(f"  {p}: {len(l)} probes, failed {fails[p]}, p50 {statistics.median(l)*1e3:.1f} ms, "
          f"p99 {l[int(len(l)*0.99)]*1e3:.1f} ms, max {l[-1]*1e3:.1f} ms")
