"""Start and stop `warden serve` on a free loopback port, for the scripts in
tests/serve/ and bench/serve_*.py (standard library only).

    with WardenServe(warden_path, ["--threads", "2"]) as srv:
        srv.port, srv.pid, srv.rss_kb()
"""
import os, socket, subprocess, time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class WardenServe:
    def __init__(self, warden, args=(), env=None, host="127.0.0.1"):
        self.warden, self.args, self.host = warden, list(args), host
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.port = None

    def __enter__(self):
        self.port = free_port()
        self.proc = subprocess.Popen([self.warden, "serve", "--host", self.host, "--port", str(self.port)]
                                     + self.args, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("warden serve exited: " + self.proc.stderr.read().decode(errors="replace"))
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("warden serve did not start listening in 20 s")

    @property
    def pid(self):
        return self.proc.pid

    def rss_kb(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False
