#!/usr/bin/env python3
"""Load benchmark of `framescribe serve` (a program, not a test): N concurrent clients each send
M streamed chat requests with an image; prints requests/s, time to first token and latency
(p50/p99) and generated tokens/s per client count.

    # with the serve tests' venv (openai and Pillow are not needed; only the standard library):
    build/cpu-release/tests/serve-venv/bin/python tools/serve-bench.py \
        --binary build/cpu-release/apps/framescribe/framescribe                  # demo model
    python3 tools/serve-bench.py --binary ... --load-format dummy --model DIR    # random weights
    python3 tools/serve-bench.py --url http://127.0.0.1:8080                     # a running server

Options: --clients 1,4,16 --requests M (per client, default 8) --max-tokens 32 --image-size 64
--prompt TEXT --temperature 0 --parallel 1,4,16 (with --binary: one server per value, started
with `serve --parallel P`, the rows printed side by side at the end). With --binary the server is
started on 127.0.0.1 (a free port) and stopped at the end; its arguments after `--` are passed
through. Only loopback URLs are
accepted with --binary; --url may name any server you are allowed to load. Numbers are wall
clock on this machine: compare only runs made on the same machine.
"""

import argparse
import base64
import http.client
import json
import os
import statistics
import struct
import sys
import threading
import time
import urllib.parse
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "serve", "python"))
from serve_process import ServeProcess  # noqa: E402


def png(size, seed):
    """A size x size RGB PNG with a coloured square (no Pillow needed)."""
    r, g, b = (seed * 67) % 256, (seed * 131 + 80) % 256, (seed * 29 + 160) % 256
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            inside = size // 4 <= x < 3 * size // 4 and size // 4 <= y < 3 * size // 4
            row += bytes((r, g, b)) if inside else b"\xff\xff\xff"
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def one_request(host, port, body, headers):
    """One streamed chat: (time to first token, latency, completion tokens, error or None)."""
    t0 = time.perf_counter()
    c = http.client.HTTPConnection(host, port, timeout=600)
    try:
        c.request("POST", "/v1/chat/completions", body=body, headers=headers)
        r = c.getresponse()
        if r.status != 200:
            return None, time.perf_counter() - t0, 0, f"HTTP {r.status}: {r.read()[:200]!r}"
        ttft, tokens, buf = None, 0, b""
        while True:
            line = r.fp.readline()
            if not line:
                break
            line = line.strip()
            if not line.startswith(b"data: "):
                continue
            data = line[6:]
            if data == b"[DONE]":
                break
            ev = json.loads(data)
            if "error" in ev:
                return ttft, time.perf_counter() - t0, tokens, ev["error"].get("message", "error")
            if ev.get("usage"):
                tokens = ev["usage"]["completion_tokens"]
            for ch in ev.get("choices", []):
                if ch.get("delta", {}).get("content") and ttft is None:
                    ttft = time.perf_counter() - t0
        return ttft, time.perf_counter() - t0, tokens, None
    except (OSError, http.client.HTTPException, ValueError) as e:
        return None, time.perf_counter() - t0, 0, str(e)
    finally:
        c.close()


def run_level(host, port, model, clients, requests, args, api_key):
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    bodies = []
    for k in range(clients * requests):
        uri = "data:image/png;base64," + base64.b64encode(png(args.image_size, k)).decode()
        bodies.append(json.dumps({
            "model": model, "stream": True, "stream_options": {"include_usage": True},
            "max_tokens": args.max_tokens, "temperature": args.temperature,
            "messages": [{"role": "user", "content": [{"type": "text", "text": args.prompt},
                                                      {"type": "image_url", "image_url": {"url": uri}}]}]}))
    results, lock = [], threading.Lock()

    def client(c):
        for i in range(requests):
            res = one_request(host, port, bodies[c * requests + i], headers)
            with lock:
                results.append(res)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = [r for r in results if r[3] is None]
    errors = [r[3] for r in results if r[3] is not None]
    ttft = [r[0] for r in ok if r[0] is not None]
    lat = [r[1] for r in ok]
    tokens = sum(r[2] for r in ok)
    return {"clients": clients, "requests": len(results), "ok": len(ok), "errors": errors,
            "rps": len(ok) / wall, "ttft_p50": percentile(ttft, 0.5), "ttft_p99": percentile(ttft, 0.99),
            "lat_p50": percentile(lat, 0.5), "lat_p99": percentile(lat, 0.99), "tok_s": tokens / wall,
            "wall": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8080")
    where.add_argument("--binary", help="the framescribe binary: start `framescribe serve` here")
    ap.add_argument("--model", help="--model DIR for the started server (default: the demo model)")
    ap.add_argument("--load-format", choices=["checkpoint", "dummy"], help="for the started server")
    ap.add_argument("--api-key", default=os.environ.get("FRAMESCRIBE_API_KEY", ""))
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--requests", type=int, default=8, help="streamed requests per client")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--image-size", type=int, default=64, help="edge of the square test image, px")
    ap.add_argument("--prompt", default="What is in the image?")
    ap.add_argument("--parallel", default="",
                    help="with --binary: serve --parallel values to compare, e.g. 1,4,16")
    ap.add_argument("serve_args", nargs="*", help="after --: more `framescribe serve` options")
    args = ap.parse_args()
    levels = [int(x) for x in args.clients.split(",") if x]
    if not levels or min(levels) < 1 or args.requests < 1:
        ap.error("--clients needs positive counts and --requests at least 1")

    parallels = [int(x) for x in args.parallel.split(",") if x] or [None]
    if min(p or 1 for p in parallels) < 1:
        ap.error("--parallel needs positive counts")
    if args.url and parallels != [None]:
        ap.error("--parallel needs --binary (a running server has its own)")
    rows, failed = [], False
    for p in parallels:
        bad, got = bench_server(args, levels, p)
        failed = failed or bad
        rows += got
    if len(parallels) > 1:
        print("\nside by side (req/s | TTFT p50/p99 | latency p50/p99, ms):")
        print(f"{'clients':>7} " + " ".join(f"{'--parallel ' + str(p):>38}" for p in parallels))
        for n in levels:
            cells = []
            for p in parallels:
                r = next(r for r in rows if r["parallel"] == p and r["clients"] == n)
                cells.append(f"{r['rps']:>6.1f} | {r['ttft_p50'] * 1000:>5.0f}/{r['ttft_p99'] * 1000:<5.0f}"
                             f" | {r['lat_p50'] * 1000:>5.0f}/{r['lat_p99'] * 1000:<5.0f}")
            print(f"{n:>7} " + " ".join(f"{c:>38}" for c in cells))
    return 1 if failed else 0


def bench_server(args, levels, parallel):
    """Runs every level against one server; returns (failed, rows)."""
    server = None
    if args.binary:
        extra = list(args.serve_args)
        if args.model:
            extra += ["--model", args.model]
        if args.load_format:
            extra += ["--load-format", args.load_format]
        if args.api_key:
            extra += ["--api-key", args.api_key]
        if parallel is not None:
            extra += ["--parallel", str(parallel)]
        # Enough queue for the largest level: the bench measures throughput, not refusals.
        extra += ["--max-queue", str(max(64, max(levels) * 2))]
        server = ServeProcess(args.binary, extra, start_timeout=300).__enter__()
        url = server.url
    else:
        url = args.url
    u = urllib.parse.urlparse(url)
    host, port = u.hostname, u.port or 80
    headers = {"Authorization": "Bearer " + args.api_key} if args.api_key else {}
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", "/v1/models", headers=headers)
    model = json.loads(c.getresponse().read())["data"][0]["id"]
    c.close()
    rows = []
    try:
        # One warm-up request (first-touch of the weights and caches).
        run_level(host, port, model, 1, 1, args, args.api_key)
        print(f"framescribe serve at {url}, model {model}"
              f"{' (--load-format ' + args.load_format + ')' if args.load_format else ''}"
              f"{', --parallel ' + str(parallel) if parallel is not None else ''}; "
              f"{args.requests} streamed requests per client, one {args.image_size}x{args.image_size} "
              f"PNG each, max_tokens {args.max_tokens}, temperature {args.temperature}")
        print(f"{'clients':>7} {'requests':>8} {'req/s':>7} {'TTFT p50':>9} {'TTFT p99':>9} "
              f"{'lat p50':>8} {'lat p99':>8} {'tokens/s':>9} {'errors':>6}")
        failed = False
        for n in levels:
            r = run_level(host, port, model, n, args.requests, args, args.api_key)
            r["parallel"] = parallel
            rows.append(r)
            print(f"{r['clients']:>7} {r['requests']:>8} {r['rps']:>7.2f} {r['ttft_p50'] * 1000:>7.1f}ms "
                  f"{r['ttft_p99'] * 1000:>7.1f}ms {r['lat_p50'] * 1000:>6.1f}ms {r['lat_p99'] * 1000:>6.1f}ms "
                  f"{r['tok_s']:>9.1f} {len(r['errors']):>6}", flush=True)
            if r["errors"]:
                failed = True
                print(f"        first error: {r['errors'][0]}", file=sys.stderr)
        return failed, rows
    finally:
        if server:
            server.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(main())
