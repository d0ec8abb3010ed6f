// Which attention kernels the CUDA engine uses, decided once at load from the cuDNN found at run
// time. Pure C++ (no CUDA): unit-tested in every build, the CPU-only presets included.
//
//   AttentionPlanInput in{.choice = AttentionChoice::kAuto, .cudnn = versions, .cc_major = 9,
//                         .text_head_dim = 128, .text_gqa_ratio = 4, .vision_head_dim = 64};
//   AttentionPlan plan = plan_attention(in);   // throws only for kCudnn that cannot be honoured
//   plan.text_prefill.runs == AttentionKernel::kCudnnGraph;  // on cuDNN 9.14 with the path built
//
// The gates are cuDNN's features by version (docs/device.md in the shared folder, "cuDNN
// attention features by version"). Features are gated on min(cudnnGetVersion(), CUDNN_VERSION):
// a feature needs both the library that runs and the headers the descriptors were written for.
// Known library bugs (9.10.0/9.10.1 SDPA) are checked against the library's own version.
#pragma once

#include <string>
#include <string_view>

#include "framescribe/inference/engine.h"

namespace framescribe::inference {

std::string_view to_string(AttentionChoice choice);
// "auto", "cudnn" or "own"; anything else throws Error(kInvalidArgument) naming the choices.
AttentionChoice parse_attention_choice(std::string_view text);

// A cuDNN version. cudnnGetVersion()/CUDNN_VERSION encode 8.x as M*1000+m*100+p (8907) and 9.x
// as M*10000+m*100+p (91400); from_code decodes both.
struct CudnnVersion {
  int major = 0, minor = 0, patch = 0;
  static CudnnVersion from_code(long long code);
  bool operator==(const CudnnVersion&) const = default;
  auto operator<=>(const CudnnVersion&) const = default;
  std::string str() const;  // "9.14.0"
};

// What the process found: the library loaded with dlopen (or why not) and the headers built with.
struct CudnnVersions {
  bool available = false;
  std::string why_unavailable;  // dlerror text, when !available
  CudnnVersion library;         // cudnnGetVersion()
  CudnnVersion headers;         // CUDNN_VERSION of this build
  CudnnVersion effective() const { return library < headers ? library : headers; }
};

enum class AttentionKernel {
  kOwn,        // the engine's CUDA-core kernels (attention.cuh)
  kCudnnOp,    // cuDNN single-operation SDPA descriptor (CUDNN_BACKEND_OPERATION_SDPA_FWD)
  kCudnnGraph  // cuDNN multi-operation graph (matmul, scale, mask, softmax, matmul)
};
std::string_view to_string(AttentionKernel kernel);

struct PathDecision {
  AttentionKernel planned = AttentionKernel::kOwn;  // what the gates allow
  AttentionKernel runs = AttentionKernel::kOwn;     // what this build executes
  std::string reason;                               // one line
};

struct AttentionPlanInput {
  AttentionChoice choice = AttentionChoice::kAuto;
  CudnnVersions cudnn;
  int cc_major = 0, cc_minor = 0;  // the device's compute capability; 0 = no device
  int text_head_dim = 0;
  int text_gqa_ratio = 1;  // query heads per K/V head
  int vision_head_dim = 0;
  bool paged_kv = false;  // the engine's K/V cache is one contiguous block per layer
  // Whether this build contains the cuDNN execution path (cuda/cudnn_attention.h). Without it
  // a path planned for cuDNN runs the own kernels and says so. The two flags below narrow it
  // (the CUDA engine sets all three, cuda_setup.cpp; the defaults describe a complete path):
  bool cudnn_path_built = false;
  // The single-operation SDPA descriptor. Without it, a path the gates give kCudnnOp runs the
  // multi-operation graph, which every version that has the descriptor also runs.
  bool cudnn_op_built = true;
  // The vision encoder on cuDNN (groups of equal images). Without it vision runs the own
  // kernels, also under --attention cudnn (which then covers the text paths).
  bool cudnn_vision_built = true;
};

struct AttentionPlan {
  PathDecision text_prefill, vision, decode;
  std::string summary() const;  // three lines, "text prefill: own (reason)" ...
};

// Decides every path. kAuto never throws (a path cuDNN cannot serve runs the own kernels, with
// the reason); kCudnn throws Error(kUnsupported) naming the first path cuDNN cannot serve and
// why (including "not built yet"); kOwn plans the own kernels everywhere.
AttentionPlan plan_attention(const AttentionPlanInput& in);

// The engine could not build or self-test at load the cuDNN plan of a path `d` planned to run
// on cuDNN (`why`: cuDNN's status and last error string). Under kAuto the path runs the own
// kernels from now on and its reason says why; under kCudnn this throws Error(kUnsupported)
// naming `path` and `why`. kOwn never gets here (nothing was planned).
void fall_back_to_own(PathDecision& d, AttentionChoice choice, std::string_view path,
                      const std::string& why);

// What `framescribe info --device cuda` prints: versions, the device, the plan for `config`'s
// head shapes. Works without a GPU and without cuDNN (each part says why it is missing).
struct CudaSetupReport {
  bool backend_built = false;  // FRAMESCRIBE_CUDA
  CudnnVersions cudnn;
  std::string cudnn_path;    // the file dlopen loaded
  int cublaslt_version = 0;  // cublasLtGetVersion()
  int driver_version = 0;    // cudaDriverGetVersion(), 0 = no driver
  int runtime_version = 0;   // cudaRuntimeGetVersion()
  std::string device;        // "NVIDIA H200"; empty when none
  std::string no_device_why;
  int cc_major = 0, cc_minor = 0;
  AttentionPlan plan;
  std::string plan_error;  // kCudnn that cannot be honoured: the load error's message
};
CudaSetupReport cuda_setup_report(const ModelConfig& config, AttentionChoice choice);

}  // namespace framescribe::inference
