#!/usr/bin/env python3
"""Issue 8's acceptance check: `framescribe summarize` with default settings on held-out clips.

    /usr/bin/python3 tools/demo-model/evaluate.py --framescribe build/cpu-release/apps/framescribe \
        --first-seed 1000200 --clips 20 [--model DIR]

Makes each clip with the generator (seeds from 1,000,000 up are never used in training), runs
`framescribe summarize CLIP --out DIR --format jsonl --quiet` (no other option: the model's
recommended settings; without --model the bundled demo model), and scores the events against
the truth file:
- named: a true event whose caption appears among the output events (each output event counts
  once);
- timed: of those, the ones whose output start is within one sampling interval (1 s) of the true
  start;
- extra: output events that match no true event, as a share of the true events.
Exits 1 when named < 80%, timed < 80% or extra > 10% (the issue's thresholds).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402


def norm(text):
    return text.strip().rstrip(".").strip().lower()


def score(truth, events, interval):
    used = [False] * len(events)
    named = timed = 0
    for t in truth["events"]:
        for k, e in enumerate(events):
            if not used[k] and norm(e["text"]) == norm(t["text"]):
                used[k] = True
                named += 1
                timed += abs(e["start"] - t["start"]) <= interval + 1e-6
                break
    parts = [0, 0, 0, 0]  # placed, colour, shape, motion (as tests/apps/demo_model_test.cpp)
    for t in truth["events"]:
        near = [" " + norm(e["text"]) + " " for e in events
                if abs(e["start"] - t["start"]) <= interval + 1e-6]
        parts[0] += bool(near)
        parts[1] += any(f" {t['colour']} " in x for x in near)
        parts[2] += any(f" {t['shape']} " in x for x in near)
        parts[3] += any(f" moves {t['motion']} " in x for x in near)
    return [len(truth["events"]), named, timed, used.count(False)] + parts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--framescribe", required=True)
    ap.add_argument("--model", help="model folder (default: framescribe's own default)")
    ap.add_argument("--first-seed", type=int, default=1_000_200)
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--interval", type=float, default=1.0, help="sampling interval, seconds")
    a = ap.parse_args()
    assert a.first_seed >= 1_000_000, "seeds below 1,000,000 are training clips"
    tot = [0] * 8
    with tempfile.TemporaryDirectory() as work:
        for seed in range(a.first_seed, a.first_seed + a.clips):
            clip = os.path.join(work, f"clip-{seed}.mp4")
            plan = world.make_clip(seed, clip)
            truth = world.truth(plan)
            cmd = [a.framescribe, "summarize", clip, "--out", work, "--format", "jsonl", "--quiet"]
            if a.model:
                cmd += ["--model", a.model]
            subprocess.run(cmd, check=True)
            with open(os.path.join(work, f"clip-{seed}.jsonl")) as f:
                records = [json.loads(line) for line in f if line.strip()]
            events = [r for r in records if r.get("type") == "event"]  # not the summary record
            s = score(truth, events, a.interval)
            tot = [x + y for x, y in zip(tot, s)]
            print(f"seed {seed}: {s[0]} true, {s[1]} named, {s[2]} timed, {s[3]} extra")
            for t in truth["events"]:
                print(f"    truth {t['start']:6.2f}-{t['end']:6.2f} {t['text']}")
            for e in events:
                print(f"    model {e['start']:6.2f}-{e['end']:6.2f} {e['text']}")
    n, named, timed, extra = tot[:4]
    r_named, r_timed, r_extra = named / n, timed / max(named, 1), extra / n
    print(f"{a.clips} clips, {n} true events: named {r_named:.1%} (>= 80%), timed {r_timed:.1%} "
          f"of those (>= 80%), extra {r_extra:.1%} (<= 10%)")
    ok = r_named >= 0.8 and r_timed >= 0.8 and r_extra <= 0.1
    print("parts: placed {:.1%}, colour {:.1%}, shape {:.1%}, motion {:.1%}".format(
        *[x / n for x in tot[4:]]))
    print("result: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
