#include "cuda/cudnn_library.h"

#include <dlfcn.h>

namespace framescribe::inference::cuda {
namespace {

// dlsym into a typed pointer; false (and `why` = dlerror) when the symbol is missing.
template <typename Fn>
bool resolve(void* handle, const char* name, Fn& out, std::string& why) {
  (void)dlerror();
  void* sym = dlsym(handle, name);
  if (sym == nullptr) {
    const char* err = dlerror();
    why = err != nullptr ? err : std::string(name) + ": symbol is null";
    return false;
  }
  out = reinterpret_cast<Fn>(sym);
  return true;
}

}  // namespace

CudnnLibrary CudnnLibrary::load(std::initializer_list<const char*> names) {
  CudnnLibrary lib;
  std::string errors;
  void* handle = nullptr;
  for (const char* name : names) {
    // RTLD_LOCAL: cuDNN's symbols stay out of the global namespace of the process.
    handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      lib.path_ = name;
      break;
    }
    const char* err = dlerror();
    if (!errors.empty()) errors += "; ";
    errors += err != nullptr ? err : name;
  }
  if (handle == nullptr) {
    lib.why_ = errors.empty() ? "no library name given" : errors;
    return lib;
  }
  CudnnApi& a = lib.api_;
  std::string why;
  const bool ok =
      resolve(handle, "cudnnGetVersion", a.GetVersion, why) &&
      resolve(handle, "cudnnGetErrorString", a.GetErrorString, why) &&
      resolve(handle, "cudnnGetLastErrorString", a.GetLastErrorString, why) &&
      resolve(handle, "cudnnCreate", a.Create, why) &&
      resolve(handle, "cudnnDestroy", a.Destroy, why) &&
      resolve(handle, "cudnnSetStream", a.SetStream, why) &&
      resolve(handle, "cudnnBackendCreateDescriptor", a.BackendCreateDescriptor, why) &&
      resolve(handle, "cudnnBackendDestroyDescriptor", a.BackendDestroyDescriptor, why) &&
      resolve(handle, "cudnnBackendSetAttribute", a.BackendSetAttribute, why) &&
      resolve(handle, "cudnnBackendGetAttribute", a.BackendGetAttribute, why) &&
      resolve(handle, "cudnnBackendFinalize", a.BackendFinalize, why) &&
      resolve(handle, "cudnnBackendExecute", a.BackendExecute, why);
  if (!ok) {
    // An old or foreign library under the name: unusable, not an error.
    lib.why_ = lib.path_ + ": " + why;
    lib.api_ = {};
    lib.path_.clear();
    (void)dlclose(handle);
    return lib;
  }
  lib.handle_ = handle;
  lib.why_.clear();
  return lib;
}

const CudnnLibrary& CudnnLibrary::instance() {
  static const CudnnLibrary lib = load({"libcudnn.so.9", "libcudnn.so"});
  return lib;
}

CudnnVersions CudnnLibrary::versions() const {
  CudnnVersions v;
  v.headers = CudnnVersion::from_code(CUDNN_VERSION);
  v.available = available();
  if (!v.available) {
    v.why_unavailable = why_;
    return v;
  }
  // cudnnGetVersion needs no GPU and no handle.
  v.library = CudnnVersion::from_code(static_cast<long long>(api_.GetVersion()));
  return v;
}

}  // namespace framescribe::inference::cuda
