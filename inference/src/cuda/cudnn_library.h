// cuDNN loaded at run time with dlopen, never linked: a binary built here starts where cuDNN is
// missing (or older than the headers), and the engine then runs its own attention kernels.
// The function pointers are typed from cudnn.h's declarations (decltype), so a signature that
// changes in the headers is a compile error, not a wrong call.
//
//   const CudnnLibrary& lib = CudnnLibrary::instance();   // loaded once per process
//   if (lib.available()) lib.api().GetVersion();           // else lib.why_unavailable()
//
// cudnnGetVersion, the error strings and the backend descriptors need no GPU; cudnnCreate,
// the operation graph, plans and execution do (the fused attention of cudnn_attention.h,
// issue 18: compiled, not run on a GPU yet).
#pragma once

#include <cudnn.h>

#include <initializer_list>
#include <string>

#include "framescribe/inference/attention_plan.h"

namespace framescribe::inference::cuda {

struct CudnnApi {
  decltype(&::cudnnGetVersion) GetVersion = nullptr;
  decltype(&::cudnnGetErrorString) GetErrorString = nullptr;
  decltype(&::cudnnGetLastErrorString) GetLastErrorString = nullptr;
  decltype(&::cudnnCreate) Create = nullptr;
  decltype(&::cudnnDestroy) Destroy = nullptr;
  decltype(&::cudnnSetStream) SetStream = nullptr;
  decltype(&::cudnnBackendCreateDescriptor) BackendCreateDescriptor = nullptr;
  decltype(&::cudnnBackendDestroyDescriptor) BackendDestroyDescriptor = nullptr;
  decltype(&::cudnnBackendSetAttribute) BackendSetAttribute = nullptr;
  decltype(&::cudnnBackendGetAttribute) BackendGetAttribute = nullptr;
  decltype(&::cudnnBackendFinalize) BackendFinalize = nullptr;
  decltype(&::cudnnBackendExecute) BackendExecute = nullptr;
};

class CudnnLibrary {
 public:
  // The process-wide library: libcudnn.so.9, then libcudnn.so, loaded on first use and kept
  // loaded until exit (never dlclose'd: descriptors may outlive any one engine).
  static const CudnnLibrary& instance();
  // Tries `names` in order (tests pass missing files or a library without cuDNN's symbols).
  static CudnnLibrary load(std::initializer_list<const char*> names);

  bool available() const { return handle_ != nullptr; }
  const std::string& why_unavailable() const { return why_; }  // dlerror text
  const std::string& path() const { return path_; }            // the name that loaded
  const CudnnApi& api() const { return api_; }
  // Library (cudnnGetVersion), headers (CUDNN_VERSION) and availability.
  CudnnVersions versions() const;

 private:
  void* handle_ = nullptr;
  std::string why_ = "not loaded";
  std::string path_;
  CudnnApi api_;
};

}  // namespace framescribe::inference::cuda
