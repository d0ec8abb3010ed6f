// EngineGate, the queue in front of the engine: one holder per slot at a time, waiters served in
// arrival order, at most max_waiting of them (more: ApiError 429 with Retry-After), a cancelled
// waiter leaves without ever holding the engine, close() releases every waiter and refuses new
// ones.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "framescribe/core/error.h"
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

// N slots: N holders at once on distinct slots; a waiter gets in only when a slot comes back,
// takes that slot, and waiters get in in arrival order (one slot freed at a time, so the order
// in which they got in is exact).
TEST(EngineGate, SlotsServeSeveralHoldersInArrivalOrder) {
  EngineGate gate(8, 3);
  EXPECT_EQ(gate.slots(), 3);
  std::vector<std::unique_ptr<EngineGate::Lease>> held;
  for (int k = 0; k < 3; ++k) {
    auto l = gate.acquire({}, 5ms);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->slot(), k);  // the lowest free slot
    held.push_back(std::make_unique<EngineGate::Lease>(std::move(*l)));
  }
  EXPECT_EQ(gate.running(), 3);
  std::mutex mu;
  std::vector<int> order, slots;
  std::atomic<int> release_upto{-1};  // waiters up to this one give their slot back
  std::vector<std::thread> waiters;
  for (int k = 0; k < 4; ++k) {
    waiters.emplace_back([&, k] {
      auto l = gate.acquire({}, 5ms);
      ASSERT_TRUE(l);
      {
        std::lock_guard lock(mu);
        order.push_back(k);
        slots.push_back(l->slot());
      }
      while (release_upto < k) std::this_thread::sleep_for(1ms);
    });
    wait_for_waiting(gate, static_cast<std::size_t>(k + 1));  // queued in this order
  }
  auto wait_in = [&](std::size_t n) {
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < end) {
      {
        std::lock_guard lock(mu);
        if (order.size() >= n) break;
      }
      std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(20ms);  // nobody else gets in meanwhile
    std::lock_guard lock(mu);
    return order.size();
  };
  EXPECT_EQ(wait_in(0), 0u);  // nobody got in while every slot was held
  held[1].reset();            // slot 1 comes back: the first waiter takes it
  ASSERT_EQ(wait_in(1), 1u);
  held[0].reset();
  ASSERT_EQ(wait_in(2), 2u);
  held[2].reset();
  ASSERT_EQ(wait_in(3), 3u);
  release_upto = 0;  // waiter 0 gives slot 1 back: the last waiter takes it
  ASSERT_EQ(wait_in(4), 4u);
  release_upto = 3;
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(slots, (std::vector<int>{1, 0, 2, 1}));
  EXPECT_EQ(gate.running(), 0);
  EXPECT_EQ(gate.waiting(), 0u);
}

TEST(EngineGate, TheQueueBoundCountsOnlyThoseWhoMustWait) {
  EngineGate gate(/*max_waiting=*/0, /*slots=*/2);
  auto a = gate.acquire();
  auto b = gate.acquire();  // a free slot: no wait, never refused
  ASSERT_TRUE(a && b);
  EXPECT_THROW(gate.acquire(), ApiError);  // both held, and nobody may wait
  a.reset();
  auto c = gate.acquire();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->slot(), 0);
  EXPECT_THROW(EngineGate(1, 0), Error);
  EXPECT_THROW(gate.set_slots(4), Error);  // slots change only while none is held
}

}  // namespace
}  // namespace framescribe::serve
