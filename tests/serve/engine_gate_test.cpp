// EngineGate, the queue in front of the engine: one holder at a time, waiters served in arrival
// order, at most max_waiting of them (more: ApiError 429 with Retry-After), a cancelled waiter
// leaves without ever holding the engine, close() releases every waiter and refuses new ones.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "framescribe/serve/api_error.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::serve {
namespace {

using namespace std::chrono_literals;

void wait_for_waiting(const EngineGate& g, std::size_t n) {
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (g.waiting() != n && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(g.waiting(), n);
}

TEST(EngineGate, ServesWaitersInArrivalOrder) {
  EngineGate gate(8);
  auto first = gate.acquire();
  ASSERT_TRUE(first);
  EXPECT_TRUE(gate.busy());
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto lease = gate.acquire({}, 5ms);
      ASSERT_TRUE(lease);
      std::lock_guard lock(mu);
      order.push_back(i);
    });
    wait_for_waiting(gate, static_cast<std::size_t>(i + 1));  // arrival order is i
  }
  first.reset();
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_FALSE(gate.busy());
  EXPECT_EQ(gate.waiting(), 0u);
}

TEST(EngineGate, AFullQueueIs429) {
  EngineGate gate(1);
  auto held = gate.acquire();
  std::thread waiter([&] { EXPECT_TRUE(gate.acquire()); });
  wait_for_waiting(gate, 1);
  try {
    gate.acquire();
    ADD_FAILURE() << "a second waiter was queued";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 429);
    EXPECT_GE(e.retry_after_s(), 1);
  }
  held.reset();
  waiter.join();
}

TEST(EngineGate, MaxWaitingZeroStillServesAnIdleEngine) {
  EngineGate gate(0);
  auto a = gate.acquire();
  ASSERT_TRUE(a);
  EXPECT_THROW(gate.acquire(), ApiError);  // busy, and nobody may wait
  a.reset();
  EXPECT_TRUE(gate.acquire());
}

TEST(EngineGate, ACancelledWaiterLeavesWithoutTheEngine) {
  EngineGate gate(4);
  auto held = gate.acquire();
  std::atomic<bool> cancel{false};
  std::optional<bool> got;
  std::thread waiter([&] { got = gate.acquire([&] { return cancel.load(); }, 5ms).has_value(); });
  wait_for_waiting(gate, 1);
  cancel = true;
  waiter.join();
  EXPECT_EQ(got, false);
  EXPECT_EQ(gate.waiting(), 0u);
  EXPECT_TRUE(gate.busy());  // still the first holder's
  held.reset();
  EXPECT_FALSE(gate.busy());
}

TEST(EngineGate, CloseReleasesWaitersAndRefusesNewOnes) {
  EngineGate gate(4);
  auto held = gate.acquire();
  std::optional<bool> got;
  std::thread waiter([&] { got = gate.acquire({}, 5ms).has_value(); });
  wait_for_waiting(gate, 1);
  gate.close();
  waiter.join();
  EXPECT_EQ(got, false);
  EXPECT_FALSE(gate.acquire().has_value());
  EXPECT_TRUE(gate.busy());  // the holder finishes its work
}

}  // namespace
}  // namespace framescribe::serve
