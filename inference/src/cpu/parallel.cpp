#include "cpu/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace framescribe::inference::cpu {
namespace {

class Pool {
 public:
  explicit Pool(int n_workers) {
    for (int i = 0; i < n_workers; ++i) workers_.emplace_back([this, i] { loop(i + 1); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void run(std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn) {
    const int parts = size();
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      n_ = n;
      parts_ = parts;
      pending_ = parts - 1;
      ++generation_;
    }
    cv_.notify_all();
    run_part(0, fn, n, parts);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  static void run_part(int part, const std::function<void(std::int64_t, std::int64_t)>& fn,
                       std::int64_t n, int parts) {
    std::int64_t begin = n * part / parts, end = n * (part + 1) / parts;
    if (begin < end) fn(begin, end);
  }

  void loop(int part) {
    std::uint64_t seen = 0;
    for (;;) {
      const std::function<void(std::int64_t, std::int64_t)>* fn;
      std::int64_t n;
      int parts;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
        fn = fn_;
        n = n_;
        parts = parts_;
      }
      run_part(part, *fn, n, parts);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_cv_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(std::int64_t, std::int64_t)>* fn_ = nullptr;
  std::int64_t n_ = 0;
  int parts_ = 1;
  int pending_ = 0;
  std::uint64_t generation_ = 0;
  bool quit_ = false;
};

int g_requested = 0;
std::unique_ptr<Pool> g_pool;
std::mutex g_pool_mu;

Pool& pool() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  int want = g_requested > 0 ? g_requested
                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!g_pool || g_pool->size() != want) {
    g_pool.reset();
    g_pool = std::make_unique<Pool>(want - 1);
  }
  return *g_pool;
}

}  // namespace

void set_num_threads(int n) {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  g_requested = std::max(0, n);
}

int num_threads() {
  return pool().size();
}

void parallel_for(std::int64_t n, std::int64_t work,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  // Below ~100k operations, waking threads costs more than the work.
  constexpr std::int64_t kMinParallelWork = 100000;
  Pool& p = pool();
  if (n == 1 || work < kMinParallelWork || p.size() == 1) {
    fn(0, n);
    return;
  }
  p.run(n, fn);
}

}  // namespace framescribe::inference::cpu
