// cuDNN fused attention: the backend descriptors of the flash-attention operation graph, its
// execution plan and its execution (see cudnn_attention.h). Host code; every cuDNN call goes
// through the dlopen'ed CudnnApi.
#include "cuda/cudnn_attention.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <utility>

#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

// Deprecated in the 9.19 headers (still required by the 9.x libraries users have): by value,
// so the build stays free of deprecation warnings.
constexpr auto kOpGraphHandle = static_cast<cudnnBackendAttributeName_t>(800);
constexpr auto kPlanHandle = static_cast<cudnnBackendAttributeName_t>(400);
constexpr int kMaxEngineConfigs = 16;

std::string last_error(const CudnnApi& api) {
  if (api.GetLastErrorString == nullptr) return "";
  char buf[1024] = {};
  api.GetLastErrorString(buf, sizeof(buf));
  return buf;
}

std::string status_text(const CudnnApi& api, cudnnStatus_t st) {
  std::ostringstream s;
  s << (api.GetErrorString != nullptr ? api.GetErrorString(st) : "cuDNN status") << " ("
    << static_cast<int>(st) << ")";
  const std::string last = last_error(api);
  if (!last.empty()) s << ": " << last;
  return s.str();
}

void check(const CudnnApi& api, cudnnStatus_t st, ErrorCode code, const std::string& what) {
  if (st == CUDNN_STATUS_SUCCESS) [[likely]]
    return;
  throw Error(code, "cuDNN " + what + ": " + status_text(api, st));
}

void set(const CudnnApi& api, cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
         cudnnBackendAttributeType_t type, std::int64_t count, const void* value,
         const char* what) {
  check(api, api.BackendSetAttribute(d, name, type, count, value), ErrorCode::kUnsupported,
        std::string("set attribute ") + std::to_string(static_cast<int>(name)) + " of " + what);
}

void set_desc(const CudnnApi& api, cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
              cudnnBackendDescriptor_t value, const char* what) {
  set(api, d, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &value, what);
}

void finalize(const CudnnApi& api, cudnnBackendDescriptor_t d, const char* what) {
  check(api, api.BackendFinalize(d), ErrorCode::kUnsupported, std::string("finalize ") + what);
}

}  // namespace

std::string SdpaShape::str() const {
  std::ostringstream s;
  s << "b" << batch << " h" << n_head << "/" << n_head_kv << " sq" << s_q << " skv" << s_kv << " d"
    << head_dim << (causal_bottom_right ? " causal" : " padding");
  return s.str();
}

void check_shape(const SdpaShape& s) {
  FS_CHECK(s.batch > 0 && s.n_head > 0 && s.n_head_kv > 0 && s.n_head % s.n_head_kv == 0,
           kInvalidArgument, "cuDNN attention: bad heads/batch (" << s.str() << ")");
  FS_CHECK(s.head_dim > 0 && s.head_dim % 8 == 0 && s.head_dim <= 128, kInvalidArgument,
           "cuDNN attention: head_dim " << s.head_dim << " (a multiple of 8, at most 128)");
  FS_CHECK(s.s_q > 0 && s.s_kv > 0 && s.s_q <= 0x7fffffff && s.s_kv <= 0x7fffffff, kInvalidArgument,
           "cuDNN attention: bad lengths (" << s.str() << ")");
  // 16-byte alignment of every row (bf16: multiples of 8 elements), rows wide enough.
  FS_CHECK(s.q_row % 8 == 0 && s.kv_row % 8 == 0 && s.o_row % 8 == 0 &&
               s.q_row >= s.n_head * s.head_dim && s.o_row >= s.n_head * s.head_dim &&
               s.kv_row >= s.n_head_kv * s.head_dim,
           kInvalidArgument,
           "cuDNN attention: row strides q " << s.q_row << ", kv " << s.kv_row << ", o " << s.o_row
                                             << " (multiples of 8, at least the heads' width)");
  FS_CHECK(std::isfinite(s.scale) && s.scale > 0.0f, kInvalidArgument,
           "cuDNN attention: scale " << s.scale);
}

SdpaShape text_prefill_shape(int n_head, int n_head_kv, int head_dim, std::int64_t chunk_tokens,
                             std::int64_t max_context) {
  SdpaShape s;
  s.n_head = n_head;
  s.n_head_kv = n_head_kv;
  s.head_dim = head_dim;
  s.s_q = chunk_tokens;
  s.s_kv = max_context;
  s.q_row = s.o_row = std::int64_t{n_head} * head_dim;
  s.kv_row = std::int64_t{n_head_kv} * head_dim;
  s.q_batch = s.o_batch = s.s_q * s.q_row;
  s.kv_batch = s.s_kv * s.kv_row;
  s.causal_bottom_right = true;
  s.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  return s;
}

SdpaShape decode_shape(int n_head, int n_head_kv, int head_dim, std::int64_t max_context) {
  SdpaShape s = text_prefill_shape(n_head, n_head_kv, head_dim, 1, max_context);
  s.causal_bottom_right = false;  // one query sees every cached key: lengths only
  return s;
}

SdpaShape vision_shape(int n_head, int head_dim, std::int64_t n_images, std::int64_t patches) {
  SdpaShape s;
  s.batch = n_images;
  s.n_head = s.n_head_kv = n_head;
  s.head_dim = head_dim;
  s.s_q = s.s_kv = patches;
  s.q_row = s.kv_row = s.o_row = std::int64_t{n_head} * head_dim;
  s.q_batch = s.kv_batch = s.o_batch = patches * s.q_row;
  s.causal_bottom_right = false;
  s.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  return s;
}

BackendDescriptor::BackendDescriptor(const CudnnApi& api, cudnnBackendDescriptorType_t type,
                                     const char* what)
    : api_(&api) {
  check(api, api.BackendCreateDescriptor(type, &d_), ErrorCode::kUnsupported,
        std::string("create ") + what);
}

BackendDescriptor::~BackendDescriptor() {
  if (d_ != nullptr) (void)api_->BackendDestroyDescriptor(d_);
}

BackendDescriptor::BackendDescriptor(BackendDescriptor&& o) noexcept
    : api_(o.api_), d_(std::exchange(o.d_, nullptr)) {}

BackendDescriptor& BackendDescriptor::operator=(BackendDescriptor&& o) noexcept {
  if (this != &o) {
    if (d_ != nullptr) (void)api_->BackendDestroyDescriptor(d_);
    api_ = o.api_;
    d_ = std::exchange(o.d_, nullptr);
  }
  return *this;
}

CudnnHandle::CudnnHandle(const CudnnApi& api, cudaStream_t stream) : api_(&api) {
  check(api, api.Create(&h_), ErrorCode::kUnsupported, "cudnnCreate");
  const cudnnStatus_t st = api.SetStream(h_, stream);
  if (st != CUDNN_STATUS_SUCCESS) {
    (void)api.Destroy(h_);
    h_ = nullptr;
    check(api, st, ErrorCode::kUnsupported, "cudnnSetStream");
  }
}

CudnnHandle::~CudnnHandle() {
  if (h_ != nullptr) (void)api_->Destroy(h_);
}

cudnnBackendDescriptor_t SdpaGraph::tensor(std::int64_t uid, cudnnDataType_t type,
                                           std::vector<std::int64_t> dims,
                                           std::vector<std::int64_t> strides, bool is_virtual,
                                           bool by_value) {
  const CudnnApi& a = *api_;
  BackendDescriptor t(a, CUDNN_BACKEND_TENSOR_DESCRIPTOR, "tensor");
  const std::int64_t alignment = 16, n = static_cast<std::int64_t>(dims.size());
  set(a, t.get(), CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type, "tensor");
  set(a, t.get(), CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, n, dims.data(), "tensor");
  set(a, t.get(), CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, n, strides.data(), "tensor");
  set(a, t.get(), CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid, "tensor");
  set(a, t.get(), CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment, "tensor");
  if (is_virtual) {
    const bool v = true;
    set(a, t.get(), CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &v, "tensor");
  }
  if (by_value) {
    const bool v = true;
    set(a, t.get(), CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &v, "tensor");
  }
  finalize(a, t.get(), "tensor");
  tensors_.push_back(std::move(t));
  return tensors_.back().get();
}

cudnnBackendDescriptor_t SdpaGraph::virtual_like_scores(cudnnDataType_t type) {
  const SdpaShape& s = shape_;
  return tensor(next_virtual_uid_++, type, {s.batch, s.n_head, s.s_q, s.s_kv},
                {s.n_head * s.s_q * s.s_kv, s.s_q * s.s_kv, s.s_kv, 1}, true);
}

cudnnBackendDescriptor_t SdpaGraph::pointwise(cudnnPointwiseMode_t mode, cudnnDataType_t compute,
                                              cudnnBackendDescriptor_t x,
                                              cudnnBackendDescriptor_t b,
                                              cudnnBackendDescriptor_t y,
                                              cudnnBackendDescriptor_t t, std::int64_t axis) {
  const CudnnApi& a = *api_;
  BackendDescriptor pw(a, CUDNN_BACKEND_POINTWISE_DESCRIPTOR, "pointwise");
  set(a, pw.get(), CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode, "pointwise");
  set(a, pw.get(), CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &compute, "pointwise");
  if (axis >= 0) {
    set(a, pw.get(), CUDNN_ATTR_POINTWISE_AXIS, CUDNN_TYPE_INT64, 1, &axis, "pointwise");
  }
  finalize(a, pw.get(), "pointwise");
  BackendDescriptor op(a, CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR, "pointwise operation");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw.get(), "pointwise op");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x, "pointwise op");
  if (b != nullptr) set_desc(a, op.get(), CUDNN_ATTR_OPERATION_POINTWISE_BDESC, b, "pointwise op");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y, "pointwise op");
  if (t != nullptr) set_desc(a, op.get(), CUDNN_ATTR_OPERATION_POINTWISE_TDESC, t, "pointwise op");
  finalize(a, op.get(), "pointwise operation");
  misc_.push_back(std::move(pw));
  ops_.push_back(std::move(op));
  return y;
}

void SdpaGraph::reduction(cudnnReduceTensorOp_t op_type, cudnnBackendDescriptor_t x,
                          cudnnBackendDescriptor_t y) {
  const CudnnApi& a = *api_;
  BackendDescriptor r(a, CUDNN_BACKEND_REDUCTION_DESCRIPTOR, "reduction");
  const cudnnDataType_t f = CUDNN_DATA_FLOAT;
  set(a, r.get(), CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &op_type,
      "reduction");
  set(a, r.get(), CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &f, "reduction");
  finalize(a, r.get(), "reduction");
  BackendDescriptor op(a, CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR, "reduction operation");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_REDUCTION_XDESC, x, "reduction op");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_REDUCTION_YDESC, y, "reduction op");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_REDUCTION_DESC, r.get(), "reduction op");
  finalize(a, op.get(), "reduction operation");
  misc_.push_back(std::move(r));
  ops_.push_back(std::move(op));
}

void SdpaGraph::matmul(cudnnBackendDescriptor_t a_desc, cudnnBackendDescriptor_t b_desc,
                       cudnnBackendDescriptor_t c_desc, cudnnBackendDescriptor_t m_override,
                       cudnnBackendDescriptor_t n_override, cudnnBackendDescriptor_t k_override) {
  const CudnnApi& a = *api_;
  BackendDescriptor mm(a, CUDNN_BACKEND_MATMUL_DESCRIPTOR, "matmul");
  const cudnnDataType_t f = CUDNN_DATA_FLOAT;
  set(a, mm.get(), CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &f, "matmul");
  finalize(a, mm.get(), "matmul");
  BackendDescriptor op(a, CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR, "matmul operation");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_MATMUL_ADESC, a_desc, "matmul op");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_MATMUL_BDESC, b_desc, "matmul op");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_MATMUL_CDESC, c_desc, "matmul op");
  set_desc(a, op.get(), CUDNN_ATTR_OPERATION_MATMUL_DESC, mm.get(), "matmul op");
  if (m_override != nullptr) {
    set_desc(a, op.get(), CUDNN_ATTR_OPERATION_MATMUL_GEMM_M_OVERRIDE_DESC, m_override,
             "matmul op");
  }
  if (n_override != nullptr) {
    set_desc(a, op.get(), CUDNN_ATTR_OPERATION_MATMUL_GEMM_N_OVERRIDE_DESC, n_override,
             "matmul op");
  }
  if (k_override != nullptr) {
    set_desc(a, op.get(), CUDNN_ATTR_OPERATION_MATMUL_GEMM_K_OVERRIDE_DESC, k_override,
             "matmul op");
  }
  finalize(a, op.get(), "matmul operation");
  misc_.push_back(std::move(mm));
  ops_.push_back(std::move(op));
}

SdpaGraph::SdpaGraph(const CudnnApi& api, const SdpaShape& shape, CudnnVersion library)
    : api_(&api), shape_(shape) {
  check_shape(shape);
  FS_CHECK(api.BackendCreateDescriptor != nullptr, kUnsupported,
           "cuDNN attention: the cuDNN library is not loaded");
  // The frontend's choice: cuDNN before 9.10 wants the lowest float as the mask value.
  mask_value_ = library < CudnnVersion{9, 10, 0} ? std::numeric_limits<float>::lowest()
                                                 : -std::numeric_limits<float>::infinity();
  scale_value_ = shape.scale;
  const SdpaShape& s = shape_;
  const std::int64_t b = s.batch, hq = s.n_head, hk = s.n_head_kv, d = s.head_dim;
  const cudnnDataType_t bf = CUDNN_DATA_BFLOAT16, f32 = CUDNN_DATA_FLOAT, i32 = CUDNN_DATA_INT32,
                        boolean = CUDNN_DATA_BOOLEAN;

  // Inputs and output: [b, h, s, d] views of token-major rows. K is given transposed
  // ([b, h, d, s]), the layout the backend's first matmul takes.
  auto q = tensor(kSdpaQ, bf, {b, hq, s.s_q, d}, {s.q_batch, d, s.q_row, 1}, false);
  auto kt = tensor(kSdpaK, bf, {b, hk, d, s.s_kv}, {s.kv_batch, d, 1, s.kv_row}, false);
  auto v = tensor(kSdpaV, bf, {b, hk, s.s_kv, d}, {s.kv_batch, d, s.kv_row, 1}, false);
  auto o = tensor(kSdpaO, bf, {b, hq, s.s_q, d}, {s.o_batch, d, s.o_row, 1}, false);
  auto seq_q = tensor(kSdpaSeqQ, i32, {b, 1, 1, 1}, {1, 1, 1, 1}, false);
  auto seq_kv = tensor(kSdpaSeqKv, i32, {b, 1, 1, 1}, {1, 1, 1, 1}, false);
  auto scale = tensor(kSdpaScale, f32, {1, 1, 1, 1}, {1, 1, 1, 1}, false, true);
  auto mask = tensor(kSdpaMask, f32, {1, 1, 1, 1}, {1, 1, 1, 1}, false, true);

  // S = Q K^T, scaled.
  auto scores = virtual_like_scores(f32);
  matmul(q, kt, scores, seq_q, seq_kv, nullptr);
  auto x = pointwise(CUDNN_POINTWISE_MUL, f32, scores, scale, virtual_like_scores(f32));

  // Padding: row < seq_len_q and col < seq_len_kv, else the mask value.
  auto row =
      pointwise(CUDNN_POINTWISE_GEN_INDEX, i32, x, nullptr, virtual_like_scores(i32), nullptr, 2);
  auto col =
      pointwise(CUDNN_POINTWISE_GEN_INDEX, i32, x, nullptr, virtual_like_scores(i32), nullptr, 3);
  auto row_ok =
      pointwise(CUDNN_POINTWISE_CMP_LT, boolean, row, seq_q, virtual_like_scores(boolean));
  auto col_ok =
      pointwise(CUDNN_POINTWISE_CMP_LT, boolean, col, seq_kv, virtual_like_scores(boolean));
  auto keep =
      pointwise(CUDNN_POINTWISE_LOGICAL_AND, boolean, row_ok, col_ok, virtual_like_scores(boolean));
  x = pointwise(CUDNN_POINTWISE_BINARY_SELECT, f32, x, mask, virtual_like_scores(f32), keep);

  if (s.causal_bottom_right) {
    // Bottom-right causal: row + seq_len_kv - seq_len_q >= col.
    auto r =
        pointwise(CUDNN_POINTWISE_GEN_INDEX, i32, x, nullptr, virtual_like_scores(i32), nullptr, 2);
    auto c =
        pointwise(CUDNN_POINTWISE_GEN_INDEX, i32, x, nullptr, virtual_like_scores(i32), nullptr, 3);
    r = pointwise(CUDNN_POINTWISE_ADD, i32, r, seq_kv, virtual_like_scores(i32), nullptr, 3);
    r = pointwise(CUDNN_POINTWISE_SUB, i32, r, seq_q, virtual_like_scores(i32), nullptr, 3);
    auto visible = pointwise(CUDNN_POINTWISE_CMP_GE, boolean, r, c, virtual_like_scores(boolean));
    x = pointwise(CUDNN_POINTWISE_BINARY_SELECT, f32, x, mask, virtual_like_scores(f32), visible);
  }

  // Softmax over keys; the log-sum-exp statistics stay virtual (inference).
  const std::vector<std::int64_t> stat_dims{b, hq, s.s_q, 1}, stat_strides{hq * s.s_q, s.s_q, 1, 1};
  auto row_max = tensor(next_virtual_uid_++, f32, stat_dims, stat_strides, true);
  reduction(CUDNN_REDUCE_TENSOR_MAX, x, row_max);
  auto shifted = pointwise(CUDNN_POINTWISE_SUB, f32, x, row_max, virtual_like_scores(f32));
  auto e = pointwise(CUDNN_POINTWISE_EXP, f32, shifted, nullptr, virtual_like_scores(f32));
  auto row_sum = tensor(next_virtual_uid_++, f32, stat_dims, stat_strides, true);
  reduction(CUDNN_REDUCE_TENSOR_ADD, e, row_sum);
  auto log_sum = pointwise(CUDNN_POINTWISE_LOG, f32, row_sum, nullptr,
                           tensor(next_virtual_uid_++, f32, stat_dims, stat_strides, true));
  pointwise(CUDNN_POINTWISE_ADD, f32, row_max, log_sum,
            tensor(next_virtual_uid_++, f32, stat_dims, stat_strides, true));
  auto p = pointwise(CUDNN_POINTWISE_DIV, f32, e, row_sum, virtual_like_scores(bf));

  // O = P V.
  matmul(p, v, o, seq_q, nullptr, seq_kv);
}

void SdpaGraph::make_plan(cudnnHandle_t handle) {
  const CudnnApi& a = *api_;
  std::string where = shape_.str();
  where.insert(where.begin(), '(');
  where.push_back(')');
  BackendDescriptor graph(a, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, "operation graph");
  std::vector<cudnnBackendDescriptor_t> ops;
  for (const BackendDescriptor& op : ops_) ops.push_back(op.get());
  set(a, graph.get(), kOpGraphHandle, CUDNN_TYPE_HANDLE, 1, &handle, "operation graph");
  set(a, graph.get(), CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
      static_cast<std::int64_t>(ops.size()), ops.data(), "operation graph");
  check(a, a.BackendFinalize(graph.get()), ErrorCode::kUnsupported,
        "operation graph " + where + " not supported");

  // Heuristic mode A first (what the frontend uses), then the fallback list; the first engine
  // config whose execution plan finalizes wins.
  cudnnBackendDescriptor_t g = graph.get();
  std::string failures;
  std::int64_t total = 0;
  for (const cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    BackendDescriptor heur(a, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, "heuristics");
    set(a, heur.get(), CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &g,
        "heuristics");
    set(a, heur.get(), CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode, "heuristics");
    const cudnnStatus_t hs = a.BackendFinalize(heur.get());
    if (hs != CUDNN_STATUS_SUCCESS) {
      failures +=
          "; heuristics mode " + std::to_string(static_cast<int>(mode)) + ": " + status_text(a, hs);
      continue;
    }
    std::vector<BackendDescriptor> configs;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (int i = 0; i < kMaxEngineConfigs; ++i) {
      configs.emplace_back(a, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, "engine config");
      raw.push_back(configs.back().get());
    }
    std::int64_t n_configs = 0;
    check(a,
          a.BackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, kMaxEngineConfigs, &n_configs,
                                raw.data()),
          ErrorCode::kUnsupported, "heuristic results " + where);
    for (std::int64_t i = 0; i < n_configs && i < kMaxEngineConfigs; ++i) {
      ++configs_tried_;
      ++total;
      BackendDescriptor plan(a, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, "execution plan");
      cudnnBackendDescriptor_t cfg = raw[static_cast<std::size_t>(i)];
      set(a, plan.get(), kPlanHandle, CUDNN_TYPE_HANDLE, 1, &handle, "execution plan");
      set(a, plan.get(), CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
          &cfg, "execution plan");
      const cudnnStatus_t st = a.BackendFinalize(plan.get());
      if (st != CUDNN_STATUS_SUCCESS) {
        if (failures.size() < 2000) {
          failures += "; config " + std::to_string(i) + ": " + status_text(a, st);
        }
        continue;
      }
      std::int64_t ws = 0, got = 0;
      check(a,
            a.BackendGetAttribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                  CUDNN_TYPE_INT64, 1, &got, &ws),
            ErrorCode::kUnsupported, "workspace size " + where);
      workspace_bytes_ = ws;
      // The plan's graph and engine config stay alive with it (as the frontend keeps them).
      graph_ = std::move(graph);
      misc_.push_back(std::move(configs[static_cast<std::size_t>(i)]));
      plan_ = std::move(plan);
      return;
    }
  }
  FS_FAIL(kUnsupported, "cuDNN: no engine config for the attention graph "
                            << where << " finalizes (" << total << " tried)" << failures);
}

void SdpaGraph::run(cudnnHandle_t handle, const SdpaPointers& p, void* workspace,
                    std::int64_t workspace_bytes) const {
  const CudnnApi& a = *api_;
  FS_CHECK(planned(), kInternal, "cuDNN attention run before make_plan (" << shape_.str() << ")");
  FS_CHECK(workspace_bytes >= workspace_bytes_ && (workspace_bytes_ == 0 || workspace != nullptr),
           kInternal,
           "cuDNN attention: workspace " << workspace_bytes << " bytes, the plan needs "
                                         << workspace_bytes_);
  std::int64_t uids[] = {kSdpaQ,    kSdpaK,     kSdpaV,     kSdpaO,
                         kSdpaSeqQ, kSdpaSeqKv, kSdpaScale, kSdpaMask};
  float scale = scale_value_, mask = mask_value_;
  void* ptrs[] = {const_cast<void*>(p.q),
                  const_cast<void*>(p.k),
                  const_cast<void*>(p.v),
                  p.o,
                  const_cast<std::int32_t*>(p.seq_len_q),
                  const_cast<std::int32_t*>(p.seq_len_kv),
                  &scale,
                  &mask};
  BackendDescriptor pack(a, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, "variant pack");
  auto run_check = [&](cudnnStatus_t st, const char* what) {
    check(a, st, ErrorCode::kInternal,
          std::string(what) + " (" + shape_.str() + ", attention while running)");
  };
  run_check(a.BackendSetAttribute(pack.get(), CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64,
                                  8, uids),
            "variant pack ids");
  run_check(a.BackendSetAttribute(pack.get(), CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                  CUDNN_TYPE_VOID_PTR, 8, ptrs),
            "variant pack pointers");
  run_check(a.BackendSetAttribute(pack.get(), CUDNN_ATTR_VARIANT_PACK_WORKSPACE,
                                  CUDNN_TYPE_VOID_PTR, 1, &workspace),
            "variant pack workspace");
  run_check(a.BackendFinalize(pack.get()), "variant pack");
  run_check(a.BackendExecute(handle, plan_.get(), pack.get()), "execute");
}

}  // namespace framescribe::inference::cuda
