#include "framescribe/bench/engine_bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/sampling.h"

namespace framescribe::bench {
namespace fi = framescribe::inference;
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

using Kind = BenchRowSpec::Kind;

// The transformers figures of docs/device.md (H200, real Pixtral-12B size, bf16, sdpa).
struct Preset {
  const char* name;
  Kind kind;
  std::int64_t n;
  int side;
  std::optional<double> transformers;
  bool in_default;
};
const Preset kPresets[] = {
    {"vision_32x512", Kind::kVision, 32, 512, 0.632, true},
    {"vision_8x1024", Kind::kVision, 8, 1024, 0.605, true},
    {"prefill_8k", Kind::kPrefill, 8192, 0, 0.446, true},
    {"decode_1k", Kind::kDecode, 1024, 0, 91.5, true},
    {"prefill_32k", Kind::kPrefill, 32768, 0, 2.03, true},
    {"window", Kind::kWindow, 32, 512, 3.46, true},
    {"prefill_128k", Kind::kPrefill, 131072, 0, 15.6, false},
    {"decode_128k", Kind::kDecode, 131072, 0, std::nullopt, false},
};
constexpr double kWindowDecodeTransformers = 102.0;  // ms/token at ~34k context

// docs/device.md: bf16 GEMM 8192^3 (torch) on the H200; the H100 has the same compute and
// about 70% of the bandwidth (device-to-device copy, bytes read + written).
constexpr double kPeakFlops = 781e12;
std::optional<double> card_bandwidth(const std::string& device) {
  if (device.find("H200") != std::string::npos) return 4.21e12;
  if (device.find("H100") != std::string::npos) return 3.0e12;
  return std::nullopt;
}

std::int64_t parse_count(const std::string& item, const std::string& text) {
  std::size_t used = 0;
  long long v = -1;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  FS_CHECK(used == text.size() && v > 0 && v <= (1LL << 24), kInvalidArgument,
           "'" << item << "': '" << text << "' is not a positive count\n"
               << bench_row_help());
  return v;
}

// Work model of the Pixtral architecture (docs/pixtral.md 1.3) for the floors.
struct Work {
  const fi::ModelConfig& c;
  double text_linear_params() const {  // read by every token, output matrix included
    const auto& t = c.text;
    const double d = t.n_embd, qd = double(t.n_head) * t.head_dim,
                 kvd = double(t.n_head_kv) * t.head_dim;
    return t.n_layer * (d * (qd + 2 * kvd) + qd * d + 3 * d * t.n_ff) + double(t.n_vocab) * d;
  }
  double kv_bytes_per_token() const {  // bf16
    return 2.0 * c.text.n_layer * c.text.n_head_kv * c.text.head_dim * 2;
  }
  double prefill_flops(double n) const {
    const auto& t = c.text;
    const double linear = 2.0 * (text_linear_params() - double(t.n_vocab) * t.n_embd) * n;
    const double attention = 2.0 * n * n * t.head_dim * t.n_head * t.n_layer;  // causal
    return linear + attention + 2.0 * double(t.n_vocab) * t.n_embd;            // one logit row
  }
  double vision_flops(double n_images, int side_px) const {
    const auto& v = c.vision;
    const double n = std::pow(double(side_px) / v.patch_px, 2.0);
    const double d = v.n_embd, td = c.text.n_embd;
    const double per_token = 2.0 * (v.n_layer * (4 * d * d + 3 * d * v.n_ff) +
                                    d * 3 * v.patch_px * v.patch_px + d * td + td * td);
    const double attention = 4.0 * n * n * d * v.n_layer;
    return n_images * (n * per_token + attention);
  }
  double decode_bytes(double context) const {  // bf16 weights + KV cache read per token
    return 2.0 * text_linear_params() + kv_bytes_per_token() * context;
  }
};

bool is_pixtral_12b(const fi::ModelConfig& c) {
  const fi::ModelConfig r = fi::pixtral_12b_config();
  return c.text.n_embd == r.text.n_embd && c.text.n_layer == r.text.n_layer &&
         c.text.n_head == r.text.n_head && c.text.n_head_kv == r.text.n_head_kv &&
         c.text.head_dim == r.text.head_dim && c.text.n_ff == r.text.n_ff &&
         c.text.n_vocab == r.text.n_vocab && c.vision.n_embd == r.vision.n_embd &&
         c.vision.n_layer == r.vision.n_layer && c.vision.n_ff == r.vision.n_ff &&
         c.vision.patch_px == r.vision.patch_px;
}

std::int64_t window_tokens(const fi::ModelConfig& c, std::int64_t frames, int side) {
  const std::int64_t per_side = side / c.vision.patch_px;
  return 2 + frames * (per_side * per_side + per_side) + 40 + 1;  // <s>[INST] images q [/INST]
}

class Runner {
 public:
  Runner(fi::Engine& e, const EngineBenchOptions& o, EngineBenchReport& report,
         const std::function<void(const EngineBenchReport&)>& on_row)
      : e_(e),
        o_(o),
        w_{e.config()},
        report_(report),
        on_row_(on_row),
        bandwidth_(o.device == fi::Device::kCuda ? card_bandwidth(report.device) : std::nullopt) {}

  void run(const BenchRowSpec& r, std::int64_t allowed_context) {
    const fi::ModelConfig& c = e_.config();
    const std::int64_t need = context_needed(c, r, o_);
    if (r.kind == Kind::kVision || r.kind == Kind::kWindow) {
      if (r.side_px > c.vision.image_size_px || r.side_px % c.vision.patch_px != 0) {
        return skip(r, "images of " + std::to_string(r.side_px) + " px: the model takes at most " +
                           std::to_string(c.vision.image_size_px) +
                           " px per side, in multiples of " + std::to_string(c.vision.patch_px));
      }
    }
    if (need > allowed_context) {
      return skip(r, "needs a context of " + std::to_string(need) + " tokens; the model holds " +
                         std::to_string(allowed_context));
    }
    FS_LOG_INFO("bench: " << r.name << " ...");
    switch (r.kind) {
      case Kind::kVision:
        return vision(r);
      case Kind::kPrefill:
        return prefill(r);
      case Kind::kDecode:
        return decode(r);
      case Kind::kWindow:
        return window(r);
    }
  }

  static std::int64_t context_needed(const fi::ModelConfig& c, const BenchRowSpec& r,
                                     const EngineBenchOptions& o) {
    switch (r.kind) {
      case Kind::kVision:
        return 0;
      case Kind::kPrefill:
        return r.n;
      case Kind::kDecode:
        return r.n + 2 + o.decode_tokens;
      case Kind::kWindow:
        return window_tokens(c, r.n, r.side_px) + o.window_decode_tokens;
    }
    return 0;
  }

  void finish_memory() {
    BenchRow m{"peak_memory", "GB", std::nullopt, std::nullopt, std::nullopt, "", false};
    const fi::MemoryUse use = e_.memory_use();
    std::ostringstream note;
    note.precision(3);
    if (o_.device == fi::Device::kCuda && peak_device_ >= 0) {
      m.value = double(peak_device_) / 1e9;
      note << "device-wide; weights " << double(use.weights) / 1e9 << " GB, KV cache "
           << double(use.cache) / 1e9 << " GB, activations " << double(use.scratch) / 1e9 << " GB";
      if (report_.real_size) m.transformers = max_context_seen_ >= 131072 ? 63.6 : 35.6;
    } else {
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      m.value = double(ru.ru_maxrss) * 1024.0 / 1e9;  // Linux: KiB
      note << "process peak RSS; weights " << double(use.weights) / 1e9 << " GB, KV cache "
           << double(use.cache) / 1e9 << " GB";
    }
    m.note = note.str();
    add(std::move(m));
  }

 private:
  std::vector<std::int32_t> random_text(std::int64_t n, std::uint32_t seed) const {
    const fi::ModelConfig& c = e_.config();
    const std::int32_t lo = c.text.n_vocab > 2000 ? 1000 : 20;
    const std::uint32_t span = static_cast<std::uint32_t>(std::max(1, c.text.n_vocab - lo));
    std::vector<std::int32_t> t(static_cast<std::size_t>(n));
    std::uint32_t s = seed;
    for (auto& x : t) {
      do {
        s = s * 1664525u + 1013904223u;
        x = lo + static_cast<std::int32_t>((s >> 8) % span);
      } while (x == c.image_token_id || x == c.image_break_token_id || x == c.image_end_token_id);
    }
    return t;
  }

  static std::vector<fi::PixelImage> random_images(std::int64_t n, int side) {
    std::vector<fi::PixelImage> images;
    for (std::int64_t i = 0; i < n; ++i) {
      fi::PixelImage img{side, side, std::vector<float>(3ull * side * side)};
      std::uint32_t s = 77u + static_cast<std::uint32_t>(i);
      for (float& v : img.chw) {
        s = s * 1664525u + 1013904223u;
        v = static_cast<float>(s >> 8) / 8388608.0f - 1.0f;  // normalised pixels, [-1, 1)
      }
      images.push_back(std::move(img));
    }
    return images;
  }

  std::optional<double> flops_floor(double flops) const {
    if (!bandwidth_) return std::nullopt;
    return flops / kPeakFlops;
  }
  std::optional<double> transformers(const BenchRowSpec& r, std::optional<double> v) const {
    return r.preset && report_.real_size && o_.device == fi::Device::kCuda ? v : std::nullopt;
  }

  void vision(const BenchRowSpec& r) {
    const auto images = random_images(r.n, r.side_px);
    (void)e_.encode_images(std::span(images).first(1));  // warm-up (GEMM plans, caches)
    const double t0 = now_s();
    (void)e_.encode_images(images);
    const double s = now_s() - t0;
    add({r.name, "s", s, transformers(r, preset_figure(r.name)),
         flops_floor(w_.vision_flops(double(r.n), r.side_px)),
         std::to_string(r.n * (r.side_px / e_.config().vision.patch_px) *
                        (r.side_px / e_.config().vision.patch_px)) +
             " patches",
         false});
  }

  void warm_text() {
    if (text_warm_) return;
    text_warm_ = true;
    e_.truncate(0);
    const auto warm = random_text(std::min<std::int64_t>(256, e_.max_context() - 8), 3);
    (void)e_.eval(warm, {}, fi::LogitsMode::kLast);
  }

  // Prefill of n tokens from an empty cache, last-token logits; seconds.
  double timed_prefill(std::int64_t n) {
    warm_text();
    e_.truncate(0);
    const auto tokens = random_text(n, 5);
    const double t0 = now_s();
    last_ = e_.eval(tokens, {}, fi::LogitsMode::kLast);
    const double s = now_s() - t0;
    prefilled_ = n;
    max_context_seen_ = std::max(max_context_seen_, n);
    return s;
  }

  void prefill(const BenchRowSpec& r) {
    const double s = timed_prefill(r.n);
    std::ostringstream note;
    note << static_cast<long long>(double(r.n) / s) << " tokens/s";
    add({r.name, "s", s, transformers(r, preset_figure(r.name)),
         flops_floor(w_.prefill_flops(double(r.n))), note.str(), false});
  }

  // Greedy decode of n tokens after whatever is cached; ms per token.
  double timed_decode(int n) {
    const double t0 = now_s();
    for (int i = 0; i < n; ++i) {
      const std::int32_t tok = fi::argmax(last_);
      last_ = e_.eval({&tok, 1}, {}, fi::LogitsMode::kLast);
    }
    return (now_s() - t0) * 1e3 / n;
  }

  std::optional<double> decode_floor(double context) const {
    if (!bandwidth_) return std::nullopt;
    return w_.decode_bytes(context) / *bandwidth_ * 1e3;
  }

  void decode(const BenchRowSpec& r) {
    // A prefill of exactly this context just ran (prefill_128k before decode_128k): reuse it.
    if (!(prefilled_ == r.n && e_.n_past() == r.n)) (void)timed_prefill(r.n);
    (void)timed_decode(2);  // warm-up: the single-token path
    const double context = double(e_.n_past());
    const double ms = timed_decode(o_.decode_tokens);
    prefilled_ = -1;
    add({r.name, "ms/token", ms, transformers(r, preset_figure(r.name)), decode_floor(context),
         "context " + std::to_string(static_cast<long long>(context)) + ", " +
             std::to_string(o_.decode_tokens) + " tokens",
         false});
  }

  void window(const BenchRowSpec& r) {
    const fi::ModelConfig& c = e_.config();
    const auto images = random_images(r.n, r.side_px);
    const int per_side = r.side_px / c.vision.patch_px;
    std::vector<std::int32_t> prompt{c.bos_token_id, 3};  // <s> [INST]
    for (std::int64_t i = 0; i < r.n; ++i) {
      for (int row = 0; row < per_side; ++row) {
        prompt.insert(prompt.end(), static_cast<std::size_t>(per_side), c.image_token_id);
        prompt.push_back(row + 1 < per_side ? c.image_break_token_id : c.image_end_token_id);
      }
    }
    const auto question = random_text(40, 9);
    prompt.insert(prompt.end(), question.begin(), question.end());
    prompt.push_back(4);                                 // [/INST]
    (void)e_.encode_images(std::span(images).first(1));  // warm-up
    warm_text();
    e_.truncate(0);
    const double t0 = now_s();
    const std::vector<float> feats = e_.encode_images(images);
    last_ = e_.eval(prompt, feats, fi::LogitsMode::kLast);
    const double s = now_s() - t0;
    prefilled_ = -1;
    max_context_seen_ = std::max<std::int64_t>(max_context_seen_, std::int64_t(prompt.size()));
    const bool preset = r.preset;
    add({r.name == "window" ? "window_prefill" : r.name + " prefill", "s", s,
         transformers(r, preset_figure(r.name)),
         flops_floor(w_.prefill_flops(double(prompt.size())) +
                     w_.vision_flops(double(r.n), r.side_px)),
         std::to_string(prompt.size()) + " tokens incl. vision", false});
    const double context = double(e_.n_past());
    const double ms = timed_decode(o_.window_decode_tokens);
    add({r.name == "window" ? "decode_34k" : r.name + " decode", "ms/token", ms,
         preset && report_.real_size && o_.device == fi::Device::kCuda
             ? std::optional<double>(kWindowDecodeTransformers)
             : std::nullopt,
         decode_floor(context),
         "context " + std::to_string(static_cast<long long>(context)) + ", " +
             std::to_string(o_.window_decode_tokens) + " tokens",
         false});
  }

  static std::optional<double> preset_figure(const std::string& name) {
    for (const Preset& p : kPresets)
      if (name == p.name) return p.transformers;
    return std::nullopt;
  }

  void skip(const BenchRowSpec& r, const std::string& why) {
    FS_LOG_WARN("bench: " << r.name << " skipped: " << why);
    add({r.name, r.kind == Kind::kDecode ? "ms/token" : "s", std::nullopt, std::nullopt,
         std::nullopt, "skipped: " + why, true});
  }

  void add(BenchRow row) {
    if (o_.device == fi::Device::kCuda) {
      const fi::MemoryUse m = e_.memory_use();
      peak_device_ = std::max(peak_device_, m.device_used);
    }
    report_.rows.push_back(std::move(row));
    if (on_row_) on_row_(report_);
  }

  fi::Engine& e_;
  const EngineBenchOptions& o_;
  Work w_;
  EngineBenchReport& report_;
  const std::function<void(const EngineBenchReport&)>& on_row_;
  std::optional<double> bandwidth_;
  std::vector<float> last_;
  bool text_warm_ = false;
  std::int64_t prefilled_ = -1;
  std::int64_t max_context_seen_ = 0;
  std::int64_t peak_device_ = -1;
};

// /proc/meminfo MemAvailable in bytes, or -1.
std::int64_t available_ram() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long long kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return -1;
}

std::string describe_model(const fi::ModelConfig& c, bool real) {
  std::ostringstream os;
  os.precision(4);
  const double params = double(fi::count_parameters(c).total());
  os << (real ? "Pixtral-12B" : "Pixtral architecture") << " ("
     << (params >= 1e9 ? params / 1e9 : params / 1e6) << (params >= 1e9 ? " B" : " M")
     << " parameters; text " << c.text.n_layer << "x" << c.text.n_embd << ", vision "
     << c.vision.n_layer << "x" << c.vision.n_embd << ")";
  return os.str();
}

}  // namespace

std::string bench_row_help() {
  std::ostringstream os;
  os << "Rows: presets ";
  bool first = true;
  for (const Preset& p : kPresets) os << (first ? "" : ", ") << p.name, first = false;
  os << "; 'default' (all but the 128k ones) or 'all'; or generic vision:NxS, prefill:T, "
        "decode:C, window:NxS";
  return os.str();
}

std::vector<BenchRowSpec> parse_bench_rows(const std::string& list) {
  std::vector<BenchRowSpec> rows;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    if (item == "default" || item == "all") {
      for (const Preset& p : kPresets) {
        if (item == "all" || p.in_default) rows.push_back({p.kind, p.name, p.n, p.side, true});
      }
      continue;
    }
    bool found = false;
    for (const Preset& p : kPresets) {
      if (item == p.name) {
        rows.push_back({p.kind, p.name, p.n, p.side, true});
        found = true;
      }
    }
    if (found) continue;
    const std::size_t colon = item.find(':');
    FS_CHECK(colon != std::string::npos, kInvalidArgument,
             "unknown row '" << item << "'\n"
                             << bench_row_help());
    const std::string kind = item.substr(0, colon), arg = item.substr(colon + 1);
    BenchRowSpec r;
    r.name = item;
    if (kind == "prefill" || kind == "decode") {
      r.kind = kind == "prefill" ? Kind::kPrefill : Kind::kDecode;
      r.n = parse_count(item, arg);
    } else if (kind == "vision" || kind == "window") {
      r.kind = kind == "vision" ? Kind::kVision : Kind::kWindow;
      const std::size_t x = arg.find('x');
      FS_CHECK(x != std::string::npos, kInvalidArgument,
               "'" << item << "': expected " << kind << ":NxS (N images of SxS pixels)\n"
                   << bench_row_help());
      r.n = parse_count(item, arg.substr(0, x));
      r.side_px = static_cast<int>(parse_count(item, arg.substr(x + 1)));
    } else {
      FS_FAIL(kInvalidArgument, "unknown row kind '" << kind << "' in '" << item << "'\n"
                                                     << bench_row_help());
    }
    rows.push_back(std::move(r));
  }
  FS_CHECK(!rows.empty(), kInvalidArgument, "no rows given\n" << bench_row_help());
  return rows;
}

EngineBenchReport run_engine_bench(const EngineBenchOptions& o,
                                   const std::function<void(const EngineBenchReport&)>& on_row) {
  EngineBenchReport report;
  fi::ModelConfig config =
      o.model_dir.empty()
          ? fi::pixtral_12b_config()
          : fi::load_model_config(o.model_dir, o.load_format == fi::LoadFormat::kDummy
                                                   ? fi::WeightFile::kOptional
                                                   : fi::WeightFile::kRequired);
  report.real_size = is_pixtral_12b(config);
  // Pixtral-12B's positions go far past this project's 128k cap (the HF config says
  // 1,024,000): the benchmark may decode after a full 131,072-token prefill.
  std::int64_t allowed = config.text.max_context;
  if (report.real_size) allowed = std::max<std::int64_t>(allowed, 131072 + 1024);
  std::int64_t context = 256 + 8;
  for (const BenchRowSpec& r : o.rows) {
    const std::int64_t need = Runner::context_needed(config, r, o);
    if (need <= allowed) context = std::max(context, need);
  }
  context = std::min(context, allowed);
  config.text.max_context = context;

  fi::EngineOptions eo;
  eo.device = o.device;
  eo.n_threads = o.threads;
  eo.load_format = o.load_format;
  eo.dummy_seed = o.seed;
  eo.attention = o.attention;
  eo.max_context_tokens = context;
  if (o.device == fi::Device::kCpu) {
    // float32 weights + a KV cache of the largest context: refuse before the allocation fails.
    const double need = 4.0 * double(fi::count_parameters(config).total()) +
                        4.0 * 2 * config.text.n_layer * double(context) * config.text.n_head_kv *
                            config.text.head_dim;
    const std::int64_t avail = available_ram();
    FS_CHECK(avail < 0 || need < 0.9 * double(avail), kOutOfMemory,
             "the CPU engine would need " << std::fixed << std::setprecision(1) << need / 1e9
                                          << " GB (float32 weights and a KV cache of " << context
                                          << " tokens); this machine has " << double(avail) / 1e9
                                          << " GB available. Use --device cuda, a smaller model "
                                             "(--model DIR), or rows with less context");
  }
  const double t0 = now_s();
  std::unique_ptr<fi::Engine> engine = fi::make_engine(config, eo);
  report.load_s = now_s() - t0;
  report.device = engine->device_name();
  report.backend = std::string(engine->backend_name());
  report.weights = o.load_format == fi::LoadFormat::kDummy
                       ? "dummy (seed " + std::to_string(o.seed) + ")"
                       : o.model_dir;
  report.model = describe_model(config, report.real_size);
  Runner runner(*engine, o, report, on_row);
  for (const BenchRowSpec& r : o.rows) runner.run(r, allowed);
  runner.finish_memory();
  return report;
}

}  // namespace framescribe::bench
