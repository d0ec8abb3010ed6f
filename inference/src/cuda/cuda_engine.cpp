// The CUDA engine: construction (device check, weights, KV cache, scratch), request validation
// (the same checks and messages as the CPU engine) and the chunking of prefill and images.
#include "cuda/cuda_engine.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/cuda_setup.h"
#include "cuda/cudnn_text_attention.h"
#include "cuda/ops.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "request_checks.h"

namespace framescribe::inference {
namespace cuda {
namespace {

constexpr std::int64_t kDefaultChunkTokens = 2048;
constexpr std::int64_t kDefaultVisionTokens = 16384;

// Runs `f`; a failure other than a rejected request marks the engine failed: after a CUDA
// error the context and the cache contents cannot be trusted.
template <typename F>
auto guarded(bool& failed, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kInvalidArgument) failed = true;
    throw;
  } catch (...) {
    failed = true;
    throw;
  }
}

}  // namespace

template <typename Alloc>
void CudaEngine::layout_state(Alloc& a) {
  const TextConfig& t = config_.text;
  const VisionConfig& v = config_.vision;
  const std::int64_t td = t.n_embd, hd = t.head_dim, qd = std::int64_t{t.n_head} * hd,
                     kvd = std::int64_t{t.n_head_kv} * hd, ff = t.n_ff;
  const std::int64_t T = chunk_tokens_, V = vision_tokens_;
  k_cache_ = a.template take<bf16>(std::int64_t{t.n_layer} * max_context_ * kvd);
  v_cache_ = a.template take<bf16>(std::int64_t{t.n_layer} * max_context_ * kvd);
  rope_text_ = a.template take<float2>(max_context_ * (hd / 2));
  const std::int64_t side = v.max_patches_per_side();
  rope_vision_ = a.template take<float2>(side * side * (v.head_dim / 2));

  text_.tokens = a.template take<std::int32_t>(T);
  text_.image_row = a.template take<std::int32_t>(T);
  text_.images = a.template take<float>(T * td);
  text_.x = a.template take<float>(T * td);
  text_.h = a.template take<bf16>(T * std::max({td, qd, ff}));
  text_.qkv = a.template take<float>(T * (qd + 2 * kvd));
  text_.q = a.template take<bf16>(T * qd);
  text_.gate_up = a.template take<float>(T * 2 * ff);
  text_.logits = a.template take<float>(kLogitRows * t.n_vocab);
  text_.attn_workspace = a.template take<float>(
      attention_decode_workspace_floats(kDecodeMaxQueries, t.n_head, t.head_dim));
  step_ = a.template take<std::int32_t>(2);
  greedy_ = a.template take<std::int32_t>(1);

  const std::int64_t vd = v.n_embd, pl = 3LL * v.patch_px * v.patch_px;
  vision_.pixels = a.template take<float>(V * pl);
  vision_.patches = a.template take<bf16>(V * pl);
  vision_.positions = a.template take<std::int32_t>(V);
  vision_.seq_begin = a.template take<std::int32_t>(V + 1);
  vision_.x = a.template take<float>(V * vd);
  vision_.h = a.template take<bf16>(V * std::max({vd, std::int64_t{v.n_ff}, td}));
  vision_.qkv = a.template take<float>(V * 3 * vd);
  vision_.q = a.template take<bf16>(V * vd);
  vision_.k = a.template take<bf16>(V * vd);
  vision_.v = a.template take<bf16>(V * vd);
  vision_.gate_up = a.template take<float>(V * 2 * v.n_ff);
  vision_.proj = a.template take<float>(V * td);
}

CudaEngine::CudaEngine(const ModelConfig& config, const EngineOptions& options) : config_(config) {
  // make_cuda_engine has checked for a device before the stream member was created.
  const TextConfig& t = config_.text;
  const VisionConfig& v = config_.vision;
  max_context_ = options.max_context_tokens > 0
                     ? std::min(options.max_context_tokens, t.max_context)
                     : t.max_context;
  chunk_tokens_ =
      options.prefill_chunk_tokens > 0 ? options.prefill_chunk_tokens : kDefaultChunkTokens;
  chunk_tokens_ = std::min(chunk_tokens_, max_context_);
  // A group always holds at least one whole image of the largest size.
  const std::int64_t max_image = std::int64_t{v.max_patches_per_side()} * v.max_patches_per_side();
  vision_tokens_ = std::max(max_image, options.vision_batch_tokens > 0 ? options.vision_batch_tokens
                                                                       : kDefaultVisionTokens);
  // The attention kernels are instantiated for these head sizes (attention.cuh): refuse others
  // here, before tens of GB are allocated, not at the first eval.
  auto kernel_head_dim = [](int hd) { return hd == 16 || hd == 32 || hd == 64 || hd == 128; };
  FS_CHECK(
      kernel_head_dim(t.head_dim) && kernel_head_dim(v.head_dim) && t.n_head % t.n_head_kv == 0,
      kUnsupported,
      "CUDA engine: head_dim " << t.head_dim << " / vision head_dim " << v.head_dim << " / heads "
                               << t.n_head << ":" << t.n_head_kv << " are not supported");
  FS_CHECK(v.n_channels == 3, kUnsupported,
           "CUDA engine: " << v.n_channels << " image channels (expected 3)");

  int device = 0;
  cudaDeviceProp prop{};
  FS_CUDA_CHECK(cudaGetDevice(&device));
  FS_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  device_name_ = prop.name;

  // Which attention kernels, decided once here (attention_plan.h); --attention cudnn that cannot
  // be honoured throws before anything is allocated. The cuDNN plans are built (and may fall
  // back) once the cache exists, below; the final plan is logged once, there.
  const CudaSetupReport setup = setup_report(config_, options.attention);
  FS_CHECK(setup.plan_error.empty(), kUnsupported, setup.plan_error);
  attention_plan_ = setup.plan;

  // Before anything is allocated (the weight layout alone walks every layer on the host): the
  // bf16 weights and the KV cache + activations arena against the device's free memory, and the
  // loader's host bookkeeping against the host's, so that a config claiming 2^24 layers or a
  // huge vocabulary is refused with the estimate.
  ArenaPlan state_plan;
  layout_state(state_plan);
  const double tensors = weight_tensor_count(config_);
  const double weight_bytes = weight_bytes_bf16(config_) + tensors * double(kDeviceAlignBytes);
  const double state_bytes = double(state_plan.size_bytes());
  std::size_t free_bytes = 0, total_bytes = 0;
  FS_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  const std::string model = config_.config_path.empty()
                                ? std::string("the built-in Pixtral-12B config")
                                : config_.config_path.string();
  FS_CHECK(weight_bytes + state_bytes <= double(free_bytes), kOutOfMemory,
           model << ": the CUDA engine needs about " << format_bytes(weight_bytes + state_bytes)
                 << " of GPU memory for this model (" << format_bytes(weight_bytes)
                 << " of bf16 weights, " << format_bytes(state_bytes) << " of KV cache for "
                 << max_context_ << " tokens and activations) but " << device_name_ << " has "
                 << format_bytes(double(free_bytes)) << " free of "
                 << format_bytes(double(total_bytes))
                 << "; check the config's dimensions or lower --context");
  // Host: per tensor a slot (name, shape) of the layout (~256 bytes), and for a checkpoint one
  // tensor at a time widened to float32 and rounded to bf16.
  const double host_bytes =
      tensors * 256 +
      (options.load_format == LoadFormat::kDummy ? 0.0 : 6 * largest_weight_elements(config_));
  const std::int64_t host_available = available_host_memory_bytes();
  FS_CHECK(host_available < 0 || host_bytes <= double(host_available), kOutOfMemory,
           model << ": loading this model onto the GPU needs about " << format_bytes(host_bytes)
                 << " of host memory but only " << format_bytes(double(host_available))
                 << " is available; check the config's dimensions");

  gemm_ = std::make_unique<Gemm>(stream_.get());
  if (options.load_format == LoadFormat::kDummy) {
    weights_ = dummy_weights(config_, options.dummy_seed, stream_.get());
  } else {
    weights_ = upload_weights(config_, TensorStore::open(config_.weights_path), stream_.get());
  }
  state_ = DeviceArena(state_plan.size_bytes(), "the KV cache (" + std::to_string(max_context_) +
                                                    " tokens) and activations");
  layout_state(state_);
  launch_rope_table_1d(rope_text_, max_context_, t.head_dim, t.rope_theta, stream_.get());
  launch_rope_table_2d(rope_vision_, v.max_patches_per_side(), v.head_dim, v.rope_theta,
                       stream_.get());
  stream_.synchronize();
  // cuDNN text attention: plans for this chunk size and context, self-tested on layer 0 of the
  // cache (nothing is cached yet); a path that fails falls back with cuDNN's error (auto).
  if (attention_plan_.text_prefill.runs != AttentionKernel::kOwn ||
      attention_plan_.decode.runs != AttentionKernel::kOwn ||
      attention_plan_.vision.runs != AttentionKernel::kOwn) {
    CudnnTextAttention::Setup cs;
    cs.n_head = t.n_head;
    cs.n_head_kv = t.n_head_kv;
    cs.head_dim = t.head_dim;
    cs.chunk_tokens = chunk_tokens_;
    cs.max_context = max_context_;
    cs.choice = options.attention;
    // Vision on cuDNN: full groups of the video window's frames (512x512, or the largest image
    // the model takes if smaller); other groups run the own kernel.
    const std::int64_t frame_side = std::min(512, v.image_size_px) / v.patch_px;
    cs.vision_head = v.n_head;
    cs.vision_head_dim = v.head_dim;
    cs.vision_patches = frame_side * frame_side;
    cs.vision_images = cs.vision_patches > 0 ? vision_tokens_ / cs.vision_patches : 0;
    const CudnnTextAttention::VisionScratch vs{vision_.q, vision_.k, vision_.v, vision_.h};
    cudnn_ = std::make_unique<CudnnTextAttention>(cs, attention_plan_, k_cache_, v_cache_,
                                                  stream_.get(), vs);
    if (!cudnn_->any()) cudnn_.reset();
    stream_.synchronize();
  }
  FS_LOG_INFO("CUDA engine on " << device_name_ << " (compute " << prop.major << "." << prop.minor
                                << "): " << versions_line(setup) << "\nattention (--attention "
                                << to_string(options.attention) << "):\n"
                                << attention_plan_.summary());
  const char* graph_env = std::getenv("FRAMESCRIBE_CUDA_GRAPH");
  graphs_enabled_ = !(graph_env != nullptr && std::string(graph_env) == "0");
  FS_LOG_INFO("CUDA engine: weights " << (weights_.arena.size_bytes() >> 20) << " MiB, cache + "
                                      << "activations " << (state_.size_bytes() >> 20)
                                      << " MiB, context " << max_context_ << " tokens");
}

CudaEngine::~CudaEngine() {
  // Let queued work finish before the buffers go; errors are ignored (destructors never throw).
  (void)cudaStreamSynchronize(stream_.get());
  if (decode_graph_ != nullptr) (void)cudaGraphExecDestroy(decode_graph_);
}

void CudaEngine::decode_with_graph(std::int32_t token, float* out, std::int32_t* next) {
  const TextConfig& t = config_.text;
  cudaStream_t s = stream_.get();
  // The step's inputs, outside the graph: token, no image row, position and key count.
  const std::int32_t host[4] = {token, -1, static_cast<std::int32_t>(n_past_),
                                static_cast<std::int32_t>(n_past_ + 1)};
  FS_CUDA_CHECK(
      cudaMemcpyAsync(text_.tokens, &host[0], sizeof(std::int32_t), cudaMemcpyHostToDevice, s));
  FS_CUDA_CHECK(
      cudaMemcpyAsync(text_.image_row, &host[1], sizeof(std::int32_t), cudaMemcpyHostToDevice, s));
  FS_CUDA_CHECK(
      cudaMemcpyAsync(step_, &host[2], 2 * sizeof(std::int32_t), cudaMemcpyHostToDevice, s));
  if (decode_graph_ == nullptr && decode_warm_ && graphs_enabled_) {
    // Capture once: every GEMM plan of the step exists (the warm step made them), every
    // pointer is fixed, every position is read from step_.
    cudaGraph_t graph = nullptr;
    std::string why;
    FS_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    try {
      decode_step_device();
    } catch (const Error& e) {
      why = e.what();
    }
    const cudaError_t end = cudaStreamEndCapture(s, &graph);
    if (why.empty() && end != cudaSuccess) why = cudaGetErrorString(end);
    if (why.empty() && cudaGraphInstantiate(&decode_graph_, graph, 0) != cudaSuccess) {
      why = cudaGetErrorString(cudaGetLastError());
      decode_graph_ = nullptr;
    }
    if (graph != nullptr) (void)cudaGraphDestroy(graph);
    if (!why.empty()) {
      (void)cudaGetLastError();  // capture errors are not sticky
      graphs_enabled_ = false;
      FS_LOG_WARN(
          "CUDA engine: decode-step graph capture failed, decoding without graphs: " << why);
    }
  }
  if (decode_graph_ != nullptr) {
    FS_CUDA_CHECK(cudaGraphLaunch(decode_graph_, s));
  } else {
    decode_step_device();  // the warm step (or graphs off): the same kernels, eagerly
    decode_warm_ = true;
  }
  if (next != nullptr) {
    FS_CUDA_CHECK(cudaMemcpyAsync(next, greedy_, sizeof(std::int32_t), cudaMemcpyDeviceToHost, s));
  } else {
    FS_CUDA_CHECK(
        cudaMemcpyAsync(out, text_.logits, t.n_vocab * sizeof(float), cudaMemcpyDeviceToHost, s));
  }
  stream_.synchronize();
}

MemoryUse CudaEngine::memory_use() const {
  MemoryUse m;
  m.weights = static_cast<std::int64_t>(weights_.arena.size_bytes());
  const TextConfig& t = config_.text;
  m.cache = 2 * std::int64_t{t.n_layer} * max_context_ * t.n_head_kv * t.head_dim *
            static_cast<std::int64_t>(sizeof(bf16));
  m.scratch = static_cast<std::int64_t>(state_.size_bytes()) - m.cache;
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
    m.device_used = static_cast<std::int64_t>(total_b - free_b);
    m.device_total = static_cast<std::int64_t>(total_b);
  }
  return m;
}

void CudaEngine::check_usable() const {
  FS_CHECK(!failed_, kInternal,
           "the CUDA engine failed earlier (a CUDA error); create a new engine");
}

void CudaEngine::truncate(std::int64_t n_tokens) {
  // Cached positions past n_past_ are simply overwritten later; nothing to clear.
  n_past_ = std::min(n_past_, std::max<std::int64_t>(0, n_tokens));
}

std::vector<float> CudaEngine::encode_images(std::span<const PixelImage* const> images) {
  check_usable();
  const VisionConfig& v = config_.vision;
  const int p = v.patch_px;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    FS_CHECK(images[i] != nullptr, kInvalidArgument, "image " << i << " is null");
    n += check_image(v, *images[i], i);
  }
  const std::int64_t td = config_.text.n_embd;
  std::vector<float> out(static_cast<std::size_t>(n * td));
  return guarded(failed_, [&] {
    // Greedy groups of whole images up to vision_tokens_ patches.
    std::size_t first = 0;
    std::int64_t row = 0, group_patches = 0;
    for (std::size_t i = 0; i <= images.size(); ++i) {
      const std::int64_t patches =
          i < images.size() ? std::int64_t{images[i]->height_px / p} * (images[i]->width_px / p)
                            : 0;
      if (i == images.size() || group_patches + patches > vision_tokens_) {
        if (i > first) {
          encode_group(images.subspan(first, i - first), out.data() + row * td);
          row += group_patches;
        }
        first = i;
        group_patches = 0;
      }
      group_patches += patches;
    }
    return std::move(out);
  });
}

std::vector<float> CudaEngine::eval(std::span<const std::int32_t> tokens,
                                    std::span<const float> image_embd, LogitsMode mode) {
  check_usable();
  const TextConfig& t = config_.text;
  const std::int64_t n = static_cast<std::int64_t>(tokens.size());
  if (n == 0) return {};
  check_eval_request(config_, n_past_, max_context_, tokens, image_embd.size());

  // Host memory before the guarded device work: a bad_alloc here (kAll over a long prompt) is
  // the caller's problem and must not mark the engine failed.
  std::vector<float> result;
  if (mode == LogitsMode::kAll) result.resize(static_cast<std::size_t>(n * t.n_vocab));
  if (mode == LogitsMode::kLast) result.resize(static_cast<std::size_t>(t.n_vocab));
  guarded(failed_, [&] { run_tokens(tokens, image_embd, mode, result.data(), nullptr); });
  return result;
}

std::int32_t CudaEngine::eval_greedy(std::span<const std::int32_t> tokens,
                                     std::span<const float> image_embd) {
  check_usable();
  FS_CHECK(!tokens.empty(), kInvalidArgument, "eval_greedy: no tokens");
  check_eval_request(config_, n_past_, max_context_, tokens, image_embd.size());
  std::int32_t next = 0;
  guarded(failed_, [&] { run_tokens(tokens, image_embd, LogitsMode::kLast, nullptr, &next); });
  return next;
}

void CudaEngine::run_tokens(std::span<const std::int32_t> tokens, std::span<const float> image_embd,
                            LogitsMode mode, float* out, std::int32_t* token) {
  const TextConfig& t = config_.text;
  const std::int64_t n = static_cast<std::int64_t>(tokens.size()), d = t.n_embd;
  // One token, last logits: the decode step from device positions, as a CUDA graph.
  if (n == 1 && mode == LogitsMode::kLast && tokens[0] != config_.image_token_id &&
      decode_step_device_possible()) {
    decode_with_graph(tokens[0], out, token);
    n_past_ += 1;
    return;
  }
  std::vector<std::int32_t> image_row;
  std::int64_t next_image = 0;
  cudaStream_t s = stream_.get();
  for (std::int64_t c0 = 0; c0 < n; c0 += chunk_tokens_) {
    const std::int64_t c1 = std::min(n, c0 + chunk_tokens_), m = c1 - c0;
    // [IMG] tokens take the next image rows in order (docs/pixtral.md 3.4); the chunk's rows
    // are contiguous in image_embd, so one copy uploads them.
    image_row.assign(static_cast<std::size_t>(m), -1);
    const std::int64_t first_image = next_image;
    for (std::int64_t i = 0; i < m; ++i) {
      if (tokens[static_cast<std::size_t>(c0 + i)] == config_.image_token_id)
        image_row[static_cast<std::size_t>(i)] =
            static_cast<std::int32_t>(next_image++ - first_image);
    }
    FS_CUDA_CHECK(cudaMemcpyAsync(text_.tokens, tokens.data() + c0, m * sizeof(std::int32_t),
                                  cudaMemcpyHostToDevice, s));
    FS_CUDA_CHECK(cudaMemcpyAsync(text_.image_row, image_row.data(), m * sizeof(std::int32_t),
                                  cudaMemcpyHostToDevice, s));
    if (next_image > first_image) {
      FS_CUDA_CHECK(cudaMemcpyAsync(text_.images, image_embd.data() + first_image * d,
                                    (next_image - first_image) * d * sizeof(float),
                                    cudaMemcpyHostToDevice, s));
    }
    launch_embed(text_.tokens, text_.image_row, m, weights_.tok_embeddings, text_.images, d,
                 text_.x, s);
    forward_chunk(m, n_past_ + c0);
    if (mode == LogitsMode::kAll) logits(0, m, out + c0 * t.n_vocab);
    if (mode == LogitsMode::kLast && c1 == n) {
      if (token != nullptr) {
        greedy_token(m - 1, token);
      } else {
        logits(m - 1, m, out);
      }
    }
    // The host vectors above are reused by the next chunk: wait for the copies (and keep
    // errors attributed to the chunk that caused them).
    stream_.synchronize();
  }
  n_past_ += n;
}

}  // namespace cuda

std::unique_ptr<Engine> make_cuda_engine(const ModelConfig& config, const EngineOptions& options) {
  // Before any member of the engine touches the runtime, for a clear "no device" error.
  cuda::require_device();
  return std::make_unique<cuda::CudaEngine>(config, options);
}

bool cuda_backend_built() {
  return true;
}

}  // namespace framescribe::inference
