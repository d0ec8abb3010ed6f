// StepScheduler (step_scheduler.h): the client a caller holds, an Engine with its own sequence
// and a BatchEngine view (batch()) over the client's sequences, both calling into the scheduler.
#include <algorithm>

#include "framescribe/core/error.h"
#include "step_scheduler_impl.h"

namespace framescribe::inference {
namespace {

class ClientBatch final : public BatchEngine {
 public:
  ClientBatch(StepScheduler::Impl& s, SchedClient* c) : s_(s), c_(c) {}
  const ModelConfig& config() const override { return s_.engine_.config(); }
  std::string device_name() const override { return s_.engine_.device_name(); }
  MemoryUse memory_use() const override { return s_.memory_use(); }
  std::vector<float> encode_images(std::span<const PixelImage* const> images) override {
    return s_.encode(c_, images);
  }
  std::int64_t max_context() const override { return s_.engine_.max_context(); }
  SeqId create() override { return s_.create(c_); }
  SeqId fork(SeqId src) override { return s_.fork(c_, src); }
  void truncate(SeqId seq, std::int64_t n) override { s_.truncate(c_, seq, n); }
  void release(SeqId seq) override { s_.release(c_, seq); }
  std::int64_t length(SeqId seq) const override { return s_.length(c_, seq); }
  // Free blocks: those this client could have with every other client's sequences preempted.
  KvStats kv_stats() const override { return s_.kv_stats(c_); }
  // The shared pool's table: read it only while no other client runs (tests).
  const KvBlockTable& kv_table() const override { return s_.engine_.kv_table(); }
  std::int64_t blocks_needed(std::span<const StepSpan> spans) const override {
    return s_.blocks_needed(c_, spans);
  }
  StepResult step(std::span<const StepSpan> spans) override { return s_.run(c_, spans); }
  void shift_out(SeqId seq, std::int64_t begin, std::int64_t end) override {
    s_.shift_out(c_, seq, begin, end);
  }
  std::int64_t shift_blocks_needed(SeqId seq, std::int64_t begin, std::int64_t end) const override {
    return s_.shift_blocks_needed(c_, seq, begin, end);
  }

 private:
  StepScheduler::Impl& s_;
  SchedClient* c_;
};

class ClientEngine final : public Engine {
 public:
  ClientEngine(StepScheduler::Impl& s, std::string name, int priority)
      : s_(s), c_(s.add_client(std::move(name), priority)), batch_(s, c_) {}
  ~ClientEngine() override { s_.remove_client(c_); }

  const ModelConfig& config() const override { return s_.engine_.config(); }
  std::string_view backend_name() const override { return "scheduled"; }
  std::string device_name() const override { return s_.engine_.device_name(); }
  MemoryUse memory_use() const override { return s_.memory_use(); }
  using Engine::encode_images;
  std::vector<float> encode_images(std::span<const PixelImage* const> images) override {
    return s_.encode(c_, images);
  }
  std::vector<float> eval(std::span<const std::int32_t> tokens,
                          std::span<const float> image_embeddings, LogitsMode mode) override {
    if (tokens.empty()) return {};
    const StepSpan span{c_->own, tokens, image_embeddings, mode};
    return std::move(s_.run(c_, {&span, 1}).logits);
  }
  std::int64_t n_past() const override { return s_.length(c_, c_->own); }
  std::int64_t max_context() const override { return s_.engine_.max_context(); }
  void truncate(std::int64_t n_tokens) override { s_.truncate(c_, c_->own, n_tokens); }
  void shift_out(std::int64_t begin, std::int64_t end) override {
    s_.shift_out(c_, c_->own, begin, end);
  }
  BatchEngine* batch() override { return &batch_; }

 private:
  StepScheduler::Impl& s_;
  SchedClient* c_;
  ClientBatch batch_;
};

}  // namespace

StepScheduler::StepScheduler(BatchEngine& engine, StepSchedulerOptions options)
    : impl_(std::make_unique<Impl>(engine, options)) {}
StepScheduler::~StepScheduler() = default;

std::unique_ptr<Engine> StepScheduler::client(std::string name, int priority) {
  return std::make_unique<ClientEngine>(*impl_, std::move(name), priority);
}
StepSchedulerStats StepScheduler::stats() const {
  return impl_->stats();
}
const StepSchedulerOptions& StepScheduler::options() const {
  return impl_->opt_;
}
BatchEngine& StepScheduler::engine() {
  return impl_->engine_;
}

}  // namespace framescribe::inference
