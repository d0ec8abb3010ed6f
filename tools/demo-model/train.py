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
import multiprocessing
import os
import re
import sys
import time

# torch's own threads do the parallel work; OpenBLAS threading on top of them oversubscribes
# the cores (measured on 2 cores: 4-6 s per step instead of 1.2 s). Must be set before numpy and
# torch load OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model as M  # noqa: E402
import tokenizer as T  # noqa: E402

LINE = re.compile(r"^\[(\d\d):(\d\d)\.(\d)-(\d\d):(\d\d)\.(\d)\] (.*)$")


def _sample(args):
    return data.make_sample(*args)


def load_or_build(framescribe, seeds, cache, jobs=2):
    """The samples of these seeds, built once (in `jobs` processes) and cached in `cache`."""
    if os.path.exists(cache):
        z = np.load(cache, allow_pickle=True)
        return list(z["samples"])
    out, t0 = [], time.time()
    with multiprocessing.Pool(jobs) as pool:
        for i, s in enumerate(pool.imap(_sample, [(framescribe, int(s)) for s in seeds], 8)):
            out.append(s)
            if (i + 1) % 250 == 0:
                print(f"  clips {i + 1}/{len(seeds)} ({time.time() - t0:.0f} s)", flush=True)
    np.savez(cache, samples=np.array(out, dtype=object))
    return out


def example(tok, sample, rng, short=0.0, plain_names=False):
    """(ids, n_prompt, frames) for one training example. `short`: the share of windows of 2-4
    frames (where the answer depends on few images, which teaches looking at them sooner).
    `plain_names`: video names from data.video_name only (as runs A-I had)."""
    n = len(sample["times"])
    video = data.video_name(rng) if plain_names else data.varied_video_name(rng)
    if short > 0 and rng.random() < short:
        length = int(rng.integers(2, 5))
        a = int(rng.integers(0, n - length + 1))
        ids = data.window_prompt(tok, sample, a, a + length, video)
        ans = tok.encode("\n".join(data.answer_lines(sample, a, a + length)))
        return ids + ans + [T.EOS], len(ids), sample["frames"][a:a + length], \
            sample["labels"][a:a + length], data.window_facts(sample["facts"], a, a + length)
    if rng.random() < 0.2:  # a summary prompt
        lines = data.answer_lines(sample, 0, n)
        if not lines:
            return None
        ids = data.summary_prompt(tok, lines, 0.0, sample["duration"], video)
        ans = tok.encode(data.summary_text(lines))
        return ids + ans + [T.EOS], len(ids), sample["frames"][:0], sample["labels"][:0], None
    if rng.random() < 0.6:
        a, b = 0, n
    else:
        length = int(rng.integers(4, n + 1))
        a = int(rng.integers(0, n - length + 1))
        b = a + length
    ids = data.window_prompt(tok, sample, a, b, video)
    ans = tok.encode("\n".join(data.answer_lines(sample, a, b)))
    return ids + ans + [T.EOS], len(ids), sample["frames"][a:b], sample["labels"][a:b], \
        data.window_facts(sample["facts"], a, b)


FRAME_HEADS = {  # decoder block -> (name, kind, width) read at each frame's [IMG_END]
    0: [("vis", "bce", 1), ("row", "ce", 4), ("col", "ce", 4), ("sec", "ce", data.MAX_SECOND)],
    1: [("motion", "ce", 4), ("appear", "bce", 1), ("gone", "bce", 1),
        ("prev_sec", "ce", data.MAX_SECOND)],
}


def head_width(block):
    return sum(w * (1 if name.endswith("sec") else data.N_CLASSES)
               for name, _, w in FRAME_HEADS[block])


def frame_loss(heads, hidden, x, facts):
    """The decoder's deep supervision: linear heads on the residual stream at each frame's
    [IMG_END] (after decoder blocks 0 and 1) predict what the frame shows (classes, where,
    the label's second) and how it relates to the previous frame (motion, appears, gone, the
    previous label's second). The heads are not part of the exported model; they teach the
    decoder to gather each frame into one place before the answer reads it."""
    where = (x == T.IMG_END).nonzero(as_tuple=True)
    total = 0.0
    for block, head in heads.items():
        out = head(hidden[block][where])
        k = 0
        for name, kind, w in FRAME_HEADS[block]:
            per = 1 if name.endswith("sec") else data.N_CLASSES
            logits = out[:, k:k + per * w].reshape(-1, per, w)
            k += per * w
            target = torch.from_numpy(np.concatenate([f[name] for f in facts]))
            if kind == "bce":
                total = total + 4 * torch.nn.functional.binary_cross_entropy_with_logits(
                    logits.squeeze(-1), target)
            else:
                target = target.reshape(-1)
                if (target != -100).any():
                    total = total + torch.nn.functional.cross_entropy(
                        logits.reshape(-1, w), target, ignore_index=-100)
    return total


def patch_loss(aux_head, tokens, target, object_weight=1.0):
    """Cross-entropy of what each patch shows (data.patch_labels), read by `aux_head` from the
    vision encoder's output. Patches that show an object weigh `object_weight` times a
    background patch: most patches are background, and with equal weights the encoder learns
    colours (easy) long before shapes (measured: 58% of the object patches' shapes right after
    run H's 5,250 steps at weight 1; 98% after 4,000 encoder steps at weight 10)."""
    per = torch.nn.functional.cross_entropy(
        aux_head(tokens).reshape(-1, data.N_PATCH_CLASSES), target, reduction="none")
    w = 1.0 + (object_weight - 1.0) * (target > 0).float()
    return (per * w).sum() / w.sum()


def pretrain_encoder(m, aux_head, train, steps, lr, object_weight, rng, batch=64):
    """Trains the vision encoder alone (with the patch head) on single frames before the whole
    model trains: cheap (about 25 ms per frame batch of 64 on 2 cores) and it gives the decoder
    features that already tell the shapes apart."""
    frames = np.concatenate([s["frames"] for s in train])
    labels = np.concatenate([s["labels"] for s in train])
    params = [p for n, p in m.named_parameters() if n.startswith(M.VISION_PREFIXES)]
    params += list(aux_head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    t0, avg = time.time(), None
    for step in range(1, steps + 1):
        idx = rng.integers(len(frames), size=batch)
        tokens = m.vision_tokens(torch.from_numpy(data.normalise(frames[idx])))
        loss = patch_loss(aux_head, tokens, torch.from_numpy(labels[idx]).reshape(-1), object_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        avg = float(loss) if avg is None else 0.98 * avg + 0.02 * float(loss)
        if step % 250 == 0 or step == steps:
            print(f"encoder step {step} patch loss {avg:.4f} ({time.time() - t0:.0f} s)", flush=True)


@torch.no_grad()
def shape_accuracy(m, aux_head, samples):
    """Share of the object patches of `samples` whose shape the patch head reads right."""
    right = total = 0
    for s in samples:
        pred = aux_head(m.vision_tokens(torch.from_numpy(data.normalise(s["frames"]))))
        pred = pred.argmax(-1).reshape(-1).numpy() - 1
        lab = s["labels"].reshape(-1) - 1
        obj = lab >= 0
        n_col = len(data.COLOUR_IDS)
        right += int(((pred[obj] >= 0) & (pred[obj] // n_col == lab[obj] // n_col)).sum())
        total += int(obj.sum())
    return right / max(total, 1)


def batch_loss(m, batch, device, aux_head=None, aux_weight=0.0, heads=None, frame_weight=0.0,
               object_weight=1.0):
    """Next-token loss on the answers, plus (with `aux_head`) the auxiliary patch loss: what
    each patch shows (data.patch_labels), read from the vision encoder's output, and (with
    `heads`) the per-frame losses of frame_loss. The auxiliary heads are not part of the
    exported model; they only teach the encoder to see and the decoder to look early."""
    L = max(len(ex[0]) for ex in batch)
    x = torch.full((len(batch), L), 11, dtype=torch.long)
    y = torch.full((len(batch), L), -100, dtype=torch.long)
    frames, labels, facts = [], [], []
    for i, (ids, n_prompt, fr, lab, fact) in enumerate(batch):
        x[i, :len(ids)] = torch.tensor(ids)
        y[i, n_prompt - 1:len(ids) - 1] = torch.tensor(ids[n_prompt:])
        if len(fr):
            frames.append(fr)
            labels.append(lab)
            facts.append(fact)
    x, y = x.to(device), y.to(device)
    feats, aux = None, None
    if frames:
        px = torch.from_numpy(data.normalise(np.concatenate(frames))).to(device)
        tokens = m.vision_tokens(px)
        feats = m.project(tokens)
        if aux_head is not None:
            target = torch.from_numpy(np.concatenate(labels)).to(device).reshape(-1)
            aux = patch_loss(aux_head, tokens, target, object_weight)
    hidden = [] if heads else None
    logits = m(x, feats, hidden)
    loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1),
                                             ignore_index=-100)
    total, fl = loss, 0.0
    if aux is not None:
        total = total + aux_weight * aux
    if heads and facts:
        f = frame_loss(heads, hidden, x, facts)
        total, fl = total + frame_weight * f, float(f)
    return total, float(loss), float(aux) if aux is not None else 0.0, fl


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
        # Named as evaluate.py names its clips (runs A-I were scored with "clip.mp4").
        prompt = data.window_prompt(tok, s, 0, n, f"clip-{s['seed']}.mp4")
        got = parse(tok.decode(generate(m, prompt, s["frames"], device)))
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
    ap.add_argument("--eval-n", type=int, default=0,
                    help="score only the first N held-out clips at each evaluation (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--work", default="/tmp/framescribe-demo-model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--proj-scale", type=float, default=1.0,
                    help="scale of the projector's last layer at initialisation")
    ap.add_argument("--aux-weight", type=float, default=0.0,
                    help="weight of the auxiliary patch loss (what each patch shows)")
    ap.add_argument("--object-weight", type=float, default=1.0,
                    help="weight of a patch showing an object in the patch loss (background: 1)")
    ap.add_argument("--encoder-steps", type=int, default=0,
                    help="steps of vision-encoder-only training (patch loss, 64 frames a step) "
                    "before the whole model trains; needs --aux-weight")
    ap.add_argument("--encoder-lr", type=float, default=1e-3)
    ap.add_argument("--plain-names", action="store_true",
                    help="video names in the prompts from data.video_name only, as runs A-I had "
                    "(default: data.varied_video_name)")
    ap.add_argument("--short-windows", type=float, default=0.0,
                    help="share of training windows with only 2-4 frames")
    ap.add_argument("--frame-weight", type=float, default=0.0,
                    help="weight of the decoder's per-frame auxiliary losses (frame_loss)")
    ap.add_argument("--t-layers", type=int, default=3, help="decoder layers")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="end after this many steps (evaluating and exporting there) while the "
                    "learning-rate schedule is still that of --steps")
    ap.add_argument("--resume", help="a checkpoint.pt to continue from (the model's weights and "
                    "the auxiliary heads it holds), or an exported model directory (weights only, "
                    "e.g. samples/models/framescribe-demo); a fresh optimiser and schedule")
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
    for s in train + held:
        s["labels"] = data.patch_labels(s)
        s["facts"] = data.frame_facts(s)
    m = M.Pixtral(M.Config(tok.vocab_size, t_layers=a.t_layers)).to(a.device)
    if a.proj_scale != 1.0:  # image rows at the scale of the token embeddings
        with torch.no_grad():
            m.proj2.weight.mul_(a.proj_scale)
            m.proj2.bias.zero_()
    print(f"model: {sum(p.numel() for p in m.parameters())} parameters", flush=True)
    aux_head = torch.nn.Linear(m.cfg.v_dim, data.N_PATCH_CLASSES).to(a.device) \
        if a.aux_weight > 0 else None
    heads = {b: torch.nn.Linear(m.cfg.t_dim, head_width(b)).to(a.device) for b in FRAME_HEADS} \
        if a.frame_weight > 0 else None
    params = list(m.parameters()) + (list(aux_head.parameters()) if aux_head else [])
    params += [p for h in (heads or {}).values() for p in h.parameters()]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.01, betas=(0.9, 0.98))
    if a.resume and os.path.isdir(a.resume):  # an exported model (the auxiliary heads start anew)
        import crosscheck
        m.load_state_dict(crosscheck.load_model(a.resume).state_dict())
        print(f"continuing from the export in {a.resume}", flush=True)
    elif a.resume:
        ck = torch.load(a.resume)
        m.load_state_dict(ck["model"])
        for name, h in [("aux_head", aux_head)] + [(f"head{b}", h) for b, h in (heads or {}).items()]:
            if h is not None and name in ck:
                h.load_state_dict(ck[name])
        print(f"resumed from {a.resume} (step {ck['step']})", flush=True)
    if aux_head is not None:
        print(f"held-out object patches with the right shape: "
              f"{shape_accuracy(m, aux_head, held):.1%}", flush=True)
    if a.encoder_steps:
        if aux_head is None:
            sys.exit("--encoder-steps needs --aux-weight")
        pretrain_encoder(m, aux_head, train, a.encoder_steps, a.encoder_lr, a.object_weight, rng)
        print(f"held-out object patches with the right shape: "
              f"{shape_accuracy(m, aux_head, held):.1%}", flush=True)
    warm = max(1, min(200, a.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps))))
    t0 = time.time()
    avg = None
    for step in range(1, a.steps + 1):
        batch = []
        while len(batch) < a.batch:
            ex = example(tok, train[int(rng.integers(len(train)))], rng, a.short_windows,
                         a.plain_names)
            if ex:
                batch.append(ex)
        loss, lm, aux, fl = batch_loss(m, batch, a.device, aux_head, a.aux_weight, heads,
                                       a.frame_weight, a.object_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        now = np.array([lm, aux, fl])
        avg = now if avg is None else 0.98 * avg + 0.02 * now
        if step % 25 == 0:
            print(f"step {step} loss {avg[0]:.4f} patch loss {avg[1]:.4f} frame loss {avg[2]:.4f} "
                  f"({time.time() - t0:.0f} s)", flush=True)
        last = step == a.steps or step == a.stop_after
        if step % a.eval_every == 0 or last:
            named, timed, extra = evaluate(m, tok, held[:a.eval_n or len(held)], a.device)
            print(f"  held-out: named {named:.1%}, timed {timed:.1%} of those, extra {extra:.1%}", flush=True)
            if aux_head is not None:
                print(f"  held-out object patches with the right shape: "
                      f"{shape_accuracy(m, aux_head, held):.1%}", flush=True)
            M.export(m, a.out, tok, defaults())
            ck = {"model": m.state_dict(), "opt": opt.state_dict(), "step": step}
            if aux_head is not None:
                ck["aux_head"] = aux_head.state_dict()
            for b, h in (heads or {}).items():
                ck[f"head{b}"] = h.state_dict()
            torch.save(ck, os.path.join(a.work, "checkpoint.pt"))
        if last:
            break
    print(f"done in {time.time() - t0:.0f} s; model in {a.out}", flush=True)


def defaults():
    """Settings written beside the model: what summarize uses when the user gives none."""
    return {"fps": data.FPS, "max_edge": data.EDGE, "max_tokens": 192,
            "about": "framescribe demo model: knows only the synthetic shapes world of "
                     "tools/demo-model (see README.md there)"}


if __name__ == "__main__":
    main()
