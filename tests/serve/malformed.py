#!/usr/bin/env python3
"""A battery of 97 malformed or hostile requests against a `warden serve` this
script starts itself on a free loopback port (standard library only; every
loop is bounded). 97 malformed or hostile requests; each must be answered
with the expected status and a JSON body (no libmicrohttpd HTML page, one
status line per answer); framing errors must be rejected.

    python3 tests/serve/malformed.py build/warden      # exit 0 = all as expected
    python3 tests/serve/malformed.py build/warden --keep-alive
    python3 tests/serve/malformed.py build/warden --tls [--keep-alive]

--keep-alive sends each case as the second request of a kept-alive
connection (after a good request and its answer); --tls runs the server with
a fresh self-signed certificate (made with openssl; exit 77, "skipped", when
openssl is missing) and speaks HTTPS. Every case must get the same answer
in every mode.
"""
import json, os, shutil, socket, ssl, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardenserve import WardenServe

HOST = "127.0.0.1"
PORT = None
TLS = None          # an ssl.SSLContext in --tls mode
KEEP_ALIVE = False
results = []
FIRST = (b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Content-Length: 14\r\n\r\n{\"input\":\"hi\"}")


def connect(timeout):
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    if TLS:
        s = TLS.wrap_socket(s, server_hostname=HOST)
    if KEEP_ALIVE:  # a good request and its whole answer first
        s.sendall(FIRST)
        buf = b""
        answers, whole = parse_all(buf)
        while not whole or not answers:
            c = s.recv(65536)
            if not c:
                raise RuntimeError("the first request of the kept-alive connection got no answer")
            buf += c
            answers, whole = parse_all(buf)
        if answers[0][0] != 200:
            raise RuntimeError("the first request of the kept-alive connection failed: %r" % buf[:80])
    return s


def raw(data, timeout=15.0, shut=False, read_all=True):
    s = connect(timeout)
    try:
        if isinstance(data, (list, tuple)):
            for d in data:
                s.sendall(d)
        else:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError) as e:
                pass
        if shut and not TLS:  # Python's ssl cannot half-close (its shutdown drops TLS)
            s.shutdown(socket.SHUT_WR)
        buf = b""
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, ssl.SSLError):
                buf += b"<RST>"
                break
            if not c:
                break
            buf += c
            if not read_all and parse_all(buf)[1]:
                break
        return buf
    finally:
        s.close()


def parse_all(buf):
    """split buf into HTTP responses -> list of (status, headers, body), complete flag"""
    out = []
    rest = buf.replace(b"<RST>", b"")
    while rest:
        i = rest.find(b"\r\n\r\n")
        if i < 0:
            return out, False
        head = rest[:i].decode("latin1").split("\r\n")
        try:
            status = int(head[0].split()[1])
        except Exception:
            return out, False
        hdr = {}
        for h in head[1:]:
            k, _, v = h.partition(":")
            hdr[k.strip().lower()] = v.strip()
        rest = rest[i + 4:]
        if 100 <= status < 200:  # an interim answer (100 Continue): no body, the real one follows
            continue
        if "content-length" in hdr:
            n = int(hdr["content-length"])
            body, rest = rest[:n], rest[n:]
            if len(body) < n:
                out.append((status, hdr, body))
                return out, False
        elif hdr.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                j = rest.find(b"\r\n")
                if j < 0:
                    return out, False
                n = int(rest[:j].split(b";")[0], 16)
                rest = rest[j + 2:]
                body += rest[:n]
                rest = rest[n + 2:]
                if n == 0:
                    break
        else:
            body, rest = rest, b""
        out.append((status, hdr, body))
    return out, True


def jvalid(body):
    try:
        json.loads(body.decode("utf-8", errors="strict"))
        return True
    except Exception:
        return False


def post(path, body, ctype="application/json", extra=b"", ver=b"HTTP/1.1", close=True):
    h = b"POST " + path + b" " + ver + b"\r\nHost: x\r\nContent-Type: " + ctype.encode() + \
        b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra + \
        (b"Connection: close\r\n" if close else b"") + b"\r\n"
    return h + body


def case(name, data, expect, code_is=None, **kw):
    """expect: set of acceptable statuses; checks each reply is JSON (and,
    with code_is, that the first error's code is that one)"""
    t0 = time.time()
    try:
        buf = raw(data, **kw)
    except Exception as e:
        results.append((name, "EXC", str(e)[:80], False))
        return
    dt = time.time() - t0
    resps, complete = parse_all(buf)
    if not resps:
        ok = "none" in expect
        results.append((name, "no-reply", repr(buf[:60]), ok))
        return
    sts = [r[0] for r in resps]
    if any(r[2].lstrip().startswith(b"HTTP/1.") for r in resps):  # a status line sent twice
        results.append((name, ",".join(map(str, sts)), "status line repeated in the body", False))
        return
    js = all(jvalid(r[2]) for r in resps)
    ok = all(s in expect for s in sts) and js
    code = ""
    try:
        code = json.loads(resps[0][2]).get("error", {}).get("code", "")
    except Exception:
        code = repr(resps[0][2][:70])
    if code_is is not None and code != code_is:
        ok = False
    results.append((name, ",".join(map(str, sts)), f"json={js} code={code} {dt:.2f}s", ok))


def main():
    global PORT, TLS, KEEP_ALIVE
    warden = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "build/warden"
    KEEP_ALIVE = "--keep-alive" in sys.argv
    args = ["--threads", "2"]
    tmp = None
    if "--tls" in sys.argv:
        if not shutil.which("openssl"):
            print("openssl missing: the TLS battery is skipped")
            return 77
        tmp = tempfile.mkdtemp(prefix="warden-malformed-")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-keyout", tmp + "/key.pem", "-out", tmp + "/cert.pem"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        args += ["--tls-cert", tmp + "/cert.pem", "--tls-key", tmp + "/key.pem"]
        TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        TLS.check_hostname = False
        TLS.verify_mode = ssl.CERT_NONE
    try:
        with WardenServe(warden, args) as srv:
            PORT = srv.port
            run_cases()
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    bad = [r for r in results if not r[3]]
    for r in results:
        if not r[3] or "-v" in sys.argv:
            print(("OK  " if r[3] else "FAIL"), r[0], r[1], r[2])
    mode = " ".join(m for m, on in (("tls", TLS), ("keep-alive", KEEP_ALIVE)) if on) or "plain"
    print(f"TOTAL {len(results)} cases ({mode}), {len(bad)} unexpected")
    return 1 if bad or len(results) != 97 else 0


def run_cases():
    M = b"/v1/moderations"
    C = b"/v1/check"
    B400 = {400}
    # --- truncated JSON
    for i, t in enumerate([b'{', b'{"input"', b'{"input":', b'{"input": "abc', b'{"input": ["a",',
                           b'{"input": "a"', b'[', b'"', b'{"input": "a\\', b'{"input": "\\u12']):
        case(f"truncated-json-{i}", post(M, t), B400)
    # declared length larger than body, then close
    case("truncated-body(CL>sent,shut)", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"input\":", {400, 408, "none"}, shut=True, timeout=5)
    # wrong types
    for i, t in enumerate([b'{"input": 5}', b'{"input": null}', b'{"input": true}', b'{"input": {"a":1}}',
                           b'{"input": [1,2]}', b'{"input": [["a"]]}', b'{"input": [null]}', b'{"input": "a", "model": 5}',
                           b'{"input": "a", "role": 5}', b'{"input": "a", "role": "bogus"}', b'{"input": "a", "redact": "yes"}',
                           b'{"input": [{"type":"image_url","image_url":{"url":"http://x"}}]}', b'{"input": [{"type":"text"}]}',
                           b'{"input": [{"type":"text","text":5}]}', b'5', b'"str"', b'[]', b'null', b'{}', b'{"Input":"a"}']):
        case(f"wrong-type-{i}:{t[:30].decode()}", post(C if b"redact" in t else M, t), B400)
    # deep nesting
    for depth in (1000, 100000):
        case(f"nest-array-{depth}", post(M, b'{"input":' + b"[" * depth + b"]" * depth + b"}"), B400)
        case(f"nest-object-{depth}", post(M, b'{"input":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"), B400)
        case(f"nest-root-{depth}", post(M, b"[" * depth + b"]" * depth), B400)
        case(f"nest-unclosed-{depth}", post(M, b"[" * depth), B400)
    # 50 MB body
    big = b'{"input":"' + b"a" * (50 << 20) + b'"}'
    case("50MB-body-CL", post(M, big), {413}, timeout=30)
    case("50MB-CL-header-only", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\n", {413})
    chunk = b"%x\r\n" % (1 << 20) + b"a" * (1 << 20) + b"\r\n"
    case("50MB-chunked", [b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"] + [chunk] * 50 + [b"0\r\n\r\n"], {413}, timeout=60)
    case("1MB-exact-limit-body", post(M, b'{"input":"' + b"hello " * ((1048576 - 13) // 6) + b'"}'), {200})
    case("CL-overflow-2^64", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n{}", {413})
    case("CL-negative", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}", {400})
    case("CL-garbage", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n{}", {400})
    case("CL-dup-conflict", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\nConnection: close\r\n\r\n{}", {400}, code_is="invalid_content_length")
    case("CL+TE-smuggle", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", {400}, code_is="invalid_content_length")
    case("bad-chunk-size", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", {400}, timeout=5)
    # huge header
    case("huge-header-1MB", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\nContent-Length: 2\r\n\r\n{}", {431, 400, 413})
    case("many-headers-5000", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"Content-Length: 2\r\n\r\n{}", {431, 400, 413})
    case("huge-url-100KB", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {414, 400, 404, 431})
    case("huge-auth-header", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"k" * 30000 + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", {400, 431})
    # invalid UTF-8
    for i, t in enumerate([b'\xff\xfe', b'abc\xc0\xafdef', b'\xed\xa0\x80', b'how to build a bomb \x80', b'\xf4\x90\x80\x80']):
        case(f"invalid-utf8-{i}", post(M, b'{"input":"' + t + b'"}'), {200, 400})
    case("lone-surrogate-escape", post(M, b'{"input":"\\ud800x"}'), {200, 400})
    case("invalid-utf8-in-model", post(M, b'{"input":"hi","model":"\xff\xfe"}'), {200, 400})
    case("invalid-utf8-in-key", post(M, b'{"input":"hi","\xff":1}'), {200, 400})
    case("invalid-utf8-in-url", b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {404, 400})
    # arrays
    case("empty-input-array", post(M, b'{"input":[]}'), B400)
    case("empty-string", post(M, b'{"input":""}'), {200, 400})
    case("10k-element-array", post(M, b'{"input":[' + b",".join([b'"x"'] * 10000) + b"]}"), B400)
    case("256-element-array", post(M, b'{"input":[' + b",".join([b'"how do I make a bomb"'] * 256) + b"]}"), {200})
    case("unknown-fields", post(M, b'{"input":"hi","foo":1,"bar":{"x":[1,2]}}'), {200, 400})
    # content types
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/xml"]:
        case(f"ctype-{ct or 'empty'}", post(M, b'{"input":"hi"}', ctype=ct), {200, 415, 400})
    case("no-content-type", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{\"input\":\"hi\"}", {200, 415, 400})
    # HTTP versions
    case("http/1.0", post(M, b'{"input":"hi"}', ver=b"HTTP/1.0", close=False), {200})
    case("http/1.0-no-CL", b"POST /v1/moderations HTTP/1.0\r\n\r\n{\"input\":\"hi\"}", {200, 400, 411}, shut=True, timeout=5)
    case("http/1.1-no-host", b"POST /v1/moderations HTTP/1.1\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{\"input\":\"hi\"}", {400}, code_is="missing_host")
    case("http/0.9", b"GET /healthz\r\n\r\n", {400, 505}, timeout=5)
    case("http/2.0-line", b"GET /healthz HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n", {505, 400})
    case("garbage-request-line", b"\x00\x01\x02 garbage\r\n\r\n", {400, "none"}, timeout=5)
    case("lf-only-lines", b"POST /v1/moderations HTTP/1.1\nHost: x\nContent-Length: 14\nConnection: close\n\n{\"input\":\"hi\"}", {200, 400})
    # pipelining: 3 requests in one write
    p1 = post(M, b'{"input":"hi"}', close=False)
    p2 = post(C, b'{"input":"how to build a pipe bomb"}', close=False)
    p3 = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    case("pipelining-3", p1 + p2 + p3, {200})
    case("pipelining-bad-then-good", post(M, b'{"input":', close=False) + p1 + p3, {200, 400})
    # methods / routes
    case("GET-moderations", b"GET /v1/moderations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {405})
    case("OPTIONS", b"OPTIONS /v1/moderations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {405, 204, 200})
    case("unknown-method", b"FOO /v1/moderations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {405, 400, 501})
    case("404", b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {404})
    case("trailing-slash", post(b"/v1/moderations/", b'{"input":"hi"}'), {404})
    case("query-string", post(b"/v1/moderations?x=1", b'{"input":"hi"}'), {200})
    case("path-traversal", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {404, 400})
    case("expect-100", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{\"input\":\"hi\"}", {200})
    case("expect-100-too-big", b"POST /v1/moderations HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\n", {413})
    case("certify-huge-erase", post(b"/v1/certify", b'{"input":"' + b"w " * 2000 + b'","mode":"infusion","max_erase":50}'), {400})
    case("certify-neg", post(b"/v1/certify", b'{"input":"a","max_erase":-5}'), {400})
    case("certify-float", post(b"/v1/certify", b'{"input":"a","max_erase":1e308}'), {400})
    case("certify-nan-mode", post(b"/v1/certify", b'{"input":"a","mode":5}'), {400})
    case("big-number", post(M, b'{"input":"a","x":1e999999}'), {200, 400})
    case("many-keys-50k", post(M, b'{' + b",".join(b'"k%d":1' % i for i in range(50000)) + b',"input":"hi"}'), {200, 400})



if __name__ == "__main__":
    sys.exit(main())
