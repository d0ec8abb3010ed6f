// Alerts delivered from a bounded queue on a thread of their own (alerts.h, QueuedDelivery).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/sinks/alerts.h"

namespace framescribe::sinks {

struct QueuedDelivery::State {
  std::unique_ptr<AlertDelivery> inner;
  std::size_t capacity;
  double drain_s;
  std::mutex mu;
  std::condition_variable cv;       // work or closing
  std::condition_variable idle_cv;  // queue empty and nothing in flight
  std::deque<core::Alert> queue;
  bool in_flight = false;
  bool closing = false;
  std::chrono::steady_clock::time_point drain_deadline;
  std::int64_t dropped = 0, delivered = 0, failed = 0;
  std::thread thread;

  void run() {
    for (;;) {
      core::Alert r;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !queue.empty() || closing; });
        if (queue.empty()) return;
        if (closing && std::chrono::steady_clock::now() >= drain_deadline) {
          const auto left = static_cast<std::int64_t>(queue.size());
          dropped += left;
          queue.clear();
          FS_LOG_WARN("alert " << inner->name() << ": " << left
                               << " queued alert(s) not delivered: stopping (waited " << drain_s
                               << " s)");
          idle_cv.notify_all();
          return;
        }
        r = std::move(queue.front());
        queue.pop_front();
        in_flight = true;
      }
      const bool ok = inner->deliver(r);  // never throws (AlertDelivery's contract)
      {
        std::lock_guard lock(mu);
        in_flight = false;
        ++(ok ? delivered : failed);
      }
      idle_cv.notify_all();
    }
  }
};

QueuedDelivery::QueuedDelivery(std::unique_ptr<AlertDelivery> inner, std::size_t capacity,
                               double drain_s)
    : s_(std::make_unique<State>()) {
  FS_CHECK(inner != nullptr, kInvalidArgument, "queued alert delivery: nothing to deliver to");
  FS_CHECK(capacity >= 1, kInvalidArgument, "queued alert delivery: capacity must be >= 1");
  s_->inner = std::move(inner);
  s_->capacity = capacity;
  s_->drain_s = drain_s;
  s_->thread = std::thread([s = s_.get()] { s->run(); });
}

QueuedDelivery::~QueuedDelivery() {
  {
    std::lock_guard lock(s_->mu);
    s_->closing = true;
    s_->drain_deadline = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(s_->drain_s));
  }
  s_->cv.notify_all();
  s_->thread.join();
}

std::string_view QueuedDelivery::name() const {
  return s_->inner->name();
}

bool QueuedDelivery::deliver(const core::Alert& alert) {
  std::int64_t dropped = 0;
  {
    std::lock_guard lock(s_->mu);
    if (s_->queue.size() < s_->capacity && !s_->closing) {
      s_->queue.push_back(alert);
      s_->cv.notify_one();
      return true;
    }
    dropped = ++s_->dropped;
  }
  FS_LOG_WARN("alert " << s_->inner->name() << ": " << alert.stream << " " << alert.rule
                       << " dropped: " << s_->capacity
                       << " alerts already wait for delivery (the delivery is slower than the "
                          "alerts; "
                       << dropped << " dropped so far)");
  return false;
}

std::int64_t QueuedDelivery::dropped() const {
  std::lock_guard lock(s_->mu);
  return s_->dropped;
}

std::int64_t QueuedDelivery::delivered() const {
  std::lock_guard lock(s_->mu);
  return s_->delivered;
}

std::int64_t QueuedDelivery::delivery_failures() const {
  std::lock_guard lock(s_->mu);
  return s_->failed;
}

bool QueuedDelivery::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(s_->mu);
  return s_->idle_cv.wait_for(lock, timeout, [&] { return s_->queue.empty() && !s_->in_flight; });
}

}  // namespace framescribe::sinks
