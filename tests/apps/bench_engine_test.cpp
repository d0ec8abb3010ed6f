// `framescribe bench engine` end to end on the CPU engine with the bundled demo model's config:
// generic and preset rows, rows that do not fit (reported skipped, with the reason), the JSON
// file and JSON on stdout, usage errors, and the CUDA engine either running or failing clearly.
// Timings are not asserted (speed lives in the benchmark's own output); their presence is.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "inference/test_files.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::run_framescribe;
using testing::TempDir;

const std::string kDemo = (fs::path(FS_SOURCE_DIR) / "samples/models/framescribe-demo").string();

json read_json(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

TEST(BenchEngine, CpuRowsOnTheDemoConfigWithDummyWeights) {
  TempDir tmp;
  const fs::path out = tmp / "bench.json";
  const auto r = run_framescribe(
      {"bench", "engine", "--model", kDemo, "--load-format", "dummy", "--threads", "2", "--rows",
       "prefill:256,decode:128,vision:2x64,window:2x64,prefill_8k,vision:1x40", "--decode-tokens",
       "4", "--window-decode-tokens", "3", "--json", out.string()},
      tmp / "err.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = read_json(out);
  EXPECT_EQ(j["card"].get<std::string>().rfind("CPU (2 threads)", 0), 0u) << j["card"];
  EXPECT_EQ(j["backend"], "cpu-f32");
  EXPECT_EQ(j["weights"], "dummy (seed 0)");
  EXPECT_EQ(j["real_size"], false);

  const std::vector<std::string> names{"prefill:256",         "decode:128",         "vision:2x64",
                                       "window:2x64 prefill", "window:2x64 decode", "prefill_8k",
                                       "vision:1x40",         "peak_memory"};
  ASSERT_EQ(j["rows"].size(), names.size()) << j.dump(1);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const json& row = j["rows"][i];
    SCOPED_TRACE(row.dump());
    EXPECT_EQ(row["name"], names[i]);
    // Away from real Pixtral-12B size on CUDA there is nothing to compare with.
    EXPECT_TRUE(row["transformers"].is_null());
    EXPECT_TRUE(row["floor"].is_null());
    const bool skipped = names[i] == "prefill_8k" || names[i] == "vision:1x40";
    EXPECT_EQ(row["skipped"], skipped);
    if (skipped) {
      EXPECT_TRUE(row["value"].is_null());
    } else {
      EXPECT_GT(row["value"].get<double>(), 0.0);
    }
    // The table on stdout has every row.
    EXPECT_NE(r.out.find(names[i]), std::string::npos) << r.out;
  }
  // The demo model holds 2,048 tokens and takes images in multiples of 16 px.
  const std::string why_8k = j["rows"][5]["note"];
  EXPECT_NE(why_8k.find("8192"), std::string::npos) << why_8k;
  EXPECT_NE(why_8k.find("2048"), std::string::npos) << why_8k;
  EXPECT_NE(j["rows"][6]["note"].get<std::string>().find("multiples of 16"), std::string::npos);
  // Decode after a 128-token prefill and 2 warm-up tokens; a window of 2 frames of 4x4 patches:
  // <s> [INST], 2 x (16 [IMG] + 4 breaks/end), 40 question tokens, [/INST].
  EXPECT_EQ(j["rows"][1]["note"], "context 130, 4 tokens");
  EXPECT_EQ(j["rows"][2]["note"], "32 patches");
  EXPECT_EQ(j["rows"][3]["note"], "83 tokens incl. vision");
  EXPECT_EQ(j["rows"][4]["note"], "context 83, 3 tokens");
  EXPECT_EQ(j["rows"][7]["unit"], "GB");
}

TEST(BenchEngine, JsonOnStdoutWithTheCheckpointWeights) {
  TempDir tmp;
  const auto r = run_framescribe({"bench", "engine", "--model", kDemo, "--threads", "2", "--rows",
                                  "prefill:64", "--json", "-"},
                                 tmp / "err.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);  // nothing but the JSON on stdout
  EXPECT_EQ(j["weights"], kDemo);     // --load-format auto with --model: the checkpoint
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_GT(j["rows"][0]["value"].get<double>(), 0.0);
  EXPECT_NE(r.err.find("prefill:64"), std::string::npos) << "the table goes to stderr: " << r.err;
}

TEST(BenchEngine, BadRowsAndOptionsAreUsageErrors) {
  TempDir tmp;
  for (const std::string rows : {"prefill:abc", "prefill:0", "vision:32", "fast", "window:2x"}) {
    const auto r =
        run_framescribe({"bench", "engine", "--model", kDemo, "--rows", rows}, tmp / "err.txt");
    EXPECT_EQ(r.exit_code, 2) << rows << ": " << r.err;
    EXPECT_NE(r.err.find(rows), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("vision_32x512"), std::string::npos) << "lists the presets: " << r.err;
  }
  const auto r = run_framescribe({"bench", "engine", "--load-format", "checkpoint"}, tmp / "e");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--model"), std::string::npos) << r.err;
  const auto bare = run_framescribe({"bench"}, tmp / "e");
  EXPECT_EQ(bare.exit_code, 2) << bare.err;
}

// With a GPU (the GPU machine) this runs there; without one, or in a build without the CUDA
// backend, it must fail with a message that says so, not crash.
TEST(BenchEngine, CudaRunsOrSaysWhyNot) {
  TempDir tmp;
  const auto r = run_framescribe({"bench", "engine", "--device", "cuda", "--model", kDemo,
                                  "--load-format", "dummy", "--rows", "prefill:64", "--json", "-"},
                                 tmp / "err.txt");
  if (r.exit_code == 0) {
    const json j = json::parse(r.out);
    EXPECT_EQ(j["backend"], "cuda-bf16");
    EXPECT_GT(j["rows"][0]["value"].get<double>(), 0.0);
  } else {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("CUDA"), std::string::npos) << r.err;
  }
}

// Pixtral-12B in float32 is 50.7 GB: on a machine with less memory the CPU engine refuses before
// allocating, naming the size and the alternatives.
TEST(BenchEngine, RealSizeOnASmallCpuMachineIsRefusedUpFront) {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  long long kib = 0, avail_kib = -1;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") avail_kib = kib;
  if (avail_kib < 0 || avail_kib * 1024.0 > 45e9)
    GTEST_SKIP() << "this machine could hold Pixtral-12B in float32";
  TempDir tmp;
  const auto r = run_framescribe({"bench", "engine", "--rows", "prefill:64"}, tmp / "err.txt");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("GB available"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--device cuda"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace framescribe
