// Pixtral vision encoder and projector, float32.
// Follows mistral-inference vision_encoder.py (VisionTransformer.forward, commit 2557e12d) and
// transformers modeling_pixtral.py (PixtralVisionModel, commit 0233e509), with the
// block-diagonal mask both HF and vLLM apply (docs/pixtral.md 2.5; mistral-inference omits it).
#include <cmath>

#include "cpu/ops.h"
#include "cpu/pixtral_cpu.h"
#include "framescribe/core/error.h"
#include "request_checks.h"

namespace framescribe::inference::cpu {

void rope_2d_angles(int head_dim, double theta, int row, int col, float* cos_sin) {
  // f_j = theta^(-2j/hd), j < hd/2. Pairs [0, hd/4) turn with the row and the even-indexed
  // frequencies, pairs [hd/4, hd/2) with the column and the odd-indexed ones (height first).
  const int quarter = head_dim / 4;
  for (int k = 0; k < head_dim / 2; ++k) {
    const int j = k < quarter ? 2 * k : 2 * (k - quarter) + 1;
    const double f = std::pow(theta, -2.0 * j / head_dim);
    const double a = (k < quarter ? row : col) * f;
    cos_sin[2 * k] = static_cast<float>(std::cos(a));
    cos_sin[2 * k + 1] = static_cast<float>(std::sin(a));
  }
}

namespace {

struct ImageSpan {
  std::int64_t begin;  // first token in the concatenated sequence
  int rows, cols;
};

// Patch embedding as a GEMM: each 16x16x3 patch flattened in the conv weight's [c][ky][kx]
// order, times patch_conv^T (Conv2d, stride = kernel = patch, no bias).
void patch_embed(const ModelConfig& c, const PixtralWeights& w, const PixelImage& img, float* out) {
  const int p = c.vision.patch_px, rows = img.height_px / p, cols = img.width_px / p;
  const std::int64_t pd = 3LL * p * p;
  std::vector<float> patches(static_cast<std::size_t>(rows) * cols * pd);
  const std::int64_t plane = static_cast<std::int64_t>(img.height_px) * img.width_px;
  for (int r = 0; r < rows; ++r) {
    for (int col = 0; col < cols; ++col) {
      float* dst = patches.data() + (static_cast<std::int64_t>(r) * cols + col) * pd;
      for (int ch = 0; ch < 3; ++ch) {
        for (int ky = 0; ky < p; ++ky) {
          const float* src = img.chw.data() + ch * plane +
                             static_cast<std::int64_t>(r * p + ky) * img.width_px + col * p;
          std::copy(src, src + p, dst + (ch * p + ky) * p);
        }
      }
    }
  }
  matmul_nt(patches.data(), static_cast<std::int64_t>(rows) * cols, pd, w.patch_conv.data(),
            c.vision.n_embd, nullptr, out);
}

void vision_block(const ModelConfig& c, const BlockWeights& b, const std::vector<ImageSpan>& spans,
                  const std::vector<float>& rope, float* x, std::int64_t n) {
  const VisionConfig& v = c.vision;
  const std::int64_t d = v.n_embd, hd = v.head_dim, qd = static_cast<std::int64_t>(v.n_head) * hd;
  std::vector<float> h(n * d), q(n * qd), k(n * qd), val(n * qd), att(n * qd), proj(n * d);
  rms_norm(x, b.attention_norm.data(), n, d, v.norm_eps, h.data());
  matmul_nt(h.data(), n, d, b.wq.data(), qd, nullptr, q.data());
  matmul_nt(h.data(), n, d, b.wk.data(), qd, nullptr, k.data());
  matmul_nt(h.data(), n, d, b.wv.data(), qd, nullptr, val.data());
  apply_rope(q.data(), n, v.n_head, v.head_dim, qd, rope.data());
  apply_rope(k.data(), n, v.n_head, v.head_dim, qd, rope.data());
  // Attention within each image only: never across images.
  for (const ImageSpan& s : spans) {
    const std::int64_t off = s.begin * qd, len = static_cast<std::int64_t>(s.rows) * s.cols;
    attention(q.data() + off, qd, k.data() + off, val.data() + off, qd, len, len, v.n_head,
              v.n_head, v.head_dim,
              /*causal=*/false, 0, att.data() + off);
  }
  matmul_nt(att.data(), n, qd, b.wo.data(), d, nullptr, proj.data());
  add_inplace(x, proj.data(), n * d);

  // SiLU-gated FFN: w2(silu(w1 h) * w3 h).
  std::vector<float> gate(n * v.n_ff), up(n * v.n_ff);
  rms_norm(x, b.ffn_norm.data(), n, d, v.norm_eps, h.data());
  matmul_nt(h.data(), n, d, b.w1.data(), v.n_ff, nullptr, gate.data());
  matmul_nt(h.data(), n, d, b.w3.data(), v.n_ff, nullptr, up.data());
  silu_mul(gate.data(), up.data(), n * v.n_ff);
  matmul_nt(gate.data(), n, v.n_ff, b.w2.data(), d, nullptr, proj.data());
  add_inplace(x, proj.data(), n * d);
}

}  // namespace

std::vector<float> encode_images(const ModelConfig& c, const PixtralWeights& w,
                                 std::span<const PixelImage* const> images) {
  const VisionConfig& v = c.vision;
  const int p = v.patch_px;
  std::vector<ImageSpan> spans;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    FS_CHECK(images[i] != nullptr, kInvalidArgument, "image " << i << " is null");
    const PixelImage& img = *images[i];
    const std::int64_t patches = check_image(v, img, i);
    spans.push_back({n, img.height_px / p, img.width_px / p});
    n += patches;
  }
  const std::int64_t d = v.n_embd, td = c.text.n_embd;
  if (n == 0) return {};

  std::vector<float> x(n * d);
  std::vector<float> rope(n * v.head_dim);
  for (std::size_t i = 0; i < images.size(); ++i) {
    patch_embed(c, w, *images[i], x.data() + spans[i].begin * d);
    // Positions restart at (0, 0) for every image; token t = r * cols + c.
    for (int r = 0; r < spans[i].rows; ++r) {
      for (int col = 0; col < spans[i].cols; ++col) {
        const std::int64_t t = spans[i].begin + static_cast<std::int64_t>(r) * spans[i].cols + col;
        rope_2d_angles(v.head_dim, v.rope_theta, r, col, rope.data() + t * v.head_dim);
      }
    }
  }
  rms_norm(x.data(), w.ln_pre.data(), n, d, v.norm_eps, x.data());
  for (const BlockWeights& b : w.vision_layers) vision_block(c, b, spans, rope, x.data(), n);
  // No final norm: the last layer's output goes straight to the projector (docs/pixtral.md 2.7).

  // Projector: Linear -> exact GELU -> Linear, with biases (docs/pixtral.md 3.1).
  std::vector<float> hidden(n * td), out(n * td);
  matmul_nt(x.data(), n, d, w.proj_w_in.data(), td, w.proj_b_in.data(), hidden.data());
  gelu_erf(hidden.data(), n * td);
  matmul_nt(hidden.data(), n, td, w.proj_w_out.data(), td, w.proj_b_out.data(), out.data());
  return out;
}

}  // namespace framescribe::inference::cpu
