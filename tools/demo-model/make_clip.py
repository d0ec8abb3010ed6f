#!/usr/bin/env python3
"""Makes one synthetic clip and its truth file.

    tools/demo-model/make_clip.py --seed 12345 --out clip.mp4 --truth clip.json

Seeds below 1,000,000 are the training set of the bundled demo model; use larger seeds for
held-out clips. Needs python3-numpy and the ffmpeg command.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True, help="video file to write (.mp4)")
    ap.add_argument("--truth", help="truth file to write (.json)")
    a = ap.parse_args()
    plan = world.make_clip(a.seed, a.out, a.truth)
    for e in plan["events"]:
        print(f"{e['start']:6.2f} - {e['end']:6.2f}  {e['text']}")


if __name__ == "__main__":
    main()
