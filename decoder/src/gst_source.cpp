#include "framescribe/decoder/gst_source.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/core/source_name.h"
#include "gst_ptr.h"
#include "gst_url.h"

namespace framescribe::decoder {
namespace {

using Mono = std::chrono::steady_clock;

std::int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t mono_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Mono::now().time_since_epoch())
      .count();
}

// Seconds from 1900 (NTP era 0) to 1970 (Unix).
constexpr std::int64_t kNtpToUnixNs = 2'208'988'800LL * 1'000'000'000LL;

}  // namespace

void validate(const GstSourceOptions& o) {
  FS_CHECK(!o.url.empty(), kInvalidArgument, "live source: no URL");
  FS_CHECK(o.latency_ms >= 0, kInvalidArgument, "live source: latency must be >= 0 ms");
  FS_CHECK(o.queue_frames >= 1, kInvalidArgument, "live source: queue_frames must be >= 1");
  FS_CHECK(o.stall_timeout_s > 0, kInvalidArgument, "live source: stall timeout must be > 0 s");
  FS_CHECK(o.backoff_initial_s > 0 && o.backoff_max_s >= o.backoff_initial_s, kInvalidArgument,
           "live source: backoff must be > 0 s and its cap at least the initial wait");
}

struct GstLiveSource::Impl {
  GstSourceOptions opt;
  std::string name;                  // redacted
  std::vector<std::string> secrets;  // to scrub from any message (secrets_of)
  std::string uri;                   // what uridecodebin opens
  bool network = false;              // uri is a network URI: only network sources inside it
  bool local = false;                // uri is a file:// URI: played once
  // A local file read as fast as possible: the streaming thread waits for room in the queue
  // instead of dropping (until stop, or `abandon` while the pipeline is torn down).
  bool blocking = false;
  std::atomic<bool> abandon{false};

  // A local source appeared inside a network stream's pipeline (this connection): its frames
  // are never delivered and the connection ends with `refusal` as its reason.
  std::atomic<bool> refused{false};
  std::string refusal;  // under mu

  mutable std::mutex mu;
  std::condition_variable cv;  // queue and stop
  std::deque<core::LiveItem> queue;
  std::size_t queued_frames = 0;
  GstSourceStats stats;
  std::atomic<bool> stop{false};

  // Timeline (under mu): keeps pts increasing across reconnects.
  bool conn_first = true;  // the next frame is the first of this connection
  std::int64_t conn_pts0 = 0, conn_offset = 0;
  std::int64_t last_pts_out = core::kNoTimestamp;
  std::int64_t last_frame_mono_ns = 0;
  bool outage_open = false;
  core::StreamGap outage;
  std::int64_t next_index = 0;
  std::atomic<std::int64_t> last_frame_mono{0};  // for the watchdog

  GstElementPtr pipeline;
  GstElement* capsfilter = nullptr;  // owned by pipeline
  GstElement* convert = nullptr;
  std::thread supervisor;

  std::string scrub(std::string text) const {
    if (!opt.url.empty())
      for (auto p = text.find(opt.url); p != std::string::npos; p = text.find(opt.url, p))
        text.replace(p, opt.url.size(), name);
    for (const std::string& secret : secrets)
      for (auto p = text.find(secret); p != std::string::npos; p = text.find(secret, p + 3))
        text.replace(p, secret.size(), "***");
    return text;
  }

  void push_item(core::LiveItem item) {
    // Called under mu.
    if (item.frame) {
      while (queued_frames >= opt.queue_frames) {
        auto it = std::find_if(queue.begin(), queue.end(),
                               [](const core::LiveItem& i) { return i.frame.has_value(); });
        if (it == queue.end()) break;
        queue.erase(it);
        --queued_frames;
        ++stats.frames_dropped;
      }
      ++queued_frames;
    }
    queue.push_back(std::move(item));
  }

  // appsink callback: GStreamer's streaming thread. Copies the pixels, never blocks for long.
  GstFlowReturn on_sample(GstAppSink* sink) {
    GstSamplePtr sample(gst_app_sink_pull_sample(sink));
    if (!sample || refused.load()) return GST_FLOW_OK;
    GstBuffer* buf = gst_sample_get_buffer(sample.get());
    GstVideoInfo info;
    if (buf == nullptr || !gst_video_info_from_caps(&info, gst_sample_get_caps(sample.get())))
      return GST_FLOW_OK;
    const int w = GST_VIDEO_INFO_WIDTH(&info), h = GST_VIDEO_INFO_HEIGHT(&info);
    GstVideoFrame vf;
    if (!gst_video_frame_map(&vf, &info, buf, GST_MAP_READ)) return GST_FLOW_OK;
    auto img = std::make_shared<core::Image>(w, h, core::PixelFormat::kRgb8);
    const auto* src = static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&vf, 0));
    const int src_stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0);
    for (int y = 0; y < h; ++y)
      std::memcpy(img->data() + img->stride_bytes() * static_cast<std::size_t>(y),
                  src + static_cast<std::ptrdiff_t>(src_stride) * y,
                  static_cast<std::size_t>(w) * 3);
    gst_video_frame_unmap(&vf);

    const std::int64_t mono = mono_now_ns();
    const std::int64_t local_wall = wall_now_ns();
    std::int64_t wall = local_wall;
    bool ntp = false;
    static GstCaps* ntp_caps = gst_caps_new_empty_simple("timestamp/x-ntp");
    if (GstReferenceTimestampMeta* m = gst_buffer_get_reference_timestamp_meta(buf, ntp_caps)) {
      wall = static_cast<std::int64_t>(m->timestamp) - kNtpToUnixNs;
      ntp = true;
    }
    const std::int64_t pts =
        GST_BUFFER_PTS_IS_VALID(buf) ? static_cast<std::int64_t>(GST_BUFFER_PTS(buf)) : mono;
    if (blocking) {
      std::unique_lock lock(mu);
      cv.wait(lock,
              [&] { return stop.load() || abandon.load() || queued_frames < opt.queue_frames; });
    }
    {
      std::lock_guard lock(mu);
      if (conn_first) {
        conn_first = false;
        conn_pts0 = pts;
        conn_offset =
            last_pts_out == core::kNoTimestamp
                ? 0
                : last_pts_out + std::max<std::int64_t>(mono - last_frame_mono_ns, 1'000'000);
      }
      std::int64_t out = conn_offset + (pts - conn_pts0);
      if (last_pts_out != core::kNoTimestamp && out <= last_pts_out) out = last_pts_out + 1;
      if (outage_open) {
        outage_open = false;
        outage.end_wall_ns = local_wall;
        outage.end_pts_ns = out;
        ++stats.gaps;
        FS_LOG_WARN(name << ": stream back after "
                         << core::ns_to_seconds(outage.end_wall_ns - outage.start_wall_ns) << " s ("
                         << outage.reason << ")");
        push_item(core::LiveItem{std::nullopt, outage});
      }
      last_pts_out = out;
      last_frame_mono_ns = mono;
      core::Frame f;
      f.image = std::move(img);
      f.pts_ns = out;
      f.wall_clock_ns = wall;
      f.source_width_px = stats.source_width_px;
      f.source_height_px = stats.source_height_px;
      stats.frames_received++;
      stats.connected = true;
      stats.width_px = w;
      stats.height_px = h;
      stats.last_frame_wall_ns = local_wall;
      stats.ntp_clock = ntp;
      push_item(core::LiveItem{std::move(f), std::nullopt});
    }
    last_frame_mono.store(mono);
    cv.notify_all();
    return GST_FLOW_OK;
  }

  // uridecodebin exposed a decoded pad: size the capsfilter from it and link it.
  void on_pad_added(GstPad* pad) {
    GstCapsPtr caps(gst_pad_get_current_caps(pad));
    if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
    if (!caps || gst_caps_is_empty(caps.get())) return;
    const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
    if (!g_str_has_prefix(gst_structure_get_name(s), "video/")) return;
    int w = 0, h = 0, par_n = 1, par_d = 1;
    gst_structure_get_int(s, "width", &w);
    gst_structure_get_int(s, "height", &h);
    gst_structure_get_fraction(s, "pixel-aspect-ratio", &par_n, &par_d);
    if (w <= 0 || h <= 0) return;
    const int disp_w =
        par_d > 0 ? static_cast<int>(static_cast<std::int64_t>(w) * par_n / par_d) : w;
    core::TargetSize ts;
    try {
      ts = plan_output_size(std::max(disp_w, 1), h, opt.sizing);
    } catch (const Error& e) {
      FS_LOG_ERROR(name << ": " << e.what());
      return;
    }
    {
      std::lock_guard lock(mu);
      stats.source_width_px = disp_w;
      stats.source_height_px = h;
    }
    GstCapsPtr out(gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width",
                                       G_TYPE_INT, ts.width_px, "height", G_TYPE_INT, ts.height_px,
                                       "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr));
    g_object_set(capsfilter, "caps", out.get(), nullptr);
    GstPadPtr sinkpad(gst_element_get_static_pad(convert, "sink"));
    if (gst_pad_is_linked(sinkpad.get())) return;
    if (gst_pad_link(pad, sinkpad.get()) != GST_PAD_LINK_OK)
      FS_LOG_WARN(name << ": cannot link the decoded video");
  }

  void on_source_setup(GstElement* source) {
    GObjectClass* klass = G_OBJECT_GET_CLASS(source);
    if (g_object_class_find_property(klass, "latency"))
      g_object_set(source, "latency", static_cast<guint>(opt.latency_ms), nullptr);
    if (g_object_class_find_property(klass, "protocols")) {
      // GstRTSPLowerTrans: UDP 1, UDP_MCAST 2, TCP 4.
      g_object_set(source, "protocols", opt.rtsp_tcp ? 4u : 3u, nullptr);
    }
    if (g_object_class_find_property(klass, "add-reference-timestamp-meta"))
      g_object_set(source, "add-reference-timestamp-meta", TRUE, nullptr);
    if (g_object_class_find_property(klass, "tcp-timeout"))
      g_object_set(source, "tcp-timeout", static_cast<guint64>(opt.stall_timeout_s * 1e6), nullptr);
  }

  // Every element added anywhere in the pipeline, before it starts (deep-element-added runs
  // inside gst_bin_add, and demuxers add their segment sources before syncing their state).
  // In a network stream, a source that is a URI handler must be reading a network URI.
  void check_element(GstElement* bin, GstElement* e) {
    if (!network) return;
    if (GST_IS_BIN(e)) {
      // A bin added with its children already inside: check each of them.
      GstIterator* it = gst_bin_iterate_recurse(GST_BIN(e));
      GValue v = G_VALUE_INIT;
      while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        check_element(bin, GST_ELEMENT(g_value_get_object(&v)));
        g_value_reset(&v);
      }
      g_value_unset(&v);
      gst_iterator_free(it);
      return;
    }
    if (!GST_IS_URI_HANDLER(e) || gst_uri_handler_get_uri_type(GST_URI_HANDLER(e)) != GST_URI_SRC)
      return;
    GCharPtr reads(gst_uri_handler_get_uri(GST_URI_HANDLER(e)));
    std::string what;
    if (reads) {
      if (network_scheme(scheme_of(reads.get()))) return;
      what = core::redact_source(reads.get());
    } else {
      // No URI yet: allowed only if the element can read some network scheme.
      const gchar* const* protocols = gst_uri_handler_get_protocols(GST_URI_HANDLER(e));
      for (; protocols != nullptr && *protocols != nullptr; ++protocols)
        if (network_scheme(scheme_of((std::string(*protocols) + "://").c_str()))) return;
      what = "no URI";
    }
    GstElementFactory* f = gst_element_get_factory(e);
    const std::string factory = f != nullptr ? GST_OBJECT_NAME(f) : std::string(GST_OBJECT_NAME(e));
    const std::string why = "refused: the network stream asked for a local source (" + factory +
                            " reading " + what +
                            "); a network stream may only read from the network (a playlist "
                            "that lists file:// segments, for example, is not played)";
    {
      std::lock_guard lock(mu);
      if (refusal.empty()) refusal = why;
    }
    refused.store(true);
    // Never let it read: an empty location makes filesrc (and others with one) fail to start
    // before opening anything (a FIFO would even block), and every buffer it would still push
    // is dropped.
    if (GParamSpec* p = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "location");
        p != nullptr && p->value_type == G_TYPE_STRING && (p->flags & G_PARAM_WRITABLE) != 0)
      g_object_set(e, "location", nullptr, nullptr);
    GstIterator* pads = gst_element_iterate_src_pads(e);
    GValue v = G_VALUE_INIT;
    while (gst_iterator_next(pads, &v) == GST_ITERATOR_OK) {
      gst_pad_add_probe(
          GST_PAD(g_value_get_object(&v)),
          static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                       GST_PAD_PROBE_TYPE_PUSH | GST_PAD_PROBE_TYPE_PULL),
          [](GstPad*, GstPadProbeInfo*, gpointer) { return GST_PAD_PROBE_DROP; }, nullptr, nullptr);
      g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(pads);
    // End this connection: the supervisor sees the error and reports `refusal`.
    GError* err =
        g_error_new_literal(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED, why.c_str());
    GErrorPtr owned(err);
    gst_element_post_message(bin, gst_message_new_error(GST_OBJECT(e), err, nullptr));
  }

  static GstFlowReturn sample_cb(GstAppSink* sink, gpointer self) {
    return static_cast<Impl*>(self)->on_sample(sink);
  }
  static void pad_cb(GstElement*, GstPad* pad, gpointer self) {
    static_cast<Impl*>(self)->on_pad_added(pad);
  }
  static void setup_cb(GstElement*, GstElement* source, gpointer self) {
    static_cast<Impl*>(self)->on_source_setup(source);
  }
  static void deep_added_cb(GstBin* bin, GstBin*, GstElement* element, gpointer self) {
    static_cast<Impl*>(self)->check_element(GST_ELEMENT(bin), element);
  }

  bool build() {
    pipeline.reset(gst_pipeline_new("framescribe-live"));
    GstElement* src = gst_element_factory_make("uridecodebin", "src");
    convert = gst_element_factory_make("videoconvert", "convert");
    GstElement* scale = gst_element_factory_make("videoscale", "scale");
    capsfilter = gst_element_factory_make("capsfilter", "size");
    GstElement* sink = gst_element_factory_make("appsink", "sink");
    if (!pipeline || !src || !convert || !scale || !capsfilter || !sink) {
      for (GstElement* e : {src, convert, scale, capsfilter, sink})
        if (e) gst_object_unref(e);
      FS_LOG_ERROR(name << ": a GStreamer element is missing (uridecodebin, videoconvert, "
                           "videoscale, capsfilter, appsink); install gst-plugins-base");
      return false;
    }
    g_signal_connect(pipeline.get(), "deep-element-added", G_CALLBACK(deep_added_cb), this);
    gst_bin_add_many(GST_BIN(pipeline.get()), src, convert, scale, capsfilter, sink, nullptr);
    if (!gst_element_link_many(convert, scale, capsfilter, sink, nullptr)) return false;
    g_object_set(src, "uri", uri.c_str(), nullptr);
    GstCapsPtr raw(gst_caps_from_string("video/x-raw"));
    g_object_set(src, "caps", raw.get(), nullptr);
    g_signal_connect(src, "pad-added", G_CALLBACK(pad_cb), this);
    g_signal_connect(src, "source-setup", G_CALLBACK(setup_cb), this);
    // sync: the sink waits for each frame's time on the pipeline clock (a local file played like
    // a live stream); drop: a live stream never waits for us (a file read as fast as possible
    // does, and loses nothing).
    g_object_set(sink, "max-buffers", 2u, "drop", blocking ? FALSE : TRUE, "sync",
                 local && opt.realtime ? TRUE : FALSE, "emit-signals", FALSE, nullptr);
    GstAppSinkCallbacks cbs{};
    cbs.new_sample = &sample_cb;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, this, nullptr);
    return true;
  }

  void teardown() {
    if (pipeline) gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    pipeline.reset();
    capsfilter = convert = nullptr;
  }

  bool wait_stop_for(double seconds) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return stop.load(); });
  }

  // Runs one connection until it fails; returns why.
  std::string run_once() {
    {
      std::lock_guard lock(mu);
      conn_first = true;
      refusal.clear();
    }
    refused.store(false);
    abandon.store(false);
    if (!build()) return "cannot build the pipeline";
    GstBusPtr bus(gst_element_get_bus(pipeline.get()));
    if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      return "cannot start";
    const std::int64_t started = mono_now_ns();
    const auto stall_ns = static_cast<std::int64_t>(opt.stall_timeout_s * 1e9);
    while (!stop.load()) {
      GstMessagePtr msg(gst_bus_timed_pop_filtered(
          bus.get(), 100 * GST_MSECOND,
          static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS)));
      if (msg && GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_ERROR) {
        GError* err = nullptr;
        gst_message_parse_error(msg.get(), &err, nullptr);
        GErrorPtr owned(err);
        if (refused.load()) {
          std::lock_guard lock(mu);
          return refusal;
        }
        return "error: " + scrub(err != nullptr ? err->message : "unknown");
      }
      if (msg && GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_EOS) return "end of stream";
      // A file read as fast as we take it waits for us: that is no stall.
      const std::int64_t last = std::max(last_frame_mono.load(), started);
      if (!blocking && mono_now_ns() - last > stall_ns) return "stall";
    }
    return "stopped";
  }

  void supervise() {
    double backoff = opt.backoff_initial_s;
    bool first = true;
    while (!stop.load()) {
      if (!first) {
        std::lock_guard lock(mu);
        ++stats.reconnects;
      }
      first = false;
      const std::int64_t frames_before = [&] {
        std::lock_guard lock(mu);
        return stats.frames_received;
      }();
      const std::string why = run_once();
      {
        std::lock_guard lock(mu);
        abandon.store(true);  // a streaming thread waiting for room gives up
      }
      cv.notify_all();
      teardown();
      if (local) {
        // Played once: its end (or an error) ends the source; a retry would replay it.
        std::lock_guard lock(mu);
        stats.connected = false;
        stats.ended = true;
        stats.failed = stats.frames_received == 0 && why != "stopped";
        if (why != "stopped") stats.last_error = why;
        // A failure is the caller's to report (stats().failed); a cut-short file is a warning.
        if (!stats.failed && why != "end of stream" && why != "stopped")
          FS_LOG_WARN(name << ": " << why << " (the file ends here)");
        break;
      }
      bool had_frames = false;
      {
        std::lock_guard lock(mu);
        had_frames = stats.frames_received > frames_before;
        if (why != "stopped") stats.last_error = why;
        if (stats.connected) {
          stats.connected = false;
          if (!outage_open) {
            outage_open = true;
            outage = core::StreamGap{};
            outage.start_wall_ns = stats.last_frame_wall_ns;
            outage.start_pts_ns = last_pts_out;
            outage.reason = why;
          }
        }
      }
      if (stop.load()) break;
      if (had_frames) backoff = opt.backoff_initial_s;
      FS_LOG_WARN(name << ": " << why << "; retrying in " << backoff << " s");
      if (wait_stop_for(backoff)) break;
      backoff = std::min(backoff * 2, opt.backoff_max_s);
    }
    cv.notify_all();
  }
};

GstLiveSource::GstLiveSource(GstSourceOptions options) : impl_(std::make_unique<Impl>()) {
  validate(options);
  ensure_gstreamer();
  Impl& m = *impl_;
  m.opt = std::move(options);
  m.name = core::redact_source(m.opt.url);
  m.secrets = secrets_of(m.opt.url);
  if (gst_uri_is_valid(m.opt.url.c_str())) {
    m.uri = m.opt.url;
  } else {
    GError* err = nullptr;
    GCharPtr u(gst_filename_to_uri(m.opt.url.c_str(), &err));
    GErrorPtr owned(err);
    FS_CHECK(u != nullptr, kInvalidArgument, m.name << ": not a URI nor a file path");
    m.uri = u.get();
  }
  m.network = network_scheme(scheme_of(m.uri.c_str()));
  m.local = scheme_of(m.uri.c_str()) == "file";
  m.blocking = m.local && !m.opt.realtime;
  m.supervisor = std::thread([&m] { m.supervise(); });
}

GstLiveSource::~GstLiveSource() {
  request_stop();
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
  impl_->teardown();
}

std::optional<core::LiveItem> GstLiveSource::next(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  m.cv.wait_for(lock, timeout, [&] { return m.stop.load() || !m.queue.empty() || m.stats.ended; });
  if (m.stop.load()) return std::nullopt;
  if (m.queue.empty()) {
    if (!m.stats.ended) return core::LiveItem{};
    // A local file that gave no frame: not a video GStreamer can decode. An error, so a live
    // job ends as failed (sinks aborted) and the command exits 1.
    FS_CHECK(!m.stats.failed, kInvalidArgument,
             m.name << ": cannot play it as a video (" << m.stats.last_error
                    << "); give a video file or a stream URL");
    return std::nullopt;
  }
  core::LiveItem item = std::move(m.queue.front());
  m.queue.pop_front();
  if (item.frame) {
    --m.queued_frames;
    item.frame->index = m.next_index++;
  }
  lock.unlock();
  m.cv.notify_all();  // room in the queue for a file's waiting streaming thread
  return item;
}

void GstLiveSource::request_stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop.store(true);
  }
  impl_->cv.notify_all();
}

GstSourceStats GstLiveSource::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

const std::string& GstLiveSource::name() const {
  return impl_->name;
}

}  // namespace framescribe::decoder
