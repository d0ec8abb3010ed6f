#include <algorithm>

#include "framescribe/serve/api_error.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::serve {

EngineGate::Lease::~Lease() {
  if (!gate_) return;
  {
    std::lock_guard lock(gate_->mu_);
    gate_->held_ = false;
  }
  gate_->cv_.notify_all();
}

std::optional<EngineGate::Lease> EngineGate::acquire(const std::function<bool()>& cancelled,
                                                     std::chrono::milliseconds poll) {
  std::unique_lock lock(mu_);
  if (closed_) return std::nullopt;
  // A caller that would not have to wait (the engine free, nobody queued) never counts against
  // max_waiting: with max_waiting 0 the engine still serves one request at a time.
  const bool must_wait = held_ || !queue_.empty();
  if (must_wait && queue_.size() >= max_waiting_)
    throw ApiError::too_busy(1 + static_cast<int>(queue_.size() / 8));
  const std::uint64_t ticket = next_ticket_++;
  queue_.push_back(ticket);
  auto leave = [&] {
    queue_.erase(std::find(queue_.begin(), queue_.end(), ticket));
    cv_.notify_all();  // the next in line may now be first
  };
  for (;;) {
    if (closed_) {
      leave();
      return std::nullopt;
    }
    if (!held_ && queue_.front() == ticket) break;
    if (cancelled) {
      lock.unlock();
      const bool gone = cancelled();
      lock.lock();
      if (gone) {
        leave();
        return std::nullopt;
      }
    }
    cv_.wait_for(lock, poll);
  }
  queue_.pop_front();
  held_ = true;
  return Lease(this);
}

void EngineGate::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

void EngineGate::set_max_waiting(std::size_t n) {
  std::lock_guard lock(mu_);
  max_waiting_ = n;
}

std::size_t EngineGate::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool EngineGate::busy() const {
  std::lock_guard lock(mu_);
  return held_;
}

}  // namespace framescribe::serve
