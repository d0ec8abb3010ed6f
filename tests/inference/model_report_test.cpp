// `framescribe info`'s reports (inference/model_report.h) on Fixture A's checkpoint, checked
// against the config and the safetensors index read on their own; the CUDA report from a made-up
// CudaSetupReport; token ids read back (inference/token_ids.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/model_report.h"
#include "framescribe/inference/safetensors.h"
#include "framescribe/inference/token_ids.h"

namespace framescribe {
namespace {

using namespace framescribe::inference;
namespace fs = std::filesystem;

const fs::path kModel = fs::path(FS_TEST_DATA_DIR) / "reference" / "pixtral_tiny_a";

TEST(ModelReport, JsonAgreesWithTheConfigAndTheTensors) {
  const ModelConfig cfg = load_model_config(kModel);
  const TensorStore store = TensorStore::open(cfg.weights_path);
  const nlohmann::json j = nlohmann::json::parse(checkpoint_report(kModel, /*json=*/true));
  EXPECT_EQ(j["text"]["vocab"], cfg.text.n_vocab);
  EXPECT_EQ(j["text"]["layers"], cfg.text.n_layer);
  EXPECT_EQ(j["vision"]["patch"], cfg.vision.patch_px);
  EXPECT_EQ(j["tensors"], store.size());
  std::int64_t by_dtype = 0;
  for (const auto& [dt, e] : j["dtypes"].items()) by_dtype += e["tensors"].get<std::int64_t>();
  EXPECT_EQ(by_dtype, static_cast<std::int64_t>(store.size()));
  EXPECT_EQ(j["parameters"]["total"], count_parameters(cfg).total());
}

TEST(ModelReport, TextNamesTheModelAndCountsTensors) {
  const TensorStore store = TensorStore::open(load_model_config(kModel).weights_path);
  const std::string text = checkpoint_report(kModel, /*json=*/false);
  EXPECT_EQ(text.rfind("model:       " + kModel.string() + "\n", 0), 0u) << text;
  EXPECT_NE(text.find("tensors:     " + std::to_string(store.size()) + " in 1 file(s)\n"),
            std::string::npos)
      << text;
  EXPECT_THROW((void)checkpoint_report(kModel / "missing", false), Error);
}

TEST(ModelReport, CudaReport) {
  CudaSetupReport r;
  r.no_device_why = "built without CUDA";
  EXPECT_EQ(cuda_report(r, AttentionChoice::kAuto, false),
            "CUDA backend: not built (built without CUDA)\n");
  r.backend_built = true;
  r.driver_version = 12040;
  r.runtime_version = 12020;
  r.plan_error = "cuDNN cannot run this";
  const nlohmann::json j = nlohmann::json::parse(cuda_report(r, AttentionChoice::kCudnn, true));
  EXPECT_EQ(j["driver"], "12.4");
  EXPECT_EQ(j["runtime"], "12.2");
  EXPECT_TRUE(j["device"].is_null());
  EXPECT_EQ(j["attention_error"], "cuDNN cannot run this");
  const std::string text = cuda_report(r, AttentionChoice::kCudnn, false);
  EXPECT_NE(text.find("CUDA:        driver 12.4, runtime 12.2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("device:      none (built without CUDA)\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("cuDNN cannot run this"), std::string::npos);  // the caller says it
}

TEST(TokenIds, EveryWayOfWritingThem) {
  EXPECT_EQ(parse_token_ids("1 3 1097"), (std::vector<int>{1, 3, 1097}));
  EXPECT_EQ(parse_token_ids("1,3,1097"), (std::vector<int>{1, 3, 1097}));
  EXPECT_EQ(parse_token_ids("[1, 3, 1097]\n"), (std::vector<int>{1, 3, 1097}));
  EXPECT_TRUE(parse_token_ids("  ").empty());
  EXPECT_EQ(parse_token_ids("2147483647"), (std::vector<int>{2147483647}));
  for (const char* bad : {"1 x", "-1", "2147483648", "1.5", "99999999999999999999"}) {
    try {
      (void)parse_token_ids(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("is not a token id"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace framescribe
