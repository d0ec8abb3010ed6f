"""Hostile input against `framescribe serve` over raw sockets and http.client, on 127.0.0.1 only:
malformed JSON, wrong types, 10,000 parts, a 1 GB declared body, an image URL that never
answers, a slow client, 200 concurrent connections, a client that leaves mid-stream. Each must
end in a clear error or an answer, in bounded time; the server must keep answering /health."""

import base64
import concurrent.futures
import http.client
import json
import socket
import subprocess
import threading
import time

import pytest

from conftest import ServeProcess


def serve_options(binary):
    """Short time limits where this build of serve has the options (else its defaults)."""
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    opts, limits = [], {"url": 30, "read": 30}
    if "--url-timeout" in help_text:
        opts += ["--url-timeout", "3"]
        limits["url"] = 3
    if "--read-timeout" in help_text:
        opts += ["--read-timeout", "3"]
        limits["read"] = 3
    return opts, limits


@pytest.fixture(scope="module")
def hostile(binary, model_dir):
    opts, limits = serve_options(binary)
    with ServeProcess(binary, ["--model", model_dir, "--max-body-mb", "8", "--max-tokens", "8", *opts]) as s:
        s.limits = limits
        yield s
        assert s.alive(), "the server died:\n" + s.log()
        assert health(s) == 200
        # Memory stayed bounded through all of it (a 1 GB declared body, 10,000 parts, 200
        # connections): the peak resident size of the server, from the kernel.
        peak_kib = peak_rss_kib(s.proc.pid)
        print(f"server peak RSS: {peak_kib / 1024:.0f} MiB")
        assert peak_kib < 1024 * 1024, f"the server peaked at {peak_kib / 1024:.0f} MiB"


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/PID/status")


def conn(server, timeout=30):
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)


def health(server, timeout=5):
    c = conn(server, timeout)
    try:
        c.request("GET", "/health")
        return c.getresponse().status
    finally:
        c.close()


def post(server, path, body, timeout=60, headers=None):
    c = conn(server, timeout)
    try:
        data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
        c.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        r = c.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        c.close()


def openai_error(body):
    e = json.loads(body)["error"]
    assert isinstance(e["message"], str) and e["message"]
    assert isinstance(e["type"], str)
    return e


def ollama_error(body):
    e = json.loads(body)["error"]
    assert isinstance(e, str) and e
    return e


def user(content):
    return {"messages": [{"role": "user", "content": content}], "max_tokens": 4}


MALFORMED = [b"", b"{", b"[1,2", b"{\"messages\": [}", b"\xff\xfe\x00", b"null", b"[]", b"\"text\"",
             b"{\"messages\": " + b"[" * 100000 + b"]" * 100000 + b"}", b"{\"a\": 1e999999}"]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_json(hostile, body):
    status, data, _ = post(hostile, "/v1/chat/completions", body)
    assert status == 400, data
    openai_error(data)
    status, data, _ = post(hostile, "/api/chat", body)
    assert status == 400, data
    ollama_error(data)


WRONG_TYPES = [
    {"messages": "hello"}, {"messages": [{"role": 1, "content": "x"}]},
    {"messages": [{"role": "user", "content": 5}]}, {"messages": [{"role": "user", "content": [7]}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 3}]}]},
    {"messages": [{"role": "user", "content": "x"}], "max_tokens": "many"},
    {"messages": [{"role": "user", "content": "x"}], "temperature": [1]},
    {"messages": [{"role": "user", "content": "x"}], "stream": "yes"},
    {"messages": [{"role": "user", "content": "x"}], "stop": {"a": 1}},
    {"messages": [{"role": "user", "content": "x"}], "max_tokens": -5},
    {"messages": [{"role": "user", "content": "x"}], "max_tokens": 2**70},
]


@pytest.mark.parametrize("body", WRONG_TYPES, ids=range(len(WRONG_TYPES)))
def test_wrong_types(hostile, body):
    status, data, _ = post(hostile, "/v1/chat/completions", {"model": hostile.model, **body})
    assert status == 400, data
    assert openai_error(data)["message"]


def test_wrong_types_ollama(hostile):
    m = hostile.model
    for path, body in [("/api/chat", {"model": m, "messages": [{"role": "user", "content": 1}]}),
                       ("/api/chat", {"model": m, "messages": [{"role": "user", "images": "abc"}]}),
                       ("/api/chat", {"model": m, "options": {"num_predict": "x"}}),
                       ("/api/chat", {"model": [m]}),
                       ("/api/generate", {"model": m, "prompt": ["x"]}),
                       ("/api/generate", {"model": m, "prompt": "x", "images": [1]}),
                       ("/api/generate", {"model": m, "prompt": "x", "options": {"stop": 5}}),
                       ("/api/show", {"model": 5})]:
        status, data, _ = post(hostile, path, body)
        assert status == 400, (path, body, data)
        ollama_error(data)


def test_ten_thousand_parts(hostile):
    t0 = time.monotonic()
    parts = [{"type": "text", "text": "x"}] * 10000
    status, data, _ = post(hostile, "/v1/chat/completions", {"model": hostile.model, **user(parts)})
    assert status in (400, 413), data
    assert "part" in openai_error(data)["message"]
    images = [base64.b64encode(b"x").decode()] * 10000
    status, data, _ = post(hostile, "/api/chat", {"model": hostile.model,
                                                   "messages": [{"role": "user", "images": images}]})
    assert status in (400, 413), data
    assert "images" in ollama_error(data)
    assert time.monotonic() - t0 < 20


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/chat"])
def test_one_gigabyte_declared_body(hostile, path):
    s = socket.create_connection(("127.0.0.1", hostile.port), timeout=20)
    try:
        s.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{hostile.port}\r\n"
                   "Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n").encode())
        try:
            s.sendall(b"{\"messages\": [" + b" " * 65536)  # a little of it, never the rest
        except OSError:
            pass  # the server may already have answered and closed
        reply = b""
        t0 = time.monotonic()
        while b"\r\n\r\n" not in reply and time.monotonic() - t0 < 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    finally:
        s.close()
    status_line = reply.split(b"\r\n", 1)[0]
    assert b" 413 " in status_line + b" ", reply[:300]
    assert health(hostile) == 200


def test_image_url_that_never_answers(hostile):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])  # accepted, never answered
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/frame.jpg"
        body = {"model": hostile.model, **user([{"type": "text", "text": "What is it?"},
                                                {"type": "image_url", "image_url": {"url": url}}])}
        t0 = time.monotonic()
        status, data, _ = post(hostile, "/v1/chat/completions", body, timeout=hostile.limits["url"] + 30)
        took = time.monotonic() - t0
        assert status in (400, 504), data
        msg = openai_error(data)["message"]
        assert "messages[0].content[1]" in msg, msg
        assert took < hostile.limits["url"] + 10, took
        assert held, "the server never connected to the image URL"
        assert health(hostile) == 200
    finally:
        stop.set()
        th.join()
        for h in held:
            h.close()
        silent.close()


def test_slow_client(hostile):
    """A client that trickles its request and then stalls: others are served meanwhile, and the
    server gives up on it once nothing arrived for its read timeout (cpp-httplib's timeout is
    per read: a client sending a byte now and then is limited by --max-connections, not timed
    out)."""
    limit = hostile.limits["read"]
    s = socket.create_connection(("127.0.0.1", hostile.port), timeout=limit + 30)
    body = json.dumps({"model": hostile.model, **user("hi")}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{hostile.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    try:
        for k in range(0, len(head), 8):  # the head, 8 bytes every 0.5 s
            s.sendall(head[k:k + 8])
            assert health(hostile) == 200  # others are still served meanwhile
            time.sleep(0.5)
        s.sendall(body[:10])  # then part of the body, and silence
        t0 = time.monotonic()
        closed_after = None
        while time.monotonic() - t0 < limit + 15:
            assert health(hostile) == 200
            s.settimeout(1)
            try:
                got = s.recv(4096)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                got = b""
            # Closed, or answered with an error (cpp-httplib answers 400 when the body stops).
            assert got == b"" or got.split(b"\r\n", 1)[0].split(b" ")[1] in (b"400", b"408"), got[:200]
            closed_after = time.monotonic() - t0
            break
    finally:
        s.close()
    assert closed_after is not None, f"the server still waits for a body silent for {limit + 15} s"
    assert closed_after < limit + 10, closed_after
    assert health(hostile) == 200


def test_two_hundred_concurrent_connections(hostile):
    png = base64.b64encode(
        bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
                      "0000000c4944415478da63f8cfc000000301010019d8f6c70000000049454e44ae426082")).decode()
    body = {"model": hostile.model, "max_tokens": 4,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What is it?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + png}}]}]}

    def one(_):
        t0 = time.monotonic()
        try:
            status, data, headers = post(hostile, "/v1/chat/completions", body, timeout=120)
        except (ConnectionError, OSError) as e:  # refused at the door counts as refused
            return ("refused", str(e), time.monotonic() - t0)
        return (status, data, time.monotonic() - t0)

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
        futures = [pool.submit(one, k) for k in range(200)]
        time.sleep(0.5)
        t_health = time.monotonic()
        assert health(hostile, timeout=30) == 200
        health_s = time.monotonic() - t_health
        results = [f.result(timeout=180) for f in futures]
    took = time.monotonic() - t0
    statuses = [r[0] for r in results]
    assert all(s in (200, 429, 503, "refused") for s in statuses), [r[:2] for r in results if r[0] not in (200, 429, 503, "refused")][:5]
    for status, data, _ in results:
        if status == 200:
            assert json.loads(data)["choices"][0]["message"]["role"] == "assistant"
        elif status in (429, 503):
            openai_error(data)
    assert statuses.count(200) >= 1
    assert took < 150, took
    print(f"200 connections: {statuses.count(200)} answered, {statuses.count(429)} 429, "
          f"{statuses.count(503)} 503, {statuses.count('refused')} refused; {took:.1f} s; "
          f"/health meanwhile in {health_s:.2f} s")
    assert health(hostile) == 200


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/chat"])
def test_disconnect_mid_stream(hostile, path):
    body = {"model": hostile.model, "stream": True, "max_tokens": 2000,
            "options": {"num_predict": 2000}, "temperature": 1.0,
            "messages": [{"role": "user", "content": "Tell a long story."}]}
    s = socket.create_connection(("127.0.0.1", hostile.port), timeout=30)
    data = json.dumps(body).encode()
    s.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{hostile.port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(data)}\r\n\r\n").encode() + data)
    got = s.recv(4096)
    assert b" 200 " in got.split(b"\r\n", 1)[0], got[:200]
    s.close()  # gone mid-stream
    t0 = time.monotonic()
    status, reply, _ = post(hostile, "/v1/chat/completions", {"model": hostile.model, **user("hi")}, timeout=60)
    assert status == 200, reply
    assert time.monotonic() - t0 < 30
    assert health(hostile) == 200
