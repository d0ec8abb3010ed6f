// One model shared by several window engines (monitor's streams, batch's parallel videos, the
// server's requests): the weights and a KV pool held once by a multi-sequence engine, and a
// StepScheduler (inference/step_scheduler.h) that batches the engines' work step by step. Each
// window engine is a scheduler client with a sequence of its own, so streams never wait for a
// whole window of another stream, and each keeps its own prompt prefix.
//
//   std::unique_ptr<pixtral::SharedModel> model = pixtral::SharedModel::load(
//       dir, choice, engine_options, {.clients = 4, .context_tokens = 32768});
//   if (!model) { /* the device has no multi-sequence engine: one window engine and
//                    pipeline::EngineScheduler, as before */ }
//   auto cam1 = model->window_engine("cam1", /*priority=*/0, window_options);
//   pipeline::VideoPipeline(*cam1, sinks, options).run(...);    // each on its own thread
//
// Results are those of each window engine alone on an engine of its own (bit for bit on the CPU
// engine); only the timing is shared. The pool is sized for `clients` sequences of
// `context_tokens` (CPU: storage is taken as blocks are first used); more clients than that
// still work (the scheduler preempts and recomputes).
// Thread-safety: window_engine() and stats() from any thread; window engines must be destroyed
// before the SharedModel. Errors: as load_window_engine's; Error(kInvalidArgument) for
// clients < 1.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/step_scheduler.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pixtral/window_engine.h"

namespace framescribe::pixtral {

struct SharedModelOptions {
  int clients = 1;                  // sequences the KV pool is sized for
  std::int64_t context_tokens = 0;  // per sequence (0: the engine's context)
  inference::StepSchedulerOptions scheduler;
};

class SharedModel {
 public:
  // nullptr where `engine.device` has no multi-sequence engine (CUDA, until issue 24's CUDA
  // part runs).
  static std::unique_ptr<SharedModel> load(const std::string& model_dir,
                                           const inference::EngineChoice& choice,
                                           const inference::EngineOptions& engine,
                                           const SharedModelOptions& options);
  // Over an engine already made (tests); the tokenizer is the model's.
  SharedModel(inference::ModelConfig config, inference::Tokenizer tokenizer,
              std::unique_ptr<inference::BatchEngine> engine,
              const inference::StepSchedulerOptions& scheduler);
  ~SharedModel();

  // A window engine whose inference::Engine is a scheduler client named `name` (errors, logs).
  std::unique_ptr<PixtralWindowEngine> window_engine(const std::string& name, int priority,
                                                     PixtralWindowOptions window);

  const inference::ModelConfig& config() const { return config_; }
  const inference::Tokenizer& tokenizer() const { return tok_; }
  inference::StepScheduler& scheduler() { return *scheduler_; }
  inference::StepSchedulerStats stats() const { return scheduler_->stats(); }

 private:
  inference::ModelConfig config_;
  inference::Tokenizer tok_;
  std::unique_ptr<inference::BatchEngine> engine_;
  std::unique_ptr<inference::StepScheduler> scheduler_;
};

}  // namespace framescribe::pixtral
