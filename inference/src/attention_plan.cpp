#include "framescribe/inference/attention_plan.h"

#include <optional>
#include <sstream>

#include "framescribe/core/error.h"

#if FRAMESCRIBE_HAVE_CUDA
#include "cuda/cuda_setup.h"
#endif

namespace framescribe::inference {
namespace {

// docs/device.md (shared folder), "cuDNN attention features by version".
constexpr CudnnVersion kFusedSdpa{8, 9, 0};      // flash attention graph
constexpr CudnnVersion kStridesMasks{8, 9, 3};   // arbitrary strides, padding, sequence lengths
constexpr CudnnVersion kGqa{8, 9, 7};            // K/V heads fewer than query heads
constexpr CudnnVersion kPagedKv{9, 5, 0};        // paged K/V
constexpr CudnnVersion kBottomRight{9, 6, 0};    // bottom-right causal at any length
constexpr CudnnVersion kFastDecode{9, 8, 0};     // faster single-query decode
constexpr CudnnVersion kSdpaOp{9, 13, 1};        // single-operation SDPA descriptor, no masks
constexpr CudnnVersion kSdpaOpMasks{9, 14, 0};   // ... with padding masks / sequence lengths
constexpr CudnnVersion kSdpaOpCausal{9, 21, 0};  // ... with causal bands
constexpr CudnnVersion kBadSdpa[] = {{9, 10, 0}, {9, 10, 1}};  // known SDPA bugs: avoid
constexpr int kMinCcMajor = 8;    // fused flash attention: Ampere and newer
constexpr int kMaxHeadDim = 128;  // the size every listed version supports

enum class Path { kText, kVision, kDecode };

// Why cuDNN cannot serve `path`, or nullopt. Sets `kernel` to the variant it would use.
std::optional<std::string> gate(const AttentionPlanInput& in, Path path, AttentionKernel& kernel) {
  const CudnnVersions& c = in.cudnn;
  std::ostringstream why;
  if (!c.available) return "cuDNN unavailable: " + c.why_unavailable;
  for (const CudnnVersion& bad : kBadSdpa) {
    if (c.library == bad) {
      return "cuDNN library " + c.library.str() + " has known SDPA bugs (avoid 9.10.0 and 9.10.1)";
    }
  }
  if (in.cc_major == 0) return std::string("no CUDA device");
  if (in.cc_major < kMinCcMajor) {
    why << "fused flash attention needs compute capability >= " << kMinCcMajor << ".0, the device "
        << "has " << in.cc_major << "." << in.cc_minor;
    return why.str();
  }
  const CudnnVersion v = c.effective();
  const std::string vs = "cuDNN " + v.str() + " (min of library " + c.library.str() + ", headers " +
                         c.headers.str() + ")";
  if (v < kFusedSdpa) return vs + ": fused SDPA needs " + kFusedSdpa.str();
  if (v < kStridesMasks) {
    return vs + ": strided K/V and sequence lengths need " + kStridesMasks.str();
  }
  const int hd = path == Path::kVision ? in.vision_head_dim : in.text_head_dim;
  if (hd <= 0 || hd % 8 != 0 || hd > kMaxHeadDim) {
    why << "head_dim " << hd << " (cuDNN SDPA here: a multiple of 8, at most " << kMaxHeadDim
        << ")";
    return why.str();
  }
  if (path != Path::kVision && in.text_gqa_ratio > 1 && v < kGqa) {
    return vs + ": GQA needs " + kGqa.str();
  }
  if (path != Path::kVision && in.paged_kv && v < kPagedKv) {
    return vs + ": paged K/V needs " + kPagedKv.str();
  }
  switch (path) {
    case Path::kText:
      // Chunked prefill puts the queries at the end of a longer K/V: bottom-right causal.
      if (v < kBottomRight) return vs + ": bottom-right causal at any length needs 9.6.0";
      kernel = v >= kSdpaOpCausal ? AttentionKernel::kCudnnOp : AttentionKernel::kCudnnGraph;
      break;
    case Path::kVision:
      // Block-diagonal per image: sequence lengths / padding masks, no causal mask.
      kernel = v >= kSdpaOpMasks ? AttentionKernel::kCudnnOp : AttentionKernel::kCudnnGraph;
      break;
    case Path::kDecode:
      if (in.choice == AttentionChoice::kAuto && v < kFastDecode) {
        return vs + ": single-query decode is fast only from " + kFastDecode.str() +
               "; the own split-K kernel is kept";
      }
      kernel = v >= kSdpaOpMasks ? AttentionKernel::kCudnnOp : AttentionKernel::kCudnnGraph;
      break;
  }
  static_assert(kSdpaOp < kSdpaOpMasks, "every path needs masks: the op descriptor from 9.14");
  return std::nullopt;
}

std::string variant_note(Path path, AttentionKernel k) {
  std::string s =
      k == AttentionKernel::kCudnnOp ? "single-operation SDPA descriptor" : "multi-operation graph";
  switch (path) {
    case Path::kText:
      s += k == AttentionKernel::kCudnnOp
               ? ", causal band"
               : ", bottom-right causal mask (the op descriptor's causal bands need 9.21)";
      break;
    case Path::kVision:
      s += ", non-causal, per-image sequence lengths";
      break;
    case Path::kDecode:
      // cuDNN 9.18.1 release notes: one query with GQA and a causal mask gives wrong results.
      s += ", sequence lengths only, no causal mask (9.18.1: one-query GQA + causal is wrong)";
      break;
  }
  return s;
}

const char* path_name(Path path) {
  switch (path) {
    case Path::kText:
      return "text prefill";
    case Path::kVision:
      return "vision encoder";
    case Path::kDecode:
      return "decode";
  }
  return "?";
}

PathDecision decide(const AttentionPlanInput& in, Path path) {
  PathDecision d;
  if (in.choice == AttentionChoice::kOwn) {
    d.reason = "--attention own";
    return d;
  }
  AttentionKernel kernel = AttentionKernel::kOwn;
  std::optional<std::string> why = gate(in, path, kernel);
  if (why) {
    FS_CHECK(in.choice != AttentionChoice::kCudnn, kUnsupported,
             "--attention cudnn: cuDNN cannot serve the "
                 << path_name(path) << " attention: " << *why << "; use --attention auto or own");
    d.reason = *why;
    return d;
  }
  d.planned = kernel;
  const std::string note = variant_note(path, kernel);
  if (!in.cudnn_path_built) {
    FS_CHECK(in.choice != AttentionChoice::kCudnn, kUnsupported,
             "--attention cudnn: cuDNN " << in.cudnn.effective().str() << " would serve the "
                                         << path_name(path) << " attention (" << note
                                         << "), but the cuDNN attention path is not built yet "
                                            "(issue 18); use --attention auto or own");
    d.reason = "cudnn planned (" + note + "), not built yet: own kernels run";
    return d;
  }
  if (path == Path::kVision && !in.cudnn_vision_built) {
    d.reason = "cudnn planned (" + note +
               "), not built yet for packed images (ragged offsets): own kernels run";
    return d;
  }
  d.runs = kernel;
  d.reason = note;
  if (kernel == AttentionKernel::kCudnnOp && !in.cudnn_op_built) {
    d.runs = AttentionKernel::kCudnnGraph;
    d.reason = variant_note(path, AttentionKernel::kCudnnGraph) +
               " (the single-operation descriptor is not built; the graph serves)";
  }
  if (path == Path::kDecode && in.choice == AttentionChoice::kAuto) {
    d.reason += "; to be timed against the own kernel at load";
  }
  return d;
}

}  // namespace

std::string_view to_string(AttentionChoice choice) {
  switch (choice) {
    case AttentionChoice::kAuto:
      return "auto";
    case AttentionChoice::kCudnn:
      return "cudnn";
    case AttentionChoice::kOwn:
      return "own";
  }
  return "?";
}

AttentionChoice parse_attention_choice(std::string_view text) {
  if (text == "auto") return AttentionChoice::kAuto;
  if (text == "cudnn") return AttentionChoice::kCudnn;
  if (text == "own") return AttentionChoice::kOwn;
  FS_FAIL(kInvalidArgument, "--attention must be auto, cudnn or own, got '" << text << "'");
  return AttentionChoice::kAuto;  // not reached
}

std::string_view to_string(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::kOwn:
      return "own";
    case AttentionKernel::kCudnnOp:
      return "cudnn (SDPA op)";
    case AttentionKernel::kCudnnGraph:
      return "cudnn (graph)";
  }
  return "?";
}

CudnnVersion CudnnVersion::from_code(long long code) {
  if (code <= 0) return {};
  // 8.x: M*1000 + m*100 + p; 9.x and later: M*10000 + m*100 + p.
  if (code < 10000) {
    return {static_cast<int>(code / 1000), static_cast<int>(code % 1000 / 100),
            static_cast<int>(code % 100)};
  }
  return {static_cast<int>(code / 10000), static_cast<int>(code % 10000 / 100),
          static_cast<int>(code % 100)};
}

std::string CudnnVersion::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::string AttentionPlan::summary() const {
  std::ostringstream s;
  auto line = [&s](const char* name, const PathDecision& d) {
    s << name << to_string(d.runs);
    if (d.planned != d.runs) s << " (planned: " << to_string(d.planned) << ")";
    s << " - " << d.reason << "\n";
  };
  line("text prefill:   ", text_prefill);
  line("vision encoder: ", vision);
  line("decode:         ", decode);
  return s.str();
}

void fall_back_to_own(PathDecision& d, AttentionChoice choice, std::string_view path,
                      const std::string& why) {
  FS_CHECK(choice != AttentionChoice::kCudnn, kUnsupported,
           "--attention cudnn: the cuDNN plan for the "
               << path << " attention failed at load: " << why << "; use --attention auto or own");
  d.runs = AttentionKernel::kOwn;
  d.reason = "cuDNN plan failed at load, own kernels run: " + why;
  // One line, whatever cuDNN's error string holds.
  for (char& c : d.reason) {
    if (c == '\n' || c == '\r') c = ' ';
  }
}

AttentionPlan plan_attention(const AttentionPlanInput& in) {
  AttentionPlan p;
  p.text_prefill = decide(in, Path::kText);
  p.vision = decide(in, Path::kVision);
  p.decode = decide(in, Path::kDecode);
  return p;
}

CudaSetupReport cuda_setup_report(const ModelConfig& config, AttentionChoice choice) {
#if FRAMESCRIBE_HAVE_CUDA
  return cuda::setup_report(config, choice);
#else
  CudaSetupReport r;
  r.cudnn.why_unavailable = "this build has no CUDA backend (FRAMESCRIBE_CUDA=OFF)";
  r.no_device_why = r.cudnn.why_unavailable;
  AttentionPlanInput in;
  in.choice = choice;
  in.cudnn = r.cudnn;
  in.text_head_dim = config.text.head_dim;
  in.vision_head_dim = config.vision.head_dim;
  try {
    r.plan = plan_attention(in);
  } catch (const Error& e) {
    r.plan_error = e.what();
    in.choice = AttentionChoice::kAuto;
    r.plan = plan_attention(in);
  }
  return r;
#endif
}

}  // namespace framescribe::inference
