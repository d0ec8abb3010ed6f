#include "framescribe/pipeline/engine_scheduler.h"

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <utility>

namespace framescribe::pipeline {

struct EngineScheduler::Waiting {
  // priority (highest first) -> tickets in arrival order
  std::map<int, std::set<std::uint64_t>, std::greater<>> by_priority;
  bool is_next(int priority, std::uint64_t ticket) const {
    if (by_priority.empty()) return false;
    const auto& [p, tickets] = *by_priority.begin();
    return p == priority && *tickets.begin() == ticket;
  }
  void remove(int priority, std::uint64_t ticket) {
    auto it = by_priority.find(priority);
    it->second.erase(ticket);
    if (it->second.empty()) by_priority.erase(it);
  }
};

EngineScheduler::EngineScheduler(WindowEngine& engine)
    : engine_(engine), waiting_(std::make_unique<Waiting>()) {}
EngineScheduler::~EngineScheduler() = default;

EngineScheduler::Turn::Turn(EngineScheduler& s, int priority) : s_(s) {
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_lock lock(s_.mu_);
  if (!s_.waiting_) s_.waiting_ = std::make_unique<Waiting>();
  const std::uint64_t ticket = s_.next_ticket_++;
  s_.waiting_->by_priority[priority].insert(ticket);
  s_.cv_.wait(lock, [&] { return !s_.busy_ && s_.waiting_->is_next(priority, ticket); });
  s_.waiting_->remove(priority, ticket);
  s_.busy_ = true;
  ++s_.calls_;
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (waited > s_.max_wait_s_) s_.max_wait_s_ = waited;
}

EngineScheduler::Turn::~Turn() {
  {
    std::lock_guard lock(s_.mu_);
    s_.busy_ = false;
  }
  s_.cv_.notify_all();
}

std::int64_t EngineScheduler::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

double EngineScheduler::max_wait_s() const {
  std::lock_guard lock(mu_);
  return max_wait_s_;
}

namespace {

class Client final : public WindowEngine {
 public:
  Client(EngineScheduler& s, std::string name, int priority)
      : s_(s), name_(std::move(name)), priority_(priority) {}
  const PromptCoster& coster() const override { return s_.engine().coster(); }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame& frame) const override {
    return s_.engine().prepare(frame);
  }
  WindowAnswer describe(const WindowPlan& plan, std::string_view previous,
                        const core::StopFlag& stop) override {
    EngineScheduler::Turn turn(s_, priority_);
    return s_.engine().describe(plan, previous, stop);
  }
  WindowAnswer complete(std::string_view prompt, const core::StopFlag& stop) override {
    EngineScheduler::Turn turn(s_, priority_);
    return s_.engine().complete(prompt, stop);
  }
  std::vector<double> answer_probabilities(const WindowPlan& plan, std::string_view question,
                                           std::span<const std::string> answers,
                                           const core::StopFlag& stop) override {
    EngineScheduler::Turn turn(s_, priority_);
    return s_.engine().answer_probabilities(plan, question, answers, stop);
  }
  std::vector<std::vector<double>> answer_probabilities_batch(
      const WindowPlan& plan, std::span<const AlertQuestion> questions,
      const core::StopFlag& stop) override {
    EngineScheduler::Turn turn(s_, priority_);  // one turn for the whole batch
    return s_.engine().answer_probabilities_batch(plan, questions, stop);
  }
  std::int64_t max_answer_tokens() const override { return s_.engine().max_answer_tokens(); }
  std::int64_t text_prompt_tokens(std::string_view prompt) const override {
    return s_.engine().text_prompt_tokens(prompt);
  }
  std::string model_name() const override { return s_.engine().model_name(); }

 private:
  EngineScheduler& s_;
  std::string name_;
  int priority_;
};

}  // namespace

std::unique_ptr<WindowEngine> EngineScheduler::client(std::string name, int priority) {
  return std::make_unique<Client>(*this, std::move(name), priority);
}

}  // namespace framescribe::pipeline
