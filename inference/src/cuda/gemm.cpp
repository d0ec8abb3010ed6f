#include "cuda/gemm.h"

#include <algorithm>

#include "cuda/cuda_check.h"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr std::size_t kWorkspaceBytes = 32u << 20;

// The largest power of two (at most 256) dividing the address: what cuBLASLt may assume.
unsigned alignment_of(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a == 0) return 256;
  return static_cast<unsigned>(std::min<std::uintptr_t>(256, a & (~a + 1)));
}

}  // namespace

struct Gemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (c != nullptr) (void)cublasLtMatrixLayoutDestroy(c);
    if (b != nullptr) (void)cublasLtMatrixLayoutDestroy(b);
    if (a != nullptr) (void)cublasLtMatrixLayoutDestroy(a);
    if (op != nullptr) (void)cublasLtMatmulDescDestroy(op);
  }
};

Gemm::Gemm(cudaStream_t stream) : stream_(stream), workspace_(kWorkspaceBytes, "GEMM workspace") {}
Gemm::~Gemm() = default;

Gemm::Plan& Gemm::plan(const Key& key) {
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  const auto [m, n, k, ldx, ldy, out, accumulate, align_x, align_w, align_y] = key;
  auto p = std::make_unique<Plan>();
  FS_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t op_t = CUBLAS_OP_T, op_n = CUBLAS_OP_N;
  FS_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_t, sizeof(op_t)));
  FS_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_n, sizeof(op_n)));
  // A = w stored as a column-major k x n matrix (ld k); B = x as k x m (ld ldx); C = D = y as
  // n x m (ld ldy).
  const cudaDataType_t out_type =
      static_cast<GemmOut>(out) == GemmOut::kF32 ? CUDA_R_32F : CUDA_R_16BF;
  FS_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_16BF, static_cast<std::uint64_t>(k),
                                             static_cast<std::uint64_t>(n), k));
  FS_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_16BF, static_cast<std::uint64_t>(k),
                                             static_cast<std::uint64_t>(m), ldx));
  FS_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->c, out_type, static_cast<std::uint64_t>(n),
                                             static_cast<std::uint64_t>(m), ldy));

  cublasLtMatmulPreference_t pref = nullptr;
  FS_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const std::uint64_t ws = kWorkspaceBytes;
  cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  // Tell the heuristic how aligned the pointers really are (its default assumes 256 bytes).
  const std::uint32_t al_a = align_w, al_b = align_x, al_c = align_y;
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                              &al_a, sizeof(al_a));
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                              &al_b, sizeof(al_b));
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                              &al_c, sizeof(al_c));
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                              &al_c, sizeof(al_c));
  cublasLtMatmulHeuristicResult_t result{};
  int returned = 0;
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatmulAlgoGetHeuristic(handle_.get(), p->op, p->a, p->b, p->c, p->c, pref, 1,
                                        &result, &returned);
  (void)cublasLtMatmulPreferenceDestroy(pref);
  FS_CUBLAS_CHECK(st);
  FS_CHECK(returned > 0, kUnsupported,
           "cuBLASLt has no bf16 algorithm for a "
               << m << "x" << k << " by " << n << "x" << k << " product (strides " << ldx << "/"
               << ldy << ", alignment " << align_x << "/" << align_w << "/" << align_y
               << " bytes)");
  p->algo = result.algo;
  (void)accumulate;
  return *plans_.emplace(key, std::move(p)).first->second;
}

void Gemm::matmul_nt(const bf16* x, std::int64_t ldx, const bf16* w, std::int64_t m, std::int64_t n,
                     std::int64_t k, void* y, GemmOut out, std::int64_t ldy, float beta) {
  FS_CHECK(
      m >= 0 && n > 0 && k > 0 && ldx >= k && ldy >= n, kInvalidArgument,
      "gemm: bad shape m=" << m << " n=" << n << " k=" << k << " ldx=" << ldx << " ldy=" << ldy);
  if (m == 0) return;
  const Key key{m,
                n,
                k,
                ldx,
                ldy,
                static_cast<int>(out),
                beta != 0.0f,
                alignment_of(x),
                alignment_of(w),
                alignment_of(y)};
  Plan& p = plan(key);
  const float alpha = 1.0f;
  FS_CUBLAS_CHECK(cublasLtMatmul(handle_.get(), p.op, &alpha, w, p.a, x, p.b, &beta, y, p.c, y, p.c,
                                 &p.algo, workspace_.data(), workspace_.size_bytes(), stream_));
}

}  // namespace framescribe::inference::cuda
