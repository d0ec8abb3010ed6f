// framescribe_bench_engine: the Pixtral engine at real size against the transformers figures
// and the physical floors of docs/device.md (shared folder), on the GPU machine.
//
//   framescribe_bench_engine [--model DIR] [--rows a,b,...] [--decode-tokens N] [--json FILE]
//
// Without --model, weights are random (LoadFormat::kDummy) at Pixtral-12B size: no files.
// Rows (all by default):
//   vision_32x512   vision encoder + projector, 32 frames of 512x512
//   vision_8x1024   the same, 8 images of 1024x1024
//   prefill_8k, prefill_32k, prefill_128k   text prefill (last-token logits only)
//   decode_1k, decode_128k                  ms/token, greedy, after a prefill of that length
//   window          32 frames of 512x512 + prompt = 33,835 tokens: vision + prefill, then 128
//                   generated tokens; reported as window_prefill and decode_34k (ms/token)
//   (peak GPU memory is always reported)
// Each row is printed beside the transformers figure (H200) and the floor (FLOPs at 781
// TFLOP/s or bytes at the card's copy bandwidth), with ratios; lower is better everywhere.
// Links only framescribe_inference (and the CUDA runtime): no FFmpeg, GStreamer or yaml-cpp.
// Not a test: timings depend on the card and on what else runs on it.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/engine.h"

namespace fi = framescribe::inference;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// docs/device.md: measured on the H200 (bf16 GEMM 8192^3 through torch; device-to-device copy),
// and the H100's copy bandwidth ("same compute, about 70% of the bandwidth").
constexpr double kPeakFlops = 781e12;
double card_bandwidth(const std::string& name) {
  return name.find("H100") != std::string::npos ? 3.0e12 : 4.21e12;
}

struct Row {
  std::string name, unit;
  double value = 0;                    // seconds or ms/token or GB
  std::optional<double> transformers;  // same unit
  std::optional<double> floor;         // same unit
  std::string note;
};

// Work model of Pixtral-12B (docs/pixtral.md 1.3) for the floors.
struct Work {
  const fi::ModelConfig& c;
  // Text linear weights read by one token (all but the embedding table).
  double text_linear_params() const {
    const auto& t = c.text;
    const double d = t.n_embd, qd = double(t.n_head) * t.head_dim,
                 kvd = double(t.n_head_kv) * t.head_dim;
    return t.n_layer * (d * (qd + 2 * kvd) + qd * d + 3 * d * t.n_ff) + double(t.n_vocab) * d;
  }
  double kv_bytes_per_token() const {
    return 2.0 * c.text.n_layer * c.text.n_head_kv * c.text.head_dim * 2;
  }
  double prefill_flops(double n) const {
    const auto& t = c.text;
    const double linear = 2.0 * (text_linear_params() - double(t.n_vocab) * t.n_embd) * n;
    const double attention = 2.0 * n * n * t.head_dim * t.n_head * t.n_layer;  // causal
    return linear + attention + 2.0 * double(t.n_vocab) * t.n_embd;            // one logit row
  }
  double vision_flops(int n_images, int side_px) const {
    const auto& v = c.vision;
    const double n = std::pow(double(side_px) / v.patch_px, 2.0);
    const double d = v.n_embd, td = c.text.n_embd;
    const double per_token = 2.0 * (v.n_layer * (4 * d * d + 3 * d * v.n_ff) +
                                    d * 3 * v.patch_px * v.patch_px + d * td + td * td);
    const double attention = 4.0 * n * n * d * v.n_layer;
    return n_images * (n * per_token + attention);
  }
  double decode_bytes(double context) const {
    return 2.0 * text_linear_params() + kv_bytes_per_token() * context;
  }
};

std::vector<std::int32_t> random_text(std::int64_t n, std::uint32_t seed) {
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  std::uint32_t s = seed;
  for (auto& x : t) {
    s = s * 1664525u + 1013904223u;
    x = 1000 + static_cast<std::int32_t>((s >> 8) % 130000u);  // ordinary BPE ids, never [IMG]
  }
  return t;
}

std::vector<fi::PixelImage> random_images(int n, int side) {
  std::vector<fi::PixelImage> images;
  for (int i = 0; i < n; ++i) {
    fi::PixelImage img{side, side, std::vector<float>(3ull * side * side)};
    std::uint32_t s = 77u + static_cast<std::uint32_t>(i);
    for (float& v : img.chw) {
      s = s * 1664525u + 1013904223u;
      v = static_cast<float>(s >> 8) / 8388608.0f - 1.0f;
    }
    images.push_back(std::move(img));
  }
  return images;
}

class Bench {
 public:
  using OnRow = std::function<void(const std::vector<Row>&)>;
  Bench(fi::Engine& engine, const std::string& card, OnRow on_row)
      : e_(engine), w_{engine.config()}, bw_(card_bandwidth(card)), on_row_(std::move(on_row)) {}

  double vision(int n, int side, const char* name, double hf) {
    const auto images = random_images(n, side);
    (void)e_.encode_images(std::span(images).first(1));  // warm-up (GEMM plans)
    const double t0 = now_s();
    (void)e_.encode_images(images);
    const double s = now_s() - t0;
    add({name, "s", s, hf, w_.vision_flops(n, side) / kPeakFlops, ""});
    return s;
  }

  // Prefill of n random tokens from an empty cache; last-token logits only.
  double prefill(std::int64_t n, const char* name, std::optional<double> hf) {
    e_.truncate(0);
    const auto tokens = random_text(n, 5);
    const double t0 = now_s();
    last_ = e_.eval(tokens, {}, fi::LogitsMode::kLast);
    const double s = now_s() - t0;
    if (name != nullptr) add({name, "s", s, hf, w_.prefill_flops(double(n)) / kPeakFlops, ""});
    return s;
  }

  // Greedy decode of n tokens after whatever is cached; ms per token.
  double decode(int n, const char* name, std::optional<double> hf) {
    const double context = double(e_.n_past());
    const double t0 = now_s();
    for (int i = 0; i < n; ++i) {
      const std::int32_t tok = fi::argmax(last_);
      last_ = e_.eval({&tok, 1}, {}, fi::LogitsMode::kLast);
    }
    const double ms = (now_s() - t0) * 1e3 / n;
    add({name, "ms/token", ms, hf, w_.decode_bytes(context) / bw_ * 1e3,
         "context " + std::to_string(static_cast<long long>(context))});
    return ms;
  }

  void window(int decode_tokens) {
    const auto images = random_images(32, 512);
    const fi::ModelConfig& c = e_.config();
    std::vector<std::int32_t> prompt{c.bos_token_id, 3};  // <s> [INST]
    for (int i = 0; i < 32; ++i) {
      for (int r = 0; r < 32; ++r) {
        for (int col = 0; col < 32; ++col) prompt.push_back(c.image_token_id);
        prompt.push_back(r + 1 < 32 ? c.image_break_token_id : c.image_end_token_id);
      }
    }
    const auto question = random_text(40, 9);
    prompt.insert(prompt.end(), question.begin(), question.end());
    prompt.push_back(4);  // [/INST]: 2 + 32 * 1056 + 40 + 1 = 33,835 tokens
    e_.truncate(0);
    const double t0 = now_s();
    const std::vector<float> feats = e_.encode_images(images);
    last_ = e_.eval(prompt, feats, fi::LogitsMode::kLast);
    const double s = now_s() - t0;
    add({"window_prefill", "s", s, 3.46,
         (w_.prefill_flops(double(prompt.size())) + w_.vision_flops(32, 512)) / kPeakFlops,
         std::to_string(prompt.size()) + " tokens incl. vision"});
    decode(decode_tokens, "decode_34k", 102.0);
  }

  void add(Row r) {
    print(r);
    rows_.push_back(std::move(r));
    if (on_row_) on_row_(rows_);
  }
  const std::vector<Row>& rows() const { return rows_; }

  static void print(const Row& r) {
    std::printf("%-16s %10.4g %-9s", r.name.c_str(), r.value, r.unit.c_str());
    if (r.transformers) {
      std::printf("  transformers %8.4g (x%.2f)", *r.transformers, r.value / *r.transformers);
    } else {
      std::printf("  transformers      n/a        ");
    }
    if (r.floor) std::printf("  floor %8.4g (x%.1f)", *r.floor, r.value / *r.floor);
    if (!r.note.empty()) std::printf("  %s", r.note.c_str());
    std::printf("\n");
    std::fflush(stdout);
  }

 private:
  fi::Engine& e_;
  Work w_;
  double bw_;
  OnRow on_row_;
  std::vector<float> last_;
  std::vector<Row> rows_;
};

std::string json_number(const std::optional<double>& v) {
  if (!v) return "null";
  std::ostringstream os;
  os.precision(6);
  os << *v;
  return os.str();
}

// Rewritten after every row, so a run cut short by a time limit still leaves its rows.
void write_json(const std::string& path, const std::string& card, bool dummy,
                const std::vector<Row>& rs) {
  if (path.empty()) return;
  std::ostringstream js;
  js << "{\n  \"card\": \"" << card << "\",\n  \"weights\": \"" << (dummy ? "dummy" : "checkpoint")
     << "\",\n  \"rows\": [\n";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const Row& r = rs[i];
    js << "    {\"name\": \"" << r.name << "\", \"unit\": \"" << r.unit
       << "\", \"value\": " << json_number(r.value)
       << ", \"transformers\": " << json_number(r.transformers)
       << ", \"floor\": " << json_number(r.floor) << ", \"vs_transformers\": "
       << json_number(r.transformers ? std::optional<double>(r.value / *r.transformers)
                                     : std::nullopt)
       << ", \"vs_floor\": "
       << json_number(r.floor ? std::optional<double>(r.value / *r.floor) : std::nullopt)
       << ", \"note\": \"" << r.note << "\"}" << (i + 1 < rs.size() ? "," : "") << "\n";
  }
  js << "  ]\n}\n";
  if (path == "-") {
    std::cout << js.str();
  } else {
    std::ofstream(path) << js.str();
  }
}

double used_gb() {
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return 0;
  return double(total_b - free_b) / 1e9;
}

int run(int argc, char** argv) {
  std::string model, json_path;
  std::set<std::string> rows{"vision_32x512", "vision_8x1024", "prefill_8k",  "prefill_32k",
                             "prefill_128k",  "decode_1k",     "decode_128k", "window"};
  int decode_tokens = 32;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      FS_CHECK(i + 1 < argc, kInvalidArgument, a << " needs a value");
      return argv[++i];
    };
    if (a == "--model") {
      model = value();
    } else if (a == "--json") {
      json_path = value();
    } else if (a == "--decode-tokens") {
      decode_tokens = std::max(1, std::stoi(value()));
    } else if (a == "--rows") {
      rows.clear();
      std::stringstream ss(value());
      for (std::string r; std::getline(ss, r, ',');) rows.insert(r);
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: %s [--model DIR] [--rows a,b,...] [--decode-tokens N] [--json FILE]\n",
                  argv[0]);
      return 0;
    } else {
      FS_FAIL(kInvalidArgument, "unknown argument " << a << " (see --help)");
    }
  }

  int device = 0;
  cudaDeviceProp prop{};
  FS_CHECK(cudaGetDevice(&device) == cudaSuccess &&
               cudaGetDeviceProperties(&prop, device) == cudaSuccess,
           kUnsupported, "no CUDA device: this benchmark needs the GPU machine");
  (void)cudaFree(nullptr);  // create the context before the baseline
  const double base_gb = used_gb();
  const std::string card = prop.name;

  fi::ModelConfig config = model.empty() ? fi::pixtral_12b_config() : fi::load_model_config(model);
  // Room for decode after a 128k prefill: the model's positions go far beyond (HF config says
  // 1,024,000); 128k is only this project's default cap.
  const bool long_rows = rows.count("prefill_128k") || rows.count("decode_128k");
  config.text.max_context = long_rows ? 131072 + 256 : 34 * 1024;
  fi::EngineOptions o;
  o.device = fi::Device::kCuda;
  o.load_format = model.empty() ? fi::LoadFormat::kDummy : fi::LoadFormat::kCheckpoint;
  o.max_context_tokens = config.text.max_context;
  const double t_load = now_s();
  auto engine = fi::make_engine(config, o);
  std::printf("framescribe_bench_engine: %s, %s weights, context %lld, loaded in %.1f s\n",
              card.c_str(), model.empty() ? "dummy" : model.c_str(),
              static_cast<long long>(engine->max_context()), now_s() - t_load);
  std::printf("%-16s %10s %-9s  (transformers: H200, docs/device.md; ratio = ours / theirs)\n",
              "row", "ours", "unit");
  double peak_gb = used_gb();

  const bool dummy = model.empty();
  // A file is rewritten after each row; "-" prints the JSON once, at the end.
  Bench b(*engine, card, [&](const std::vector<Row>& rs) {
    if (json_path != "-") write_json(json_path, card, dummy, rs);
  });
  auto sample = [&] { peak_gb = std::max(peak_gb, used_gb()); };
  if (rows.count("vision_32x512")) b.vision(32, 512, "vision_32x512", 0.632), sample();
  if (rows.count("vision_8x1024")) b.vision(8, 1024, "vision_8x1024", 0.605), sample();
  (void)b.prefill(256, nullptr, std::nullopt);  // warm-up: GEMM plans for chunk shapes
  if (rows.count("prefill_8k")) b.prefill(8192, "prefill_8k", 0.446), sample();
  if (rows.count("decode_1k")) {
    b.prefill(1024, nullptr, std::nullopt);
    b.decode(decode_tokens, "decode_1k", 91.5);
    sample();
  }
  if (rows.count("prefill_32k")) b.prefill(32768, "prefill_32k", 2.03), sample();
  if (rows.count("window")) b.window(128), sample();
  if (rows.count("prefill_128k") || rows.count("decode_128k")) {
    b.prefill(131072, rows.count("prefill_128k") ? "prefill_128k" : nullptr, 15.6);
    sample();
    if (rows.count("decode_128k")) b.decode(decode_tokens, "decode_128k", std::nullopt), sample();
  }
  b.add({"peak_gpu_memory", "GB", peak_gb, long_rows ? 63.6 : 35.6, std::nullopt,
         "device-wide in use; " + std::to_string(base_gb).substr(0, 4) + " GB before the engine"});
  if (json_path == "-") write_json(json_path, card, dummy, b.rows());

  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "framescribe_bench_engine: %s\n", e.what());
    return 1;
  }
}
