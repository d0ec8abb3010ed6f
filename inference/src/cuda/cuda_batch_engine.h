// The CUDA multi-sequence engine (issue 24): the BatchEngine API of batch_engine.h on the GPU.
// A bf16 KV pool of fixed-size blocks allocated at construction (KvCacheOptions), the block
// bookkeeping of KvBlockTable, and a step that packs the rows of every span: one embedding
// launch (image rows scattered over [IMG]), the GEMMs over all rows at once, RoPE from a per-row
// position array, k and v scattered into their blocks' slots, paged attention for every row
// (attention_paged.cu: each row sees its own sequence's positions <= its own; decode rows and
// prefill chunks mixed), the copy-on-write block copies append() returns before anything is
// written, and the final norm + lm_head only on the logits rows asked for.
//
//   auto be = cuda::make_cuda_batch_engine(config, options, KvCacheOptions{.cache_tokens = 1 <<
//   19}); SeqId a = be->create(); StepSpan span{a, prompt_ids, image_rows, LogitsMode::kLast};
//   StepResult r = be->step({&span, 1});
//
// Reuse: the weights, GEMM plans, stream and vision encoder are those of a CudaEngine
// (cuda_engine.h) built inside with a 16-position cache; encode_images is that engine's.
// Steps with more rows than prefill_chunk_tokens (2048) run in chunks of packed rows (a chunk
// reads the KV the previous chunks wrote, as the single-sequence prefill does).
//
// Rules and errors: the validation of the CPU batch engine (the same checks and Error kinds,
// all before anything changes); a KV pool that does not fit is Error(kOutOfMemory) naming its
// size; a CUDA error while running marks the engine failed (later calls throw kInternal).
// Thread-safety: none (one thread drives one engine). Status: compiled; NOT run on a GPU.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "framescribe/inference/batch_engine.h"

namespace framescribe::inference::cuda {

// Throws Error(kUnsupported) without a device, as make_cuda_engine.
std::unique_ptr<BatchEngine> make_cuda_batch_engine(const ModelConfig& config,
                                                    const EngineOptions& options,
                                                    const KvCacheOptions& cache);

// Benchmarks only (tests/gpu/batch_decode_bench.cpp): appends n_tokens positions to each of
// `seqs` of a CUDA batch engine without computing them, and fills the whole KV pool with random
// bf16 values from `seed` (decode time depends on the lengths, not the values; prefilling 16 x
// 33k tokens with the own attention kernel would take minutes). Throws Error(kInvalidArgument)
// for another engine or an unknown sequence, kOutOfMemory when the blocks do not suffice.
void fill_for_benchmark(BatchEngine& engine, std::span<const SeqId> seqs, std::int64_t n_tokens,
                        std::uint64_t seed);

}  // namespace framescribe::inference::cuda
