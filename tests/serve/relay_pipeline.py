#!/usr/bin/env python3
"""Pipelined requests whose answers pile up unread in the relay (a client
with a small receive window that does not read for a while): every answer
must arrive whole and in order, also when the relay ends the connection
itself with an error (a head that times out) or because the server stops
(SIGTERM). Starts its own `warden serve` (standard library only).

    python3 tests/serve/relay_pipeline.py build/warden     # exit 0 = all whole
"""
import json, os, signal, socket, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardenserve import WardenServe


def moderation(n):
    body = json.dumps({"input": ["hello there friend number %d" % i for i in range(n)]}).encode()
    return (b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


MODELS = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"


def split_answers(buf):
    """[(status, whole?)] of the answers in buf (Content-Length framed)."""
    out, p = [], 0
    while p < len(buf):
        i = buf.find(b"\r\n\r\n", p)
        if i < 0:
            out.append((0, False))
            break
        head = buf[p:i].decode("latin1")
        status = int(head.split()[1])
        cl = [l for l in head.split("\r\n") if l.lower().startswith("content-length:")]
        n = int(cl[0].split(":")[1]) if cl else 0
        body = buf[i + 4:i + 4 + n]
        whole = len(body) == n and not body.startswith(b"HTTP/1.") and b"\r\nHTTP/1.1 " not in body
        if whole and n and status >= 400:
            whole = "error" in json.loads(body)
        out.append((status, whole))
        p = i + 4 + n
    return out


def run(warden, name, tail, wait, sigterm, want):
    args = ["--threads", "1", "--header-timeout-ms", "1000", "--conn-timeout", "30"]
    with WardenServe(warden, args) as srv:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(moderation(256) * 4 + moderation(104) + tail)
        time.sleep(wait)
        if sigterm:
            os.kill(srv.pid, signal.SIGTERM)
            time.sleep(1.0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.settimeout(5)
        buf = b""
        try:
            while True:
                c = s.recv(1 << 20)
                if not c:
                    break
                buf += c
        except socket.timeout:
            pass
        s.close()
    got = split_answers(buf)
    ok = [st for st, whole in got if whole] == want and all(whole for _, whole in got)
    print(("OK  " if ok else "FAIL"), name, " ".join("%d%s" % (st, "" if w else "(cut)") for st, w in got))
    return ok


def main():
    warden = sys.argv[1] if len(sys.argv) > 1 else "build/warden"
    ok = run(warden, "408 after unread answers", MODELS * 6 + b"GET /v1/models HTTP/1.1\r\nHo", 2.5, False,
             [200] * 11 + [408])
    ok &= run(warden, "SIGTERM with unread answers", MODELS * 5, 1.5, True, [200] * 10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
