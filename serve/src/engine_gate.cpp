#include <algorithm>

#include "framescribe/core/error.h"
#include "framescribe/serve/api_error.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::serve {

EngineGate::EngineGate(std::size_t max_waiting, int slots) : max_waiting_(max_waiting) {
  set_slots(slots);
}

EngineGate::Lease::~Lease() {
  if (!gate_) return;
  {
    std::lock_guard lock(gate_->mu_);
    gate_->held_[static_cast<std::size_t>(slot_)] = false;
    --gate_->running_;
  }
  gate_->cv_.notify_all();
}

std::optional<EngineGate::Lease> EngineGate::acquire(const std::function<bool()>& cancelled,
                                                     std::chrono::milliseconds poll) {
  std::unique_lock lock(mu_);
  if (closed_) return std::nullopt;
  const int n_slots = static_cast<int>(held_.size());
  // A caller that would not have to wait (a slot free, nobody queued) never counts against
  // max_waiting: with max_waiting 0 the engine still serves `slots` requests at a time.
  const bool must_wait = running_ >= n_slots || !queue_.empty();
  if (must_wait && queue_.size() >= max_waiting_)
    throw ApiError::too_busy(1 + static_cast<int>(queue_.size() / (8 * n_slots)));
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
    if (running_ < n_slots && queue_.front() == ticket) break;
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
  const auto free = std::find(held_.begin(), held_.end(), false);
  *free = true;
  ++running_;
  // The next in line may take another free slot.
  if (running_ < n_slots && !queue_.empty()) cv_.notify_all();
  return Lease(this, static_cast<int>(free - held_.begin()));
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

void EngineGate::set_slots(int n) {
  FS_CHECK(n >= 1, kInvalidArgument, "the engine needs at least one slot, got " << n);
  {
    std::lock_guard lock(mu_);
    FS_CHECK(running_ == 0, kInvalidArgument, "the gate's slots change only while none is held");
    held_.assign(static_cast<std::size_t>(n), false);
  }
  cv_.notify_all();
}

int EngineGate::slots() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(held_.size());
}

std::size_t EngineGate::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

int EngineGate::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

bool EngineGate::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

}  // namespace framescribe::serve
