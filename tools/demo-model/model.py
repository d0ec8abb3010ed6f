"""Pixtral in PyTorch, small: written from docs/pixtral.md, not from another implementation.

Vision encoder (patch conv, ln_pre, pre-norm blocks with 2-D RoPE, SiLU FFN, attention within
each image only), projector (Linear, exact GELU, Linear), Mistral decoder (RMSNorm, GQA,
1-D RoPE, SiLU FFN). RoPE uses the native interleaved convention (pairs 2k, 2k+1);
export() writes the Hugging Face layout, whose q/k rows are permuted (docs/pixtral.md 5.3),
as mistral-community/pixtral-12b ships it, so framescribe loads it through its HF path.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


VISION_PREFIXES = ("patch_conv.", "ln_pre.", "v_blocks.")  # the vision encoder's parameters


class Config:
    def __init__(self, vocab_size, **kw):
        self.vocab_size = vocab_size
        self.v_dim, self.v_layers, self.v_heads, self.v_ff = 64, 2, 2, 128
        self.v_theta, self.patch = 10000.0, 16
        self.t_dim, self.t_layers, self.t_heads, self.t_kv_heads, self.t_ff = 128, 3, 4, 2, 384
        self.t_theta, self.max_pos = 1e6, 2048
        self.image_size = 1024
        self.__dict__.update(kw)

    def hf_config(self):
        return {
            "architectures": ["LlavaForConditionalGeneration"], "model_type": "llava",
            "image_token_index": 10, "projector_hidden_act": "gelu",
            "multimodal_projector_bias": True, "vision_feature_layer": -1,
            "vision_feature_select_strategy": "full", "tie_word_embeddings": False,
            "text_config": {
                "model_type": "mistral", "hidden_size": self.t_dim,
                "num_hidden_layers": self.t_layers, "num_attention_heads": self.t_heads,
                "num_key_value_heads": self.t_kv_heads, "head_dim": self.t_dim // self.t_heads,
                "intermediate_size": self.t_ff, "vocab_size": self.vocab_size,
                "max_position_embeddings": self.max_pos, "rms_norm_eps": 1e-5,
                "rope_theta": self.t_theta, "hidden_act": "silu", "sliding_window": None,
                "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": False},
            "vision_config": {
                "model_type": "pixtral", "hidden_size": self.v_dim,
                "num_hidden_layers": self.v_layers, "num_attention_heads": self.v_heads,
                "head_dim": self.v_dim // self.v_heads, "intermediate_size": self.v_ff,
                "image_size": self.image_size, "patch_size": self.patch, "num_channels": 3,
                "rope_theta": self.v_theta, "hidden_act": "silu"},
        }


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_interleaved(x, cos, sin):
    """x [..., n, h, d]; cos/sin [n, d/2]: pairs (2k, 2k+1) rotated by angle k."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


def angles_1d(n, head_dim, theta):
    f = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    a = torch.arange(n, dtype=torch.float64)[:, None] * f[None, :]
    return torch.cos(a).float(), torch.sin(a).float()


def angles_2d(rows, cols, head_dim, theta):
    f = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    fh, fw = f[0::2], f[1::2]
    r = torch.arange(rows, dtype=torch.float64)[:, None].expand(rows, cols).reshape(-1)
    c = torch.arange(cols, dtype=torch.float64)[None, :].expand(rows, cols).reshape(-1)
    a = torch.cat([r[:, None] * fh[None, :], c[:, None] * fw[None, :]], dim=1)
    return torch.cos(a).float(), torch.sin(a).float()


class Attention(nn.Module):
    def __init__(self, dim, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, dim // heads
        self.q = nn.Linear(dim, heads * self.hd, bias=False)
        self.k = nn.Linear(dim, kv_heads * self.hd, bias=False)
        self.v = nn.Linear(dim, kv_heads * self.hd, bias=False)
        self.o = nn.Linear(heads * self.hd, dim, bias=False)

    def forward(self, x, cos, sin, causal, key_mask=None):
        b, n, _ = x.shape
        q = rotate_interleaved(self.q(x).view(b, n, self.heads, self.hd), cos, sin)
        k = rotate_interleaved(self.k(x).view(b, n, self.kv_heads, self.hd), cos, sin)
        v = self.v(x).view(b, n, self.kv_heads, self.hd)
        rep = self.heads // self.kv_heads
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        if causal:
            mask = torch.ones(n, n, dtype=torch.bool).triu(1)
            att = att.masked_fill(mask, float("-inf"))
        if key_mask is not None:
            att = att.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        out = torch.softmax(att.float(), dim=-1) @ v
        return self.o(out.transpose(1, 2).reshape(b, n, -1))


class FFN(nn.Module):
    def __init__(self, dim, ff):
        super().__init__()
        self.gate = nn.Linear(dim, ff, bias=False)
        self.up = nn.Linear(dim, ff, bias=False)
        self.down = nn.Linear(ff, dim, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, dim, heads, kv_heads, ff):
        super().__init__()
        self.attn_norm, self.ffn_norm = RMSNorm(dim), RMSNorm(dim)
        self.attn = Attention(dim, heads, kv_heads)
        self.ffn = FFN(dim, ff)

    def forward(self, x, cos, sin, causal, key_mask=None):
        h = x + self.attn(self.attn_norm(x), cos, sin, causal, key_mask)
        return h + self.ffn(self.ffn_norm(h))


class Pixtral(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.patch_conv = nn.Conv2d(3, cfg.v_dim, cfg.patch, cfg.patch, bias=False)
        self.ln_pre = RMSNorm(cfg.v_dim)
        self.v_blocks = nn.ModuleList(
            [Block(cfg.v_dim, cfg.v_heads, cfg.v_heads, cfg.v_ff) for _ in range(cfg.v_layers)])
        self.proj1 = nn.Linear(cfg.v_dim, cfg.t_dim)
        self.proj2 = nn.Linear(cfg.t_dim, cfg.t_dim)
        self.embed = nn.Embedding(cfg.vocab_size, cfg.t_dim)
        self.t_blocks = nn.ModuleList([Block(cfg.t_dim, cfg.t_heads, cfg.t_kv_heads, cfg.t_ff)
                                       for _ in range(cfg.t_layers)])
        self.norm = RMSNorm(cfg.t_dim)
        self.lm_head = nn.Linear(cfg.t_dim, cfg.vocab_size, bias=False)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.normal_(p, std=0.02)

    def vision_tokens(self, pixels):
        """pixels [n_images, 3, H, W] (all one size): the vision encoder's output per patch,
        [n_images, rows * cols, v_dim], patches row-major."""
        n, _, h, w = pixels.shape
        rows, cols = h // self.cfg.patch, w // self.cfg.patch
        x = self.patch_conv(pixels).flatten(2).transpose(1, 2)  # [n, rows*cols, v_dim], row-major
        x = self.ln_pre(x)
        cos, sin = angles_2d(rows, cols, self.cfg.v_dim // self.cfg.v_heads, self.cfg.v_theta)
        for b in self.v_blocks:  # each image is its own batch row: attention never crosses
            x = b(x, cos, sin, causal=False)
        return x

    def project(self, tokens):
        """The projector: vision tokens [..., v_dim] -> image features [rows, t_dim]."""
        return self.proj2(F.gelu(self.proj1(tokens))).reshape(-1, self.cfg.t_dim)

    def encode_images(self, pixels):
        """pixels [n_images, 3, H, W] (all one size): features [n_images * rows * cols, t_dim]."""
        return self.project(self.vision_tokens(pixels))

    def forward(self, ids, features, hidden=None):
        """ids [b, n]; features: rows for the [IMG] tokens of all sequences, in order.
        `hidden`: a list that receives the residual stream after each decoder block (training's
        per-frame auxiliary losses read it)."""
        x = self.embed(ids)
        img = ids == 10
        if features is not None and features.numel() > 0:
            x = x.masked_scatter(img[..., None], features.to(x.dtype))
        cos, sin = angles_1d(ids.shape[1], self.cfg.t_dim // self.cfg.t_heads, self.cfg.t_theta)
        for b in self.t_blocks:
            x = b(x, cos, sin, causal=True)
            if hidden is not None:
                hidden.append(x)
        return self.lm_head(self.norm(x))


def _permute_native_to_hf(w, heads):
    """docs/pixtral.md 5.3: W_hf = W_native.view(h, hd/2, 2, in).transpose(1, 2).reshape."""
    out_dim, in_dim = w.shape
    hd = out_dim // heads
    return w.view(heads, hd // 2, 2, in_dim).transpose(1, 2).reshape(out_dim, in_dim)


def hf_state(model):
    c, t = model.cfg, {}
    t["vision_tower.patch_conv.weight"] = model.patch_conv.weight
    t["vision_tower.ln_pre.weight"] = model.ln_pre.weight
    for j, b in enumerate(model.v_blocks):
        p = f"vision_tower.transformer.layers.{j}."
        t[p + "attention_norm.weight"] = b.attn_norm.weight
        t[p + "attention.q_proj.weight"] = _permute_native_to_hf(b.attn.q.weight, c.v_heads)
        t[p + "attention.k_proj.weight"] = _permute_native_to_hf(b.attn.k.weight, c.v_heads)
        t[p + "attention.v_proj.weight"] = b.attn.v.weight
        t[p + "attention.o_proj.weight"] = b.attn.o.weight
        t[p + "ffn_norm.weight"] = b.ffn_norm.weight
        t[p + "feed_forward.gate_proj.weight"] = b.ffn.gate.weight
        t[p + "feed_forward.up_proj.weight"] = b.ffn.up.weight
        t[p + "feed_forward.down_proj.weight"] = b.ffn.down.weight
    t["multi_modal_projector.linear_1.weight"] = model.proj1.weight
    t["multi_modal_projector.linear_1.bias"] = model.proj1.bias
    t["multi_modal_projector.linear_2.weight"] = model.proj2.weight
    t["multi_modal_projector.linear_2.bias"] = model.proj2.bias
    t["language_model.model.embed_tokens.weight"] = model.embed.weight
    for i, b in enumerate(model.t_blocks):
        p = f"language_model.model.layers.{i}."
        t[p + "input_layernorm.weight"] = b.attn_norm.weight
        t[p + "self_attn.q_proj.weight"] = _permute_native_to_hf(b.attn.q.weight, c.t_heads)
        t[p + "self_attn.k_proj.weight"] = _permute_native_to_hf(b.attn.k.weight, c.t_kv_heads)
        t[p + "self_attn.v_proj.weight"] = b.attn.v.weight
        t[p + "self_attn.o_proj.weight"] = b.attn.o.weight
        t[p + "post_attention_layernorm.weight"] = b.ffn_norm.weight
        t[p + "mlp.gate_proj.weight"] = b.ffn.gate.weight
        t[p + "mlp.up_proj.weight"] = b.ffn.up.weight
        t[p + "mlp.down_proj.weight"] = b.ffn.down.weight
    t["language_model.model.norm.weight"] = model.norm.weight
    t["language_model.lm_head.weight"] = model.lm_head.weight
    return {k: v.detach().float().contiguous().numpy() for k, v in t.items()}


def write_safetensors(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k], dtype="<f4")
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def export(model, directory, tokenizer, extra=None):
    import os
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(model.cfg.hf_config(), f, indent=1)
    write_safetensors(os.path.join(directory, "model.safetensors"), hf_state(model),
                      {"format": "pt"})
    tokenizer.save(os.path.join(directory, "tekken.json"))
    if extra:
        with open(os.path.join(directory, "framescribe.json"), "w") as f:
            json.dump(extra, f, indent=1)
