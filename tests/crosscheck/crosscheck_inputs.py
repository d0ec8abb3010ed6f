"""Inputs for crosscheck.py: random text and generated tekken.json vocabularies.

Split from crosscheck.py (which imports everything here); see its docstring for what is compared.
"""
from __future__ import annotations

import base64
import importlib.resources
import json
import random
import unicodedata
from pathlib import Path

import regex

import mistral_common
from mistral_common.tokens.tokenizers.tekken import Tekkenizer


def log(*args: object) -> None:
    print(*args, flush=True)


TEKKEN_PATTERN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|"
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIAL_NAMES = [t["token_str"] for t in Tekkenizer.DEPRECATED_SPECIAL_TOKENS]




# ------------------------------------------------------------------------------------------------
# Random text


class TextGen:
    """Random strings: every script, emoji and ZWJ sequences, combining marks, controls,
    whitespace runs, digits, special-token spellings, long pieces."""

    _assigned_buckets: list[list[int]] | None = None
    _newer: list[int] | None = None

    def __init__(self, rng: random.Random):
        self.rng = rng
        if TextGen._assigned_buckets is None:
            buckets: dict[int, list[int]] = {}
            cn = regex.compile(r"\p{Cn}")
            newer = []
            for c in range(0x110000):
                if 0xD800 <= c <= 0xDFFF:
                    continue
                if unicodedata.category(chr(c)) == "Cn":
                    # Unassigned in Python's Unicode (14.0) but assigned in the regex module's
                    # (newer): characters of Unicode 15, 16 and 17.
                    if not cn.match(chr(c)):
                        newer.append(c)
                    continue
                buckets.setdefault(c >> 7, []).append(c)
            TextGen._assigned_buckets = list(buckets.values())
            TextGen._newer = newer

    def char_any_script(self) -> str:
        r = self.rng.random()
        if r < 0.03:
            return chr(self.rng.choice(TextGen._newer))
        if r < 0.04:  # unassigned, private use, noncharacters
            return chr(self.rng.choice([0xFFFE, 0xFFFF, 0x10FFFF, 0xE000, 0xF8FF, 0x378, 0x2FFFF,
                                        self.rng.randrange(0xE0000, 0xE0080)]))
        bucket = self.rng.choice(TextGen._assigned_buckets)
        return chr(self.rng.choice(bucket))

    WORDS = ["the", "The", "THE", "video", "Frame", "person", "walks", "über", "Straße", "naïve",
             "caféS", "ПРИВЕТ", "привет", "Ωμέγα", "日本語", "中文字", "한국어", "עברית", "العربية",
             "हिन्दी", "தமிழ்", "ภาษาไทย", "ქართული", "Ελληνικά", "iPhone", "McDonald", "XMLHttp",
             "camelCase", "snake_case", "don't", "I'm", "e.g.", "http://x.y/z?q=1", "a/b/c",
             "3.14159", "1,000,000", "２０２４", "٣٤٥", "ⅩⅣ", "½", "x²", "ǅ", "ǈungla", "ſ", "ﬁ"]
    EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇺🇸🇯🇵", "1️⃣", "❤️", "🧑🏿‍🚀", "👁️‍🗨️",
             "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☺︎", "🫠", "🐈‍⬛", "©️", "#️⃣"]
    SPACES = [" ", " ", " ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\xa0", "\u1680",
              "\u2000", "\u2003", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
              "\u180e", "\u200b", "\ufeff"]
    DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩۰۱۲０１２３४५๑๒²³¹¼½¾ⅠⅡⅫ①②⑳"
    MARKS = [chr(c) for c in list(range(0x300, 0x370)) + [0x5B0, 0x5B4, 0x64B, 0x650, 0x93C,
                                                          0x94D, 0xE31, 0xE48, 0x20D0, 0x20E3,
                                                          0xFE0F, 0xFE0E, 0x1AB0, 0x1DC0]]

    def special_spelling(self) -> str:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(SPECIAL_NAMES)
        if r < 0.85:
            return f"<SPECIAL_{self.rng.randrange(0, 1200)}>"
        return self.rng.choice(["[INST", "INST]", "[/INST", "<s", "</", "[IMG_", "<|endoftext|>",
                                "[IMG][IMG][IMG_BREAK]", "<unk><pad>", "[TOOL_CALLS]["])

    def fragment(self) -> str:
        rng = self.rng
        k = rng.random()
        if k < 0.18:
            return rng.choice(self.WORDS)
        if k < 0.36:
            return "".join(self.char_any_script() for _ in range(rng.randint(1, 12)))
        if k < 0.44:
            return rng.choice(self.EMOJI) * rng.randint(1, 3)
        if k < 0.52:
            base = rng.choice(["a", "e", "Z", "ب", "क", "ก", "𝒳", " ", "1", "!"])
            return base + "".join(rng.choice(self.MARKS) for _ in range(rng.randint(1, 8)))
        if k < 0.58:
            return "".join(chr(rng.choice(list(range(0, 32)) + [0x7F] + list(range(0x80, 0xA0))))
                           for _ in range(rng.randint(1, 6)))
        if k < 0.68:
            n = rng.choice([1, 2, 3, 5, 17, 64, 300]) if rng.random() < 0.97 else rng.randint(500, 5000)
            pool = rng.sample(self.SPACES, rng.randint(1, 4))
            return "".join(rng.choice(pool) for _ in range(n))
        if k < 0.74:
            return "".join(rng.choice(self.DIGITS) for _ in range(rng.randint(1, 20)))
        if k < 0.82:
            return self.special_spelling()
        if k < 0.88:
            return "".join(chr(rng.randrange(0x21, 0x7F)) for _ in range(rng.randint(1, 30)))
        if k < 0.93:  # long runs: one piece of many bytes (the merger's heap path)
            unit = rng.choice(["a", "ab", "!", "=-", "é", "日", "Ab", "_", "\u0301", "."])
            return unit * rng.randint(20, 400)
        if k < 0.97:
            return rng.choice(["def f(x):\n    return x**2\n", "{\"a\": [1, 2]}", "</div>\n\n",
                               "SELECT * FROM t;", "  // TODO\n", "C:\\Users\\x", "a\r\n\r\nb"])
        return rng.choice(self.SPACES)

    def string(self) -> str:
        rng = self.rng
        if rng.random() < 0.02:
            return ""
        n = rng.choice([1, 1, 2, 3, 4, 6, 10, 20]) if rng.random() < 0.99 else rng.randint(30, 200)
        parts = []
        for _ in range(n):
            parts.append(self.fragment())
            if rng.random() < 0.5:
                parts.append(rng.choice([" ", " ", "", "\n", ", ", ". "]))
        return "".join(parts)

    def invalid_utf8(self) -> bytes:
        rng = self.rng
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.5:
                parts.append(self.string().encode("utf-8"))
            elif r < 0.7:
                parts.append(bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randint(1, 4))))
            elif r < 0.8:
                ch = self.char_any_script().encode("utf-8")
                parts.append(ch[: max(1, len(ch) - 1)] if len(ch) > 1 else b"\xc3")  # truncated
            elif r < 0.9:
                parts.append(rng.choice([b"\xed\xa0\x80", b"\xc0\xaf", b"\xe0\x80\xaf",
                                         b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfe\xff"]))
            else:
                parts.append(bytes(rng.randrange(0, 256) for _ in range(rng.randint(1, 16))))
        return b"".join(parts)


# ------------------------------------------------------------------------------------------------
# tekken.json files


def write_tekken(path: Path, tokens: list[bytes], n_vocab: int, num_special: int = 1000,
                 special_tokens: list[dict] | None = None, version: str = "v3",
                 image: bool = True) -> Path:
    """tekken.json as Mistral ships it: config, vocab (rank order, base64 bytes, token_str),
    optional special_tokens and image config. `tokens` may be longer than n_vocab: entries
    past it are cut by both readers, as in the real 150,000-entry file."""
    vocab = []
    for r, t in enumerate(tokens):
        try:
            s = t.decode("utf-8")
        except UnicodeDecodeError:
            s = None
        vocab.append({"rank": r, "token_bytes": base64.b64encode(t).decode("ascii"), "token_str": s})
    data: dict = {
        "config": {"pattern": TEKKEN_PATTERN, "num_vocab_tokens": len(tokens),
                   "default_vocab_size": n_vocab + num_special,
                   "default_num_special_tokens": num_special, "version": version},
        "vocab": vocab,
    }
    if special_tokens is not None:
        data["special_tokens"] = special_tokens
    if image:
        data["image"] = {"image_patch_size": 16, "max_image_size": 1024}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def train_vocab(rng: random.Random, size: int, corpus_strings: int, long_tokens: bool) -> list[bytes]:
    """A byte-level BPE vocabulary in merge order: each new token is two adjacent tokens of a
    pre-tokenised corpus piece joined (so every token is reachable by merges, as in a trained
    file), the piece then re-segmented with it."""
    gen = TextGen(rng)
    split = regex.compile(TEKKEN_PATTERN)
    pieces: list[list[bytes]] = []
    for _ in range(corpus_strings):
        for p in split.findall(gen.string()):
            b = p.encode("utf-8")
            if len(b) >= 2:
                pieces.append([bytes([x]) for x in b])
    tokens = [bytes([i]) for i in range(256)]
    seen = set(tokens)
    attempts = 0
    while len(tokens) < size and pieces and attempts < size * 20:
        attempts += 1
        i = rng.randrange(len(pieces))
        seg = pieces[i]
        if len(seg) < 2:
            pieces[i] = pieces[-1]
            pieces.pop()
            continue
        k = rng.randrange(len(seg) - 1)
        new = seg[k] + seg[k + 1]
        if len(new) > (400 if long_tokens else 32):
            continue
        seg[k:k + 2] = [new]
        if new not in seen:
            seen.add(new)
            tokens.append(new)
    while len(tokens) < size:  # corpus exhausted: random byte strings
        t = bytes(rng.randrange(256) for _ in range(rng.randint(2, 6)))
        if t not in seen:
            seen.add(t)
            tokens.append(t)
    return tokens


def tokenizer_files(work: Path, seed: int, full: bool) -> list[tuple[str, Path]]:
    """Pixtral-12B's real file plus generated ones (seeded)."""
    rng = random.Random(seed ^ 0x7E44E)
    data = importlib.resources.files(mistral_common) / "data"
    files = [("pixtral-12b tekken_240911.json (real)", Path(str(data / "tekken_240911.json")))]
    work.mkdir(parents=True, exist_ok=True)
    # Real sizes: 150,000 entries, of which 130,072 are the model's; 1,000 special tokens.
    big = train_vocab(rng, 150_000 if full else 40_000, 30_000 if full else 8_000, long_tokens=False)
    files.append((f"generated-real-size ({len(big)} entries)",
                  write_tekken(work / "tekken_gen_big.json", big,
                               130_072 if full else 30_000)))
    small = train_vocab(rng, 1_500, 800, long_tokens=True)
    specials = [{"rank": i, "token_str": n, "is_control": True} for i, n in enumerate(SPECIAL_NAMES)]
    specials += [{"rank": 20 + i, "token_str": f"[CUSTOM_{i}]", "is_control": True} for i in range(30)]
    files.append(("generated-small-long-tokens (special_tokens list)",
                  write_tekken(work / "tekken_gen_small.json", small, len(small),
                               special_tokens=specials, version="v7")))
    bytes_only = [bytes([i]) for i in range(256)] + [b"  ", b"\n\n", b"ab"]
    files.append(("generated-bytes-only", write_tekken(work / "tekken_gen_bytes.json", bytes_only,
                                                       len(bytes_only))))
    return files
