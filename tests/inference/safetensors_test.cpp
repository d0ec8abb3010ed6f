// The safetensors reader: values widened bit-exactly, sharded checkpoints, and every malformed
// header rejected with an Error that names the file and the tensor.
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

// --- dtype helpers and conversions ----------------------------------------------------------

TEST(DType, NamesSizesAndParsing) {
  const std::pair<const char*, std::size_t> expected[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  for (const auto& [name, size] : expected) {
    DType d{};
    ASSERT_TRUE(parse_dtype(name, &d)) << name;
    EXPECT_EQ(to_string(d), name);
    EXPECT_EQ(dtype_size_bytes(d), size) << name;
  }
  DType d{};
  EXPECT_FALSE(parse_dtype("f32", &d));
  EXPECT_FALSE(parse_dtype("", &d));
  EXPECT_FALSE(parse_dtype("F8_E4M3", &d));
}

TEST(DType, ShapeToStringAndNumel) {
  EXPECT_EQ(shape_to_string(std::vector<std::int64_t>{}), "[]");
  EXPECT_EQ(shape_to_string(std::vector<std::int64_t>{3, 16, 16}), "[3, 16, 16]");
  TensorInfo t;
  EXPECT_EQ(t.numel(), 1);  // a scalar
  t.shape = {2, 3, 4};
  EXPECT_EQ(t.numel(), 24);
  t.shape = {5, 0};
  EXPECT_EQ(t.numel(), 0);
}

TEST(Convert, Bf16BitPatterns) {
  // bf16 is the top half of an f32, so the expected f32 bits are the input shifted left 16.
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC040), -3.0f);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  EXPECT_EQ(bits_of(bf16_to_f32(0x0001)), 0x00010000u);  // f32 subnormal
  EXPECT_EQ(bits_of(bf16_to_f32(0x8000)), 0x80000000u);  // -0
  EXPECT_EQ(bf16_to_f32(0x7F80), INFINITY);
  EXPECT_EQ(bf16_to_f32(0xFF80), -INFINITY);
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7FC0)));
}

TEST(Convert, F32ToBf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(-3.0f), 0xC040);
  // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties go to the even mantissa (1.0);
  // 1 + 3 * 2^-8 is halfway between 1.0078125 and 1.015625: even is the upper one.
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808000u)), 0x3F80);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F818000u)), 0x3F82);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808001u)), 0x3F81);  // above halfway: up
  EXPECT_EQ(f32_to_bf16(INFINITY), 0x7F80);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x7F7FFFFFu)), 0x7F80);  // max float rounds to inf
  const std::uint16_t nan = f32_to_bf16(std::bit_cast<float>(0x7F800001u));  // signalling NaN
  EXPECT_TRUE(std::isnan(bf16_to_f32(nan)));  // stays NaN (the low payload bit alone would not)
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(3.140625f)), 3.140625f);  // representable: exact
}

TEST(Convert, F16BitPatterns) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);       // 2^-2 * (1 + 341/1024)
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);              // largest finite f16
  EXPECT_EQ(bits_of(f16_to_f32(0x0400)), 0x38800000u);  // 2^-14, smallest normal
  // Subnormals: mantissa * 2^-24, which are normal f32 values.
  EXPECT_EQ(bits_of(f16_to_f32(0x0001)), 0x33800000u);  // 2^-24
  EXPECT_EQ(bits_of(f16_to_f32(0x8001)), 0xB3800000u);  // -2^-24
  EXPECT_EQ(bits_of(f16_to_f32(0x03FF)), 0x387FC000u);  // 1023 * 2^-24 = 1.998046875 * 2^-15
  EXPECT_EQ(bits_of(f16_to_f32(0x0200)), 0x38000000u);  // 2^-15
  EXPECT_EQ(bits_of(f16_to_f32(0x8000)), 0x80000000u);  // -0
  EXPECT_EQ(f16_to_f32(0x7C00), INFINITY);
  EXPECT_EQ(f16_to_f32(0xFC00), -INFINITY);
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7C01)));  // smallest-payload NaN must not become inf
}

TEST(Convert, F16ExhaustiveAgainstLdexp) {
  // Every finite f16 against the definition: (-1)^s * 2^(e-15) * (1 + m/1024), or m * 2^-24.
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const std::uint32_t e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
    if (e == 0x1f) continue;
    const float magnitude =
        e == 0 ? std::ldexp(static_cast<float>(m), -24)
               : std::ldexp(1.0f + static_cast<float>(m) / 1024.0f, static_cast<int>(e) - 15);
    const float expected = (bits & 0x8000) ? -magnitude : magnitude;
    ASSERT_EQ(bits_of(f16_to_f32(static_cast<std::uint16_t>(bits))), bits_of(expected))
        << std::hex << bits;
  }
}

TEST(Convert, UnalignedInputAndUnsupportedDtype) {
  // One byte of offset makes every element misaligned; memcpy-based reads must not care.
  std::vector<std::uint8_t> buffer(1 + 3 * 2);
  const std::uint16_t bits[3] = {0x3C00, 0xC000, 0x0001};
  std::memcpy(buffer.data() + 1, bits, sizeof bits);
  float out[3] = {};
  convert_to_f32(DType::kF16, std::span<const std::uint8_t>(buffer).subspan(1), out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(bits_of(out[2]), 0x33800000u);

  std::vector<std::uint8_t> f32(1 + 4);
  const float v = -7.5f;
  std::memcpy(f32.data() + 1, &v, 4);
  convert_to_f32(DType::kF32, std::span<const std::uint8_t>(f32).subspan(1), out);
  EXPECT_EQ(out[0], -7.5f);

  EXPECT_TRUE(throws_error(
      [&] { convert_to_f32(DType::kI32, std::span<const std::uint8_t>(f32).subspan(1), out); },
      ErrorCode::kUnsupported, {"I32"}));
}

// --- well-formed files ----------------------------------------------------------------------

TEST(SafetensorsFile, RoundTripF32Bf16F16) {
  fst::TempDir dir;
  const fs::path path = dir / "model.safetensors";
  const std::vector<float> f32_values = {1.5f, -2.25f, 0.0f, 3.4e38f, 1e-45f, -INFINITY};
  // A 1-byte U8 tensor first ("a_" sorts first) leaves every following tensor misaligned.
  write_safetensors(path, {{"a_pad", {"U8", {1}, {0x7f}}},
                           {"b_f32", fst::f32_tensor({2, 3}, f32_values)},
                           {"c_bf16", u16_tensor("BF16", {4}, {0x3F80, 0xC040, 0x0001, 0x7F80})},
                           {"d_f16", u16_tensor("F16", {2, 2}, {0x3555, 0x8001, 0x03FF, 0xFC00})}});

  const auto store = TensorStore::open(path);
  ASSERT_EQ(store.size(), 4u);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a_pad", "b_f32", "c_bf16", "d_f16"}));

  const auto f32 = store.load_f32("b_f32", {2, 3});
  ASSERT_EQ(f32.size(), f32_values.size());
  for (std::size_t i = 0; i < f32.size(); ++i)
    EXPECT_EQ(bits_of(f32[i]), bits_of(f32_values[i])) << i;

  const auto bf16 = store.load_f32("c_bf16", {4});
  ASSERT_EQ(bf16.size(), 4u);
  EXPECT_EQ(bits_of(bf16[0]), 0x3F800000u);
  EXPECT_EQ(bits_of(bf16[1]), 0xC0400000u);
  EXPECT_EQ(bits_of(bf16[2]), 0x00010000u);
  EXPECT_EQ(bits_of(bf16[3]), 0x7F800000u);

  const auto f16 = store.load_f32("d_f16", {2, 2});
  ASSERT_EQ(f16.size(), 4u);
  EXPECT_EQ(bits_of(f16[0]), 0x3EAAA000u);  // 0.333251953125
  EXPECT_EQ(bits_of(f16[1]), 0xB3800000u);  // -2^-24, a subnormal f16
  EXPECT_EQ(bits_of(f16[2]), 0x387FC000u);  // largest subnormal f16
  EXPECT_EQ(bits_of(f16[3]), 0xFF800000u);  // -inf

  const TensorInfo* info = store.find("c_bf16");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->dtype, DType::kBF16);
  EXPECT_EQ(info->shape, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(info->size_bytes(), 8u);
  EXPECT_EQ(store.bytes("c_bf16").size(), 8u);
  EXPECT_EQ(store.bytes("a_pad")[0], 0x7f);
  EXPECT_EQ(store.file_of("d_f16"), path);
  EXPECT_FALSE(store.contains("nope"));
  EXPECT_EQ(store.find("nope"), nullptr);
}

TEST(SafetensorsFile, IntegersLoadAsInt64) {
  fst::TempDir dir;
  const fs::path path = dir / "ids.safetensors";
  fst::RawTensor i32{"I32", {3}, std::vector<std::uint8_t>(12)};
  const std::int32_t i32_values[3] = {-5, 0, 2147483647};
  std::memcpy(i32.bytes.data(), i32_values, 12);
  write_safetensors(path, {{"i32", i32}, {"i64", fst::i64_tensor({2}, {-9000000000LL, 42})}});
  const auto store = TensorStore::open(path);
  EXPECT_EQ(store.load_i64("i32"), (std::vector<std::int64_t>{-5, 0, 2147483647}));
  EXPECT_EQ(store.load_i64("i64"), (std::vector<std::int64_t>{-9000000000LL, 42}));
  EXPECT_TRUE(throws_error([&] { store.load_i64("nope"); }, ErrorCode::kNotFound,
                           {"'nope'", "ids.safetensors"}));
  EXPECT_TRUE(throws_error([&] { store.load_f32("i64", {2}); }, ErrorCode::kUnsupported,
                           {"ids.safetensors", "'i64'", "I64", "F32"}));
}

TEST(SafetensorsFile, MetadataAndFileOrder) {
  fst::TempDir dir;
  const fs::path path = dir / "meta.safetensors";
  write_safetensors(
      path, {{"w", fst::f32_tensor({2}, {1.0f, 2.0f})}, {"b", fst::f32_tensor({1}, {3.0f})}},
      {{"format", "pt"}, {"note", "made by a test"}});
  const auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->path(), path);
  EXPECT_EQ(file->header().metadata,
            (std::map<std::string, std::string>{{"format", "pt"}, {"note", "made by a test"}}));
  // write_safetensors lays data out in name order, so "b" comes first in the file.
  ASSERT_EQ(file->tensors().size(), 2u);
  EXPECT_EQ(file->tensors()[0].name, "b");
  EXPECT_EQ(file->tensors()[1].name, "w");
  EXPECT_EQ(file->header().data_offset_bytes % 8, 0u);
  ASSERT_NE(file->find("w"), nullptr);
  EXPECT_EQ(file->find("w")->begin_bytes, 4u);
  EXPECT_EQ(file->find("missing"), nullptr);
}

TEST(SafetensorsFile, EmptyHeaderAndZeroSizeTensorsSharingAnOffset) {
  fst::TempDir dir;
  write_raw_safetensors(dir / "empty_header.safetensors", "{}", {});
  EXPECT_TRUE(SafetensorsFile::open(dir / "empty_header.safetensors")->tensors().empty());

  // Empty tensors own no bytes, so they may share an offset with each other and a real tensor.
  write_raw_safetensors(dir / "zeros.safetensors",
                        R"({"e1":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                        R"("e2":{"dtype":"BF16","shape":[2,0],"data_offsets":[4,4]},)"
                        R"("s":{"dtype":"F32","shape":[],"data_offsets":[4,8]},)"
                        R"("t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        std::vector<std::uint8_t>(8));
  const auto store = TensorStore::open(dir / "zeros.safetensors");
  EXPECT_EQ(store.size(), 4u);
  EXPECT_TRUE(store.load_f32("e2", {2, 0}).empty());
  EXPECT_EQ(store.load_f32("s", {}).size(), 1u);  // a scalar
}

TEST(SafetensorsHeader, ParsesFromMemoryAndChecksTheSpan) {
  std::vector<std::uint8_t> file(8);
  const std::string json = R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})";
  file[0] = static_cast<std::uint8_t>(json.size());
  file.insert(file.end(), json.begin(), json.end());
  file.push_back(1);
  file.push_back(2);
  const auto header = parse_safetensors_header(file, file.size(), "mem");
  ASSERT_EQ(header.tensors.size(), 1u);
  EXPECT_EQ(header.data_offset_bytes, 8 + json.size());
  // A span that stops inside the header is a caller error, not a malformed file.
  EXPECT_TRUE(
      throws_error([&] { parse_safetensors_header(std::span(file).first(20), file.size(), "mem"); },
                   ErrorCode::kInvalidArgument, {"mem"}));
}

}  // namespace
