"""The synthetic world of the demo model: shapes that appear, move and disappear.

A clip is CLIP_SECONDS long at CLIP_FPS, CLIP_SIZE x CLIP_SIZE pixels, on a plain or textured
background. It holds one to three events; each event is one object (a shape in a colour) that
appears, moves in one direction and disappears. The truth of a clip is the list of its events
with their true start and end times (seconds) and a caption, e.g. "A red circle moves left."

Everything is a pure function of a seed (numpy's PCG64), so a clip is reproducible anywhere.
Frames are encoded with the ffmpeg command (libx264), as real videos are.
"""
import json
import subprocess

import numpy as np

CLIP_SIZE = 128
CLIP_FPS = 10
CLIP_SECONDS = 16
SHAPES = ("circle", "square", "triangle")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 80, 230),
    "yellow": (235, 215, 40),
}
MOTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def caption(shape, colour, motion):
    return f"A {colour} {shape} moves {motion}."


def plan_clip(seed):
    """The clip's background and events, from its seed (no pixels yet)."""
    rng = np.random.default_rng(seed)
    background = {
        "kind": str(rng.choice(["plain", "stripes", "noise"])),
        "level": int(rng.integers(20, 110)),
        "seed": int(rng.integers(0, 2**31)),
    }
    n_events = int(rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))
    events = []
    t = float(rng.uniform(0.2, 2.5))
    used = set()
    for _ in range(n_events):
        duration = float(rng.uniform(3.0, 6.5))
        if t + duration > CLIP_SECONDS - 0.3:
            break
        while True:
            shape = str(rng.choice(SHAPES))
            colour = str(rng.choice(list(COLOURS)))
            if (shape, colour) not in used:
                break
        used.add((shape, colour))
        motion = str(rng.choice(list(MOTIONS)))
        radius = float(rng.uniform(15, 22))
        events.append({
            "start": round(t, 3),
            "end": round(t + duration, 3),
            "shape": shape,
            "colour": colour,
            "motion": motion,
            "radius": radius,
            "across": float(rng.uniform(0.3, 0.7)),  # position across the motion axis
            "text": caption(shape, colour, motion),
        })
        # Events follow one another, sometimes overlapping a little.
        t = t + duration + float(rng.uniform(-0.8, 2.5))
    return {"seed": seed, "size": CLIP_SIZE, "fps": CLIP_FPS, "seconds": CLIP_SECONDS,
            "background": background, "events": events}


def _background(bg):
    rng = np.random.default_rng(bg["seed"])
    s = CLIP_SIZE
    img = np.full((s, s, 3), bg["level"], np.float32)
    if bg["kind"] == "stripes":
        y = np.arange(s)[:, None]
        x = np.arange(s)[None, :]
        period = int(rng.integers(10, 30))
        img += 18.0 * (((x + y) // period) % 2)[..., None]
    elif bg["kind"] == "noise":
        img += rng.normal(0, 10, (s // 8, s // 8, 1)).repeat(8, 0).repeat(8, 1)
    return img


def shape_mask(shape, x, y, cx, cy, r):
    """Which of the points (x, y) the shape centred at (cx, cy) with size r covers."""
    if shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    if shape == "square":
        return (np.abs(x - cx) <= r * 0.85) & (np.abs(y - cy) <= r * 0.85)
    top = cy - r  # triangle, pointing up
    bottom = cy + r * 0.8
    half = (y - top) / (bottom - top) * r
    return (y >= top) & (y <= bottom) & (np.abs(x - cx) <= half)


def _draw(img, shape, colour, cx, cy, r):
    s = CLIP_SIZE
    y, x = np.mgrid[0:s, 0:s].astype(np.float32)
    img[shape_mask(shape, x, y, cx, cy, r)] = COLOURS[colour]


def position(event, t):
    """Centre of the event's object at time t (it crosses the frame during its lifetime)."""
    dx, dy = MOTIONS[event["motion"]]
    frac = (t - event["start"]) / (event["end"] - event["start"])
    margin = event["radius"] + 4
    along = margin + frac * (CLIP_SIZE - 2 * margin)
    if dx < 0 or dy < 0:
        along = CLIP_SIZE - along
    across = event["across"] * CLIP_SIZE
    return (along, across) if dx != 0 else (across, along)


def visible(event, t):
    return event["start"] <= t < event["end"]


def render(plan):
    """All frames of the clip, uint8 [n, s, s, 3]."""
    base = _background(plan["background"])
    n = plan["fps"] * plan["seconds"]
    frames = np.empty((n, CLIP_SIZE, CLIP_SIZE, 3), np.uint8)
    for i in range(n):
        t = i / plan["fps"]
        img = base.copy()
        for e in plan["events"]:
            if visible(e, t):
                cx, cy = position(e, t)
                _draw(img, e["shape"], e["colour"], cx, cy, e["radius"])
        frames[i] = np.clip(img, 0, 255).astype(np.uint8)
    return frames


def encode(frames, fps, path):
    """Encodes frames as H.264 in MP4 with the ffmpeg command."""
    n, h, w, _ = frames.shape
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt",
           "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset",
           "veryfast", "-crf", "20", "-g", str(2 * fps), "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, input=frames.tobytes(), check=True)


def truth(plan):
    """What the truth file holds: the events (times in seconds) and the clip's facts."""
    return {
        "seed": plan["seed"],
        "duration": plan["seconds"],
        "fps": plan["fps"],
        "events": [{k: e[k] for k in ("start", "end", "shape", "colour", "motion", "text")}
                   for e in plan["events"]],
    }


def make_clip(seed, out, truth_path=None):
    plan = plan_clip(seed)
    encode(render(plan), plan["fps"], out)
    if truth_path:
        with open(truth_path, "w") as f:
            json.dump(truth(plan), f, indent=1)
    return plan
