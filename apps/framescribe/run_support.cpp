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

}  // namespace framescribe::apps
