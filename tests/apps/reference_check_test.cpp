// `framescribe reference-check` end to end on fixture A. --dump FILE: the file holds the engine's
// own outputs (what tools/fixtures/crosscheck_random.py measures against a float64 reference),
// not the expected values, and a dump that cannot be written fails clearly. Greedy tokens: a
// model that prefers [IMG] is compared, not crashed.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "apps/cli_run.h"
#include "framescribe/inference/reference_check.h"
#include "framescribe/inference/safetensors.h"
#include "inference/test_files.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
namespace fi = framescribe::inference;
using testing::run_framescribe;
using testing::TempDir;

const fs::path kFixture = fs::path(FS_TEST_DATA_DIR) / "reference" / "pixtral_tiny_a";
const fs::path kExpected = kFixture / "expected.safetensors";

std::vector<float> load(const fi::TensorStore& s, const std::string& name,
                        std::vector<std::int64_t>* shape) {
  const fi::TensorInfo* info = s.find(name);
  EXPECT_NE(info, nullptr) << name;
  if (!info) return {};
  *shape = info->shape;
  return s.load_f32(name, info->shape);
}

// The engine's greedy tokens as the report prints them ("  engine:        1 2 3").
std::vector<std::int64_t> reported_engine_tokens(const std::string& out) {
  const std::string key = "  engine:";
  const std::size_t at = out.find(key);
  std::vector<std::int64_t> ids;
  if (at == std::string::npos) return ids;
  std::istringstream line(out.substr(at + key.size(), out.find('\n', at) - at - key.size()));
  for (std::int64_t id; line >> id;) ids.push_back(id);
  return ids;
}

TEST(ReferenceCheckDump, HoldsTheEnginesOutputsInTheExpectedFilesShapes) {
  TempDir tmp;
  const fs::path dump = tmp / "engine.safetensors";
  const auto r = run_framescribe({"reference-check", "--model", kFixture.string(), "--expected",
                                  kExpected.string(), "--dump", dump.string(), "--threads", "2"},
                                 tmp / "err.txt");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("engine outputs:  " + dump.string()), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(fs::path(dump.string() + ".tmp")));

  const fi::TensorStore expected = fi::TensorStore::open(kExpected);
  const fi::TensorStore got = fi::TensorStore::open(dump);
  for (const char* name : {"image_features", "logits", "logits_full"}) {
    SCOPED_TRACE(name);
    std::vector<std::int64_t> want_shape, got_shape;
    const std::vector<float> want = load(expected, name, &want_shape);
    const std::vector<float> mine = load(got, name, &got_shape);
    EXPECT_EQ(got_shape, want_shape);
    // The engine agrees with transformers within the fixtures' tolerance, and is not a copy.
    EXPECT_LE(fi::max_relative_error(mine, want), 1e-4);
    EXPECT_NE(mine, want);
  }
  // generated_ids: the engine's greedy tokens, as reported (here equal to the reference's).
  const std::vector<std::int64_t> tokens = got.load_i64("generated_ids");
  EXPECT_EQ(tokens, reported_engine_tokens(r.out));
  EXPECT_EQ(tokens, expected.load_i64("generated_ids"));
  EXPECT_EQ(got.find("generated_ids")->dtype, fi::DType::kI64);
}

TEST(ReferenceCheckDump, IsTheEnginesOutputWhateverTheExpectedValuesSay) {
  // The same inputs with every expected float doubled: the check fails, the dump is unchanged.
  TempDir tmp;
  const fi::TensorStore expected = fi::TensorStore::open(kExpected);
  std::map<std::string, testing::RawTensor> tensors;
  for (const std::string& name : expected.names()) {
    const fi::TensorInfo* info = expected.find(name);
    if (info->dtype == fi::DType::kI64) {
      tensors[name] = testing::i64_tensor(info->shape, expected.load_i64(name));
    } else {
      std::vector<float> v = expected.load_f32(name, info->shape);
      if (name != "pixel_values")
        for (float& x : v) x *= 2;
      tensors[name] = testing::f32_tensor(info->shape, v);
    }
  }
  const fs::path doubled = tmp / "doubled.safetensors";
  testing::write_safetensors(doubled, tensors);

  const fs::path dump_a = tmp / "a.safetensors", dump_b = tmp / "b.safetensors";
  const auto a = run_framescribe({"reference-check", "-m", kFixture.string(), "-e",
                                  kExpected.string(), "--dump", dump_a.string()},
                                 tmp / "err_a.txt");
  const auto b = run_framescribe({"reference-check", "-m", kFixture.string(), "-e",
                                  doubled.string(), "--dump", dump_b.string()},
                                 tmp / "err_b.txt");
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  ASSERT_EQ(b.exit_code, 1) << b.out << b.err;
  EXPECT_NE(b.out.find("result:          FAIL"), std::string::npos) << b.out;
  // Written even when the check fails: that is when its numbers matter most.
  EXPECT_EQ(testing::read_bytes(dump_a), testing::read_bytes(dump_b));
}

TEST(ReferenceCheckDump, UnwritablePathFailsNamingIt) {
  TempDir tmp;
  const fs::path dump = tmp / "no-such-folder" / "engine.safetensors";
  const auto r = run_framescribe({"reference-check", "-m", kFixture.string(), "-e",
                                  kExpected.string(), "--dump", dump.string()},
                                 tmp / "err.txt");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(dump.string() + ".tmp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--dump"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dump));
}

TEST(ReferenceCheckGreedy, MasksTheImageTokenAsGenerateDoes) {
  // Fixture A's model with lm_head's [IMG] row = 4 x the row of the first reference token, so
  // [IMG] has the largest logit where that token does (its logit there is positive). Before
  // the mask, greedy chose [IMG], fed it back without image features and reference-check died
  // with "the tokens hold 1 image tokens but 0 image feature rows were given".
  TempDir tmp;
  const fs::path model = tmp / "model";
  fs::create_directory(model);
  fs::copy_file(kFixture / "config.json", model / "config.json");
  const fi::TensorStore weights = fi::TensorStore::open(kFixture / "model.safetensors");
  const fi::TensorStore expected = fi::TensorStore::open(kExpected);
  const std::vector<std::int64_t> ref_tokens = expected.load_i64("generated_ids");
  ASSERT_FALSE(ref_tokens.empty());
  std::map<std::string, testing::RawTensor> tensors;
  for (const std::string& name : weights.names()) {
    const fi::TensorInfo* info = weights.find(name);
    std::vector<float> v = weights.load_f32(name, info->shape);
    if (name == "language_model.lm_head.weight") {
      const std::int64_t d = info->shape[1], img = 10;  // config.json image_token_index
      for (std::int64_t j = 0; j < d; ++j) v[img * d + j] = 4 * v[ref_tokens[0] * d + j];
    }
    tensors[name] = testing::f32_tensor(info->shape, v);
  }
  testing::write_safetensors(model / "model.safetensors", tensors);

  const fs::path dump = tmp / "engine.safetensors";
  const auto r = run_framescribe(
      {"reference-check", "-m", model.string(), "-e", kExpected.string(), "--dump", dump.string()},
      tmp / "err.txt");
  // The logits differ from the reference in the [IMG] column, so the check fails; it runs to the
  // end, and the greedy tokens are still the reference's.
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("result:          FAIL"), std::string::npos) << r.out;
  const fi::TensorStore got = fi::TensorStore::open(dump);
  std::vector<std::int64_t> shape;
  const std::vector<float> logits = load(got, "logits", &shape);
  ASSERT_EQ(shape.size(), 2u);
  const float* last_row = logits.data() + (shape[0] - 1) * shape[1];
  EXPECT_GT(last_row[10], last_row[ref_tokens[0]]);  // [IMG] really was the argmax
  EXPECT_EQ(got.load_i64("generated_ids"), ref_tokens);
  EXPECT_EQ(reported_engine_tokens(r.out), ref_tokens);
}

}  // namespace
}  // namespace framescribe
