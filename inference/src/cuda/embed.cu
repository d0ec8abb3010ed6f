// Token embedding gather with the image-feature scatter (docs/pixtral.md 3.4): each row is
// either the bf16 embedding of its token or, at [IMG] positions, the next float32 projector
// row. The host computes image_row (a running count of [IMG] tokens), so the kernel is a plain
// gather. The embedding is not scaled (docs/pixtral.md 7.5).
#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 256;

// One block per token row.
__global__ void __launch_bounds__(kBlock)
    embed_kernel(const std::int32_t* __restrict__ tokens,
                 const std::int32_t* __restrict__ image_row, const bf16* __restrict__ table,
                 const float* __restrict__ images, std::int64_t n_embd, float* __restrict__ out) {
  const std::int64_t i = blockIdx.x;
  float* dst = out + i * n_embd;
  const std::int32_t img = image_row != nullptr ? image_row[i] : -1;
  if (img >= 0) {
    const float* src = images + static_cast<std::int64_t>(img) * n_embd;
    for (std::int64_t c = threadIdx.x; c < n_embd; c += blockDim.x) dst[c] = src[c];
  } else {
    const bf16* src = table + static_cast<std::int64_t>(tokens[i]) * n_embd;
    for (std::int64_t c = threadIdx.x; c < n_embd; c += blockDim.x)
      dst[c] = __bfloat162float(src[c]);
  }
}

}  // namespace

void launch_embed(const std::int32_t* tokens, const std::int32_t* image_row, std::int64_t n,
                  const bf16* table, const float* images, std::int64_t n_embd, float* out,
                  cudaStream_t stream) {
  // Token ids are validated on the host before upload (the engine's eval()).
  FS_CHECK(n >= 0 && n <= 0x7fffffff && n_embd > 0, kInvalidArgument,
           "embed: bad shape " << n << "x" << n_embd);
  if (n == 0) return;
  embed_kernel<<<static_cast<unsigned>(n), kBlock, 0, stream>>>(tokens, image_row, table, images,
                                                                n_embd, out);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
