"""Runs `framescribe serve` as a child process on 127.0.0.1 for the client tests and the bench.

    with ServeProcess(binary, ["--model", demo_dir]) as server:
        server.url          # "http://127.0.0.1:PORT"
        server.model        # the id /v1/models lists
        server.log()        # what the server wrote to stderr so far

The server is started with --port 0 and the port is read from its "listening on" line; the
context manager waits for GET /health to answer 200 (at most `start_timeout` seconds), and at the
end sends SIGINT (the server drains, then exits), then SIGKILL if it has not exited in 15 s.
Only loopback addresses are used.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class ServeProcess:
    def __init__(self, binary, args=(), start_timeout=60.0, env=None):
        self.binary = binary
        self.args = list(args)
        self.start_timeout = start_timeout
        self.env = env
        self.proc = None
        self.url = None
        self.port = None
        self.model = None
        self._log = None

    def __enter__(self):
        self._log = tempfile.NamedTemporaryFile(prefix="framescribe-serve-", suffix=".log", delete=False)
        cmd = [self.binary, "serve", "--host", "127.0.0.1", "--port", "0", *self.args]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env or os.environ.copy())
        deadline = time.monotonic() + self.start_timeout
        while self.port is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"framescribe serve exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"framescribe serve did not say where it listens:\n{self.log()}")
            m = LISTENING.search(self.log())
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"framescribe serve never became healthy:\n{self.log()}")
            time.sleep(0.05)
        headers = {}
        if "--api-key" in self.args:
            headers["Authorization"] = "Bearer " + self.args[self.args.index("--api-key") + 1]
        req = urllib.request.Request(self.url + "/v1/models", headers=headers)
        with urllib.request.urlopen(req, timeout=10) as r:
            self.model = json.load(r)["data"][0]["id"]
        return self

    def log(self):
        with open(self._log.name, "r", encoding="utf-8", errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __exit__(self, *exc):
        self.stop()
        self._log.close()
        try:
            os.unlink(self._log.name)
        except OSError:
            pass
        return False
