#!/usr/bin/env python3
"""Trains the demo model and exports it (Hugging Face layout, float32).

    /usr/bin/python3 tools/demo-model/train.py --framescribe build/cpu-release/apps/framescribe \
        --clips 1500 --steps 3000 --out samples/models/framescribe-demo

Seeded and reproducible (torch and numpy seeds; one thread order). CPU by default; --device cuda
uses a GPU when one is there. Clips with seeds [0, --clips) are the training set; held-out
evaluation uses seeds from 1,000,000 up (make_clip.py). Prints the loss and, every --eval-every
steps, how many held-out events the model names and times correctly.
"""
import argparse
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model as M  # noqa: E402
import tokenizer as T  # noqa: E402

LINE = re.compile(r"^\[(\d\d):(\d\d)\.(\d)-(\d\d):(\d\d)\.(\d)\] (.*)$")


def load_or_build(framescribe, seeds, cache):
    if os.path.exists(cache):
        z = np.load(cache, allow_pickle=True)
        return list(z["samples"])
    out, t0 = [], time.time()
    for i, s in enumerate(seeds):
        out.append(data.make_sample(framescribe, int(s)))
        if (i + 1) % 100 == 0:
            print(f"  clips {i + 1}/{len(seeds)} ({time.time() - t0:.0f} s)", flush=True)
    np.savez(cache, samples=np.array(out, dtype=object))
    return out


def example(tok, sample, rng):
    """(ids, n_prompt, frames) for one training example."""
    n = len(sample["times"])
    video = data.video_name(rng)
    if rng.random() < 0.2:  # a summary prompt
        lines = data.answer_lines(sample, 0, n)
        if not lines:
            return None
        ids = data.summary_prompt(tok, lines, 0.0, sample["duration"], video)
        ans = tok.encode(data.summary_text(lines))
        return ids + ans + [T.EOS], len(ids), sample["frames"][:0]
    if rng.random() < 0.6:
        a, b = 0, n
    else:
        length = int(rng.integers(4, n + 1))
        a = int(rng.integers(0, n - length + 1))
        b = a + length
    ids = data.window_prompt(tok, sample, a, b, video)
    ans = tok.encode("\n".join(data.answer_lines(sample, a, b)))
    return ids + ans + [T.EOS], len(ids), sample["frames"][a:b]


def batch_loss(m, batch, device):
    L = max(len(ids) for ids, _, _ in batch)
    x = torch.full((len(batch), L), 11, dtype=torch.long)
    y = torch.full((len(batch), L), -100, dtype=torch.long)
    frames = []
    for i, (ids, n_prompt, fr) in enumerate(batch):
        x[i, :len(ids)] = torch.tensor(ids)
        y[i, n_prompt - 1:len(ids) - 1] = torch.tensor(ids[n_prompt:])
        if len(fr):
            frames.append(fr)
    x, y = x.to(device), y.to(device)
    feats = None
    if frames:
        px = torch.from_numpy(data.normalise(np.concatenate(frames))).to(device)
        feats = m.encode_images(px)
    logits = m(x, feats)
    return torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1),
                                             ignore_index=-100)


@torch.no_grad()
def generate(m, ids, frames, device, max_new=160):
    feats = None
    if len(frames):
        feats = m.encode_images(torch.from_numpy(data.normalise(frames)).to(device))
    out = list(ids)
    for _ in range(max_new):
        logits = m(torch.tensor([out], device=device), feats)[0, -1]
        logits[T.IMG] = -float("inf")
        nxt = int(logits.argmax())
        if nxt == T.EOS:
            break
        out.append(nxt)
    return out[len(ids):]


def parse(text):
    events = []
    for line in text.split("\n"):
        mm = LINE.match(line.strip())
        if mm:
            g = [int(v) for v in mm.groups()[:6]]
            events.append((g[0] * 60 + g[1] + g[2] / 10, g[3] * 60 + g[4] + g[5] / 10, mm.group(7)))
    return events


def evaluate(m, tok, samples, device):
    """Share of true events named (caption) with a start within one frame interval; extras."""
    m.eval()
    true_n = found = timed = extra = 0
    for s in samples:
        n = len(s["times"])
        got = parse(tok.decode(generate(m, data.window_prompt(tok, s, 0, n, "clip.mp4"),
                                        s["frames"], device)))
        truth = [(s["times"][e["first"]], e["text"]) for e in s["events"]]
        true_n += len(truth)
        used = set()
        for t0, text in truth:
            for k, (g0, _, gt) in enumerate(got):
                if k not in used and gt == text:
                    used.add(k)
                    found += 1
                    timed += abs(g0 - t0) <= 1.0 / data.FPS + 1e-6
                    break
        extra += len(got) - len(used)
    m.train()
    return found / max(true_n, 1), timed / max(found, 1), extra / max(true_n, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--framescribe", required=True, help="the built framescribe binary")
    ap.add_argument("--clips", type=int, default=1500)
    ap.add_argument("--eval-clips", type=int, default=40)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--work", default="/tmp/framescribe-demo-model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20261127)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.work, exist_ok=True)

    tok = T.Tokenizer(T.train_merges(data.corpus(), 400))
    print(f"tokenizer: {tok.vocab_size} ids ({len(tok.tokens) - 256} merges)", flush=True)
    train = load_or_build(a.framescribe, range(a.clips), os.path.join(a.work, f"train-{a.clips}.npz"))
    held = load_or_build(a.framescribe, range(1_000_000, 1_000_000 + a.eval_clips),
                         os.path.join(a.work, f"eval-{a.eval_clips}.npz"))
    m = M.Pixtral(M.Config(tok.vocab_size)).to(a.device)
    print(f"model: {sum(p.numel() for p in m.parameters())} parameters", flush=True)
    opt = torch.optim.AdamW(m.parameters(), lr=a.lr, weight_decay=0.01, betas=(0.9, 0.98))
    warm = min(200, a.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps))))
    t0 = time.time()
    avg = None
    for step in range(1, a.steps + 1):
        batch = []
        while len(batch) < a.batch:
            ex = example(tok, train[int(rng.integers(len(train)))], rng)
            if ex:
                batch.append(ex)
        loss = batch_loss(m, batch, a.device)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        sched.step()
        avg = float(loss) if avg is None else 0.98 * avg + 0.02 * float(loss)
        if step % 25 == 0:
            print(f"step {step} loss {avg:.4f} ({time.time() - t0:.0f} s)", flush=True)
        if step % a.eval_every == 0 or step == a.steps:
            named, timed, extra = evaluate(m, tok, held, a.device)
            print(f"  held-out: named {named:.1%}, timed {timed:.1%} of those, extra {extra:.1%}", flush=True)
            M.export(m, a.out, tok, defaults())
    print(f"done in {time.time() - t0:.0f} s; model in {a.out}", flush=True)


def defaults():
    """Settings written beside the model: what summarize uses when the user gives none."""
    return {"fps": data.FPS, "max_edge": data.EDGE, "max_tokens": 192,
            "about": "framescribe demo model: knows only the synthetic shapes world of "
                     "tools/demo-model (see README.md there)"}


if __name__ == "__main__":
    main()
