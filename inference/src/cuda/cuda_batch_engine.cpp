// The CUDA batch engine (cuda_batch_engine.h): construction (inner CudaEngine for the weights,
// GEMMs and vision; the KV pool; scratch), validation as the CPU batch engine, and the packed
// step. Status: compiled; NOT run on a GPU.
#include "cuda/cuda_batch_engine.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "cuda/cuda_check.h"
#include "cuda/cuda_engine.h"
#include "cuda/ops.h"
#include "cuda/paged_kv.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "request_checks.h"

namespace framescribe::inference::cuda {
namespace {

constexpr std::int64_t kDefaultChunkRows = 2048;
constexpr std::int64_t kInnerContext = 16;     // the inner engine's own (unused) text cache
constexpr std::int64_t kLogitRows = 128;       // logits rows per lm_head GEMM
constexpr std::int64_t kWorkspaceRows = 32;    // split-K partials for up to this many rows x
constexpr std::int64_t kWorkspaceSplits = 64;  // this many splits (fewer splits for more rows)

std::int64_t pool_blocks(const KvCacheOptions& cache, std::int64_t max_context) {
  FS_CHECK(cache.block_tokens > 0, kInvalidArgument,
           "KV blocks of " << cache.block_tokens << " positions");
  FS_CHECK(cache.cache_tokens >= 0, kInvalidArgument,
           "KV cache of " << cache.cache_tokens << " positions");
  const std::int64_t tokens = cache.cache_tokens > 0 ? cache.cache_tokens : max_context;
  return (tokens + cache.block_tokens - 1) / cache.block_tokens;
}

class CudaBatchEngine final : public BatchEngine {
 public:
  CudaBatchEngine(const ModelConfig& config, const EngineOptions& options,
                  const KvCacheOptions& cache);
  ~CudaBatchEngine() override { (void)cudaStreamSynchronize(inner_->stream()); }

  const ModelConfig& config() const override { return config_; }
  std::string device_name() const override { return inner_->device_name(); }
  MemoryUse memory_use() const override;
  std::vector<float> encode_images(std::span<const PixelImage* const> images) override {
    check_usable();
    return inner_->encode_images(images);
  }
  std::int64_t max_context() const override { return max_context_; }

  SeqId create() override { return table_.create(); }
  SeqId fork(SeqId src) override { return table_.fork(src); }
  void truncate(SeqId seq, std::int64_t n) override { table_.truncate(seq, n); }
  void release(SeqId seq) override { table_.release(seq); }
  std::int64_t length(SeqId seq) const override { return table_.length(seq); }
  KvStats kv_stats() const override { return table_.stats(); }
  const KvBlockTable& kv_table() const override { return table_; }
  StepResult step(std::span<const StepSpan> spans) override;
  void fill_for_benchmark(std::span<const SeqId> seqs, std::int64_t n_tokens, std::uint64_t seed);

 private:
  template <typename Alloc>
  void layout_state(Alloc& a);
  void check_usable() const {
    FS_CHECK(!failed_, kInternal,
             "the CUDA batch engine failed earlier (a CUDA error); create a new engine");
  }
  void reserve_meta(std::int64_t ints);
  // The device work of a validated step whose appends are done.
  void run(std::span<const StepSpan> spans, const std::vector<std::int64_t>& pos0,
           const std::vector<KvBlockCopy>& copies, StepResult& out);
  // Every layer over the m packed rows in x_ (metadata on the device), then nothing else.
  void forward(std::int64_t m, const PagedAttentionArgs& attn_template);

  ModelConfig config_;
  std::unique_ptr<CudaEngine> inner_;
  std::int64_t max_context_ = 0;
  std::int64_t chunk_rows_ = 0;
  int sms_ = 1;
  KvBlockTable table_;
  std::int64_t pool_tokens_ = 0;
  DeviceBuffer k_pool_, v_pool_;  // [n_layer][n_blocks][block_tokens][kvd] bf16 each
  DeviceArena state_;
  float2* rope_ = nullptr;  // [max_context, hd/2]
  float *x_ = nullptr, *qkv_ = nullptr, *gate_up_ = nullptr, *images_ = nullptr;
  float *sel_ = nullptr, *logits_ = nullptr, *workspace_ = nullptr;
  bf16 *h_ = nullptr, *q_ = nullptr;
  std::int64_t workspace_floats_ = 0;
  DeviceBuffer meta_;  // int32 per-chunk metadata; grows before a step's appends if needed
  const std::int32_t *tok_dev_ = nullptr, *img_dev_ = nullptr, *pos_dev_ = nullptr,
                     *slot_dev_ = nullptr;
  bool failed_ = false;
};

template <typename Alloc>
void CudaBatchEngine::layout_state(Alloc& a) {
  const TextConfig& t = config_.text;
  const std::int64_t d = t.n_embd, hd = t.head_dim, qd = std::int64_t{t.n_head} * hd,
                     kvd = std::int64_t{t.n_head_kv} * hd, ff = t.n_ff, T = chunk_rows_;
  rope_ = a.template take<float2>(max_context_ * (hd / 2));
  x_ = a.template take<float>(T * d);
  images_ = a.template take<float>(T * d);
  h_ = a.template take<bf16>(T * std::max({d, qd, ff}));
  qkv_ = a.template take<float>(T * (qd + 2 * kvd));
  q_ = a.template take<bf16>(T * qd);
  gate_up_ = a.template take<float>(T * 2 * ff);
  sel_ = a.template take<float>(kLogitRows * d);
  logits_ = a.template take<float>(kLogitRows * t.n_vocab);
  workspace_floats_ = kWorkspaceSplits * kWorkspaceRows * t.n_head * (hd + 2);
  workspace_ = a.template take<float>(workspace_floats_);
}

CudaBatchEngine::CudaBatchEngine(const ModelConfig& config, const EngineOptions& options,
                                 const KvCacheOptions& cache)
    : config_(config),
      max_context_(options.max_context_tokens > 0
                       ? std::min(options.max_context_tokens, config.text.max_context)
                       : config.text.max_context),
      table_(pool_blocks(cache, max_context_), cache.block_tokens, max_context_) {
  const TextConfig& t = config_.text;
  const std::int64_t kvd = std::int64_t{t.n_head_kv} * t.head_dim;
  pool_tokens_ = table_.n_blocks() * cache.block_tokens;
  FS_CHECK(pool_tokens_ <= std::numeric_limits<std::int32_t>::max() &&
               max_context_ <= std::numeric_limits<std::int32_t>::max(),
           kInvalidArgument,
           "CUDA batch engine: a KV pool of " << pool_tokens_ << " positions (at most 2^31 - 1)");
  // The inner engine: weights (checkpoint or dummy, cuda_weights.h), GEMM plans, the stream,
  // the vision encoder; its own text cache is kInnerContext positions, never used here.
  EngineOptions inner = options;
  inner.max_context_tokens = std::min(kInnerContext, max_context_);
  inner.prefill_chunk_tokens = inner.max_context_tokens;
  inner_ = std::make_unique<CudaEngine>(config_, inner);
  chunk_rows_ = options.prefill_chunk_tokens > 0 ? options.prefill_chunk_tokens : kDefaultChunkRows;
  chunk_rows_ = std::max<std::int64_t>(1, std::min(chunk_rows_, pool_tokens_));

  int device = 0;
  FS_CUDA_CHECK(cudaGetDevice(&device));
  FS_CUDA_CHECK(cudaDeviceGetAttribute(&sms_, cudaDevAttrMultiProcessorCount, device));

  // The pool and scratch against the free memory left after the weights: refused with the size.
  ArenaPlan plan;
  layout_state(plan);
  const double pool_bytes = 2.0 * t.n_layer * double(pool_tokens_) * double(kvd) * sizeof(bf16);
  std::size_t free_b = 0, total_b = 0;
  FS_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  FS_CHECK(pool_bytes + double(plan.size_bytes()) <= double(free_b), kOutOfMemory,
           "CUDA batch engine: the KV pool of "
               << table_.n_blocks() << " blocks x " << cache.block_tokens << " positions ("
               << format_bytes(pool_bytes) << ") and " << format_bytes(double(plan.size_bytes()))
               << " of activations do not fit in the " << format_bytes(double(free_b))
               << " free on " << inner_->device_name() << "; lower the cache size");
  const auto half = static_cast<std::size_t>(pool_bytes / 2);
  k_pool_ =
      DeviceBuffer(half, "the KV pool's keys (" + std::to_string(pool_tokens_) + " positions)");
  v_pool_ =
      DeviceBuffer(half, "the KV pool's values (" + std::to_string(pool_tokens_) + " positions)");
  state_ = DeviceArena(plan.size_bytes(), "the batch engine's activations");
  layout_state(state_);
  launch_rope_table_1d(rope_, max_context_, t.head_dim, t.rope_theta, inner_->stream());
  FS_CUDA_CHECK(cudaStreamSynchronize(inner_->stream()));
  FS_LOG_INFO("CUDA batch engine: KV pool "
              << table_.n_blocks() << " blocks x " << cache.block_tokens << " positions ("
              << format_bytes(pool_bytes) << "), context " << max_context_ << ", " << chunk_rows_
              << " rows per step chunk");
}

MemoryUse CudaBatchEngine::memory_use() const {
  MemoryUse m;
  m.weights = static_cast<std::int64_t>(inner_->weights().arena.size_bytes());
  m.cache = static_cast<std::int64_t>(k_pool_.size_bytes() + v_pool_.size_bytes());
  m.scratch =
      static_cast<std::int64_t>(state_.size_bytes() + meta_.size_bytes() + inner_->state_bytes());
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
    m.device_used = static_cast<std::int64_t>(total_b - free_b);
    m.device_total = static_cast<std::int64_t>(total_b);
  }
  return m;
}

void CudaBatchEngine::reserve_meta(std::int64_t ints) {
  const auto bytes = static_cast<std::size_t>(ints) * sizeof(std::int32_t);
  if (bytes <= meta_.size_bytes()) return;
  // Grow by half again so that slowly growing sequences do not reallocate every step.
  FS_CUDA_CHECK(cudaStreamSynchronize(inner_->stream()));
  meta_ = DeviceBuffer();
  meta_ = DeviceBuffer(bytes + bytes / 2, "the batch step's block tables");
}

StepResult CudaBatchEngine::step(std::span<const StepSpan> spans) {
  check_usable();
  const TextConfig& t = config_.text;
  const int bt = table_.block_tokens();
  // Every check before any change, as the CPU engine (text_decoder.cpp): the requests, then the
  // blocks (KvBlockTable::append is all or nothing and checks sequences, repeats, free blocks).
  std::vector<KvAppend> appends;
  std::vector<std::int64_t> pos0;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const StepSpan& s = spans[i];
    FS_CHECK(table_.contains(s.seq), kInvalidArgument,
             "step span " << i << ": no sequence " << s.seq);
    pos0.push_back(table_.length(s.seq));
    check_eval_request(config_, pos0.back(), max_context_, s.tokens, s.image_embeddings.size());
    appends.push_back({s.seq, static_cast<std::int64_t>(s.tokens.size())});
  }
  (void)table_.blocks_needed(appends);  // repeated sequences, lengths: kInvalidArgument

  StepResult out;
  out.n_vocab = t.n_vocab;
  std::int64_t n_logit_rows = 0, n_rows = 0, table_ints = 0;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const StepSpan& s = spans[i];
    out.first_row.push_back(n_logit_rows);
    const auto n = static_cast<std::int64_t>(s.tokens.size());
    n_rows += n;
    n_logit_rows += n == 0 ? 0 : s.logits == LogitsMode::kAll ? n : s.logits == LogitsMode::kLast;
    table_ints += (pos0[i] + n + bt - 1) / bt;
  }
  // Host and device memory before the table changes: a failure here leaves everything as it was.
  out.logits.resize(static_cast<std::size_t>(n_logit_rows * t.n_vocab));
  const auto n_spans = static_cast<std::int64_t>(spans.size());
  const int group = t.n_head / t.n_head_kv;
  const std::int64_t T = chunk_rows_;
  const std::int64_t pieces = std::min(n_spans, T);
  reserve_meta(std::max(
      2 * n_spans,
      5 * T + 4 * pieces + 2 * (T * group / kPagedItemsPerTile + pieces + 1) + table_ints));
  const std::vector<KvBlockCopy> copies = table_.append(appends);
  if (n_rows == 0 && copies.empty()) return out;
  try {
    run(spans, pos0, copies, out);
  } catch (...) {
    failed_ = true;  // the KV contents can no longer be trusted
    throw;
  }
  return out;
}

void CudaBatchEngine::run(std::span<const StepSpan> spans, const std::vector<std::int64_t>& pos0,
                          const std::vector<KvBlockCopy>& copies, StepResult& out) {
  const TextConfig& t = config_.text;
  const std::int64_t d = t.n_embd, kvd = std::int64_t{t.n_head_kv} * t.head_dim;
  const int bt = table_.block_tokens(), group = t.n_head / t.n_head_kv;
  cudaStream_t s = inner_->stream();
  auto* meta = meta_.as<std::int32_t>();
  // Copy-on-write first: the shared partial blocks into their private copies.
  if (!copies.empty()) {
    std::vector<std::int32_t> pairs;
    for (const KvBlockCopy& c : copies) {
      pairs.push_back(c.src);
      pairs.push_back(c.dst);
    }
    FS_CUDA_CHECK(cudaMemcpyAsync(meta, pairs.data(), pairs.size() * sizeof(std::int32_t),
                                  cudaMemcpyHostToDevice, s));
    launch_copy_kv_blocks(k_pool_.as<bf16>(), v_pool_.as<bf16>(), meta,
                          static_cast<int>(copies.size()), t.n_layer, table_.n_blocks(),
                          std::int64_t{bt} * kvd, s);
    FS_CUDA_CHECK(cudaStreamSynchronize(s));  // meta is rewritten below
  }

  std::vector<std::int32_t> tok, img, pos, slot, idx, tables, host;
  std::vector<PagedPiece> pieces;
  std::vector<float> staged;
  std::size_t si = 0;
  std::int64_t off = 0, next_image = 0, out_row = 0;
  while (si < spans.size()) {
    tok.clear(), img.clear(), pos.clear(), slot.clear(), idx.clear(), tables.clear();
    pieces.clear(), staged.clear();
    std::int64_t m = 0, max_keys = 0;
    // Pack up to chunk_rows_ rows: pieces of consecutive rows of one span.
    while (si < spans.size() && m < chunk_rows_) {
      const StepSpan& sp = spans[si];
      const auto n = static_cast<std::int64_t>(sp.tokens.size());
      const std::int64_t take = std::min(n - off, chunk_rows_ - m);
      if (take > 0) {
        const std::span<const std::int32_t> blocks = table_.blocks(sp.seq);
        pieces.push_back({static_cast<std::int32_t>(m), static_cast<std::int32_t>(take),
                          static_cast<std::int32_t>(pos0[si] + off),
                          static_cast<std::int32_t>(tables.size())});
        tables.insert(tables.end(), blocks.begin(), blocks.end());
        max_keys = std::max(max_keys, pos0[si] + off + take);
        for (std::int64_t i = 0; i < take; ++i) {
          const std::int32_t token = sp.tokens[static_cast<std::size_t>(off + i)];
          const std::int64_t p = pos0[si] + off + i;
          tok.push_back(token);
          if (token == config_.image_token_id) {
            img.push_back(static_cast<std::int32_t>(staged.size() / static_cast<std::size_t>(d)));
            const float* row = sp.image_embeddings.data() + (next_image++) * d;
            staged.insert(staged.end(), row, row + d);
          } else {
            img.push_back(-1);
          }
          pos.push_back(static_cast<std::int32_t>(p));
          slot.push_back(static_cast<std::int32_t>(
              std::int64_t{blocks[static_cast<std::size_t>(p / bt)]} * bt + p % bt));
          if (sp.logits == LogitsMode::kAll || (sp.logits == LogitsMode::kLast && off + i == n - 1))
            idx.push_back(static_cast<std::int32_t>(m + i));
        }
        m += take;
        off += take;
      }
      if (off == n) {
        ++si;
        off = 0;
        next_image = 0;
      }
    }
    if (m == 0) break;
    const std::vector<std::int32_t> tiles = paged_tiles(pieces, group);
    const auto n_tiles = static_cast<std::int64_t>(tiles.size() / 2);
    // One upload: tokens, image rows, positions, slots, gather rows, pieces, tiles, tables.
    host.clear();
    host.insert(host.end(), tok.begin(), tok.end());
    host.insert(host.end(), img.begin(), img.end());
    host.insert(host.end(), pos.begin(), pos.end());
    host.insert(host.end(), slot.begin(), slot.end());
    const std::size_t idx_at = host.size();
    host.insert(host.end(), idx.begin(), idx.end());
    const std::size_t pieces_at = host.size();
    for (const PagedPiece& p : pieces)
      host.insert(host.end(), {p.row0, p.rows, p.pos0, p.table_off});
    const std::size_t tiles_at = host.size();
    host.insert(host.end(), tiles.begin(), tiles.end());
    const std::size_t tables_at = host.size();
    host.insert(host.end(), tables.begin(), tables.end());
    FS_CHECK(host.size() * sizeof(std::int32_t) <= meta_.size_bytes(), kInternal,
             "CUDA batch engine: step metadata of " << host.size() << " values over the reserve");
    FS_CUDA_CHECK(cudaMemcpyAsync(meta, host.data(), host.size() * sizeof(std::int32_t),
                                  cudaMemcpyHostToDevice, s));
    if (!staged.empty())
      FS_CUDA_CHECK(cudaMemcpyAsync(images_, staged.data(), staged.size() * sizeof(float),
                                    cudaMemcpyHostToDevice, s));
    tok_dev_ = meta;
    img_dev_ = meta + m;
    pos_dev_ = meta + 2 * m;
    slot_dev_ = meta + 3 * m;
    launch_embed(tok_dev_, img_dev_, m, inner_->weights().tok_embeddings, images_, d, x_, s);

    PagedAttentionArgs a;
    a.pieces = reinterpret_cast<const PagedPiece*>(meta + pieces_at);
    a.tiles = meta + tiles_at;
    a.n_tiles = n_tiles;
    a.tables = meta + tables_at;
    a.n_rows = m;
    a.splits = paged_attention_splits(n_tiles, t.n_head_kv, max_keys, m, t.n_head, t.head_dim, sms_,
                                      workspace_floats_);
    forward(m, a);

    // Final norm + lm_head on the rows asked for only, kLogitRows at a time.
    const auto n_idx = static_cast<std::int64_t>(idx.size());
    for (std::int64_t r0 = 0; r0 < n_idx; r0 += kLogitRows) {
      const std::int64_t rows = std::min(kLogitRows, n_idx - r0);
      launch_gather_rows(x_, d, meta + idx_at + r0, rows, sel_, s);
      launch_rms_norm(sel_, nullptr, inner_->weights().norm, rows, d, t.norm_eps, h_, s);
      inner_->gemm().matmul_nt(h_, d, inner_->weights().output, rows, t.n_vocab, d, logits_,
                               GemmOut::kF32, t.n_vocab, 0.0f);
      FS_CUDA_CHECK(cudaMemcpyAsync(out.logits.data() + out_row * t.n_vocab, logits_,
                                    rows * t.n_vocab * sizeof(float), cudaMemcpyDeviceToHost, s));
      FS_CUDA_CHECK(cudaStreamSynchronize(s));  // logits_ is reused
      out_row += rows;
    }
    FS_CUDA_CHECK(cudaStreamSynchronize(s));  // the host vectors and meta are reused
  }
}

void CudaBatchEngine::forward(std::int64_t m, const PagedAttentionArgs& attn) {
  const TextConfig& t = config_.text;
  const std::int64_t d = t.n_embd, hd = t.head_dim, ff = t.n_ff;
  const std::int64_t qd = std::int64_t{t.n_head} * hd, kvd = std::int64_t{t.n_head_kv} * hd;
  const std::int64_t qkv_dim = qd + 2 * kvd;
  const std::int64_t layer_elems = pool_tokens_ * kvd;
  cudaStream_t s = inner_->stream();
  Gemm& gemm = inner_->gemm();
  for (int l = 0; l < t.n_layer; ++l) {
    const DeviceBlock& b = inner_->weights().text[static_cast<std::size_t>(l)];
    bf16* k_layer = k_pool_.as<bf16>() + std::int64_t{l} * layer_elems;
    bf16* v_layer = v_pool_.as<bf16>() + std::int64_t{l} * layer_elems;
    // As CudaEngine::forward_chunk (text_forward.cpp), positions and cache rows per row.
    launch_rms_norm(x_, nullptr, b.attention_norm, m, d, t.norm_eps, h_, s);
    gemm.matmul_nt(h_, d, b.wqkv, m, qkv_dim, d, qkv_, GemmOut::kF32, qkv_dim, 0.0f);
    launch_rope(qkv_, qkv_dim, q_, qd, m, t.n_head, t.head_dim, rope_, pos_dev_, 0, s);
    launch_rope_to_slots(qkv_ + qd, qkv_dim, k_layer, kvd, m, t.n_head_kv, t.head_dim, rope_,
                         pos_dev_, slot_dev_, s);
    launch_f32_to_bf16_rows(qkv_ + qd + kvd, qkv_dim, v_layer, kvd, m, kvd, slot_dev_, s);
    PagedAttentionArgs a = attn;
    a.q = q_;
    a.q_stride = qd;
    a.k = k_layer;
    a.v = v_layer;
    a.kv_stride = kvd;
    a.out = h_;
    a.out_stride = qd;
    a.n_head = t.n_head;
    a.n_head_kv = t.n_head_kv;
    a.head_dim = t.head_dim;
    a.block_tokens = table_.block_tokens();
    a.workspace = workspace_;
    a.workspace_floats = workspace_floats_;
    launch_paged_attention(a, s);
    gemm.matmul_nt(h_, qd, b.wo, m, d, qd, x_, GemmOut::kF32, d, 1.0f);

    launch_rms_norm(x_, nullptr, b.ffn_norm, m, d, t.norm_eps, h_, s);
    gemm.matmul_nt(h_, d, b.w13, m, 2 * ff, d, gate_up_, GemmOut::kF32, 2 * ff, 0.0f);
    launch_silu_mul(gate_up_, m, ff, h_, s);
    gemm.matmul_nt(h_, ff, b.w2, m, d, ff, x_, GemmOut::kF32, d, 1.0f);
  }
}

void CudaBatchEngine::fill_for_benchmark(std::span<const SeqId> seqs, std::int64_t n_tokens,
                                         std::uint64_t seed) {
  check_usable();
  std::vector<KvAppend> appends;
  for (SeqId s : seqs) appends.push_back({s, n_tokens});
  (void)table_.append(appends);  // all or nothing; the copies do not matter: all is random
  cudaStream_t s = inner_->stream();
  const std::int64_t n = static_cast<std::int64_t>(k_pool_.size_bytes() / sizeof(bf16));
  launch_fill_uniform(k_pool_.as<bf16>(), n, seed, 1.0f, 0.0f, s);
  launch_fill_uniform(v_pool_.as<bf16>(), n, seed + 1, 1.0f, 0.0f, s);
  FS_CUDA_CHECK(cudaStreamSynchronize(s));
}

}  // namespace

void fill_for_benchmark(BatchEngine& engine, std::span<const SeqId> seqs, std::int64_t n_tokens,
                        std::uint64_t seed) {
  auto* e = dynamic_cast<CudaBatchEngine*>(&engine);
  FS_CHECK(e != nullptr, kInvalidArgument, "fill_for_benchmark: not a CUDA batch engine");
  e->fill_for_benchmark(seqs, n_tokens, seed);
}

std::unique_ptr<BatchEngine> make_cuda_batch_engine(const ModelConfig& config,
                                                    const EngineOptions& options,
                                                    const KvCacheOptions& cache) {
  require_device();
  return std::make_unique<CudaBatchEngine>(config, options, cache);
}

}  // namespace framescribe::inference::cuda
