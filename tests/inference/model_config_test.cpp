// Loading configs in both layouts, the hub defaults, the q/k permutation, and the malformed
// cases at the config and weight-mapping level (the safetensors level is in safetensors_test).
#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/pixtral_weights.h"
#include "inference/test_files.h"

namespace fi = framescribe::inference;
namespace ft = framescribe::testing;
using framescribe::ErrorCode;
using nlohmann::json;

namespace {

// mistral-community/pixtral-12b config.json after hub PR #14, verbatim (docs/pixtral.md 1.2).
const char* kHubConfig = R"({
  "architectures": ["LlavaForConditionalGeneration"], "model_type": "llava",
  "ignore_index": -100, "image_seq_length": 1, "image_token_index": 10,
  "projector_hidden_act": "gelu",
  "text_config": {
    "hidden_size": 5120, "head_dim": 128, "intermediate_size": 14336, "is_composition": true,
    "max_position_embeddings": 1024000, "model_type": "mistral", "num_hidden_layers": 40,
    "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 1000000000.0,
    "sliding_window": null, "vocab_size": 131072
  },
  "torch_dtype": "bfloat16",
  "vision_config": {
    "head_dim": 64, "hidden_act": "silu", "image_size": 1024, "is_composition": true,
    "model_type": "pixtral", "patch_size": 16, "rope_theta": 10000.0, "tie_word_embeddings": false
  },
  "vision_feature_layer": -1, "vision_feature_select_strategy": "full"
})";

// mistralai/Pixtral-12B-2409 params.json (docs/pixtral.md 1.1).
const char* kNativeParams = R"({
  "dim": 5120, "n_layers": 40, "head_dim": 128, "hidden_dim": 14336,
  "n_heads": 32, "n_kv_heads": 8, "rope_theta": 1000000000.0, "norm_eps": 1e-05,
  "vocab_size": 131072,
  "vision_encoder": {
    "hidden_size": 1024, "num_channels": 3, "image_size": 1024, "patch_size": 16,
    "rope_theta": 10000.0, "intermediate_size": 4096, "num_hidden_layers": 24,
    "num_attention_heads": 16, "image_token_id": 10
  }
})";

// Pixtral-12B parameter count from the shapes (docs/pixtral.md 1.3).
constexpr std::int64_t kPixtral12bParams = 12682739712;

void expect_pixtral_12b(const fi::ModelConfig& c) {
  EXPECT_EQ(c.vision.n_embd, 1024);
  EXPECT_EQ(c.vision.n_layer, 24);
  EXPECT_EQ(c.vision.n_head, 16);
  EXPECT_EQ(c.vision.head_dim, 64);
  EXPECT_EQ(c.vision.n_ff, 4096);
  EXPECT_EQ(c.vision.max_patches_per_side(), 64);
  EXPECT_DOUBLE_EQ(c.vision.rope_theta, 10000.0);
  EXPECT_EQ(c.text.n_embd, 5120);
  EXPECT_EQ(c.text.n_layer, 40);
  EXPECT_EQ(c.text.n_head, 32);
  EXPECT_EQ(c.text.n_head_kv, 8);
  EXPECT_EQ(c.text.head_dim, 128);
  EXPECT_EQ(c.text.n_ff, 14336);
  EXPECT_EQ(c.text.n_vocab, 131072);
  EXPECT_DOUBLE_EQ(c.text.rope_theta, 1e9);
  EXPECT_FLOAT_EQ(c.text.norm_eps, 1e-5f);
  EXPECT_EQ(c.text.max_context, 131072);
  EXPECT_EQ(c.image_token_id, 10);
  EXPECT_TRUE(c.projector_bias);
  fi::ParameterCounts p = fi::count_parameters(c);
  EXPECT_EQ(p.vision, 403489792);
  EXPECT_EQ(p.projector, 31467520);
  EXPECT_EQ(p.text, 12247782400);
  EXPECT_EQ(p.total(), kPixtral12bParams);
}

class ModelDir {
 public:
  ModelDir(const std::string& config_name, const std::string& text, const std::string& weights) {
    ft::write_text(dir_ / config_name, text);
    if (!weights.empty())
      ft::write_safetensors(dir_ / weights, {{"x", ft::f32_tensor({1}, {0.f})}});
  }
  const std::filesystem::path& path() const { return dir_.path(); }

 private:
  ft::TempDir dir_;
};

// Expects load_model_config to throw `code` with every fragment in the message.
void expect_error(const std::string& config_name, const std::string& text, ErrorCode code,
                  std::initializer_list<const char*> fragments,
                  const std::string& weights = "auto") {
  std::string w = weights == "auto" ? (config_name == "config.json" ? "model.safetensors"
                                                                    : "consolidated.safetensors")
                                    : weights;
  ModelDir dir(config_name, text, w);
  try {
    fi::load_model_config(dir.path());
    ADD_FAILURE() << "no error for " << text;
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const char* f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

std::string edited(const char* base, const std::function<void(json&)>& edit) {
  json j = json::parse(base);
  edit(j);
  return j.dump();
}

TEST(ModelConfig, HubConfigTakesTransformersDefaults) {
  ModelDir dir("config.json", kHubConfig, "model.safetensors");
  fi::ModelConfig c = fi::load_model_config(dir.path());
  EXPECT_EQ(c.layout, fi::CheckpointLayout::kHuggingFace);
  EXPECT_EQ(c.weights_path.filename(), "model.safetensors");
  expect_pixtral_12b(c);
}

TEST(ModelConfig, NativeParamsDescribeTheSameModel) {
  ModelDir dir("params.json", kNativeParams, "consolidated.safetensors");
  fi::ModelConfig c = fi::load_model_config(dir.path());
  EXPECT_EQ(c.layout, fi::CheckpointLayout::kNative);
  expect_pixtral_12b(c);
}

TEST(ModelConfig, RopeParametersFormOfTransformers5) {
  std::string text = edited(kHubConfig, [](json& j) {
    j["text_config"].erase("rope_theta");
    j["text_config"]["rope_parameters"] = {{"rope_theta", 1e9}, {"rope_type", "default"}};
    j["vision_config"].erase("rope_theta");
    j["vision_config"]["rope_parameters"] = {{"rope_theta", 10000.0}, {"rope_type", "axial"}};
  });
  ModelDir dir("config.json", text, "model.safetensors");
  expect_pixtral_12b(fi::load_model_config(dir.path()));
}

TEST(ModelConfig, ShardedCheckpointIsPreferredWhenIndexed) {
  ModelDir dir("config.json", kHubConfig, "");
  ft::write_text(dir.path() / "model.safetensors.index.json", R"({"weight_map": {}})");
  EXPECT_EQ(fi::load_model_config(dir.path()).weights_path.filename(),
            "model.safetensors.index.json");
}

TEST(ModelConfig, FixtureConfigsLoad) {
  fi::ModelConfig a =
      fi::load_model_config(std::filesystem::path(FS_TEST_DATA_DIR) / "reference/pixtral_tiny_a");
  EXPECT_EQ(a.text.n_embd, 64);
  EXPECT_EQ(a.text.head_dim, 32);  // heads x head_dim != hidden, as in Pixtral-12B
  EXPECT_EQ(a.text.max_context, 8192);
  EXPECT_EQ(a.vision.head_dim, 16);
}

// Malformed configs: each names the file and key and says what is wrong.
TEST(ModelConfigErrors, DirectoryWithoutConfig) {
  ft::TempDir dir;
  try {
    fi::load_model_config(dir.path());
    FAIL();
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("params.json"), std::string::npos);
  }
  EXPECT_THROW(fi::load_model_config(dir.path() / "nope"), framescribe::Error);
}

TEST(ModelConfigErrors, ConfigWithoutWeights) {
  expect_error("config.json", kHubConfig, ErrorCode::kNotFound, {"model.safetensors"}, "");
  expect_error("params.json", kNativeParams, ErrorCode::kNotFound, {"consolidated.safetensors"},
               "");
}

TEST(ModelConfigErrors, NotJson) {
  expect_error("config.json", "{\"text_config\": ", ErrorCode::kMalformedModel,
               {"config.json", "not valid JSON"});
  expect_error("config.json", "[1, 2]", ErrorCode::kMalformedModel, {"object"});
}

TEST(ModelConfigErrors, MissingKeys) {
  expect_error("config.json", edited(kHubConfig, [](json& j) { j.erase("text_config"); }),
               ErrorCode::kMalformedModel, {"config.json", "text_config", "missing"});
  expect_error("config.json", edited(kHubConfig, [](json& j) { j.erase("image_token_index"); }),
               ErrorCode::kMalformedModel, {"image_token_index"});
  expect_error("params.json", edited(kNativeParams, [](json& j) { j.erase("dim"); }),
               ErrorCode::kMalformedModel, {"params.json", "dim", "missing"});
  expect_error("params.json",
               edited(kNativeParams, [](json& j) { j["vision_encoder"].erase("patch_size"); }),
               ErrorCode::kMalformedModel, {"vision_encoder.patch_size"});
}

TEST(ModelConfigErrors, WrongTypes) {
  expect_error("config.json",
               edited(kHubConfig, [](json& j) { j["text_config"]["hidden_size"] = "5120"; }),
               ErrorCode::kMalformedModel, {"text_config.hidden_size", "integer"});
  expect_error("config.json",
               edited(kHubConfig, [](json& j) { j["text_config"]["num_hidden_layers"] = 40.5; }),
               ErrorCode::kMalformedModel, {"text_config.num_hidden_layers"});
  expect_error("config.json", edited(kHubConfig, [](json& j) { j["vision_config"] = 3; }),
               ErrorCode::kMalformedModel, {"vision_config", "object"});
}

TEST(ModelConfigErrors, ImpossibleValues) {
  expect_error("config.json",
               edited(kHubConfig, [](json& j) { j["text_config"]["hidden_size"] = -5120; }),
               ErrorCode::kMalformedModel, {"text_config.hidden_size", "positive"});
  expect_error("config.json",
               edited(kHubConfig, [](json& j) { j["text_config"]["num_key_value_heads"] = 7; }),
               ErrorCode::kMalformedModel, {"num_key_value_heads"});
  expect_error("config.json",
               edited(kHubConfig, [](json& j) { j["text_config"]["head_dim"] = 127; }),
               ErrorCode::kMalformedModel, {"head_dim", "even"});
  expect_error("config.json",
               edited(kHubConfig, [](json& j) { j["vision_config"]["head_dim"] = 32; }),
               ErrorCode::kMalformedModel, {"vision hidden size"});
  expect_error("config.json",
               edited(kHubConfig, [](json& j) { j["vision_config"]["image_size"] = 1000; }),
               ErrorCode::kMalformedModel, {"multiple of patch_size"});
  expect_error("config.json",
               edited(kHubConfig, [](json& j) { j["text_config"]["rms_norm_eps"] = 0; }),
               ErrorCode::kMalformedModel, {"rms_norm_eps"});
  expect_error("config.json", edited(kHubConfig, [](json& j) { j["image_token_index"] = 200000; }),
               ErrorCode::kMalformedModel, {"outside the vocabulary"});
  expect_error("params.json", edited(kNativeParams, [](json& j) { j["rope_theta"] = -1.0; }),
               ErrorCode::kMalformedModel, {"rope_theta"});
}

TEST(ModelConfigErrors, OtherArchitecturesAreRefused) {
  expect_error("config.json", edited(kHubConfig, [](json& j) { j["model_type"] = "qwen2_vl"; }),
               ErrorCode::kUnsupported, {"model_type"});
  expect_error("config.json",
               edited(kHubConfig, [](json& j) { j["text_config"]["sliding_window"] = 4096; }),
               ErrorCode::kUnsupported, {"sliding_window"});
  expect_error("config.json",
               edited(kHubConfig,
                      [](json& j) {
                        j["text_config"]["rope_parameters"] = {{"rope_type", "yarn"}};
                      }),
               ErrorCode::kUnsupported, {"rope_type", "yarn"});
  expect_error(
      "params.json",
      edited(kNativeParams, [](json& j) { j["vision_encoder"]["spatial_merge_size"] = 2; }),
      ErrorCode::kUnsupported, {"spatial_merge_size"});
}

TEST(Permutation, RoundTripAndIndexForm) {
  const int heads = 3, hd = 8;
  const std::int64_t in = 5;
  std::vector<float> native(heads * hd * in);
  for (std::size_t i = 0; i < native.size(); ++i) native[i] = static_cast<float>(i);
  std::vector<float> hf = native;
  fi::permute_qk_native_to_hf(hf, heads, hd, in);
  // W_hf[h*hd + r*hd/2 + i] = W_native[h*hd + 2i + r]: HF row 1 of head 0 is native row 2
  // (the real part of pair 1), HF row hd/2 is native row 1 (the imaginary part of pair 0).
  EXPECT_EQ(hf[1 * in], native[2 * in]);
  EXPECT_EQ(hf[(hd / 2) * in], native[1 * in]);
  EXPECT_EQ(hf[(hd + hd / 2 + 3) * in + 4], native[(hd + 2 * 3 + 1) * in + 4]);
  EXPECT_NE(hf, native);
  fi::permute_qk_hf_to_native(hf, heads, hd, in);
  EXPECT_EQ(hf, native);
}

TEST(TensorNames, HuggingFaceNamesFollowTheConversionTable) {
  using fi::CheckpointLayout;
  auto hf = [](const char* n) {
    return fi::checkpoint_tensor_name(CheckpointLayout::kHuggingFace, n);
  };
  EXPECT_EQ(hf("tok_embeddings.weight"), "language_model.model.embed_tokens.weight");
  EXPECT_EQ(hf("layers.39.attention.wq.weight"),
            "language_model.model.layers.39.self_attn.q_proj.weight");
  EXPECT_EQ(hf("layers.3.feed_forward.w1.weight"),
            "language_model.model.layers.3.mlp.gate_proj.weight");
  EXPECT_EQ(hf("layers.3.feed_forward.w3.weight"),
            "language_model.model.layers.3.mlp.up_proj.weight");
  EXPECT_EQ(hf("layers.0.ffn_norm.weight"),
            "language_model.model.layers.0.post_attention_layernorm.weight");
  EXPECT_EQ(hf("output.weight"), "language_model.lm_head.weight");
  EXPECT_EQ(hf("vision_encoder.transformer.layers.23.attention_norm.weight"),
            "vision_tower.transformer.layers.23.attention_norm.weight");
  EXPECT_EQ(hf("vision_encoder.transformer.layers.2.feed_forward.w2.weight"),
            "vision_tower.transformer.layers.2.feed_forward.down_proj.weight");
  EXPECT_EQ(hf("vision_language_adapter.w_out.bias"), "multi_modal_projector.linear_2.bias");
  EXPECT_EQ(fi::checkpoint_tensor_name(CheckpointLayout::kNative, "norm.weight"), "norm.weight");
}

// Weight-level failures: a missing tensor and a wrong shape name the tensor and the file.
TEST(WeightErrors, MissingTensorAndWrongShape) {
  const auto fixture = std::filesystem::path(FS_TEST_DATA_DIR) / "reference/pixtral_tiny_a";
  fi::ModelConfig cfg = fi::load_model_config(fixture);
  fi::TensorStore store = fi::TensorStore::open(fixture / "model.safetensors");
  for (const char* victim : {"language_model.model.norm.weight", "vision_tower.ln_pre.weight"}) {
    for (bool drop : {true, false}) {
      ft::TempDir tmp;
      std::map<std::string, ft::RawTensor> tensors;
      for (const std::string& name : store.names()) {
        std::vector<std::int64_t> shape = store.find(name)->shape;
        std::vector<float> v = store.load_f32(name, shape);
        if (name == victim) {
          if (drop) continue;
          shape = {shape[0] / 2, 2};  // same bytes, wrong shape
        }
        tensors[name] = ft::f32_tensor(shape, v);
      }
      ft::write_safetensors(tmp / "model.safetensors", tensors);
      try {
        fi::load_pixtral_weights(cfg, fi::TensorStore::open(tmp / "model.safetensors"));
        ADD_FAILURE() << victim;
      } catch (const framescribe::Error& e) {
        EXPECT_EQ(e.code(), drop ? ErrorCode::kNotFound : ErrorCode::kMalformedModel) << e.what();
        EXPECT_NE(std::string(e.what()).find(victim), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
      }
    }
  }
}

TEST(Describe, MentionsLayoutAndParameterCount) {
  ModelDir dir("params.json", kNativeParams, "consolidated.safetensors");
  std::string text = fi::describe(fi::load_model_config(dir.path()));
  EXPECT_NE(text.find("native"), std::string::npos);
  EXPECT_NE(text.find(std::to_string(kPixtral12bParams)), std::string::npos);
}

}  // namespace
