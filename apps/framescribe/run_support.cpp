#include "run_support.h"

#include <csignal>

namespace framescribe::apps {
namespace {

core::StopFlag* g_stop = nullptr;
extern "C" void on_stop_signal(int) {
  if (g_stop != nullptr) g_stop->request();
}

}  // namespace

std::unique_ptr<pixtral::PixtralWindowEngine> load_window_engine(
    const std::string& model_dir, const EngineChoice& choice,
    const inference::EngineOptions& engine, pixtral::PixtralWindowOptions window) {
  const inference::ModelConfig config = load_config(model_dir, choice);
  inference::Tokenizer tok = inference::Tokenizer::load(inference::find_tokenizer(model_dir));
  return std::make_unique<pixtral::PixtralWindowEngine>(
      config, std::move(tok), inference::load_engine(model_dir, engine), std::move(window));
}

ScopedStopSignals::ScopedStopSignals(core::StopFlag& stop) {
  g_stop = &stop;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

ScopedStopSignals::~ScopedStopSignals() {
  g_stop = nullptr;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

std::unique_ptr<decoder::VideoFrameSource> open_video(const std::string& url,
                                                      const VideoOptions& video,
                                                      const core::StopFlag* stop) {
  return std::make_unique<decoder::VideoFrameSource>(url, video.source(), video.sampling(),
                                                     video.sizing(), stop);
}

core::RunInfo file_run_info(const std::string& name, const decoder::VideoFrameSource& source,
                            const std::string& model_name) {
  core::RunInfo info;
  info.video = name;
  info.duration_ns = source.end_ns();
  info.width_px = source.info().display_width_px;
  info.height_px = source.info().display_height_px;
  info.model = model_name;
  info.sampling = source.sampling_text();
  return info;
}

}  // namespace framescribe::apps
