#include "framescribe/inference/reference_check.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/inference/safetensors.h"

namespace framescribe::inference {

double max_relative_error(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size() || a.empty()) return std::numeric_limits<double>::infinity();
  double max_diff = 0, max_ref = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return std::numeric_limits<double>::infinity();
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(b[i])));
  }
  return max_ref > 0 ? max_diff / max_ref
                     : (max_diff == 0 ? 0 : std::numeric_limits<double>::infinity());
}

namespace {

std::vector<float> load_any_shape(const TensorStore& s, const std::string& name,
                                  std::vector<std::int64_t>* shape) {
  const TensorInfo* info = s.find(name);
  FS_CHECK(info, kMalformedModel,
           s.file_of(s.names().front()).string()
               << ": tensor '" << name << "' missing; not a reference fixture file");
  *shape = info->shape;
  return s.load_f32(name, info->shape);
}

struct DumpTensor {
  const char* name;
  const char* dtype;  // "F32" or "I64"
  std::vector<std::int64_t> shape;
  const void* data;
  std::size_t bytes;
};

// A safetensors file (little-endian host, as everywhere this engine runs), written beside the
// target and renamed over it, so a failed run never leaves a truncated file behind.
void write_dump(const std::filesystem::path& path, const std::vector<DumpTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"generator", "framescribe reference-check --dump"}};
  std::size_t offset = 0;
  for (const DumpTensor& t : tensors) {
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes}}};
    offset += t.bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t len = text.size();
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    FS_CHECK(out.good(), kIo,
             tmp.string() << ": cannot open for writing (--dump); does its folder exist?");
    char len_bytes[8];
    std::memcpy(len_bytes, &len, 8);
    out.write(len_bytes, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const DumpTensor& t : tensors)
      out.write(static_cast<const char*>(t.data), static_cast<std::streamsize>(t.bytes));
    out.close();
    FS_CHECK(!out.fail(), kIo, tmp.string() << ": write failed (--dump); is the disk full?");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  FS_CHECK(!ec, kIo,
           path.string() << ": cannot rename " << tmp.string() << " over it: " << ec.message());
}

}  // namespace

ReferenceCheckResult run_reference_check(Engine& engine, const std::filesystem::path& expected_file,
                                         const ReferenceCheckOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const ModelConfig& cfg = engine.config();
  const std::string file = expected_file.string();
  TensorStore store = TensorStore::open(expected_file);
  FS_CHECK(store.size() > 0, kMalformedModel, file << ": holds no tensors");

  ReferenceCheckResult r;
  r.tolerance = options.tolerance;

  // Images: padded [n, 3, Hmax, Wmax]; image i is the top-left image_sizes[i] = (h, w) crop.
  std::vector<std::int64_t> pv_shape, shape;
  std::vector<float> pixel_values = load_any_shape(store, "pixel_values", &pv_shape);
  std::vector<std::int64_t> sizes = store.load_i64("image_sizes");
  FS_CHECK(pv_shape.size() == 4 && pv_shape[1] == 3 &&
               sizes.size() == 2 * static_cast<std::size_t>(pv_shape[0]),
           kMalformedModel, file << ": pixel_values must be [n, 3, H, W] with image_sizes [n, 2]");
  const std::int64_t n_img = pv_shape[0], hmax = pv_shape[2], wmax = pv_shape[3];
  std::vector<PixelImage> images;
  for (std::int64_t i = 0; i < n_img; ++i) {
    const std::int64_t h = sizes[2 * i], w = sizes[2 * i + 1];
    FS_CHECK(h > 0 && w > 0 && h <= hmax && w <= wmax, kMalformedModel,
             file << ": image_sizes[" << i << "] = (" << h << ", " << w << ") outside the padded "
                  << hmax << "x" << wmax);
    PixelImage img{static_cast<int>(w), static_cast<int>(h), std::vector<float>(3 * h * w)};
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x)
          img.chw[(c * h + y) * w + x] = pixel_values[((i * 3 + c) * hmax + y) * wmax + x];
    images.push_back(std::move(img));
  }
  r.n_images = static_cast<int>(n_img);

  std::vector<std::int64_t> ids64 = store.load_i64("input_ids");
  std::vector<std::int64_t> gen64 = store.load_i64("generated_ids");
  std::vector<std::int32_t> prompt(ids64.begin(), ids64.end());
  for (std::int64_t g : gen64) r.expected_tokens.push_back(static_cast<std::int32_t>(g));
  r.n_prompt_tokens = static_cast<std::int64_t>(prompt.size());
  const std::int64_t vocab = cfg.text.n_vocab, td = cfg.text.n_embd;

  // 1. Vision encoder + projector.
  std::vector<float> expected_features = load_any_shape(store, "image_features", &shape);
  FS_CHECK(shape.size() == 2 && shape[1] == td, kMalformedModel,
           file << ": image_features is " << shape_to_string(shape)
                << ", the model's text width is " << td
                << "; is this the fixture of another model?");
  std::vector<float> features = engine.encode_images(images);
  r.n_image_patches = static_cast<std::int64_t>(features.size()) / td;
  r.image_features_rel_err = max_relative_error(features, expected_features);

  // 2. One prefill over the prompt, logits at every position.
  std::vector<float> expected_logits = load_any_shape(store, "logits", &shape);
  FS_CHECK(shape.size() == 2 && shape[0] == r.n_prompt_tokens && shape[1] == vocab, kMalformedModel,
           file << ": logits is " << shape_to_string(shape) << ", expected [" << r.n_prompt_tokens
                << ", " << vocab << "]");
  engine.truncate(0);
  std::vector<float> logits = engine.eval(prompt, features, LogitsMode::kAll);
  r.logits_rel_err = max_relative_error(logits, expected_logits);

  // 3. Greedy continuation from that prefill. The reference ran generate() with
  // min_new_tokens = max_new_tokens, which masks EOS until the end: do the same. [IMG] is masked
  // too, as generate() here does: fed back it would need image features that do not exist (the
  // next eval would throw), and a reference cannot feed it back either.
  std::vector<float> last(logits.end() - vocab, logits.end());
  for (std::size_t g = 0; g < r.expected_tokens.size(); ++g) {
    last[static_cast<std::size_t>(cfg.eos_token_id)] = -std::numeric_limits<float>::infinity();
    last[static_cast<std::size_t>(cfg.image_token_id)] = -std::numeric_limits<float>::infinity();
    const std::int32_t tok = argmax(last);
    r.engine_tokens.push_back(tok);
    if (g + 1 < r.expected_tokens.size()) last = engine.eval({&tok, 1}, {}, LogitsMode::kLast);
  }
  while (r.tokens_matching < static_cast<int>(r.expected_tokens.size()) &&
         r.engine_tokens[r.tokens_matching] == r.expected_tokens[r.tokens_matching]) {
    ++r.tokens_matching;
  }

  // 4. Cached decode, one token at a time, over prompt + generated ids, against logits_full.
  std::vector<float> expected_full = load_any_shape(store, "logits_full", &shape);
  std::vector<std::int32_t> full = prompt;
  full.insert(full.end(), r.expected_tokens.begin(), r.expected_tokens.end());
  FS_CHECK(
      shape.size() == 2 && shape[0] == static_cast<std::int64_t>(full.size()) && shape[1] == vocab,
      kMalformedModel,
      file << ": logits_full is " << shape_to_string(shape) << ", expected [" << full.size() << ", "
           << vocab << "]");
  engine.truncate(0);
  std::vector<float> stepwise;
  stepwise.reserve(full.size() * vocab);
  std::int64_t next_row = 0;
  for (std::int32_t tok : full) {
    std::span<const float> row;
    if (tok == cfg.image_token_id) {
      FS_CHECK((next_row + 1) * td <= static_cast<std::int64_t>(features.size()), kMalformedModel,
               file << ": input_ids hold more image tokens than the images have patches");
      row = std::span<const float>(features).subspan(next_row++ * td, td);
    }
    std::vector<float> l = engine.eval({&tok, 1}, row, LogitsMode::kLast);
    stepwise.insert(stepwise.end(), l.begin(), l.end());
  }
  r.logits_full_rel_err = max_relative_error(stepwise, expected_full);
  engine.truncate(0);

  if (!options.dump_file.empty()) {
    const std::vector<std::int64_t> tokens(r.engine_tokens.begin(), r.engine_tokens.end());
    const std::int64_t n_full = static_cast<std::int64_t>(full.size());
    write_dump(options.dump_file, {{"generated_ids",
                                    "I64",
                                    {static_cast<std::int64_t>(tokens.size())},
                                    tokens.data(),
                                    tokens.size() * sizeof(std::int64_t)},
                                   {"image_features",
                                    "F32",
                                    {r.n_image_patches, td},
                                    features.data(),
                                    features.size() * sizeof(float)},
                                   {"logits",
                                    "F32",
                                    {r.n_prompt_tokens, vocab},
                                    logits.data(),
                                    logits.size() * sizeof(float)},
                                   {"logits_full",
                                    "F32",
                                    {n_full, vocab},
                                    stepwise.data(),
                                    stepwise.size() * sizeof(float)}});
  }

  auto check = [&](const char* what, double err) {
    if (!(err <= options.tolerance)) {
      std::ostringstream os;
      os << what << ": relative error " << err << " above the tolerance " << options.tolerance;
      r.failures.push_back(os.str());
    }
  };
  check("image_features", r.image_features_rel_err);
  check("logits", r.logits_rel_err);
  check("logits_full (cached decode)", r.logits_full_rel_err);
  if (r.tokens_matching != static_cast<int>(r.expected_tokens.size())) {
    std::ostringstream os;
    os << "greedy tokens differ from position " << r.tokens_matching;
    r.failures.push_back(os.str());
  }
  r.passed = r.failures.empty();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string format_report(const ReferenceCheckResult& r) {
  auto tokens = [](const std::vector<std::int32_t>& v) {
    std::ostringstream os;
    for (std::size_t i = 0; i < v.size(); ++i) os << (i ? " " : "") << v[i];
    return os.str();
  };
  auto verdict = [&](double e) { return e <= r.tolerance ? "ok" : "FAIL"; };
  std::ostringstream os;
  os.precision(3);
  os << "inputs:          " << r.n_images << " images (" << r.n_image_patches << " patches), "
     << r.n_prompt_tokens << " prompt tokens, " << r.expected_tokens.size() << " generated\n"
     << std::scientific << "image_features:  max rel err " << r.image_features_rel_err << "  "
     << verdict(r.image_features_rel_err) << "\n"
     << "logits:          max rel err " << r.logits_rel_err << "  " << verdict(r.logits_rel_err)
     << "\n"
     << "cached decode:   max rel err " << r.logits_full_rel_err << "  "
     << verdict(r.logits_full_rel_err) << "\n"
     << "greedy tokens:   " << r.tokens_matching << "/" << r.expected_tokens.size()
     << " identical  "
     << (r.tokens_matching == static_cast<int>(r.expected_tokens.size()) ? "ok" : "FAIL") << "\n"
     << "  reference:     " << tokens(r.expected_tokens) << "\n"
     << "  engine:        " << tokens(r.engine_tokens) << "\n"
     << std::defaultfloat << "tolerance:       " << r.tolerance << " (max |a-b| / max |b|)\n"
     << "result:          " << (r.passed ? "PASS" : "FAIL") << " in " << std::fixed << r.seconds
     << " s\n";
  for (const std::string& f : r.failures) os << "  - " << f << "\n";
  return os.str();
}

}  // namespace framescribe::inference
