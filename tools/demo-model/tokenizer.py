"""A small tekken.json for the demo model's world, and an exact encoder for its ASCII text.

The vocabulary is Pixtral's layout at a small scale: 256 special tokens (the 20 standard names
at Pixtral's ids: <s>=1, </s>=2, [INST]=3, [/INST]=4, [IMG]=10, [IMG_BREAK]=12, [IMG_END]=13,
then fillers), the 256 single bytes, then BPE merges learned from the prompts and captions of
this world. The file is read by framescribe exactly like Pixtral-12B's.

Encoding follows tiktoken/tekken semantics (docs/pixtral.md section 6): split by the tekken
pattern (restricted here to ASCII, which is all this world writes), then merge byte pairs by
rank. build.py checks this encoder against `framescribe tokenize` on every distinct string.
"""
import base64
import collections
import json
import re

TEKKEN_PATTERN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|"
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# The same pattern for ASCII text (Python's re has no \p{..}).
ASCII_PATTERN = re.compile(
    r"[^\r\nA-Za-z0-9]?[A-Z]*[a-z]+|[^\r\nA-Za-z0-9]?[A-Z]+[a-z]*|[0-9]|"
    r" ?[^\sA-Za-z0-9]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

NUM_SPECIAL = 256
STANDARD_SPECIALS = ["<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]",
                     "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]",
                     "[IMG]", "<pad>", "[IMG_BREAK]", "[IMG_END]", "[PREFIX]", "[MIDDLE]",
                     "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]"]
BOS, EOS, INST, INST_END, IMG, IMG_BREAK, IMG_END = 1, 2, 3, 4, 10, 12, 13


def pieces(text):
    assert text.isascii(), text
    return ASCII_PATTERN.findall(text)


def train_merges(corpus, n_merges):
    """Most frequent adjacent pair first, over the pieces of the corpus (weighted by count)."""
    words = collections.Counter()
    for text, weight in corpus:
        for p in pieces(text):
            words[tuple(bytes([b]) for b in p.encode())] += weight
    tokens = [bytes([b]) for b in range(256)]
    known = set(tokens)
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), count = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if count < 2:
            break
        new = a + b
        if new not in known:
            tokens.append(new)
            known.add(new)
        merged = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    return tokens


class Tokenizer:
    def __init__(self, tokens):
        self.tokens = tokens
        self.rank = {t: i for i, t in enumerate(tokens)}
        self.cache = {}

    @property
    def vocab_size(self):
        return NUM_SPECIAL + len(self.tokens)

    def _bpe(self, piece):
        b = piece.encode()
        if b in self.rank:
            return [self.rank[b]]
        parts = [bytes([x]) for x in b]
        while len(parts) > 1:
            best = None
            for i in range(len(parts) - 1):
                r = self.rank.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return [self.rank[p] for p in parts]

    def encode(self, text):
        if text not in self.cache:
            ids = []
            for p in pieces(text):
                ids += [NUM_SPECIAL + r for r in self._bpe(p)]
            self.cache[text] = ids
        return self.cache[text]

    def decode(self, ids):
        return b"".join(self.tokens[i - NUM_SPECIAL] for i in ids if i >= NUM_SPECIAL).decode(
            errors="replace")

    def tekken_json(self):
        vocab = [{"rank": i, "token_bytes": base64.b64encode(t).decode(), "token_str": None}
                 for i, t in enumerate(self.tokens)]
        return {"config": {"pattern": TEKKEN_PATTERN, "num_vocab_tokens": len(self.tokens),
                           "default_vocab_size": self.vocab_size,
                           "default_num_special_tokens": NUM_SPECIAL, "version": "v3"},
                "vocab": vocab}

    def save(self, path):
        with open(path, "w") as f:
            json.dump(self.tekken_json(), f)

    @staticmethod
    def load(path):
        with open(path) as f:
            j = json.load(f)
        return Tokenizer([base64.b64decode(v["token_bytes"]) for v in j["vocab"]])


def image_block(rows, cols):
    ids = []
    for _ in range(rows):
        ids += [IMG] * cols + [IMG_BREAK]
    ids[-1] = IMG_END
    return ids
