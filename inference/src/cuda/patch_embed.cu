// Patch embedding, first half: im2col of one image for the stride = kernel Conv2d (no bias,
// docs/pixtral.md 2.2). Row t = r * cols + c of the output is patch (r, c) flattened in the
// conv weight's [c][ky][kx] order, so patches . W^T (a cuBLASLt GEMM) is the convolution.
// The input is cast to the weight dtype (bf16) first, as HF and vLLM do.
#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 256;

__global__ void __launch_bounds__(kBlock)
    im2col_patches_kernel(const float* __restrict__ pixels, int height_px, int width_px,
                          int patch_px, bf16* __restrict__ patches) {
  const int cols = width_px / patch_px, rows = height_px / patch_px;
  const std::int64_t patch_len = 3LL * patch_px * patch_px;
  const std::int64_t total = static_cast<std::int64_t>(rows) * cols * patch_len;
  const std::int64_t plane = static_cast<std::int64_t>(height_px) * width_px;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t t = i / patch_len;
    const int e = static_cast<int>(i % patch_len);
    const int ch = e / (patch_px * patch_px), ky = (e / patch_px) % patch_px, kx = e % patch_px;
    const int r = static_cast<int>(t / cols), c = static_cast<int>(t % cols);
    const std::int64_t y = static_cast<std::int64_t>(r) * patch_px + ky;
    const std::int64_t x = static_cast<std::int64_t>(c) * patch_px + kx;
    patches[i] = __float2bfloat16_rn(pixels[ch * plane + y * width_px + x]);
  }
}

}  // namespace

void launch_im2col_patches(const float* pixels, int height_px, int width_px, int patch_px,
                           bf16* patches, cudaStream_t stream) {
  FS_CHECK(patch_px > 0 && height_px > 0 && width_px > 0 && height_px % patch_px == 0 &&
               width_px % patch_px == 0,
           kInvalidArgument,
           "im2col: a " << width_px << "x" << height_px << " image is not a whole number of "
                        << patch_px << "-pixel patches");
  const std::int64_t total = 3LL * height_px * width_px;  // every pixel lands in one patch
  im2col_patches_kernel<<<grid_for(total, kBlock), kBlock, 0, stream>>>(pixels, height_px, width_px,
                                                                        patch_px, patches);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
