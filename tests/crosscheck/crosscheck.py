#!/usr/bin/env python3
"""framescribe against Mistral's own code (mistral-common): tokenizer, prompts, preprocessing.

Runs framescribe's side through one crosscheck_harness process per batch and mistral-common in
this process, on cases generated from a seed that is printed first, and compares:

  tokenizer   encode() ids of >= 100,000 random strings per run on several tekken.json files
              (Pixtral-12B's own tekken_240911.json from the mistral-common wheel, and files
              generated here in the same format: 1,000 special tokens then a byte-level BPE
              vocabulary, one of the real size 150,000 / 131,072); decode(encode(x)) == x on
              both sides; invalid UTF-8 on ours (mistral-common's API takes str, see
              check_invalid_utf8 for what it is compared with).
  prompts     chat requests through MistralTokenizer.encode_chat_completion (Instruct v3, as
              vLLM does for Pixtral-12B) and framescribe's build_prompt: identical ids, and every
              image block where ImagePlacement says it is.
  preprocess  random image sizes through mistral-common's ImageEncoder and preprocess_image:
              identical target size and token count always; pixel values bit-identical where
              the size does not change, within PLAIN_BOUND of OpenCV's own resize and
              ipp_bound() of cv2 as installed (IPP) where it resamples.

  crosscheck.py --harness PATH --work DIR [--check all|tokenizer|prompts|preprocess]
                [--seed S] [--seconds N] [--strings N] [--prompts N] [--images N]

Without --seconds: one round with the given seed (CI uses a fixed one). With --seconds N: rounds
with seeds S, S+1, ... until N seconds have passed; each round prints its seed, and
`--seed S' --check C` replays one. Exit 0 when everything agrees, 1 with a minimal reproducer
for each mismatch kind, 2 on usage errors.
"""
from __future__ import annotations

import argparse
import base64
import importlib.resources
import io
import json
import os
import random
import struct
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import cv2
import numpy as np
import regex
from PIL import Image

import mistral_common
from mistral_common.protocol.instruct.chunk import ImageChunk, TextChunk
from mistral_common.protocol.instruct.messages import AssistantMessage, SystemMessage, UserMessage
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.tokens.tokenizers.image import ImageConfig, ImageEncoder, SpecialImageIDs
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer
from mistral_common.tokens.tokenizers.tekken import Tekkenizer

# Where the size changes, both sides compute OpenCV's INTER_CUBIC (Keys, A = -0.75) in float32.
# Two references: mistral-common as installed, whose cv2.resize hands float32 resizing to Intel
# IPP on x86 (the opencv-python wheels ship it), and the same with cv2.ipp.setUseIPP(False):
# OpenCV's own code, which framescribe follows operation by operation (same coordinates, same
# weights, same order of additions), so PLAIN_BOUND only allows a few float32 ulps at
# |value| <= 2.7 and measures 0 in practice.
# IPP computes the source coordinates and weights in its own float32 arithmetic, so it differs
# from OpenCV by amounts that scale with the float spacing at the source coordinate: measured
# up to 3.0e-4 (0.020 grey levels) over 5,922 upscales of 0/255 images smaller than 1024 px
# (the worst case: the weight error counts most at full contrast), and 9.2e-4 for a 2481 px
# source. The bound is twice the worst seen below 1024 px, scaled by that spacing: 6e-4,
# 1.2e-3, 2.4e-3 for sources below 1024, 2048, 4096 px (at most 0.16 grey levels, a sixth of
# the input's 8-bit step). Both bounds in normalised units ((x/255 - mean)/std; one grey level
# is about 0.015).
PLAIN_BOUND = 1e-6


def ipp_bound(width: int, height: int) -> float:
    spacing = float(np.spacing(np.float32(max(width, height) - 1)))
    return 6e-4 * max(1.0, spacing / 2.0**-14)

DEFAULT_SEED = 20261205
from crosscheck_inputs import (  # noqa: E402  (a sibling file)
    SPECIAL_NAMES, TEKKEN_PATTERN, TextGen, log, tokenizer_files, train_vocab, write_tekken)


# ------------------------------------------------------------------------------------------------
# framescribe's side


class Harness:
    def __init__(self, path: str):
        self.path = path

    def run(self, args: list[str], data: bytes) -> bytes:
        p = subprocess.run([self.path, *args], input=data, capture_output=True)
        if p.returncode != 0:
            raise RuntimeError(f"crosscheck_harness {' '.join(args)} exited {p.returncode}: "
                               f"{p.stderr.decode(errors='replace')[-2000:]}")
        return p.stdout

    def tokenize(self, tokenizer: Path, texts: list[bytes]) -> list[tuple[list[int], bytes]]:
        buf = io.BytesIO()
        for t in texts:
            buf.write(struct.pack("<I", len(t)))
            buf.write(t)
        out = self.run(["tokenize", str(tokenizer)], buf.getvalue())
        res = []
        pos = 0
        for _ in texts:
            (n,) = struct.unpack_from("<I", out, pos)
            pos += 4
            ids = list(struct.unpack_from(f"<{n}i", out, pos))
            pos += 4 * n
            (m,) = struct.unpack_from("<I", out, pos)
            pos += 4
            res.append((ids, out[pos:pos + m]))
            pos += m
        assert pos == len(out), "harness output longer than expected"
        return res

    def jsonl(self, args: list[str], lines: list[dict]) -> list[dict]:
        data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode("utf-8")
        out = self.run(args, data).decode("utf-8").splitlines()
        assert len(out) == len(lines), (len(out), len(lines))
        return [json.loads(x) for x in out]


# ------------------------------------------------------------------------------------------------
# Tokenizer


def shrink(items: list, still_fails) -> list:
    """Delta debugging over a list (characters or bytes): drop chunks while still_fails(list)
    holds, halving the chunk size. still_fails gets a batch of candidates and returns the
    index of the first failing one or None."""
    cur = list(items)
    step = max(1, len(cur) // 2)
    rounds = 0
    while step >= 1 and rounds < 200:
        rounds += 1
        cands = [cur[:i] + cur[i + step:] for i in range(0, len(cur), step)]
        cands = [c for c in cands if c]
        k = still_fails(cands) if cands else None
        if k is not None:
            cur = cands[k]
            step = min(step, max(1, len(cur) // 2))
        elif step == 1:
            break
        else:
            step //= 2
    return cur


def reference_ids_bytes(tek: Tekkenizer, data: bytes) -> list[int]:
    """mistral-common takes str, not bytes. For bytes with invalid UTF-8 the comparison is with
    what framescribe documents (tokenizer.h): the pattern never matches invalid bytes, each
    run of them is a piece of its own; so every maximal valid run is encoded by mistral-common
    on its own and every invalid run by tiktoken's byte-pair merge of that piece."""
    out: list[int] = []
    text = data.decode("utf-8", errors="surrogateescape")
    run: list[str] = []
    bad: list[int] = []

    def flush_valid() -> None:
        if run:
            out.extend(tek.encode("".join(run), bos=False, eos=False))
            run.clear()

    def flush_bad() -> None:
        if bad:
            out.extend(t + tek.num_special_tokens for t in tek._model._encode_single_piece(bytes(bad)))
            bad.clear()

    for ch in text:
        if 0xDC80 <= ord(ch) <= 0xDCFF:
            flush_valid()
            bad.append(ord(ch) - 0xDC00)
        else:
            flush_bad()
            run.append(ch)
    flush_valid()
    flush_bad()
    return out


def check_tokenizer(h: Harness, work: Path, seed: int, n_strings: int, full: bool) -> list[str]:
    rng = random.Random(seed)
    gen = TextGen(rng)
    t0 = time.time()
    files = tokenizer_files(work, seed, full)
    log(f"  tokenizer files ready in {time.time() - t0:.1f} s")
    failures: list[str] = []
    per_file = max(1, n_strings // len(files))
    for name, path in files:
        t1 = time.time()
        tek = Tekkenizer.from_file(path)
        strings = [gen.string() for _ in range(per_file)]
        blobs = [s.encode("utf-8") for s in strings]
        n_bad = max(1, per_file // 20)
        invalid = [gen.invalid_utf8() for _ in range(n_bad)]
        ours = h.tokenize(path, blobs + invalid)
        n_sp = tek.num_special_tokens  # text never encodes to a special id, on either side
        n_chars = sum(len(s) for s in strings)
        mism = []
        for i, s in enumerate(strings):
            ref = tek.encode(s, bos=False, eos=False)
            ids, back = ours[i]
            if ids != ref or back != blobs[i] or tek.decode(ref) != s or min(ref + ids, default=n_sp) < n_sp:
                mism.append(i)
        bad_mism = []
        for j, b in enumerate(invalid):
            ids, back = ours[per_file + j]
            if back != b or ids != reference_ids_bytes(tek, b) or any(x < tek.num_special_tokens for x in ids):
                bad_mism.append(j)
        log(f"  {name}: {per_file} strings ({n_chars} characters) + {n_bad} invalid UTF-8: "
            f"{len(mism)} + {len(bad_mism)} mismatches ({time.time() - t1:.1f} s)")
        if mism:
            failures.append(report_token_mismatch(h, tek, path, name, strings[mism[0]], len(mism)))
        if bad_mism:
            failures.append(report_bytes_mismatch(h, tek, path, name, invalid[bad_mism[0]], len(bad_mism)))
    return failures


def report_token_mismatch(h: Harness, tek: Tekkenizer, path: Path, name: str, s: str, count: int) -> str:
    def fails(cands: list[list[str]]) -> int | None:
        texts = ["".join(c) for c in cands]
        res = h.tokenize(path, [t.encode("utf-8") for t in texts])
        for k, t in enumerate(texts):
            ids, back = res[k]
            if ids != tek.encode(t, bos=False, eos=False) or back != t.encode("utf-8"):
                return k
        return None

    small = "".join(shrink(list(s), fails))
    ids, back = h.tokenize(path, [small.encode("utf-8")])[0]
    ref = tek.encode(small, bos=False, eos=False)
    cps = " ".join(f"U+{ord(c):04X}({unicodedata.category(c)})" for c in small[:40])
    return (f"tokenizer [{name}]: {count} strings differ. Minimal: {small!r} = {cps}\n"
            f"    mistral-common ids {ref}\n    framescribe ids    {ids}\n"
            f"    framescribe decode == input: {back == small.encode('utf-8')}")


def report_bytes_mismatch(h: Harness, tek: Tekkenizer, path: Path, name: str, b: bytes, count: int) -> str:
    def fails(cands: list[list[int]]) -> int | None:
        res = h.tokenize(path, [bytes(c) for c in cands])
        for k, c in enumerate(cands):
            ids, back = res[k]
            if back != bytes(c) or ids != reference_ids_bytes(tek, bytes(c)):
                return k
        return None

    small = bytes(shrink(list(b), fails))
    ids, back = h.tokenize(path, [small])[0]
    return (f"tokenizer [{name}]: {count} invalid-UTF-8 inputs differ. Minimal: {small!r}\n"
            f"    segment model ids {reference_ids_bytes(tek, small)}\n    framescribe ids   {ids}\n"
            f"    framescribe decode == input: {back == small}")


# ------------------------------------------------------------------------------------------------
# Prompts


def random_request(rng: random.Random, gen: TextGen) -> dict:
    """A chat request as the harness reads it (see crosscheck_harness.cpp)."""
    def text() -> str:
        r = rng.random()
        if r < 0.1:
            return ""
        if r < 0.2:
            return rng.choice(["  ", "\n\n", " trailing  ", "Describe the images.", "[IMG]", "<s>"])
        return gen.string()

    def image() -> dict:
        r = rng.random()
        if r < 0.5:
            w, h = rng.randint(1, 200), rng.randint(1, 200)
        elif r < 0.8:
            w, h = rng.randint(1, 1100), rng.randint(1, 1100)
        elif r < 0.9:
            w, h = rng.choice([(1920, 1080), (1024, 1024), (4000, 3000), (3000, 4000), (17, 1500),
                               (2000, 300), (4000, 1), (1, 3000), (1025, 1), (2047, 2)])
        else:
            w, h = rng.randint(1, 4000), rng.randint(1, 3000)
        return {"type": "image", "width": w, "height": h}

    n_images = rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 8])
    n_turns = rng.randint(1, 4)
    messages: list[dict] = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": [{"type": "text", "text": text() or "sys"}]})
    user_slots = []
    for t in range(n_turns):
        if t > 0:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": text() or "ok"}]})
            if rng.random() < 0.1:  # two assistant messages in a row are merged
                messages.append({"role": "assistant", "content": [{"type": "text", "text": text() or "b"}]})
        for _ in range(2 if rng.random() < 0.15 else 1):  # consecutive user messages are merged
            # A system message may follow a user or system message (the validator refuses one
            # after an assistant message); between two user messages it keeps them apart.
            if rng.random() < 0.15 and messages and messages[-1]["role"] != "assistant":
                messages.append({"role": "system", "content": [{"type": "text", "text": text() or "s2"}]})
            content = [{"type": "text", "text": text()} for _ in range(rng.randint(0, 3))]
            messages.append({"role": "user", "content": content})
            user_slots.append(content)
    for _ in range(n_images):
        content = rng.choice(user_slots)
        content.insert(rng.randint(0, len(content)), image())
    for content in user_slots:
        if not content:
            content.append({"type": "text", "text": "q"})
    cont = False
    if rng.random() < 0.15:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": text() or "The"}]})
        cont = True
    elif rng.random() < 0.05:
        messages.append({"role": "system", "content": [{"type": "text", "text": text() or "last"}]})
    return {"messages": messages, "continue_final_message": cont}


def to_mistral(req: dict, images: dict) -> ChatCompletionRequest:
    msgs = []
    for i, m in enumerate(req["messages"]):
        chunks = []
        for c in m["content"]:
            if c["type"] == "text":
                chunks.append(TextChunk(text=c["text"]))
            else:
                key = (c["width"], c["height"])
                if key not in images:
                    images[key] = Image.new("RGB", key, (127, 64, 200))
                chunks.append(ImageChunk(image=images[key]))
        text_only = all(isinstance(c, TextChunk) for c in chunks)
        if m["role"] == "system":
            msgs.append(SystemMessage(content="".join(c.text for c in chunks)))
        elif m["role"] == "assistant":
            last = i == len(req["messages"]) - 1
            msgs.append(AssistantMessage(content="".join(c.text for c in chunks),
                                         prefix=last and req["continue_final_message"]))
        elif text_only and len(chunks) == 1 and len(chunks[0].text) % 2:
            msgs.append(UserMessage(content=chunks[0].text))  # the plain-string form too
        else:
            msgs.append(UserMessage(content=chunks))
    return ChatCompletionRequest(messages=msgs)


def check_prompts(h: Harness, work: Path, seed: int, n: int, full: bool) -> list[str]:
    rng = random.Random(seed + 1)
    gen = TextGen(rng)
    data = importlib.resources.files(mistral_common) / "data"
    path = Path(str(data / "tekken_240911.json"))
    mt = MistralTokenizer.from_file(str(path))
    reqs = [random_request(rng, gen) for _ in range(n)]
    t0 = time.time()
    ours = h.jsonl(["prompt", str(path)], reqs)
    images: dict = {}
    failures = []
    compared = refused = n_images = 0
    for req, got in zip(reqs, ours):
        try:
            tokd = mt.encode_chat_completion(to_mistral(req, images))
        except Exception as e:  # the reference refuses the request: nothing to compare
            refused += 1
            if os.environ.get("CROSSCHECK_VERBOSE"):
                log(f"    mistral-common refuses: {e}")
            continue
        compared += 1
        problem = None
        if "error" in got:
            problem = f"framescribe refuses a request mistral-common encodes: {got['error']}"
        elif got["ids"] != tokd.tokens:
            problem = "ids differ"
        else:
            problem = check_placements(req, got, tokd)
        n_images += len(tokd.images)
        if problem and len(failures) < 3:
            failures.append(f"prompts: {problem}\n{describe_diff(tokd.tokens, got.get('ids', []))}\n"
                            f"    request {json.dumps(req, ensure_ascii=False)[:1500]}")
    log(f"  prompts: {compared} requests compared ({n_images} images), {refused} refused by "
        f"mistral-common's validator, {len(failures)} mismatches ({time.time() - t0:.1f} s)")
    return failures


def describe_diff(ref: list[int], ours: list[int]) -> str:
    k = next((i for i, (a, b) in enumerate(zip(ref, ours)) if a != b), min(len(ref), len(ours)))
    lo = max(0, k - 8)
    return (f"    first difference at token {k} of {len(ref)} (mistral-common) / {len(ours)} (framescribe)\n"
            f"    mistral-common [{lo}:] {ref[lo:k + 12]}\n    framescribe    [{lo}:] {ours[lo:k + 12]}")


def check_placements(req: dict, got: dict, tokd) -> str | None:
    """Each ImagePlacement covers exactly one image block, in prompt order, of the size of the
    image it names; together they cover every [IMG] token."""
    sources = [c for m in req["messages"] for c in m["content"] if c["type"] == "image"]
    ids = got["ids"]
    covered = 0
    for k, pl in enumerate(got["images"]):
        arr = tokd.images[k]
        _, hh, ww = arr.shape
        src = sources[pl["source_index"]]
        rows, cols = hh // 16, ww // 16
        block = ([10] * cols + [12]) * rows
        block[-1] = 13
        a, b = pl["first_token"], pl["first_token"] + pl["n_tokens"]
        if ids[a:b] != block:
            return f"placement {k} (source {pl['source_index']}, {src['width']}x{src['height']}) " \
                   f"does not cover a {ww}x{hh} image block"
        covered += rows * cols
    if covered != ids.count(10) or len(got["images"]) != len(tokd.images):
        return f"placements cover {covered} [IMG] tokens of {ids.count(10)}"
    return None


# ------------------------------------------------------------------------------------------------
# Preprocessing


def random_image_size(rng: random.Random) -> tuple[int, int]:
    r = rng.random()
    if r < 0.2:  # no resampling: multiples of 16 up to 1024
        return 16 * rng.randint(1, 64), 16 * rng.randint(1, 64)
    if r < 0.35:
        return rng.choice([(1, 1), (1, 2), (2, 1), (15, 17), (16, 16), (1024, 1024), (1025, 1024),
                           (4000, 3000), (3000, 4000), (4000, 1), (1, 3000), (1920, 1080),
                           (1280, 720), (640, 480), (2048, 1), (3, 2999), (4000, 16), (1023, 1025),
                           (2049, 1535), (1536, 2050), (100, 50)])
    if r < 0.55:  # extreme aspect ratios
        long = rng.randint(100, 4000)
        short = rng.randint(1, 40)
        return (long, short) if rng.random() < 0.5 else (short, min(long, 3000))
    if r < 0.8:
        return rng.randint(1, 1100), rng.randint(1, 1100)
    return rng.randint(1, 4000), rng.randint(1, 3000)


def random_pixels(rng: random.Random, nprng: np.random.Generator, w: int, h: int, ch: int) -> np.ndarray:
    kind = rng.random()
    if kind < 0.4:
        return nprng.integers(0, 256, (h, w, ch), dtype=np.uint8)
    if kind < 0.7:  # smooth gradients with sharp edges (overshoot where cv2 resamples)
        y, x = np.mgrid[0:h, 0:w]
        img = np.stack([(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)),
                        ((x // 7 + y // 5) % 2) * 255] + ([nprng.integers(0, 256, (h, w))] if ch == 4 else []),
                       axis=-1)
        return img.astype(np.uint8)
    if kind < 0.85:  # extremes only
        return (nprng.integers(0, 2, (h, w, ch), dtype=np.uint8) * 255).astype(np.uint8)
    return np.full((h, w, ch), rng.randrange(256), dtype=np.uint8)


def check_preprocess(h: Harness, work: Path, seed: int, n: int, full: bool) -> list[str]:
    rng = random.Random(seed + 2)
    nprng = np.random.default_rng(seed + 2)
    enc = ImageEncoder(ImageConfig(image_patch_size=16, max_image_size=1024),
                       SpecialImageIDs(img=10, img_break=12, img_end=13))
    work.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    t0 = time.time()
    worst_ipp = worst_plain = 0.0
    n_same = n_resampled = 0
    use_ipp = cv2.ipp.useIPP()
    batch = 8  # images on disk at once (a 4000x3000 RGBA image is 48 MB)
    for start in range(0, n, batch):
        cases = []
        for i in range(start, min(n, start + batch)):
            w, hh = random_image_size(rng)
            rgba = rng.random() < 0.25
            px = random_pixels(rng, nprng, w, hh, 4 if rgba else 3)
            inp, out = work / f"img{i - start}.raw", work / f"img{i - start}.f32"
            px.tofile(inp)
            cases.append((w, hh, rgba, px, {"width": w, "height": hh, "format": "rgba" if rgba else "rgb",
                                           "input": str(inp), "output": str(out)}))
        res = h.jsonl(["preprocess"], [c[4] for c in cases])
        for (w, hh, rgba, px, req), got in zip(cases, res):
            pil = Image.fromarray(px, "RGBA" if rgba else "RGB")
            ref = enc(ImageChunk(image=pil))  # as installed (IPP where cv2 uses it)
            cv2.ipp.setUseIPP(False)
            plain = enc(ImageChunk(image=pil)).image
            cv2.ipp.setUseIPP(use_ipp)
            _, rh, rw = ref.image.shape
            ours = np.fromfile(req["output"], dtype=np.float32)
            where = f"{w}x{hh} {'RGBA' if rgba else 'RGB'}"
            if (got["width_px"], got["height_px"]) != (rw, rh) or got["n_tokens"] != len(ref.tokens):
                failures.append(f"preprocess {where}: mistral-common {rw}x{rh}, {len(ref.tokens)} tokens; "
                                f"framescribe {got['width_px']}x{got['height_px']}, {got['n_tokens']} tokens")
                continue
            ours = ours.reshape(3, rh, rw)
            if (rw, rh) == (w, hh):
                n_same += 1
                if not np.array_equal(ours, ref.image):
                    k = int(np.argmax(np.abs(ours - ref.image)))
                    failures.append(f"preprocess {where} (no resampling): max |diff| "
                                    f"{float(np.max(np.abs(ours - ref.image))):.3g}, e.g. at flat index {k}: "
                                    f"mistral-common {ref.image.flat[k]!r} framescribe {ours.flat[k]!r}")
                continue
            n_resampled += 1
            d_ipp = float(np.max(np.abs(ours - ref.image)))
            d_plain = float(np.max(np.abs(ours - plain)))
            worst_ipp, worst_plain = max(worst_ipp, d_ipp), max(worst_plain, d_plain)
            bound = ipp_bound(w, hh)
            if not (d_plain <= PLAIN_BOUND and d_ipp <= bound):
                failures.append(f"preprocess {where} -> {rw}x{rh}: max |diff| {d_plain:.3g} from cv2 without IPP "
                                f"(bound {PLAIN_BOUND}), {d_ipp:.3g} from cv2 as installed (bound {bound:.3g})")
        for c in cases:
            for p in (c[4]["input"], c[4]["output"]):
                Path(p).unlink(missing_ok=True)
    log(f"  preprocess: {n_same} images without resampling: bit-identical required; {n_resampled} resampled: "
        f"max |diff| {worst_plain:.3g} from cv2 {cv2.__version__} without IPP (bound {PLAIN_BOUND}), "
        f"{worst_ipp:.3g} as installed (IPP {'on' if use_ipp else 'off'}, bound 6e-4 to 2.4e-3 by size); "
        f"{len(failures)} mismatches ({time.time() - t0:.1f} s)")
    return failures[:5]


# ------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--check", default="all", choices=["all", "tokenizer", "prompts", "preprocess"])
    ap.add_argument("--seed", type=int, default=None, help=f"default {DEFAULT_SEED}; random with --seconds")
    ap.add_argument("--seconds", type=float, default=0.0, help="keep running rounds for this long")
    ap.add_argument("--strings", type=int, default=100_000, help="tokenizer strings per round")
    ap.add_argument("--prompts", type=int, default=300, help="chat requests per round")
    ap.add_argument("--images", type=int, default=60, help="images per round")
    ap.add_argument("--quick-vocab", action="store_true",
                    help="a 40,000-entry generated vocabulary instead of the real size (faster)")
    args = ap.parse_args()
    if not os.access(args.harness, os.X_OK):
        ap.error(f"--harness {args.harness}: not an executable")
    seed = args.seed if args.seed is not None else (
        random.SystemRandom().randrange(1 << 31) if args.seconds else DEFAULT_SEED)
    work = Path(args.work)
    h = Harness(args.harness)
    checks = ["tokenizer", "prompts", "preprocess"] if args.check == "all" else [args.check]
    log(f"crosscheck: mistral-common {mistral_common.__version__}, seed {seed}, checks {checks}"
        + (f", for {args.seconds:.0f} s" if args.seconds else ""))
    start = time.time()
    failures: list[str] = []
    rnd = 0
    totals = {"strings": 0, "prompts": 0, "images": 0}
    while True:
        s = seed + rnd
        log(f"round {rnd}: seed {s} (replay: --seed {s} --check {args.check})")
        for c in checks:
            if c == "tokenizer":
                f = check_tokenizer(h, work / "tok", s, args.strings, not args.quick_vocab)
                totals["strings"] += args.strings
            elif c == "prompts":
                f = check_prompts(h, work / "prompt", s, args.prompts, True)
                totals["prompts"] += args.prompts
            else:
                f = check_preprocess(h, work / "pre", s, args.images, True)
                totals["images"] += args.images
            for x in f:
                log(f"MISMATCH (seed {s}): {x}")
            failures += f
        rnd += 1
        if not args.seconds or time.time() - start >= args.seconds:
            break
    log(f"crosscheck: {rnd} round(s) in {time.time() - start:.0f} s; "
        f"{totals['strings']} strings, {totals['prompts']} requests, {totals['images']} images; "
        f"{len(failures)} mismatch report(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
