// What `framescribe info` prints about a checkpoint and about the CUDA side of this process, as
// text or as JSON, so that any front end (the command line, a server) prints the same.
//
//   std::cout << inference::checkpoint_report("/models/pixtral-12b", /*json=*/false);
//   const CudaSetupReport r = cuda_setup_report(config, AttentionChoice::kAuto);
//   std::cout << inference::cuda_report(r, AttentionChoice::kAuto, /*json=*/true);
//   if (!r.plan_error.empty()) ...;                 // --attention cannot be honoured: exit 1
//
// checkpoint_report reads only the config and the safetensors headers (fast even for 25 GB): the
// layout, sizes, parameter counts and the tensors by dtype. Text: aligned "key:   value" lines;
// JSON: one object (indent 1) and a newline. cuda_report's text leaves the plan error out (the
// caller says it on stderr); its JSON holds it as "attention_error". Errors: as
// load_model_config and TensorStore::open. Pure functions; thread-safe.
#pragma once

#include <filesystem>
#include <string>

#include "framescribe/inference/attention_plan.h"

namespace framescribe::inference {

std::string checkpoint_report(const std::filesystem::path& model_dir, bool json);

std::string cuda_report(const CudaSetupReport& r, AttentionChoice choice, bool json);

}  // namespace framescribe::inference
