// TensorStore: lookups, sharded checkpoints (model.safetensors.index.json) and their limits,
// and the committed reference fixtures read through it.
#include "framescribe/inference/safetensors.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "inference/test_files.h"

#include "inference/safetensors_test_util.h"

namespace {

using namespace safetensors_test;

TEST(ManyTensors, HeaderAndShardIndexParseInLinearTime) {
  constexpr std::size_t kCount = 300000;
  std::string header = "{";
  std::string weight_map = "{";
  for (std::size_t i = 0; i < kCount; ++i) {
    const std::string name = std::to_string(i);
    header.append("\"t").append(name).append(
        R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)");
    weight_map.append("\"t").append(name).append(R"(":"model.safetensors",)");
  }
  // One tensor with data at the end, so lookups are not all of identical entries.
  header += R"("last":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  weight_map += R"("last":"model.safetensors"})";
  fst::TempDir dir;
  write_raw_safetensors(dir / "model.safetensors", header, {0, 0, 0x80, 0x3f});
  fst::write_text(dir / "model.safetensors.index.json", R"({"weight_map":)" + weight_map + "}");

  const auto file = SafetensorsFile::open(dir / "model.safetensors");
  ASSERT_EQ(file->tensors().size(), kCount + 1);
  ASSERT_NE(file->find("t123456"), nullptr);
  EXPECT_EQ(file->find("t123456")->name, "t123456");
  EXPECT_EQ(file->find("t123456")->shape, std::vector<std::int64_t>{0});
  EXPECT_EQ(file->find("t300000"), nullptr);

  const auto store = TensorStore::open(dir / "model.safetensors.index.json");
  EXPECT_EQ(store.size(), kCount + 1);
  EXPECT_TRUE(store.contains("t299999"));
  EXPECT_EQ(store.load_f32("last", {1}), std::vector<float>{1.0f});
}

// --- TensorStore: lookups and sharded checkpoints -------------------------------------------

TEST(TensorStore, LoadF32MissingTensorAndWrongShape) {
  fst::TempDir dir;
  const fs::path path = dir / "model.safetensors";
  write_safetensors(path, {{"w", fst::f32_tensor({3, 4}, std::vector<float>(12, 1.0f))}});
  const auto store = TensorStore::open(path);
  EXPECT_TRUE(throws_error(
      [&] { store.load_f32("vision_tower.ln_pre.weight", {1024}); }, ErrorCode::kNotFound,
      {"tensor 'vision_tower.ln_pre.weight' not found", "model.safetensors", "Pixtral"}));
  EXPECT_TRUE(throws_error(
      [&] {
        store.load_f32("w", {4, 3});
      },
      ErrorCode::kMalformedModel,
      {"model.safetensors", "tensor 'w'", "expected shape [4, 3]", "has [3, 4]"}));
  EXPECT_TRUE(throws_error([&] { store.load_f32("w", {12}); }, ErrorCode::kMalformedModel,
                           {"expected shape [12]", "has [3, 4]"}));
  EXPECT_TRUE(throws_error([&] { store.file_of("nope"); }, ErrorCode::kNotFound, {"'nope'"}));
  EXPECT_EQ(store.load_f32("w", {3, 4}), std::vector<float>(12, 1.0f));
}

class Sharded : public ::testing::Test {
 protected:
  void SetUp() override {
    write_safetensors(dir_ / "model-00001-of-00002.safetensors",
                      {{"a", fst::f32_tensor({2}, {1.0f, 2.0f})},
                       {"b", fst::f32_tensor({1}, {3.0f})},
                       {"not_in_index", fst::f32_tensor({1}, {9.0f})}});
    fs::create_directory(dir_ / "sub");
    write_safetensors(dir_ / "sub" / "model-00002-of-00002.safetensors",
                      {{"c", u16_tensor("BF16", {2}, {0x3F80, 0xC040})}});
  }
  void write_index(const std::string& weight_map) {
    fst::write_text(index_, R"({"metadata":{"total_size":16},"weight_map":)" + weight_map + "}");
  }
  fst::TempDir dir_;
  fs::path index_ = dir_ / "model.safetensors.index.json";
};

TEST_F(Sharded, LoadsExactlyTheIndexedTensors) {
  write_index(R"({"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",)"
              R"("c":"sub/model-00002-of-00002.safetensors"})");
  const auto store = TensorStore::open(index_);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(store.contains("not_in_index"));
  EXPECT_EQ(store.file_of("a").filename(), "model-00001-of-00002.safetensors");
  EXPECT_EQ(store.file_of("c").filename(), "model-00002-of-00002.safetensors");
  EXPECT_EQ(store.load_f32("a", {2}), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(store.load_f32("b", {1}), (std::vector<float>{3.0f}));
  EXPECT_EQ(store.load_f32("c", {2}), (std::vector<float>{1.0f, -3.0f}));
  EXPECT_TRUE(throws_error([&] { store.load_f32("not_in_index", {1}); }, ErrorCode::kNotFound,
                           {"'not_in_index' not found", "model-00001-of-00002.safetensors",
                            "model-00002-of-00002.safetensors"}));
}

TEST_F(Sharded, TruncatedShard) {
  write_index(
      R"({"a":"model-00001-of-00002.safetensors","c":"sub/model-00002-of-00002.safetensors"})");
  const fs::path shard = dir_ / "model-00001-of-00002.safetensors";
  fs::resize_file(shard, fs::file_size(shard) - 2);  // cuts "not_in_index", the last tensor
  EXPECT_TRUE(throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel,
                           {"model-00001-of-00002.safetensors", "tensor 'not_in_index'",
                            "past the end", "a shard of", "model.safetensors.index.json"}));
  fs::resize_file(shard, 20);  // now the header itself is cut
  EXPECT_TRUE(
      throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel,
                   {"model-00001-of-00002.safetensors", "past the end of the file", "truncated"}));
}

TEST_F(Sharded, MissingShard) {
  write_index(R"({"a":"model-00001-of-00002.safetensors","d":"model-00003-of-00003.safetensors"})");
  EXPECT_TRUE(throws_error([&] { TensorStore::open(index_); }, ErrorCode::kNotFound,
                           {"model.safetensors.index.json",
                            "shard 'model-00003-of-00003.safetensors'", "does not exist"}));
}

TEST_F(Sharded, IndexNamesATensorMissingFromItsShard) {
  write_index(R"({"a":"model-00001-of-00002.safetensors","c":"model-00001-of-00002.safetensors"})");
  EXPECT_TRUE(throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel,
                           {"model.safetensors.index.json", "tensor 'c'",
                            "'model-00001-of-00002.safetensors'", "no such tensor"}));
}

TEST_F(Sharded, OneTensorInTwoShards) {
  write_index(
      R"({"a":"model-00001-of-00002.safetensors","a":"sub/model-00002-of-00002.safetensors"})");
  EXPECT_TRUE(throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel,
                           {"model.safetensors.index.json", "'a' appears twice"}));
}

TEST_F(Sharded, ShardPathsMustStayInTheIndexDirectory) {
  write_index(R"({"a":"/etc/passwd"})");
  EXPECT_TRUE(throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel,
                           {"model.safetensors.index.json", "'/etc/passwd'", "absolute"}));
  write_index(R"({"a":"sub/../../model-00001-of-00002.safetensors"})");
  EXPECT_TRUE(throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel,
                           {"model.safetensors.index.json", "'..'"}));
  write_index(R"({"a":""})");
  EXPECT_TRUE(
      throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel, {"empty"}));
  write_index(R"({"a":7})");
  EXPECT_TRUE(throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel,
                           {"weight_map['a']", "an integer"}));
}

TEST_F(Sharded, MalformedIndex) {
  fst::write_text(index_, "{\"weight_map\": ");
  EXPECT_TRUE(throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel,
                           {"model.safetensors.index.json", "not valid JSON"}));
  fst::write_text(index_, R"({"metadata":{}})");
  EXPECT_TRUE(throws_error([&] { TensorStore::open(index_); }, ErrorCode::kMalformedModel,
                           {"model.safetensors.index.json", "weight_map"}));
  EXPECT_TRUE(throws_error([&] { TensorStore::open(dir_ / "absent.index.json"); },
                           ErrorCode::kNotFound, {"absent.index.json"}));
}

// --- the committed reference fixtures -------------------------------------------------------

TEST(Fixtures, PixtralTinyModelAndExpectedOutputs) {
  const fs::path dir = fs::path(FS_TEST_DATA_DIR) / "reference" / "pixtral_tiny_a";
  const auto model_file = SafetensorsFile::open(dir / "model.safetensors");
  EXPECT_EQ(model_file->tensors().size(), 45u);
  EXPECT_EQ(model_file->header().metadata.at("format"), "pt");

  const auto model = TensorStore::open(dir / "model.safetensors");
  EXPECT_EQ(model.size(), 45u);
  const TensorInfo* conv = model.find("vision_tower.patch_conv.weight");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->dtype, DType::kF32);
  EXPECT_EQ(conv->shape, (std::vector<std::int64_t>{64, 3, 16, 16}));
  const auto w = model.load_f32("vision_tower.patch_conv.weight", {64, 3, 16, 16});
  ASSERT_EQ(w.size(), 64u * 3 * 16 * 16);
  double norm = 0;
  for (float v : w) {
    ASSERT_TRUE(std::isfinite(v));
    norm += static_cast<double>(v) * v;
  }
  EXPECT_GT(norm, 0.0);
  EXPECT_EQ(model.load_f32("language_model.lm_head.weight", {512, 64}).size(), 512u * 64);

  const auto expected = TensorStore::open(dir / "expected.safetensors");
  EXPECT_EQ(expected.size(), 7u);
  EXPECT_EQ(expected.load_i64("image_sizes"), (std::vector<std::int64_t>{64, 48, 32, 80}));
  EXPECT_EQ(expected.load_i64("generated_ids").size(), 8u);
  EXPECT_EQ(expected.find("input_ids")->shape, (std::vector<std::int64_t>{1, 38}));
  EXPECT_EQ(expected.load_f32("logits", {38, 512}).size(), 38u * 512);
}

}  // namespace
