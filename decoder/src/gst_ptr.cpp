#include "gst_ptr.h"

#include <mutex>

#include "framescribe/decoder/gst_source.h"

namespace framescribe::decoder {

void ensure_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

}  // namespace framescribe::decoder
