#include "cuda/gemm.h"

#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

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

// Throws with the shape and cuBLASLt's own words for `st`.
void check(cublasStatus_t st, const char* what, const std::string& shape) {
  if (st == CUBLAS_STATUS_SUCCESS) [[likely]]
    return;
  std::ostringstream os;
  os << "cuBLASLt " << what << " failed with " << cublasLtGetStatusName(st) << " ("
     << cublasLtGetStatusString(st) << ") for " << shape;
  throw Error(st == CUBLAS_STATUS_ALLOC_FAILED    ? ErrorCode::kOutOfMemory
              : st == CUBLAS_STATUS_NOT_SUPPORTED ? ErrorCode::kUnsupported
                                                  : ErrorCode::kInternal,
              os.str());
}

}  // namespace

std::string gemm_shape_text(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t ldx,
                            std::int64_t ldy, GemmOut out, float beta, unsigned align_x,
                            unsigned align_w, unsigned align_y) {
  std::ostringstream os;
  os << "y[M=" << m << ", N=" << n << "] " << (beta != 0.0f ? "+" : "") << "= x[M, K=" << k
     << "] . w[N, K]^T (bf16 x bf16 -> " << (out == GemmOut::kF32 ? "f32" : "bf16")
     << ", f32 accumulate; cuBLASLt A=w op T, B=x op N; ldx " << ldx << ", ldy " << ldy << ", beta "
     << beta << "; alignment x/w/y " << align_x << "/" << align_w << "/" << align_y << " bytes)";
  return os.str();
}

struct Gemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  std::vector<cublasLtMatmulAlgo_t> algos;  // heuristic order, the last-resort ones at the end
  std::size_t working = 0;                  // the first that ran
  std::string shape;
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
  const GemmOut out_kind = static_cast<GemmOut>(out);
  p->shape = gemm_shape_text(m, n, k, ldx, ldy, out_kind, accumulate ? 1.0f : 0.0f, align_x,
                             align_w, align_y);
  const std::string& shape = p->shape;
  check(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul descriptor",
        shape);
  const cublasOperation_t op_t = CUBLAS_OP_T, op_n = CUBLAS_OP_N;
  check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_t, sizeof(op_t)),
        "transpose A", shape);
  check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_n, sizeof(op_n)),
        "transpose B", shape);
  // A = w stored as a column-major k x n matrix (ld k); B = x as k x m (ld ldx); C = D = y as
  // n x m (ld ldy).
  const cudaDataType_t out_type = out_kind == GemmOut::kF32 ? CUDA_R_32F : CUDA_R_16BF;
  check(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_16BF, static_cast<std::uint64_t>(k),
                                   static_cast<std::uint64_t>(n), k),
        "layout of w", shape);
  check(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_16BF, static_cast<std::uint64_t>(k),
                                   static_cast<std::uint64_t>(m), ldx),
        "layout of x", shape);
  check(cublasLtMatrixLayoutCreate(&p->c, out_type, static_cast<std::uint64_t>(n),
                                   static_cast<std::uint64_t>(m), ldy),
        "layout of y", shape);

  // One heuristic query with the given minimum alignments; appends what it returns.
  auto query = [&](std::uint32_t al_a, std::uint32_t al_b, std::uint32_t al_c) {
    cublasLtMatmulPreference_t pref = nullptr;
    check(cublasLtMatmulPreferenceCreate(&pref), "preference", shape);
    const std::uint64_t ws = kWorkspaceBytes;
    cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
    const std::pair<cublasLtMatmulPreferenceAttributes_t, std::uint32_t> aligns[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, al_a},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, al_b},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, al_c},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, al_c}};
    for (const auto& [attr, value] : aligns) {
      if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof(value));
    }
    cublasLtMatmulHeuristicResult_t results[kGemmAlgorithms] = {};
    int returned = 0;
    if (st == CUBLAS_STATUS_SUCCESS)
      st = cublasLtMatmulAlgoGetHeuristic(handle_.get(), p->op, p->a, p->b, p->c, p->c, pref,
                                          kGemmAlgorithms, results, &returned);
    (void)cublasLtMatmulPreferenceDestroy(pref);
    // NOT_SUPPORTED here means "no algorithm": the other query may still find one.
    if (st != CUBLAS_STATUS_NOT_SUPPORTED) check(st, "heuristic", shape);
    for (int i = 0; i < returned; ++i) {
      if (results[i].state == CUBLAS_STATUS_SUCCESS) p->algos.push_back(results[i].algo);
    }
  };
  // Tell the heuristic how aligned the pointers really are (its default assumes 256 bytes);
  // then, as the last resort, element alignment only.
  query(align_w, align_x, align_y);
  const std::uint32_t out_elem = out_kind == GemmOut::kF32 ? 4 : 2;
  if (align_w > 2 || align_x > 2 || align_y > out_elem) query(2, 2, out_elem);
  FS_CHECK(!p->algos.empty(), kUnsupported,
           "cuBLASLt has no algorithm for " << shape << " (asked twice: the pointers' alignment, "
                                            << "then element alignment)");
  return *plans_.emplace(key, std::move(p)).first->second;
}

void Gemm::matmul_nt(const bf16* x, std::int64_t ldx, const bf16* w, std::int64_t m, std::int64_t n,
                     std::int64_t k, void* y, GemmOut out, std::int64_t ldy, float beta) {
  FS_CHECK(m >= 0 && n > 0 && k > 0 && ldx >= k && ldy >= n, kInvalidArgument,
           "gemm: bad shape " << gemm_shape_text(m, n, k, ldx, ldy, out, beta, alignment_of(x),
                                                 alignment_of(w), alignment_of(y)));
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
  // The algorithm that ran last time first; on NOT_SUPPORTED (or a launch refused with
  // INVALID_VALUE / ARCH_MISMATCH) the next. An execution failure is not retried: the
  // context may be broken.
  std::string refused;
  for (std::size_t i = p.working; i < p.algos.size(); ++i) {
    const cublasStatus_t st =
        cublasLtMatmul(handle_.get(), p.op, &alpha, w, p.a, x, p.b, &beta, y, p.c, y, p.c,
                       &p.algos[i], workspace_.data(), workspace_.size_bytes(), stream_);
    if (st == CUBLAS_STATUS_SUCCESS) {
      p.working = i;
      return;
    }
    if (st != CUBLAS_STATUS_NOT_SUPPORTED && st != CUBLAS_STATUS_INVALID_VALUE &&
        st != CUBLAS_STATUS_ARCH_MISMATCH) {
      check(st, "matmul", p.shape);
    }
    refused += std::string(i > p.working ? ", " : "") + cublasLtGetStatusName(st);
  }
  FS_FAIL(kUnsupported, "cuBLASLt refused all " << p.algos.size() - p.working << " algorithms ("
                                                << refused << ") for " << p.shape);
}

}  // namespace framescribe::inference::cuda
