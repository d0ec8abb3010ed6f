// Benchmark (a program, not a test) of the CUDA batch engine's decode (issue 24's target):
// N sequences at a given context decoding together, one token each per step, against the HBM
// bandwidth floor of that step (bf16 weights + every sequence's K/V read once / peak
// bandwidth), printed side by side: with the logits rows copied to the host (the API), without
// logits (device work only), and one sequence alone for comparison. Real Pixtral-12B
// shapes with dummy weights; the sequences' K/V are random values appended without prefill
// (fill_for_benchmark: decode time depends on lengths only).
//
//   gpu_batch_bench [--seqs 16] [--context 33835] [--steps 10] [--block 16]
//                   [--bandwidth-gbs B] [--json out.json]
//
// A pool that does not fit (e.g. 16 x 33k on an 80 GB card: ~89 GB of KV + ~25 GB of weights)
// is retried with half the sequences, and the table says so. Exit status 0 when the rows ran
// (the 1.3x target is printed, not enforced), 1 on an error, 2 without a device.
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cuda/cuda_batch_engine.h"
#include "framescribe/core/error.h"
#include "framescribe/inference/batch_engine.h"

namespace fi = framescribe::inference;

namespace {

struct Row {
  std::int64_t seqs = 0, context = 0;
  bool logits = true;  // kLast rows copied to the host (the API's cost), or kNone (device only)
  double step_ms = 0, floor_ms = 0, weight_gb = 0, kv_gb = 0;
};

double peak_bandwidth_gbs() {
  int dev = 0, clock_khz = 0, bus_bits = 0;
  if (cudaGetDevice(&dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev) != cudaSuccess)
    return 0.0;
  return 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;  // DDR: two transfers per clock
}

// Times `steps` decode steps of the first `n` sequences (one token each, `mode` logits); `keys`:
// the mean number of cached positions the timed steps read (step k reads L + n (k + 1)).
double time_steps(fi::BatchEngine& e, const std::vector<fi::SeqId>& seqs, std::size_t n, int steps,
                  fi::LogitsMode mode, double& keys) {
  const std::int32_t token = 1000;
  std::vector<fi::StepSpan> spans;
  for (std::size_t i = 0; i < n; ++i) spans.push_back({seqs[i], {&token, 1}, {}, mode});
  for (int w = 0; w < 2; ++w) (void)e.step(spans);  // GEMM plans, lazy module loading
  double lengths = 0;
  for (std::size_t i = 0; i < n; ++i) lengths += double(e.length(seqs[i]));
  keys = lengths + double(n) * (steps + 1) / 2.0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) (void)e.step(spans);
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count() / steps;
}

// Bytes of the weights one decode step reads: every text layer, the final norm and lm_head
// (the token embedding rows and the vision encoder are not read; weights_size_bytes counts them).
double text_weight_bytes(const fi::TextConfig& t) {
  const double d = t.n_embd, qd = double(t.n_head) * t.head_dim,
               kvd = double(t.n_head_kv) * t.head_dim, ff = t.n_ff;
  const double layer = (qd + 2 * kvd) * d + d * qd + 2 * ff * d + ff * d + 2 * d;
  return 2.0 * (t.n_layer * layer + double(t.n_vocab) * d + d);
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t seqs = 16, context = 33835, block = 16;
  int steps = 10;
  double bandwidth = 0.0;
  std::string json;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--seqs")
      seqs = std::stoll(v);
    else if (a == "--context")
      context = std::stoll(v);
    else if (a == "--steps")
      steps = std::stoi(v);
    else if (a == "--block")
      block = std::stoll(v);
    else if (a == "--bandwidth-gbs")
      bandwidth = std::stod(v);
    else if (a == "--json")
      json = v;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 1;
    }
  }
  if (seqs < 1 || context < 1 || steps < 1 || block < 1) {
    std::fprintf(stderr, "--seqs, --context, --steps and --block must be positive\n");
    return 1;
  }
  int n_dev = 0;
  if (cudaGetDeviceCount(&n_dev) != cudaSuccess || n_dev == 0) {
    std::printf("batch decode bench: SKIPPED (no CUDA device)\n");
    return 2;
  }
  if (bandwidth <= 0) bandwidth = peak_bandwidth_gbs();
  cudaDeviceProp prop{};
  (void)cudaGetDeviceProperties(&prop, 0);
  try {
    const fi::ModelConfig config = fi::pixtral_12b_config();
    const fi::TextConfig& t = config.text;
    fi::EngineOptions o;
    o.device = fi::Device::kCuda;
    o.load_format = fi::LoadFormat::kDummy;
    // Room for the three rows' warm-up and timed steps (sequence 0 takes part in all).
    const std::int64_t per_seq = context + 3 * (steps + 2) + 8;
    o.max_context_tokens = per_seq;
    std::unique_ptr<fi::BatchEngine> e;
    for (std::int64_t n = seqs; n >= 1 && !e; n /= 2) {
      try {
        e = fi::make_batch_engine(config, o,
                                  {.block_tokens = static_cast<int>(block),
                                   .cache_tokens = n * ((per_seq + block - 1) / block * block)});
        seqs = n;
      } catch (const framescribe::Error& err) {
        if (err.code() != framescribe::ErrorCode::kOutOfMemory) throw;
        std::printf("%lld sequences do not fit: %s\n", static_cast<long long>(n), err.what());
      }
    }
    if (!e) return 1;
    std::vector<fi::SeqId> ids;
    for (std::int64_t i = 0; i < seqs; ++i) ids.push_back(e->create());
    fi::cuda::fill_for_benchmark(*e, ids, context, 7);

    const double weight_bytes = text_weight_bytes(t);
    const double kv_per_token = 2.0 * t.n_layer * t.n_head_kv * t.head_dim * 2;  // K+V, bf16
    std::vector<Row> rows;
    // N with logits to the host, N without (the final norm and lm_head skipped: their weights
    // leave the floor too), one sequence alone with logits.
    const double lm_head_bytes = 2.0 * double(t.n_vocab) * t.n_embd;
    const std::pair<std::size_t, bool> plan[] = {
        {static_cast<std::size_t>(seqs), true}, {static_cast<std::size_t>(seqs), false}, {1, true}};
    for (const auto& [n, with_logits] : plan) {
      Row r;
      r.seqs = static_cast<std::int64_t>(n);
      r.context = context;
      r.logits = with_logits;
      double keys = 0;
      r.step_ms = time_steps(*e, ids, n, steps,
                             with_logits ? fi::LogitsMode::kLast : fi::LogitsMode::kNone, keys);
      r.weight_gb = (weight_bytes - (with_logits ? 0.0 : lm_head_bytes)) / 1e9;
      r.kv_gb = keys * kv_per_token / 1e9;
      r.floor_ms = bandwidth > 0 ? (r.weight_gb + r.kv_gb) / bandwidth * 1e3 : 0.0;
      rows.push_back(r);
    }
    std::printf("\nbatch decode on %s, peak HBM %.0f GB/s (Pixtral-12B shapes, dummy weights)\n",
                prop.name, bandwidth);
    std::printf("%5s %8s %7s %10s %10s %10s %8s %8s %10s\n", "seqs", "context", "logits", "step ms",
                "floor ms", "ratio", "W GB", "KV GB", "tok/s");
    for (const Row& r : rows) {
      std::printf("%5lld %8lld %7s %10.2f %10.2f %9.2fx %8.1f %8.1f %10.1f\n",
                  static_cast<long long>(r.seqs), static_cast<long long>(r.context),
                  r.logits ? "host" : "none", r.step_ms, r.floor_ms,
                  r.floor_ms > 0 ? r.step_ms / r.floor_ms : 0.0, r.weight_gb, r.kv_gb,
                  r.seqs * 1e3 / r.step_ms);
    }
    std::printf("target (issue 24): %lld sequences within 1.3x of the floor\n",
                static_cast<long long>(seqs));
    if (!json.empty()) {
      std::ofstream f(json);
      f << "{\"card\": \"" << prop.name << "\", \"bandwidth_gbs\": " << bandwidth
        << ", \"rows\": [";
      for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        f << (i ? ", " : "") << "{\"seqs\": " << r.seqs << ", \"context\": " << r.context
          << ", \"logits\": \"" << (r.logits ? "host" : "none") << "\""
          << ", \"step_ms\": " << r.step_ms << ", \"floor_ms\": " << r.floor_ms << "}";
      }
      f << "]}\n";
    }
  } catch (const framescribe::Error& err) {
    std::fprintf(stderr, "batch decode bench: %s\n", err.what());
    return 1;
  }
  return 0;
}
