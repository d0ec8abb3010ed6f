#!/usr/bin/env python3
"""Independent cross-check: the PyTorch forward of an exported model against framescribe's CPU
engine, on a real window (a clip sampled by `framescribe frames`, the prompt as summarize lays
it out).

    /usr/bin/python3 tools/demo-model/crosscheck.py --framescribe build/cpu-release/apps/framescribe \
        --model samples/models/framescribe-demo [--seed 1000123]

Writes the window's inputs and the PyTorch outputs (image features, prompt logits, greedy tokens
and the logits over prompt + tokens) in the fixtures' expected.safetensors format, then runs
`framescribe reference-check` on them, which fails above 1e-4 relative error. `--keep FILE`
keeps that file; `--frames N` uses only the first N frames (a smaller file:
tests/data/demo-reference/expected.safetensors is `--frames 4 --keep`, rerun in ctest as
`demo_model_reference`).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model as M  # noqa: E402
import tokenizer as T  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from expected_file import write_expected  # noqa: E402


def load_model(directory):
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    t, v = cfg["text_config"], cfg["vision_config"]
    c = M.Config(t["vocab_size"], v_dim=v["hidden_size"], v_layers=v["num_hidden_layers"],
                 v_heads=v["num_attention_heads"], v_ff=v["intermediate_size"],
                 v_theta=v["rope_theta"], t_dim=t["hidden_size"], t_layers=t["num_hidden_layers"],
                 t_heads=t["num_attention_heads"], t_kv_heads=t["num_key_value_heads"],
                 t_ff=t["intermediate_size"], t_theta=t["rope_theta"],
                 max_pos=t["max_position_embeddings"])
    m = M.Pixtral(c)
    with open(os.path.join(directory, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    hf = {k: torch.from_numpy(np.frombuffer(blob, "<f4", count=int(np.prod(h["shape"])),
                                            offset=h["data_offsets"][0]).reshape(h["shape"]).copy())
          for k, h in header.items() if k != "__metadata__"}
    # Invert hf_state: the same table, q/k permuted back (docs/pixtral.md 5.3 inverse).
    ref = M.hf_state(m)
    with torch.no_grad():
        for name, p in m.named_parameters():
            pass
        mapping = dict(zip(ref.keys(), _params_in_hf_order(m)))
        for key, param in mapping.items():
            w = hf[key]
            heads = _heads_of(key, c)
            if heads:
                w = w.view(heads, 2, w.shape[0] // heads // 2, w.shape[1]).transpose(1, 2).reshape(w.shape)
            param.copy_(w)
    return m


def _params_in_hf_order(m):
    ps = [m.patch_conv.weight, m.ln_pre.weight]
    for b in m.v_blocks:
        ps += [b.attn_norm.weight, b.attn.q.weight, b.attn.k.weight, b.attn.v.weight, b.attn.o.weight,
               b.ffn_norm.weight, b.ffn.gate.weight, b.ffn.up.weight, b.ffn.down.weight]
    ps += [m.proj1.weight, m.proj1.bias, m.proj2.weight, m.proj2.bias, m.embed.weight]
    for b in m.t_blocks:
        ps += [b.attn_norm.weight, b.attn.q.weight, b.attn.k.weight, b.attn.v.weight, b.attn.o.weight,
               b.ffn_norm.weight, b.ffn.gate.weight, b.ffn.up.weight, b.ffn.down.weight]
    ps += [m.norm.weight, m.lm_head.weight]
    return ps


def _heads_of(key, c):
    if key.startswith("vision_tower") and (".q_proj" in key or ".k_proj" in key):
        return c.v_heads
    if key.endswith("self_attn.q_proj.weight"):
        return c.t_heads
    if key.endswith("self_attn.k_proj.weight"):
        return c.t_kv_heads
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--framescribe", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--seed", type=int, default=1_000_123)
    ap.add_argument("--new-tokens", type=int, default=24)
    ap.add_argument("--frames", type=int, default=0, help="use the first N sampled frames (0: all)")
    ap.add_argument("--keep", help="also write the reference file here (expected.safetensors)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    tok = T.Tokenizer.load(os.path.join(a.model, "tekken.json"))
    m = load_model(a.model).eval()
    s = data.make_sample(a.framescribe, a.seed)
    n = len(s["times"]) if a.frames <= 0 else min(a.frames, len(s["times"]))
    s["frames"] = s["frames"][:n]
    ids = data.window_prompt(tok, s, 0, n, "clip.mp4")
    px = torch.from_numpy(data.normalise(s["frames"]))
    with torch.no_grad():
        feats = m.encode_images(px)
        logits = m(torch.tensor([ids]), feats)[0]
        gen = []
        seq = list(ids)
        for _ in range(a.new_tokens):
            last = m(torch.tensor([seq]), feats)[0, -1].clone()
            last[T.IMG] = -float("inf")
            # As the fixtures (transformers with min_new_tokens = max_new_tokens) and
            # `framescribe reference-check`: EOS is masked, so all --new-tokens are compared.
            last[T.EOS] = -float("inf")
            nxt = int(last.argmax())
            gen.append(nxt)
            seq.append(nxt)
        full = m(torch.tensor([seq]), feats)[0]
    with tempfile.TemporaryDirectory() as d:
        exp = os.path.join(d, "expected.safetensors")
        write_expected(exp, {
            "pixel_values": px.numpy(), "image_sizes": np.array([[data.EDGE, data.EDGE]] * n, np.int64),
            "input_ids": np.array([ids], np.int64), "logits": logits.numpy(),
            "image_features": feats.numpy(), "generated_ids": np.array(gen, np.int64),
            "logits_full": full.numpy()})
        if a.keep:
            shutil.copyfile(exp, a.keep)
        r = subprocess.run([a.framescribe, "reference-check", "--model", a.model, "--expected", exp])
    print("PyTorch greedy answer:", repr(tok.decode([g for g in gen if g != T.EOS])))
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
