// Pixtral vision encoder and projector on the GPU for one group of whole images. Same
// computation as cpu/vision_encoder.cpp (mistral-inference vision_encoder.py, commit 2557e12d;
// HF modeling_pixtral.py, commit 0233e509; docs/pixtral.md sections 2 and 3.1) with the
// block-diagonal attention of HF and vLLM: images share launches, never attention.
#include <algorithm>

#include "cuda/cuda_check.h"
#include "cuda/cuda_engine.h"
#include "cuda/cudnn_text_attention.h"
#include "cuda/ops.h"

namespace framescribe::inference::cuda {

void CudaEngine::encode_group(std::span<const PixelImage* const> images, float* out) {
  const VisionConfig& v = config_.vision;
  const std::int64_t vd = v.n_embd, td = config_.text.n_embd, ff = v.n_ff;
  const int p = v.patch_px, side = v.max_patches_per_side();
  const std::int64_t pl = 3LL * p * p;
  cudaStream_t s = stream_.get();

  // Positions restart at (0, 0) for every image; token t = r * cols + c (docs/pixtral.md 2.4).
  std::vector<std::int32_t> positions, seq_begin{0};
  int max_len = 0;
  for (const PixelImage* img_ptr : images) {
    const PixelImage& img = *img_ptr;
    const int rows = img.height_px / p, cols = img.width_px / p;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) positions.push_back(r * side + c);
    seq_begin.push_back(static_cast<std::int32_t>(positions.size()));
    max_len = std::max(max_len, rows * cols);
  }
  const std::int64_t n = static_cast<std::int64_t>(positions.size());
  FS_CUDA_CHECK(cudaMemcpyAsync(vision_.positions, positions.data(), n * sizeof(std::int32_t),
                                cudaMemcpyHostToDevice, s));
  FS_CUDA_CHECK(cudaMemcpyAsync(vision_.seq_begin, seq_begin.data(),
                                seq_begin.size() * sizeof(std::int32_t), cudaMemcpyHostToDevice,
                                s));

  // Patch embedding: pixels up, im2col per image, one GEMM for the group (Conv2d, no bias).
  std::int64_t pixel_off = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const PixelImage& img = *images[i];
    FS_CUDA_CHECK(cudaMemcpyAsync(vision_.pixels + pixel_off, img.chw.data(),
                                  img.chw.size() * sizeof(float), cudaMemcpyHostToDevice, s));
    launch_im2col_patches(vision_.pixels + pixel_off, img.height_px, img.width_px, p,
                          vision_.patches + std::int64_t{seq_begin[i]} * pl, s);
    pixel_off += static_cast<std::int64_t>(img.chw.size());
  }
  gemm_->matmul_nt(vision_.patches, pl, weights_.patch_conv, n, vd, pl, vision_.x, GemmOut::kF32,
                   vd, 0.0f);
  launch_rms_norm(vision_.x, nullptr, weights_.ln_pre, n, vd, v.norm_eps, vision_.x, s);

  const int n_img = static_cast<int>(images.size());
  // cuDNN serves full groups of equal images of its plan's size (cudnn_text_attention.h).
  const bool on_cudnn =
      cudnn_ && cudnn_->vision_fits(n_img, max_len, std::int64_t{n_img} * max_len == n);
  for (const DeviceBlock& b : weights_.vision) {
    launch_rms_norm(vision_.x, nullptr, b.attention_norm, n, vd, v.norm_eps, vision_.h, s);
    gemm_->matmul_nt(vision_.h, vd, b.wqkv, n, 3 * vd, vd, vision_.qkv, GemmOut::kF32, 3 * vd,
                     0.0f);
    launch_rope(vision_.qkv, 3 * vd, vision_.q, vd, n, v.n_head, v.head_dim, rope_vision_,
                vision_.positions, 0, s);
    launch_rope(vision_.qkv + vd, 3 * vd, vision_.k, vd, n, v.n_head, v.head_dim, rope_vision_,
                vision_.positions, 0, s);
    launch_f32_to_bf16(vision_.qkv + 2 * vd, 3 * vd, vision_.v, vd, n, vd, s);
    if (on_cudnn) {
      cudnn_->vision(vision_.q, vision_.k, vision_.v, vision_.h);
    } else {
      launch_attention_vision(vision_.q, vd, vision_.k, vision_.v, vd, vision_.h, vd,
                              vision_.seq_begin, n_img, max_len, v.n_head, v.head_dim, s);
    }
    gemm_->matmul_nt(vision_.h, vd, b.wo, n, vd, vd, vision_.x, GemmOut::kF32, vd, 1.0f);

    launch_rms_norm(vision_.x, nullptr, b.ffn_norm, n, vd, v.norm_eps, vision_.h, s);
    gemm_->matmul_nt(vision_.h, vd, b.w13, n, 2 * ff, vd, vision_.gate_up, GemmOut::kF32, 2 * ff,
                     0.0f);
    launch_silu_mul(vision_.gate_up, n, ff, vision_.h, s);
    gemm_->matmul_nt(vision_.h, ff, b.w2, n, vd, ff, vision_.x, GemmOut::kF32, vd, 1.0f);
  }
  // No final norm (docs/pixtral.md 2.7). Projector: Linear -> exact GELU -> Linear, biases.
  launch_f32_to_bf16(vision_.x, vd, vision_.h, vd, n, vd, s);
  gemm_->matmul_nt(vision_.h, vd, weights_.proj_w_in, n, td, vd, vision_.proj, GemmOut::kF32, td,
                   0.0f);
  launch_gelu_bias(vision_.proj, weights_.proj_b_in, n, td, vision_.h, s);
  gemm_->matmul_nt(vision_.h, td, weights_.proj_w_out, n, td, td, vision_.proj, GemmOut::kF32, td,
                   0.0f);
  launch_add_bias(vision_.proj, weights_.proj_b_out, n, td, s);
  FS_CUDA_CHECK(
      cudaMemcpyAsync(out, vision_.proj, n * td * sizeof(float), cudaMemcpyDeviceToHost, s));
  stream_.synchronize();
}

}  // namespace framescribe::inference::cuda
