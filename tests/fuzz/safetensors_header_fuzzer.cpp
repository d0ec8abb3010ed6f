// libFuzzer target for parse_safetensors_header: the input is a whole safetensors file. Any
// input must either be rejected with framescribe::Error or yield a header whose promises hold
// (every tensor's bytes inside the file, sizes matching dtype x shape, no overlaps), and the
// bytes it points at are read so ASan sees any range that escapes the input.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target safetensors_header_fuzzer
//   build/fuzz/tests/fuzz/safetensors_header_fuzzer -dict=tests/fuzz/safetensors.dict CORPUS_COPY
// or tools/fuzz.sh [seconds].
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/safetensors.h"

namespace {

namespace fi = framescribe::inference;

// A broken promise is a parser bug: report it and crash so libFuzzer saves the input.
[[noreturn]] void broken_promise(const char* what, const fi::TensorInfo& t) {
  std::fprintf(stderr, "safetensors_header_fuzzer: %s (tensor '%s')\n", what, t.name.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> file(data, size);
  fi::SafetensorsHeader header;
  try {
    header = fi::parse_safetensors_header(file, size, "fuzz");
  } catch (const framescribe::Error&) {
    return 0;  // rejected: the expected outcome for most inputs
  }

  if (header.data_offset_bytes < 8 || header.data_offset_bytes > size) {
    std::fprintf(stderr, "safetensors_header_fuzzer: data offset %llu outside a %zu-byte input\n",
                 static_cast<unsigned long long>(header.data_offset_bytes), size);
    std::abort();
  }
  const std::uint64_t data_bytes = size - header.data_offset_bytes;
  std::uint64_t previous_end = 0;
  std::uint8_t checksum = 0;
  std::vector<float> widened;
  for (const fi::TensorInfo& t : header.tensors) {
    if (t.begin_bytes > t.end_bytes || t.end_bytes > data_bytes)
      broken_promise("range outside the data section", t);
    if (t.shape.size() > fi::kMaxTensorRank) broken_promise("rank above the limit", t);
    if (static_cast<std::uint64_t>(t.numel()) * fi::dtype_size_bytes(t.dtype) != t.size_bytes()) {
      broken_promise("size does not match dtype x shape", t);
    }
    if (t.size_bytes() > 0) {
      if (t.begin_bytes < previous_end) broken_promise("overlaps the previous tensor", t);
      previous_end = t.end_bytes;
    }
    (void)fi::shape_to_string(t.shape);

    const std::span<const std::uint8_t> bytes =
        file.subspan(header.data_offset_bytes + t.begin_bytes, t.size_bytes());
    for (std::uint8_t b : bytes) checksum ^= b;
    if (t.dtype == fi::DType::kF32 || t.dtype == fi::DType::kF16 || t.dtype == fi::DType::kBF16) {
      widened.resize(static_cast<std::size_t>(t.numel()));
      fi::convert_to_f32(t.dtype, bytes, widened.data());
    }
  }
  // Keeps the reads above from being optimised away.
  volatile std::uint8_t sink = checksum;
  (void)sink;
  return 0;
}
