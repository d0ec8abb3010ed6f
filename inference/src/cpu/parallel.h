// A small persistent thread pool for the CPU engine's loops (no TBB: the inference module must
// build where TBB is absent). parallel_for splits [0, n) into contiguous chunks; the calling
// thread takes part. Calls must not nest and must come from one thread at a time (the engine
// is single-threaded from the outside).
#pragma once

#include <cstdint>
#include <functional>

namespace framescribe::inference::cpu {

// Number of threads used by parallel_for (including the caller). 0 = hardware concurrency.
void set_num_threads(int n);
int num_threads();

// Runs fn(begin, end) over chunks covering [0, n). Runs inline when `work` (a rough operation
// count) is too small for threads to pay off.
void parallel_for(std::int64_t n, std::int64_t work,
                  const std::function<void(std::int64_t, std::int64_t)>& fn);

}  // namespace framescribe::inference::cpu
