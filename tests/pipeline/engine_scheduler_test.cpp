// EngineScheduler (label pipeline, also under TSan): one call at a time on the engine, fair
// turns between clients, higher priority first.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "framescribe/pipeline/engine_scheduler.h"
#include "pipeline/fakes.h"

namespace framescribe {
namespace {

pipeline::WindowPlan plan_for(std::int64_t client) {
  pipeline::WindowPlan p;
  p.id = client;
  return p;
}

TEST(EngineScheduler, OneCallAtATimeAndFairTurns) {
  testing::FakeEngine engine(600, 0);
  std::mutex mu;
  std::vector<std::int64_t> order;
  engine.on_window = [&](std::int64_t id) {
    std::lock_guard lock(mu);
    order.push_back(id);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  };
  pipeline::EngineScheduler sched(engine);
  std::vector<std::thread> threads;
  constexpr int kClients = 3, kCalls = 20;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = sched.client("c" + std::to_string(c));
      core::StopFlag stop;
      for (int i = 0; i < kCalls; ++i) client->describe(plan_for(c), {}, stop);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(engine.concurrent_calls.load(), 0);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kClients * kCalls));
  EXPECT_EQ(sched.calls(), kClients * kCalls);
  // While all three are busy, turns rotate: in any 9 consecutive calls of the middle part each
  // client runs at least twice (a client that starved would not).
  for (std::size_t start = 6; start + 9 <= order.size() - 12; ++start) {
    std::map<std::int64_t, int> n;
    for (std::size_t i = start; i < start + 9; ++i) ++n[order[i]];
    for (int c = 0; c < kClients; ++c) EXPECT_GE(n[c], 2) << "window at " << start;
  }
}

TEST(EngineScheduler, HigherPriorityGoesFirst) {
  testing::FakeEngine engine(600, 0);
  std::mutex mu;
  std::vector<std::int64_t> order;
  std::atomic<bool> first_started{false};
  engine.on_window = [&](std::int64_t id) {
    {
      std::lock_guard lock(mu);
      order.push_back(id);
    }
    first_started = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  };
  pipeline::EngineScheduler sched(engine);
  auto low = sched.client("low", 0);
  auto high = sched.client("high", 1);
  core::StopFlag stop;
  std::thread a([&] { low->describe(plan_for(0), {}, stop); });  // takes the engine
  while (!first_started) std::this_thread::yield();
  std::thread b([&] { low->describe(plan_for(1), {}, stop); });  // waits
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::thread c([&] { high->describe(plan_for(2), {}, stop); });  // waits, but goes first
  a.join();
  b.join();
  c.join();
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], 0);
  EXPECT_EQ(order[1], 2);
  EXPECT_EQ(order[2], 1);
}

}  // namespace
}  // namespace framescribe
