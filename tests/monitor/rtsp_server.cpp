#include "monitor/rtsp_server.h"

#include <stdexcept>

#include "framescribe/decoder/gst_source.h"

namespace framescribe::testing {
namespace {

GstRTSPFilterResult remove_client(GstRTSPServer*, GstRTSPClient*, gpointer) {
  return GST_RTSP_FILTER_REMOVE;
}

}  // namespace

RtspTestServer::RtspTestServer(int fps, int width, int height)
    : fps_(fps), width_(width), height_(height) {
  decoder::ensure_gstreamer();
  start();
}

RtspTestServer::~RtspTestServer() {
  stop();
}

void RtspTestServer::start() {
  if (server_ != nullptr) return;
  ctx_ = g_main_context_new();
  loop_ = g_main_loop_new(ctx_, FALSE);
  server_ = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server_, "127.0.0.1");
  gst_rtsp_server_set_service(server_, std::to_string(port_).c_str());
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  const std::string launch =
      "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=" + std::to_string(width_) +
      ",height=" + std::to_string(height_) + ",framerate=" + std::to_string(fps_) +
      "/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=" + std::to_string(fps_) +
      " ! rtph264pay name=pay0 pt=96 config-interval=1 )";
  gst_rtsp_media_factory_set_launch(factory, launch.c_str());
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server_);
  gst_rtsp_mount_points_add_factory(mounts, "/test", factory);
  g_object_unref(mounts);
  source_id_ = gst_rtsp_server_attach(server_, ctx_);
  if (source_id_ == 0) throw std::runtime_error("RTSP test server: cannot listen");
  port_ = gst_rtsp_server_get_bound_port(server_);
  thread_ = std::thread([loop = loop_] { g_main_loop_run(loop); });
}

void RtspTestServer::stop() {
  if (server_ == nullptr) return;
  // Close the clients and the listening socket on the loop's own thread, then end the loop.
  struct Job {
    RtspTestServer* self;
  } job{this};
  GSource* idle = g_idle_source_new();
  g_source_set_callback(
      idle,
      [](gpointer p) -> gboolean {
        auto* s = static_cast<Job*>(p)->self;
        gst_rtsp_server_client_filter(s->server_, remove_client, nullptr);
        if (GSource* src = g_main_context_find_source_by_id(s->ctx_, s->source_id_))
          g_source_destroy(src);
        g_main_loop_quit(s->loop_);
        return G_SOURCE_REMOVE;
      },
      &job, nullptr);
  g_source_attach(idle, ctx_);
  g_source_unref(idle);
  thread_.join();
  // Let the sessions and media finish tearing down.
  for (int i = 0; i < 100 && g_main_context_iteration(ctx_, FALSE); ++i) {
  }
  g_object_unref(server_);
  server_ = nullptr;
  for (int i = 0; i < 100 && g_main_context_iteration(ctx_, FALSE); ++i) {
  }
  g_main_loop_unref(loop_);
  g_main_context_unref(ctx_);
  loop_ = nullptr;
  ctx_ = nullptr;
}

std::string RtspTestServer::url(const std::string& userinfo) const {
  return "rtsp://" + (userinfo.empty() ? "" : userinfo + "@") +
         "127.0.0.1:" + std::to_string(port_) + "/test";
}

}  // namespace framescribe::testing
