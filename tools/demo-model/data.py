"""Training windows built exactly as `framescribe summarize` builds them.

Frames come from the real C++ path: each clip is encoded with libx264 (world.encode), then
`framescribe frames --fps FPS --max-edge EDGE` decodes, samples and resizes it (the same code
summarize runs), and the PNGs it writes are the pixels the model sees. Prompts follow the
pipeline's layout (pipeline/src/packer.cpp, pipeline/pixtral/src/window_engine.cpp):
BOS [INST] ( "[MM:SS.s]" image-block )* instruction [/INST], the instruction being the default
window prompt (pipeline/src/prompt_template.cpp) with its variables filled in. The answer is one
line per event, "[start-end] caption", start and end being the timestamps of the first and last
sampled frames that show the object. Summary prompts follow pipeline/src/summary.cpp.
"""
import glob
import json
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

import tokenizer as T
import world

FPS = 1.0
EDGE = 64
PATCH = 16
WINDOW_PROMPT = ("These are {n_frames} frames of the video {video}, from {start} to {end}. Each "
                 "frame comes after its timestamp in brackets. List what happens, one event per "
                 "line, as [start-end] description, using the frame timestamps.")
SUMMARY_PROMPT = ("Here are timestamped descriptions of the video {video}, from {start} to {end}. "
                  "Summarise what happens in the whole video in a few sentences, keeping the "
                  "times of the main events.")
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)


def ts(seconds):
    """core::format_timestamp: MM:SS.s (tenths rounded half away from zero)."""
    tenths = int(seconds * 10 + 0.5 + 1e-9)
    return f"{tenths // 600:02d}:{(tenths // 10) % 60:02d}.{tenths % 10}"


def normalise(frames_u8):
    """[n, H, W, 3] uint8 -> [n, 3, H, W] float32, CLIP mean/std (inference/src/preprocess.cpp)."""
    x = frames_u8.astype(np.float32) / 255.0
    return ((x - MEAN) / STD).transpose(0, 3, 1, 2).copy()


def sampled_frames(framescribe, clip, work):
    out = os.path.join(work, "frames")
    subprocess.run([framescribe, "-q", "frames", clip, "--fps", str(FPS), "--max-edge", str(EDGE),
                    "--out", out, "--no-progress"], check=True, capture_output=True)
    rows = [json.loads(l) for l in open(os.path.join(out, "frames.jsonl"))]
    frames = np.stack([np.asarray(Image.open(os.path.join(out, r["file"])).convert("RGB"))
                       for r in rows])
    for f in glob.glob(os.path.join(out, "*")):
        os.remove(f)
    return frames, np.array([r["pts_s"] for r in rows])


def make_sample(framescribe, seed):
    """One clip: its sampled frames (uint8), their times, and the events as the frames show them."""
    with tempfile.TemporaryDirectory() as work:
        clip = os.path.join(work, "clip.mp4")
        plan = world.make_clip(seed, clip)
        frames, times = sampled_frames(framescribe, clip, work)
    events = []
    for e in plan["events"]:
        shown = [i for i, t in enumerate(times) if world.visible(e, t)]
        if shown:
            events.append({"first": shown[0], "last": shown[-1], "text": e["text"]})
    return {"seed": seed, "frames": frames, "times": times, "events": events,
            "duration": plan["seconds"]}


SHAPE_IDS = {s: i for i, s in enumerate(world.SHAPES)}
COLOUR_IDS = {c: i for i, c in enumerate(world.COLOURS)}
N_PATCH_CLASSES = 1 + len(SHAPE_IDS) * len(COLOUR_IDS)


def patch_labels(sample, min_cover=0.2):
    """What each patch of each sampled frame shows, from the clip's plan (training only):
    [n_frames, patches] int64, 0 for background, else 1 + shape * n_colours + colour for the
    object covering most of the patch (at least `min_cover` of it). Used by the auxiliary loss
    that teaches the vision encoder to see before the decoder learns to look."""
    plan = world.plan_clip(int(sample["seed"]))
    grid = EDGE // PATCH
    block = world.CLIP_SIZE / grid
    step = 4  # coverage measured on points 4 clip pixels apart
    pts = np.arange(step / 2, world.CLIP_SIZE, step, dtype=np.float32)
    y, x = np.meshgrid(pts, pts, indexing="ij")
    per_block = int(block // step)
    out = np.zeros((len(sample["times"]), grid * grid), np.int64)
    for i, t in enumerate(sample["times"]):
        best = np.zeros(grid * grid, np.float32)
        for e in plan["events"]:
            if not world.visible(e, t):
                continue
            cx, cy = world.position(e, t)
            mask = world.shape_mask(e["shape"], x, y, cx, cy, e["radius"]).astype(np.float32)
            cover = mask.reshape(grid, per_block, grid, per_block).mean(axis=(1, 3)).reshape(-1)
            cls = 1 + SHAPE_IDS[e["shape"]] * len(COLOUR_IDS) + COLOUR_IDS[e["colour"]]
            take = (cover >= min_cover) & (cover > best)
            out[i, take] = cls
            best = np.maximum(best, cover)
    return out


N_CLASSES = len(SHAPE_IDS) * len(COLOUR_IDS)
MOTION_IDS = {m: i for i, m in enumerate(world.MOTIONS)}
MAX_SECOND = 60


def frame_facts(sample):
    """What each sampled frame shows, per object class (shape x colour), for the decoder's
    auxiliary heads (training only): `vis` [n, classes] 0/1, the patch `row` and `col` of the
    object's centre [n, classes] (-100 where the class is not seen), its `motion` [classes]
    (-100 for classes not in the clip) and the whole `sec`ond of each frame's label [n]. Needs
    sample["labels"] (patch_labels)."""
    n, grid = len(sample["times"]), EDGE // PATCH
    vis = np.zeros((n, N_CLASSES), np.float32)
    motion = np.full(N_CLASSES, -100, np.int64)
    for e in sample["events"]:
        _, colour, shape, _, direction = e["text"].rstrip(".").split()
        c = SHAPE_IDS[shape] * len(COLOUR_IDS) + COLOUR_IDS[colour]
        vis[e["first"]:e["last"] + 1, c] = 1
        motion[c] = MOTION_IDS[direction]
    row = np.full((n, N_CLASSES), -100, np.int64)
    col = np.full((n, N_CLASSES), -100, np.int64)
    for f in range(n):
        for c in np.unique(sample["labels"][f]):
            if c == 0:
                continue
            k = np.nonzero(sample["labels"][f] == c)[0]
            row[f, c - 1] = int(round(float((k // grid).mean())))
            col[f, c - 1] = int(round(float((k % grid).mean())))
    sec = np.minimum(np.floor(np.asarray(sample["times"]) + 1e-6).astype(np.int64), MAX_SECOND - 1)
    return {"vis": vis, "row": row, "col": col, "motion": motion, "sec": sec}


def window_facts(facts, a, b):
    """frame_facts for the frames [a, b) of a window, plus what depends on the window: an object
    `appear`s in the first frame of the window that shows it and is `gone` in the first frame
    after its last one; `prev_sec` is the previous frame's second (-100 for the first)."""
    vis = facts["vis"][a:b]
    prev = np.concatenate([np.zeros((1, vis.shape[1]), np.float32), vis[:-1]])
    sec = facts["sec"][a:b]
    return {"vis": vis, "row": facts["row"][a:b], "col": facts["col"][a:b],
            "motion": np.where(vis > 0, facts["motion"][None, :], -100),
            "appear": vis * (1 - prev), "gone": (1 - vis) * prev, "sec": sec,
            "prev_sec": np.concatenate([[-100], sec[:-1]]).astype(np.int64)}


def answer_lines(sample, a, b):
    """Events of frames [a, b): times of the first and last frame inside the window."""
    lines = []
    for e in sample["events"]:
        first, last = max(e["first"], a), min(e["last"], b - 1)
        if first <= last:
            lines.append(f"[{ts(sample['times'][first])}-{ts(sample['times'][last])}] {e['text']}")
    return lines


def summary_text(lines_with_events):
    """The summary the model learns to write from event lines: the captions joined in order."""
    caps = [l.split("] ", 1)[1].rstrip(".") for l in lines_with_events]
    if not caps:
        return "Nothing happens."
    first = caps[0]
    rest = "".join(f", then {c[0].lower() + c[1:]}" for c in caps[1:])
    return f"{first}{rest}."


def window_prompt(tok, sample, a, b, video):
    rows = cols = EDGE // PATCH
    ids = [T.BOS, T.INST]
    for i in range(a, b):
        ids += tok.encode(f"[{ts(sample['times'][i])}]") + T.image_block(rows, cols)
    instr = WINDOW_PROMPT.format(n_frames=b - a, video=video, start=ts(sample["times"][a]),
                                 end=ts(sample["times"][b - 1]))
    ids += tok.encode(instr) + [T.INST_END]
    return ids


def summary_prompt(tok, lines, start_s, end_s, video):
    text = SUMMARY_PROMPT.format(video=video, start=ts(start_s), end=ts(end_s)) + "\n\n" + "\n".join(lines)
    return [T.BOS, T.INST] + tok.encode(text) + [T.INST_END]


def corpus(n_examples=400):
    """Texts the tokenizer's merges are learned from (weights: how often each kind appears)."""
    texts = []
    rng = np.random.default_rng(7)
    for shape in world.SHAPES:
        for colour in world.COLOURS:
            for motion in world.MOTIONS:
                texts.append((world.caption(shape, colour, motion), 20))
    for _ in range(n_examples):
        n = int(rng.integers(1, 17))
        s = float(rng.integers(0, 60))
        texts.append((WINDOW_PROMPT.format(n_frames=n, video=video_name(rng), start=ts(s),
                                           end=ts(s + n - 1)), 5))
        texts.append((SUMMARY_PROMPT.format(video=video_name(rng), start=ts(s), end=ts(s + n)), 1))
        texts.append((f"[{ts(s)}-{ts(s + 3)}] A red circle moves left.\n", 3))
    texts.append(("Nothing happens. then", 5))
    return texts


WORDS = ["clip", "video", "demo", "sample", "camera", "test", "movie", "shapes", "cam", "scene"]


def video_name(rng):
    """A file name like the ones users give (the prompt names the video). The tokenizer's
    merges are learned from prompts with these names (corpus), so this function must not change;
    training windows use varied_video_name."""
    w = WORDS[int(rng.integers(len(WORDS)))]
    kind = int(rng.integers(4))
    if kind == 0:
        return f"{w}.mp4"
    if kind == 1:
        return f"{w}-{int(rng.integers(1, 999))}.mp4"
    if kind == 2:
        return f"{w}_{int(rng.integers(1, 99))}.mkv"
    return f"{w}{int(rng.integers(1, 9))}.mp4"


def varied_video_name(rng):
    """The video names of training windows: video_name's, and half the time a name from a wider
    set (numbers of up to 8 digits, random letters, dates, other containers), so that the
    answer does not depend on the name. Measured before this: the same window gave different
    shapes or motions under "clip.mp4" and "clip-1000003.mp4" (a 7-digit number no training
    name had)."""
    if rng.random() < 0.5:
        return video_name(rng)
    ext = ["mp4", "mkv", "mov", "webm", "avi", "ts"][int(rng.integers(6))]
    letters = "abcdefghijklmnopqrstuvwxyz"

    def word():
        if rng.random() < 0.5:
            return WORDS[int(rng.integers(len(WORDS)))]
        return "".join(letters[int(rng.integers(26))] for _ in range(int(rng.integers(2, 11))))

    def number():
        return str(int(rng.integers(0, 10 ** int(rng.integers(1, 9)))))

    kind = int(rng.integers(5))
    if kind == 0:
        name = f"{word()}{'-_'[int(rng.integers(2))]}{number()}"
    elif kind == 1:
        name = number()
    elif kind == 2:
        name = f"{int(rng.integers(2015, 2031))}-{int(rng.integers(1, 13)):02d}-" \
               f"{int(rng.integers(1, 29)):02d}_{word()}"
    elif kind == 3:
        name = f"{word()}_{word()}"
    else:
        name = word().upper() if rng.random() < 0.5 else word()
    return f"{name}.{ext}"
