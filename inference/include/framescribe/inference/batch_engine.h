// Many sequences in one engine (issue 24): a KV cache in fixed-size blocks shared by
// reference count, sequences that fork a prefix without copying it, and one `step` that runs
// spans of many sequences at once (prefill chunks and one-token decodes mixed) and returns logits
// only for the rows asked for. The single-sequence Engine (engine.h) is the case of one sequence.
//
//   auto be = make_batch_engine(config, EngineOptions{}, KvCacheOptions{.cache_tokens = 65536});
//   SeqId window = be->create();
//   std::vector<float> feats = be->encode_images(images);             // as Engine::encode_images
//   StepSpan prefill{window, prompt_ids, feats, LogitsMode::kNone};
//   be->step({&prefill, 1});
//   SeqId question = be->fork(window);                // shares every block; nothing is copied
//   std::vector<StepSpan> spans = {{question, q_ids, {}, LogitsMode::kLast},
//                                  {other, {&tok, 1}, {}, LogitsMode::kLast}};
//   if (be->blocks_needed(spans) > be->kv_stats().blocks_free) { /* wait or preempt */ }
//   StepResult r = be->step(spans);
//   std::span<const float> q_logits = r.row(r.first_row[0]), other = r.row(r.first_row[1]);
//   be->release(question);
//
// Rules:
// - A span appends its tokens at the end of its sequence: token i sits at position
//   length(seq) + i. Image tokens take, in order, the rows of the span's image_embeddings (as
//   Engine::eval). At most one span per sequence in a step; an empty span does nothing.
// - Blocks hold `block_tokens` positions of every layer's keys and values. fork() shares all of
//   the source's blocks (full ones for good; a partial last block is copied on the first write
//   of either sequence: copy-on-write). truncate() drops whole blocks past the new end.
// - Admission: a step that needs more free blocks than the pool has throws Error(kOutOfMemory)
//   before anything changes (fork, truncate and release never need blocks); blocks_needed() tells a
//   scheduler beforehand. Requests that cannot be right (unknown sequence, context full, bad token,
//   image rows not matching) throw Error(kInvalidArgument), also before anything changes.
// - CPU engine: every row is computed in a fixed order that depends neither on the other rows
//   of the step nor on chunk boundaries, so a batched step equals the same spans run one by one,
//   a prefill in chunks equals it whole, and fork + eval equals a fresh eval, bit for bit.
//
// - Sequence ids are never reused; a released id is unknown afterwards.
// - shift_out(seq, begin, end) is APPROXIMATE reuse, an opt-in (llama.cpp's context shift): it
//   forgets positions [begin, end) and moves the later ones down by end - begin, re-rotating
//   their cached keys by -(end - begin) positions (RoPE composes: R(p - d) = R(-d) R(p)). The
//   kept tokens' keys and values above layer 0 were computed with the removed tokens in their
//   attention, so the sequence is NOT what a fresh eval of the kept tokens would cache; answers
//   may change (inference/README.md "Approximate reuse" has the measured rate). Exact reuse
//   (fork, truncate, the frame cache) never does this by itself. kv_shift.h plans a shift from
//   the old and new prompts.
//
// Thread-safety: none; one thread drives one engine (as Engine). KvBlockTable is plain
// bookkeeping with no storage: every backend uses it, the CUDA engine included (its step needs
// packed-token GEMMs, RoPE from the rows' positions, a KV scatter into blocks, paged attention
// over block tables, the copies append() returns, and a gather of the logits rows asked for).
// Errors: framescribe::Error as above; setup errors as make_cpu_engine's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "framescribe/inference/engine.h"

namespace framescribe::inference {

using SeqId = std::int64_t;

struct KvCacheOptions {
  int block_tokens = 16;          // positions per block
  std::int64_t cache_tokens = 0;  // pool size in positions (rounded up to blocks); 0 = one
                                  // sequence of max_context
};

struct KvStats {
  std::int64_t blocks_total = 0;
  std::int64_t blocks_free = 0;
  std::int64_t blocks_shared = 0;  // referenced by more than one sequence
  std::int64_t sequences = 0;
  int block_tokens = 0;
};

// An append of `n_tokens` positions to sequence `seq` (what a step span asks of the cache).
struct KvAppend {
  SeqId seq = 0;
  std::int64_t n_tokens = 0;
};

// A copy the backend must make before writing: block `src` into block `dst` (copy-on-write).
struct KvBlockCopy {
  std::int32_t src = 0, dst = 0;
};

// The block bookkeeping of a paged KV cache: reference counts, the free list, a block table per
// sequence. Holds no key or value: a backend keeps block b's storage and does the copies append()
// returns. Errors: Error(kInvalidArgument) for unknown sequences and impossible lengths,
// Error(kOutOfMemory) when the free blocks do not suffice; both leave the table unchanged.
class KvBlockTable {
 public:
  KvBlockTable(std::int64_t n_blocks, int block_tokens, std::int64_t max_seq_tokens);

  SeqId create();
  // A new sequence holding `src`'s positions; every block shared (reference counts + 1).
  SeqId fork(SeqId src);
  // Forgets positions >= n_tokens (n_tokens >= length: nothing); whole blocks past the end return
  // to the free list when no other sequence holds them.
  void truncate(SeqId seq, std::int64_t n_tokens);
  void release(SeqId seq);
  // The bookkeeping of BatchEngine::shift_out: positions [begin, end) leave, later positions move
  // down by end - begin. Blocks before begin's block stay; the blocks the move writes (begin's
  // block up to the new last block) become private to `seq` (a shared one is replaced by a free
  // block; `copies` says which to copy first: only begin's block, when it keeps positions
  // before begin); blocks past the new end are dropped. end == length is truncate(seq, begin).
  // The backend then moves every position t in [begin, new length) from old_blocks at t + d to
  // new_blocks at t, in ascending t (safe in place), BEFORE anything else takes a block (dropped
  // blocks are free again but still hold their data). All or nothing: kInvalidArgument for an
  // unknown sequence or a range outside [0, length], kOutOfMemory when too few blocks are free.
  struct Shift {
    std::int64_t begin = 0, end = 0, old_length = 0;  // nothing to move when begin == end or
                                                      // end == old_length
    std::vector<std::int32_t> old_blocks, new_blocks;
    std::vector<KvBlockCopy> copies;
  };
  std::int64_t shift_blocks_needed(SeqId seq, std::int64_t begin, std::int64_t end) const;
  Shift shift_out(SeqId seq, std::int64_t begin, std::int64_t end);

  bool contains(SeqId seq) const { return seqs_.count(seq) != 0; }
  std::int64_t length(SeqId seq) const;
  std::span<const std::int32_t> blocks(SeqId seq) const;
  int block_tokens() const { return block_tokens_; }
  std::int64_t max_seq_tokens() const { return max_seq_tokens_; }
  std::int64_t n_blocks() const { return static_cast<std::int64_t>(refs_.size()); }
  int refcount(std::int32_t block) const { return refs_.at(static_cast<std::size_t>(block)); }
  KvStats stats() const;

  // Free blocks the appends would take: new blocks plus copies of shared partial last blocks.
  // Throws kInvalidArgument for an unknown or repeated sequence or a length past max_seq_tokens.
  std::int64_t blocks_needed(std::span<const KvAppend> appends) const;
  // The blocks the next `n` takes from the free list will hand out, in any order (n <= free
  // blocks): a backend allocates their storage before append() so that a failed allocation
  // leaves the table unchanged.
  std::span<const std::int32_t> next_free(std::int64_t n) const;
  // Makes room for the appends (lengths grow; every block written is then private to its
  // sequence) and returns the copies to make first, in order. All or nothing.
  std::vector<KvBlockCopy> append(std::span<const KvAppend> appends);

  // Every reference count equals the number of block-table entries naming the block, the free
  // list holds exactly the unreferenced blocks, and every table covers its length. Throws
  // Error(kInternal) naming the first inconsistency (tests; cheap enough for debug checks).
  void check_consistency() const;

 private:
  struct Seq {
    std::int64_t length = 0;
    std::vector<std::int32_t> blocks;
  };
  const Seq& get(SeqId seq) const;
  std::int32_t take_block();
  void unref(std::int32_t block);

  int block_tokens_;
  std::int64_t max_seq_tokens_;
  std::vector<int> refs_;
  std::vector<std::int32_t> free_;  // a stack: the most recently freed block is reused first
  std::map<SeqId, Seq> seqs_;
  SeqId next_id_ = 1;
};

// One sequence's part of a step.
struct StepSpan {
  SeqId seq = 0;
  std::span<const std::int32_t> tokens;
  std::span<const float> image_embeddings;  // [image tokens in `tokens`, text n_embd]
  LogitsMode logits = LogitsMode::kNone;    // rows returned: none, the last token's, every one
};

// The logits a step returns: [rows, n_vocab], spans in order, each span's rows in token order.
struct StepResult {
  std::vector<float> logits;
  std::vector<std::int64_t> first_row;  // per span: its first row (its row count by its mode)
  std::int64_t n_vocab = 0;
  std::span<const float> row(std::int64_t r) const {  // 0 <= r < rows()
    return {logits.data() + r * n_vocab, static_cast<std::size_t>(n_vocab)};
  }
  std::int64_t rows() const {
    return n_vocab == 0 ? 0 : static_cast<std::int64_t>(logits.size()) / n_vocab;
  }
};

class BatchEngine {
 public:
  virtual ~BatchEngine() = default;
  virtual const ModelConfig& config() const = 0;
  virtual std::string device_name() const = 0;
  virtual MemoryUse memory_use() const = 0;
  // As Engine::encode_images (each image alone; rows of the text width).
  virtual std::vector<float> encode_images(std::span<const PixelImage* const> images) = 0;
  // Positions one sequence may hold.
  virtual std::int64_t max_context() const = 0;

  virtual SeqId create() = 0;
  virtual SeqId fork(SeqId src) = 0;
  virtual void truncate(SeqId seq, std::int64_t n_tokens) = 0;
  virtual void release(SeqId seq) = 0;
  virtual std::int64_t length(SeqId seq) const = 0;
  virtual KvStats kv_stats() const = 0;
  virtual const KvBlockTable& kv_table() const = 0;

  // Free blocks `spans` would take (admission: compare with kv_stats().blocks_free).
  virtual std::int64_t blocks_needed(std::span<const StepSpan> spans) const;
  // Approximate reuse (see the rules above): forgets positions [begin, end) of `seq` and moves
  // the later ones down, re-rotating their keys. [begin, begin) does nothing; end == length(seq)
  // is exactly truncate(seq, begin). Blocks shared with another sequence are never written (they
  // are replaced: shift_blocks_needed() free blocks). All or nothing: Error(kInvalidArgument)
  // for an unknown sequence or a range outside [0, length], Error(kOutOfMemory) when too few
  // blocks are free. The default throws Error(kUnsupported) (the CPU engine implements it).
  // (The CUDA batch engine does not implement it. A StepScheduler client does, on the kept
  // tokens too: a sequence preempted before or during the shift is recomputed exactly.)
  virtual void shift_out(SeqId seq, std::int64_t begin, std::int64_t end);
  // Free blocks shift_out would take; the same errors (kUnsupported where shift_out is).
  virtual std::int64_t shift_blocks_needed(SeqId seq, std::int64_t begin, std::int64_t end) const;
  // Runs the spans as one batch (see the rules above). Validates everything first.
  virtual StepResult step(std::span<const StepSpan> spans) = 0;
};

// The float32 CPU batch engine (EngineOptions: n_threads, max_context_tokens, load_format,
// dummy_seed). Throws Error as make_cpu_engine.
std::unique_ptr<BatchEngine> make_cpu_batch_engine(const ModelConfig& config,
                                                   const EngineOptions& options,
                                                   const KvCacheOptions& cache);
// The engine of options.device. CUDA (issue 24): inference/src/cuda/cuda_batch_engine.h, compiled
// but never run on a GPU yet; Error(kUnsupported) in a build without the CUDA backend.
std::unique_ptr<BatchEngine> make_batch_engine(const ModelConfig& config,
                                               const EngineOptions& options,
                                               const KvCacheOptions& cache);

}  // namespace framescribe::inference
