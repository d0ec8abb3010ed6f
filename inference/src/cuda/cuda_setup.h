// What the CUDA side of this process found (cuDNN via dlopen, cuBLASLt, driver, runtime, the
// device) and the attention plan for a model's head shapes. Host code only: every call here
// works without a GPU and without cuDNN (the report says what is missing).
#pragma once

#include "framescribe/inference/attention_plan.h"
#include "framescribe/inference/model_config.h"

namespace framescribe::inference::cuda {

// The plan's input for `config` on a device of compute capability cc_major.cc_minor (0: none).
AttentionPlanInput attention_plan_input(const ModelConfig& config, AttentionChoice choice,
                                        int cc_major, int cc_minor);
// Versions, the current device (if any) and the plan; a kCudnn that cannot be honoured lands in
// plan_error (with the plan of kAuto beside it), it does not throw.
CudaSetupReport setup_report(const ModelConfig& config, AttentionChoice choice);
// One line: "cuDNN library 9.14.0 (libcudnn.so.9), headers 9.19.0; cuBLASLt 130100; ..."
std::string versions_line(const CudaSetupReport& r);

}  // namespace framescribe::inference::cuda
