// RAII owners for the GStreamer handles the live source uses (private to the decoder).
//
//   GstElementPtr pipe(gst_pipeline_new("live"));   // unref'd on every exit path
//   GstSamplePtr s(gst_app_sink_pull_sample(sink));
//
// One owner per reference; threading as the handle itself.
#pragma once

#include <memory>

#include <gst/gst.h>

namespace framescribe::decoder {

struct GstObjectDeleter {
  void operator()(gpointer o) const noexcept {
    if (o) gst_object_unref(o);
  }
};
struct GstSampleDeleter {
  void operator()(GstSample* s) const noexcept { gst_sample_unref(s); }
};
struct GstCapsDeleter {
  void operator()(GstCaps* c) const noexcept { gst_caps_unref(c); }
};
struct GstMessageDeleter {
  void operator()(GstMessage* m) const noexcept { gst_message_unref(m); }
};
struct GFreeDeleter {
  void operator()(gpointer p) const noexcept { g_free(p); }
};
struct GErrorDeleter {
  void operator()(GError* e) const noexcept { g_error_free(e); }
};

using GstElementPtr = std::unique_ptr<GstElement, GstObjectDeleter>;
using GstBusPtr = std::unique_ptr<GstBus, GstObjectDeleter>;
using GstPadPtr = std::unique_ptr<GstPad, GstObjectDeleter>;
using GstSamplePtr = std::unique_ptr<GstSample, GstSampleDeleter>;
using GstCapsPtr = std::unique_ptr<GstCaps, GstCapsDeleter>;
using GstMessagePtr = std::unique_ptr<GstMessage, GstMessageDeleter>;
using GCharPtr = std::unique_ptr<gchar, GFreeDeleter>;
using GErrorPtr = std::unique_ptr<GError, GErrorDeleter>;

}  // namespace framescribe::decoder
