// The engine's text attention on cuDNN: plans built at load, self-tested against the own
// kernel, decode timed against it (cudnn_text_attention.h). Not run on a GPU yet (issue 18).
#include "cuda/cudnn_text_attention.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/handles.h"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

// bf16 outputs of two float32-softmax implementations from the same bf16 inputs: both round
// once on output (2^-8 relative), cuDNN also rounds P to bf16 before P.V, the accumulation
// orders differ. Outputs are convex combinations of values in [-1, 1]; tight enough that a mask
// off by one key (a 1/150 change of the average) fails.
constexpr double kSelfTestAtol = 2e-3;
constexpr double kSelfTestRtol = 2e-2;
constexpr int kTimingReps = 20;

std::vector<float> download_bf16(const bf16* d, std::int64_t n) {
  std::vector<bf16> raw(static_cast<std::size_t>(n));
  FS_CUDA_CHECK(cudaMemcpy(raw.data(), d, n * sizeof(bf16), cudaMemcpyDeviceToHost));
  std::vector<float> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = __bfloat162float(raw[i]);
  return out;
}

}  // namespace

CudnnTextAttention::CudnnTextAttention(const Setup& setup, AttentionPlan& plan, bf16* k_scratch,
                                       bf16* v_scratch, cudaStream_t stream,
                                       const VisionScratch& vision_scratch)
    : setup_(setup) {
  const bool want_prefill = plan.text_prefill.runs != AttentionKernel::kOwn;
  const bool want_decode = plan.decode.runs != AttentionKernel::kOwn;
  const bool want_vision = plan.vision.runs != AttentionKernel::kOwn && setup.vision_images > 0;
  if (!want_prefill && !want_decode && !want_vision) return;
  const CudnnLibrary& lib = CudnnLibrary::instance();
  api_ = &lib.api();
  const CudnnVersion version = lib.versions().library;

  // Builds and plans one graph; a failure falls back (auto) or throws (cudnn).
  auto build = [&](PathDecision& d, const char* name, const SdpaShape& shape) {
    std::unique_ptr<SdpaGraph> g;
    try {
      if (!handle_) handle_ = std::make_unique<CudnnHandle>(*api_, stream);
      g = std::make_unique<SdpaGraph>(*api_, shape, version);
      g->make_plan(handle_->get());
      workspace_bytes_ = std::max(workspace_bytes_, g->workspace_bytes());
    } catch (const Error& e) {
      fall_back_to_own(d, setup_.choice, name, e.what());
      return std::unique_ptr<SdpaGraph>();
    }
    return g;
  };
  const int nh = setup.n_head, nkv = setup.n_head_kv, hd = setup.head_dim;
  if (want_prefill) {
    prefill_ = build(plan.text_prefill, "text prefill",
                     text_prefill_shape(nh, nkv, hd, setup.chunk_tokens, setup.max_context));
  }
  if (want_decode) {
    decode_ = build(plan.decode, "decode", decode_shape(nh, nkv, hd, setup.max_context));
  }
  if (want_vision) {
    vision_ = build(plan.vision, "vision encoder",
                    vision_shape(setup.vision_head, setup.vision_head_dim, setup.vision_images,
                                 setup.vision_patches));
  }
  if (!any()) return;
  lengths_ = DeviceBuffer(2 * sizeof(std::int32_t), "cuDNN sequence lengths");
  if (vision_) {
    // Every image of a served group has vision_patches patches: constant lengths.
    const std::vector<std::int32_t> lens(static_cast<std::size_t>(2 * setup.vision_images),
                                         static_cast<std::int32_t>(setup.vision_patches));
    vision_lengths_ = DeviceBuffer(lens.size() * sizeof(std::int32_t), "cuDNN vision lengths");
    FS_CUDA_CHECK(cudaMemcpy(vision_lengths_.data(), lens.data(),
                             lens.size() * sizeof(std::int32_t), cudaMemcpyHostToDevice));
  }
  if (workspace_bytes_ > 0) {
    workspace_ =
        DeviceBuffer(static_cast<std::size_t>(workspace_bytes_), "the cuDNN attention workspace");
  }

  // Self-tests on random data against the own prefill kernel (the same math).
  const std::int64_t max_ctx = setup.max_context;
  if (prefill_) {
    const std::int64_t n = std::min<std::int64_t>(setup.chunk_tokens, 80);
    const std::int64_t pos0 = std::max<std::int64_t>(0, std::min<std::int64_t>(max_ctx - n, 150));
    const std::string bad = self_test(*prefill_, n, pos0, k_scratch, v_scratch, stream);
    if (!bad.empty()) {
      prefill_.reset();
      fall_back_to_own(plan.text_prefill, setup_.choice, "text prefill", "self-test: " + bad);
    }
  }
  if (vision_) {
    const std::string bad = self_test_vision(vision_scratch, stream);
    if (!bad.empty()) {
      vision_.reset();
      fall_back_to_own(plan.vision, setup_.choice, "vision encoder", "self-test: " + bad);
    } else {
      std::ostringstream s;
      s << "; cuDNN for groups of " << setup.vision_images << " images of " << setup.vision_patches
        << " patches, own kernel for other groups";
      plan.vision.reason += s.str();
    }
  }
  if (decode_) {
    const std::int64_t pos0 = std::min<std::int64_t>(max_ctx - 1, 4095);
    const std::string bad = self_test(*decode_, 1, pos0, k_scratch, v_scratch, stream);
    if (!bad.empty()) {
      decode_.reset();
      fall_back_to_own(plan.decode, setup_.choice, "decode", "self-test: " + bad);
    } else if (setup_.choice == AttentionChoice::kAuto) {
      double cudnn_us = 0, own_us = 0;
      time_decode(pos0, k_scratch, v_scratch, stream, cudnn_us, own_us);
      std::ostringstream s;
      s.precision(3);
      s << "timed at load at " << pos0 + 1 << " keys: cuDNN " << cudnn_us << " us, own " << own_us
        << " us per layer";
      if (own_us < cudnn_us) {
        decode_.reset();
        plan.decode.runs = AttentionKernel::kOwn;
        plan.decode.reason = "own split-K kernel kept, " + s.str();
      } else {
        std::string& r = plan.decode.reason;
        const std::string pending = "; to be timed against the own kernel at load";
        const std::size_t at = r.find(pending);
        if (at != std::string::npos) r.erase(at, pending.size());
        r += "; cuDNN kept, " + s.str();
      }
    }
  }
}

CudnnTextAttention::~CudnnTextAttention() = default;

void CudnnTextAttention::set_lengths(std::int64_t n, std::int64_t pos0, cudaStream_t stream) {
  FS_CHECK(n > 0 && n <= setup_.chunk_tokens && pos0 >= 0 && pos0 + n <= setup_.max_context,
           kInvalidArgument,
           "cuDNN attention: " << n << " queries after " << pos0 << " cached (chunk "
                               << setup_.chunk_tokens << ", context " << setup_.max_context << ")");
  const std::int32_t host[2] = {static_cast<std::int32_t>(n), static_cast<std::int32_t>(pos0 + n)};
  // From pageable memory: the copy is staged before cudaMemcpyAsync returns, `host` may go.
  FS_CUDA_CHECK(
      cudaMemcpyAsync(lengths_.data(), host, sizeof(host), cudaMemcpyHostToDevice, stream));
}

void CudnnTextAttention::set_lengths_from_device(const std::int32_t* pos, cudaStream_t stream) {
  launch_decode_lengths(pos, lengths_.as<std::int32_t>(), stream);
}

void CudnnTextAttention::prefill(const bf16* q, const bf16* k, const bf16* v, bf16* out) const {
  FS_CHECK(prefill_ != nullptr, kInternal, "cuDNN prefill attention was not built");
  const std::int32_t* len = lengths_.as<std::int32_t>();
  prefill_->run(handle_->get(), {q, k, v, out, len, len + 1}, workspace_.data(), workspace_bytes_);
}

void CudnnTextAttention::vision(const bf16* q, const bf16* k, const bf16* v, bf16* out) const {
  FS_CHECK(vision_ != nullptr, kInternal, "cuDNN vision attention was not built");
  const std::int32_t* len = vision_lengths_.as<std::int32_t>();
  vision_->run(handle_->get(), {q, k, v, out, len, len + setup_.vision_images}, workspace_.data(),
               workspace_bytes_);
}

void CudnnTextAttention::decode(const bf16* q, const bf16* k, const bf16* v, bf16* out) const {
  FS_CHECK(decode_ != nullptr, kInternal, "cuDNN decode attention was not built");
  const std::int32_t* len = lengths_.as<std::int32_t>();
  decode_->run(handle_->get(), {q, k, v, out, len, len + 1}, workspace_.data(), workspace_bytes_);
}

namespace {

// "" when `got` matches `ref` (|got - ref| <= atol + rtol |ref|, reference not all zeros).
std::string compare(const std::vector<float>& got, const std::vector<float>& ref,
                    std::int64_t row_width, int head_dim) {
  double worst = 0, ref_max = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    ref_max = std::max(ref_max, std::fabs(double(ref[i])));
    const double err = std::isfinite(got[i]) ? std::fabs(double(got[i]) - ref[i]) : INFINITY;
    const double ratio = err / (kSelfTestAtol + kSelfTestRtol * std::fabs(double(ref[i])));
    if (!(ratio <= worst)) {
      worst = ratio;
      at = i;
    }
  }
  if (worst <= 1.0 && ref_max > 0.0) return "";
  std::ostringstream s;
  s << "cuDNN " << got[at] << " vs own " << ref[at] << " at row " << at / row_width << ", head "
    << at % row_width / head_dim << " (tolerance " << kSelfTestAtol << " + " << kSelfTestRtol
    << " x |own|; own max " << ref_max << ")";
  return s.str();
}

}  // namespace

std::string CudnnTextAttention::self_test_vision(const VisionScratch& vs, cudaStream_t stream) {
  const std::int64_t rows = setup_.vision_images * setup_.vision_patches;
  const std::int64_t width = std::int64_t{setup_.vision_head} * setup_.vision_head_dim;
  if (vs.q == nullptr || vs.k == nullptr || vs.v == nullptr || vs.out == nullptr) {
    return "no scratch for the self-test";
  }
  DeviceBuffer own(static_cast<std::size_t>(rows * width) * sizeof(bf16), "the vision self-test");
  launch_fill_uniform(vs.q, rows * width, 0x5eed0011, 3.0f, 0.0f, stream);
  launch_fill_uniform(vs.k, rows * width, 0x5eed0012, 1.0f, 0.0f, stream);
  launch_fill_uniform(vs.v, rows * width, 0x5eed0013, 1.0f, 0.0f, stream);
  std::vector<std::int32_t> begin;
  for (std::int64_t i = 0; i <= setup_.vision_images; ++i) {
    begin.push_back(static_cast<std::int32_t>(i * setup_.vision_patches));
  }
  DeviceBuffer dbegin(begin.size() * sizeof(std::int32_t), "the vision self-test");
  FS_CUDA_CHECK(cudaMemcpy(dbegin.data(), begin.data(), begin.size() * sizeof(std::int32_t),
                           cudaMemcpyHostToDevice));
  launch_attention_vision(vs.q, width, vs.k, vs.v, width, own.as<bf16>(), width,
                          dbegin.as<std::int32_t>(), static_cast<int>(setup_.vision_images),
                          static_cast<int>(setup_.vision_patches), setup_.vision_head,
                          setup_.vision_head_dim, stream);
  try {
    vision(vs.q, vs.k, vs.v, vs.out);
    FS_CUDA_CHECK(cudaStreamSynchronize(stream));
  } catch (const Error& e) {
    return e.what();
  }
  const std::string bad =
      compare(download_bf16(vs.out, rows * width), download_bf16(own.as<bf16>(), rows * width),
              width, setup_.vision_head_dim);
  return bad.empty() ? "" : vision_->shape().str() + ": " + bad;
}

std::string CudnnTextAttention::self_test(const SdpaGraph& g, std::int64_t n, std::int64_t pos0,
                                          bf16* k, bf16* v, cudaStream_t stream) {
  const int nh = setup_.n_head, nkv = setup_.n_head_kv, hd = setup_.head_dim;
  const std::int64_t qd = std::int64_t{nh} * hd, kvd = std::int64_t{nkv} * hd;
  DeviceBuffer buf(static_cast<std::size_t>(3 * n * qd) * sizeof(bf16), "the cuDNN self-test");
  bf16* q = buf.as<bf16>();
  bf16* o_own = q + n * qd;
  bf16* o_cudnn = o_own + n * qd;
  // q wider than k/v so the softmax is peaked in places (a flat one hides indexing errors).
  launch_fill_uniform(q, n * qd, 0x5eed0001, 3.0f, 0.0f, stream);
  launch_fill_uniform(k, (pos0 + n) * kvd, 0x5eed0002, 1.0f, 0.0f, stream);
  launch_fill_uniform(v, (pos0 + n) * kvd, 0x5eed0003, 1.0f, 0.0f, stream);
  launch_attention_prefill(q, qd, k, v, kvd, o_own, qd, n, pos0, nh, nkv, hd, stream);
  try {
    set_lengths(n, pos0, stream);
    g.run(handle_->get(),
          {q, k, v, o_cudnn, lengths_.as<std::int32_t>(), lengths_.as<std::int32_t>() + 1},
          workspace_.data(), workspace_bytes_);
    FS_CUDA_CHECK(cudaStreamSynchronize(stream));
  } catch (const Error& e) {
    return e.what();
  }
  const std::vector<float> ref = download_bf16(o_own, n * qd);
  const std::vector<float> got = download_bf16(o_cudnn, n * qd);
  const std::string bad = compare(got, ref, qd, hd);
  if (bad.empty()) return "";
  std::ostringstream s;
  s << g.shape().str() << " at " << n << " queries after " << pos0 << ": " << bad;
  return s.str();
}

void CudnnTextAttention::time_decode(std::int64_t pos0, bf16* k, bf16* v, cudaStream_t stream,
                                     double& cudnn_us, double& own_us) {
  const int nh = setup_.n_head, nkv = setup_.n_head_kv, hd = setup_.head_dim;
  const std::int64_t qd = std::int64_t{nh} * hd, kvd = std::int64_t{nkv} * hd;
  const std::int64_t ws_floats = attention_decode_workspace_floats(1, nh, hd);
  DeviceBuffer buf(static_cast<std::size_t>(2 * qd) * sizeof(bf16) +
                       static_cast<std::size_t>(ws_floats) * sizeof(float),
                   "the decode timing");
  bf16* q = buf.as<bf16>();
  bf16* o = q + qd;
  float* ws = reinterpret_cast<float*>(o + qd);
  launch_fill_uniform(q, qd, 0x5eed0004, 1.0f, 0.0f, stream);
  set_lengths(1, pos0, stream);
  Event start, stop;
  auto time = [&](auto&& launch) {
    launch();  // warm-up (module load, first-use costs)
    start.record(stream);
    for (int i = 0; i < kTimingReps; ++i) launch();
    stop.record(stream);
    FS_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    return 1000.0 * stop.ms_since(start) / kTimingReps;
  };
  cudnn_us = time([&] { decode(q, k, v, o); });
  own_us = time([&] {
    launch_attention_decode(q, qd, k, v, kvd, o, qd, 1, pos0, nh, nkv, hd, ws, ws_floats, stream);
  });
}

}  // namespace framescribe::inference::cuda
