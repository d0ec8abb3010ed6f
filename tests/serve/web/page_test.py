#!/usr/bin/env python3
"""serve's page (GET /) in headless Chromium, as a person uses it: the page loads under its
strict Content-Security-Policy without a violation, a sample clip is uploaded through the
page's real file input, the job's progress is polled to the end, and the events, summary and
the HTML report (the one summarize writes) are shown. The events shown equal the job API's.
Text from the server is shown as text: a source with markup appears literally in the error.
Screenshots go to $FS_ARTIFACT_DIR when set, else to --artifacts.

  page_test.py --server BUILD/tests/video_page_server --clip samples/shapes-demo.mp4 \
      --artifacts DIR [--chromium /usr/bin/chromium]
Exit 0: passed; 1: a check failed (said on stderr); 77: Chromium is not installed (skipped)."""
import argparse
import json
import os
import subprocess
import sys
import urllib.request

from playwright.sync_api import sync_playwright


def fail(msg):
    print("page_test: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--artifacts", default=".", help="used when $FS_ARTIFACT_DIR is not set")
    ap.add_argument("--chromium", default=os.environ.get("FS_CHROMIUM") or "/usr/bin/chromium")
    a = ap.parse_args()
    a.artifacts = os.environ.get("FS_ARTIFACT_DIR") or a.artifacts
    if not os.path.exists(a.chromium):
        print(f"page_test: {a.chromium} not found: skipped", file=sys.stderr)
        return 77
    os.makedirs(a.artifacts, exist_ok=True)
    server = subprocess.Popen([a.server], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            fail(f"the server did not start (said {line!r})")
        base = f"http://127.0.0.1:{line[1]}"
        run(a, base)
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            fail("the server did not exit when asked")
    if server.returncode != 0:
        fail(f"the server exited with {server.returncode}")
    print("page_test: passed")
    return 0


def run(a, base):
    violations = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=a.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        # CSP violations and script errors fail the test; the one refused request the test
        # makes on purpose (400) is logged by Chromium as a failed resource, and allowed.
        expected = "the server responded with a status of 400"
        page.on("console", lambda m: violations.append(m.text)
                if ("Content Security Policy" in m.text or m.type == "error")
                and expected not in m.text else None)
        page.on("pageerror", lambda e: violations.append(str(e)))
        page.goto(base + "/")
        page.wait_for_selector("#job-form")
        page.screenshot(path=os.path.join(a.artifacts, "serve-page.png"), full_page=True)

        # A source the server refuses, with markup in it: the message is shown as text.
        page.fill("#source", "<img id=injected src=x>.mp4")
        page.click("#go")
        # (a selector, not wait_for_function: the page's CSP forbids eval, as it should)
        page.wait_for_selector("#error:not(:empty)")
        err = page.inner_text("#error")
        if "<img id=injected" not in err or page.query_selector("#injected") is not None:
            fail(f"the error was not shown as text: {err!r}")
        page.fill("#source", "")

        # The real upload: the page's file input, then Summarise.
        page.set_input_files("#file", a.clip)
        page.click("#go")
        page.wait_for_selector("#status[data-status=done], #status[data-status=failed]",
                               timeout=180_000)
        status = page.inner_text("#status")
        if status.lower() != "done":
            fail(f"the job ended {status}: {page.inner_text('#error')}")
        job_id = page.inner_text("#job-id")
        with urllib.request.urlopen(f"{base}/v1/videos/summaries/{job_id}") as r:
            job = json.load(r)
        if not job["source"].startswith("upload:"):
            fail(f"the job's source is {job['source']}, not an upload")
        shown = page.locator("#events li").all_inner_texts()
        if len(shown) != len(job["events"]) or not shown:
            fail(f"the page shows {len(shown)} events, the job has {len(job['events'])}")
        for li, ev in zip(shown, job["events"]):
            if ev["text"] not in li:
                fail(f"event {ev['text']!r} not shown (got {li!r})")
        if page.inner_text("#summary") != job["summary"]:
            fail("the summary shown is not the job's")
        # The report summarize writes, in the page's frame.
        frame_el = page.wait_for_selector("#report[src]")
        if frame_el.get_attribute("src") != job["files"]["html"]:
            fail("the frame does not show the job's HTML report")
        frame = frame_el.content_frame()
        frame.wait_for_selector(".event")
        if frame.locator(".event").count() != len(job["events"]):
            fail("the report's events differ from the job's")
        page.wait_for_timeout(300)
        page.screenshot(path=os.path.join(a.artifacts, "serve-page-report.png"), full_page=True)
        browser.close()
    if violations:
        fail("console errors or CSP violations: " + "; ".join(violations))


if __name__ == "__main__":
    sys.exit(main())
