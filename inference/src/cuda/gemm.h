// Matrix products on cuBLASLt: y[m, n] = x[m, k] . w[n, k]^T (+ beta * y), the nn.Linear form,
// bf16 inputs, float32 accumulation (CUBLAS_COMPUTE_32F), bf16 or float32 output. beta = 1 with
// a float32 y adds the product into the residual stream in the same pass.
//
//   Gemm gemm(stream.get());                         // owns the handle and a 32 MiB workspace
//   gemm.matmul_nt(h, n_embd, w_qkv, rows, qkv_dim, n_embd, qkv, GemmOut::kF32, qkv_dim, 0.0f);
//
// Row-major arrays are column-major transposes: y^T (n x m) = W^T-op (W stored k x n, col-major)
// times x^T (k x m), so cuBLASLt sees A = w with op T, B = x with op N, D = y: the "TN" layout
// every cuBLASLt bf16 kernel supports. Plans (descriptors + heuristic algorithms) are cached per
// shape, strides and pointer alignment; the first call of a shape costs a heuristic query.
// Not thread-safe (one engine, one thread).
//
// Robustness: the heuristic is asked for up to kGemmAlgorithms algorithms for the pointers' real
// alignment, then once more assuming only element alignment (the last resort); matmul_nt tries
// them in that order and keeps the first that runs for the shape. Every error names the shape
// (gemm_shape_text): M, N, K, strides, dtypes, transposes, alignment.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "cuda/device_memory.h"
#include "cuda/handles.h"
#include "cuda/ops.h"

namespace framescribe::inference::cuda {

enum class GemmOut { kBf16, kF32 };

inline constexpr int kGemmAlgorithms = 8;  // asked of each heuristic query

// "y[M=.., N=..] = x[M, K=..] . w[N, K]^T (bf16 x bf16 -> f32, ...)": the shape in every error.
std::string gemm_shape_text(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t ldx,
                            std::int64_t ldy, GemmOut out, float beta, unsigned align_x,
                            unsigned align_w, unsigned align_y);

class Gemm {
 public:
  explicit Gemm(cudaStream_t stream);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // ldx, ldy: row strides of x and y in elements. beta != 0 reads y (same dtype as written).
  void matmul_nt(const bf16* x, std::int64_t ldx, const bf16* w, std::int64_t m, std::int64_t n,
                 std::int64_t k, void* y, GemmOut out, std::int64_t ldy, float beta);

 private:
  struct Plan;
  using Key = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, int,
                         bool, unsigned, unsigned, unsigned>;
  Plan& plan(const Key& key);

  cudaStream_t stream_;
  CublasLtHandle handle_;
  DeviceBuffer workspace_;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace framescribe::inference::cuda
