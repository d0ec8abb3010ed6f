// StepScheduler (step_scheduler.h): many client threads on one CPU batch engine, each running a
// random script of prefills with images, decodes, truncations and forks (through batch()).
//   - every logits row a client gets equals, bit for bit (memcmp), the row the same script gives
//     on an engine of its own, with small step budgets (prefills in chunks, steps mixing clients)
//     and with a pool so small that sequences are preempted and recomputed;
//   - a step never holds more rows than the budget, and a client decodes while another's long
//     prefill is in flight;
//   - a request that can never fit, or that the engine refuses, fails alone; every block is free
//     once the clients are gone.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/step_scheduler.h"
#include "inference/random_image.h"
#include "inference/tiny_engine.h"

namespace fi = framescribe::inference;

namespace {

constexpr std::uint64_t kSeed = 7;

struct Rng {
  std::uint64_t s;
  std::uint32_t operator()(std::uint32_t n) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(s >> 33) % n;
  }
};

fi::ModelConfig config() {
  fi::ModelConfig c = fi::testing::tiny_engine_config();
  c.text.max_context = 512;
  return c;
}

fi::EngineOptions options() {
  fi::EngineOptions o;
  o.n_threads = 1;
  o.load_format = fi::LoadFormat::kDummy;
  o.dummy_seed = kSeed;
  return o;
}

std::int32_t best(const std::vector<float>& logits, std::size_t row, std::int64_t n_vocab) {
  const float* r = logits.data() + row * n_vocab;
  return static_cast<std::int32_t>(std::max_element(r + 20, r + n_vocab) - r);  // no specials
}

// Text tokens with an image block (its [IMG] tokens) in the middle, and the image's rows.
struct Prompt {
  std::vector<std::int32_t> ids;
  std::vector<float> rows;
};

Prompt make_prompt(fi::Engine& e, Rng& rng, int n_text) {
  const int w = 16 * (1 + static_cast<int>(rng(2))), h = 16 * (1 + static_cast<int>(rng(2)));
  const fi::PixelImage img = fi::testing::random_image(w, h, rng(1000));
  const fi::PixelImage* p = &img;
  Prompt out;
  out.rows = e.encode_images({&p, 1});
  for (int i = 0; i < n_text; ++i) out.ids.push_back(20 + static_cast<std::int32_t>(rng(250)));
  out.ids.insert(out.ids.begin() + n_text / 2, (w / 16) * (h / 16), e.config().image_token_id);
  return out;
}

// A client's random work; every logits row it gets, in order. The same seed gives the same
// requests on any engine, so the rows of two engines can be compared.
std::vector<std::vector<float>> script(fi::Engine& e, std::uint64_t seed, int rounds) {
  Rng rng{seed};
  const std::int64_t nv = e.config().text.n_vocab;
  std::vector<std::vector<float>> out;
  for (int round = 0; round < rounds; ++round) {
    e.truncate(rng(2) ? 0 : e.n_past() / 2);
    const Prompt p = make_prompt(e, rng, 4 + static_cast<int>(rng(40)));
    out.push_back(e.eval(p.ids, p.rows, fi::LogitsMode::kLast));
    std::int32_t tok = best(out.back(), 0, nv);
    const int decodes = 1 + static_cast<int>(rng(6));
    for (int k = 0; k < decodes; ++k) {
      out.push_back(e.eval({&tok, 1}, {}, fi::LogitsMode::kLast));
      tok = best(out.back(), 0, nv);
    }
    if (rng(2) == 0) continue;
    // Alert questions: a prefix of its own, forked twice, each fork a few tokens more.
    fi::BatchEngine* b = e.batch();
    const Prompt q = make_prompt(e, rng, 6 + static_cast<int>(rng(20)));
    const fi::SeqId base = b->create();
    const fi::StepSpan prefix{base, q.ids, q.rows, fi::LogitsMode::kAll};
    fi::StepResult r = b->step({&prefix, 1});
    out.push_back(r.logits);
    const fi::SeqId f1 = b->fork(base), f2 = b->fork(base);
    const std::vector<std::int32_t> a1 = {30, 31, 32}, a2 = {40};
    const std::vector<fi::StepSpan> spans = {{f1, a1, {}, fi::LogitsMode::kLast},
                                             {f2, a2, {}, fi::LogitsMode::kAll}};
    r = b->step(spans);
    out.push_back(r.logits);
    EXPECT_EQ(b->length(f1), std::ssize(q.ids) + 3);
    b->release(f1);
    b->release(f2);
    b->release(base);
  }
  return out;
}

void expect_same_rows(const std::vector<std::vector<float>>& got,
                      const std::vector<std::vector<float>>& want, const std::string& who) {
  ASSERT_EQ(got.size(), want.size()) << who;
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size()) << who << " call " << i;
    ASSERT_FALSE(want[i].empty()) << who << " call " << i;
    EXPECT_EQ(std::memcmp(got[i].data(), want[i].data(), got[i].size() * sizeof(float)), 0)
        << who << " call " << i << ": differs from the same requests on an engine of its own";
  }
}

// `clients` threads, each its own script, on one batch engine through a scheduler.
struct SharedRun {
  std::vector<std::vector<std::vector<float>>> rows;
  fi::StepSchedulerStats stats;
  fi::KvStats kv_after;
};

SharedRun run_shared(int clients, int rounds, std::int64_t cache_tokens, std::int64_t step) {
  auto be = fi::make_cpu_batch_engine(config(), options(),
                                      {.block_tokens = 4, .cache_tokens = cache_tokens});
  SharedRun run;
  run.rows.resize(static_cast<std::size_t>(clients));
  {
    fi::StepScheduler sched(*be, {.step_tokens = step, .short_span_tokens = 2});
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&, c] {
        auto e = sched.client("client " + std::to_string(c), c % 2);
        run.rows[static_cast<std::size_t>(c)] =
            script(*e, 100 + static_cast<std::uint64_t>(c), rounds);
      });
    for (auto& t : threads) t.join();
    run.stats = sched.stats();
  }
  run.kv_after = be->kv_stats();
  return run;
}

void expect_equals_alone(const SharedRun& run, int rounds) {
  for (std::size_t c = 0; c < run.rows.size(); ++c) {
    auto alone = fi::make_cpu_engine(config(), options());
    expect_same_rows(run.rows[c], script(*alone, 100 + c, rounds), "client " + std::to_string(c));
  }
  EXPECT_EQ(run.kv_after.blocks_free, run.kv_after.blocks_total) << "blocks left behind";
  EXPECT_EQ(run.kv_after.sequences, 0);
}

TEST(StepScheduler, ClientsTogetherEqualEachAloneBitForBit) {
  const SharedRun run = run_shared(/*clients=*/4, /*rounds=*/6, /*cache_tokens=*/4 * 512,
                                   /*step=*/7);
  expect_equals_alone(run, 6);
  EXPECT_LE(run.stats.max_step_rows, 7);
  EXPECT_GT(run.stats.steps, 0);
  EXPECT_EQ(run.stats.preemptions, 0);
  EXPECT_EQ(run.stats.failed_calls, 0);
}

TEST(StepScheduler, PreemptedSequencesAreRecomputedExactly) {
  // 24 blocks of 4 positions for 4 clients whose sequences reach ~60 positions each.
  const SharedRun run = run_shared(4, 6, /*cache_tokens=*/96, /*step=*/16);
  expect_equals_alone(run, 6);
  EXPECT_GT(run.stats.preemptions, 0);
  EXPECT_GT(run.stats.recomputed_tokens, 0);
  EXPECT_EQ(run.stats.failed_calls, 0);
}

TEST(StepScheduler, OneLargeStepBudgetStillExact) {
  const SharedRun run = run_shared(3, 4, 3 * 512, /*step=*/4096);
  expect_equals_alone(run, 4);
}

TEST(StepScheduler, DecodesRunWhileAnotherClientPrefills) {
  auto be = fi::make_cpu_batch_engine(config(), options(), {.block_tokens = 4});
  fi::StepScheduler sched(*be, {.step_tokens = 4});
  auto big = sched.client("big"), small = sched.client("small");
  std::vector<std::int32_t> long_prompt(480);
  for (std::size_t i = 0; i < long_prompt.size(); ++i)
    long_prompt[i] = 20 + static_cast<std::int32_t>(i % 200);
  const std::vector<std::int32_t> start = {21, 22};
  small->eval(start, {}, fi::LogitsMode::kLast);
  std::atomic<bool> big_done{false};
  std::thread t([&] {
    big->eval(long_prompt, {}, fi::LogitsMode::kLast);
    big_done = true;
  });
  int decoded_meanwhile = 0;
  std::int32_t tok = 25;
  for (int k = 0; k < 20 && !big_done; ++k) {
    small->eval({&tok, 1}, {}, fi::LogitsMode::kLast);
    if (!big_done) ++decoded_meanwhile;
  }
  t.join();
  EXPECT_GE(decoded_meanwhile, 1) << "the long prefill held the engine";
  EXPECT_LE(sched.stats().max_step_rows, 4);
  EXPECT_EQ(big->n_past(), 480);
}

TEST(StepScheduler, ARequestThatCannotFitFailsAlone) {
  // 8 blocks of 4 positions: 32 positions in all.
  auto be = fi::make_cpu_batch_engine(config(), options(), {.block_tokens = 4, .cache_tokens = 32});
  fi::StepScheduler sched(*be, {.step_tokens = 8});
  auto a = sched.client("a"), b = sched.client("b");
  const std::vector<std::int32_t> ok = {21, 22, 23, 24, 25};
  const std::vector<float> want_b = b->eval(ok, {}, fi::LogitsMode::kLast);
  std::vector<std::int32_t> too_long(40, 30);
  try {
    a->eval(too_long, {}, fi::LogitsMode::kLast);
    ADD_FAILURE() << "40 positions fitted in a pool of 32";
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kOutOfMemory) << e.what();
    EXPECT_NE(std::string(e.what()).find("KV cache is too small"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a->n_past(), 0) << "a failed request must leave the sequence as it was";
  const std::vector<std::int32_t> bad = {21, 5000};
  EXPECT_THROW(a->eval(bad, {}, fi::LogitsMode::kLast), framescribe::Error);
  const std::vector<std::int32_t> img = {21, config().image_token_id};
  EXPECT_THROW(a->eval(img, {}, fi::LogitsMode::kLast), framescribe::Error);
  // b was preempted for a's attempt; it goes on exactly where it was.
  std::int32_t tok = 26;
  const std::vector<float> next = b->eval({&tok, 1}, {}, fi::LogitsMode::kLast);
  auto alone = fi::make_cpu_engine(config(), options());
  alone->eval(ok, {}, fi::LogitsMode::kLast);
  const std::vector<float> want = alone->eval({&tok, 1}, {}, fi::LogitsMode::kLast);
  ASSERT_EQ(next.size(), want.size());
  EXPECT_EQ(std::memcmp(next.data(), want.data(), next.size() * sizeof(float)), 0);
  EXPECT_EQ(b->n_past(), 6);
  EXPECT_EQ(sched.stats().failed_calls, 1);  // the OOM; the two refused before queuing
}

TEST(StepScheduler, ClientsCannotTouchEachOthersSequences) {
  auto be = fi::make_cpu_batch_engine(config(), options(), {.block_tokens = 4});
  fi::StepScheduler sched(*be);
  auto a = sched.client("a"), b = sched.client("b");
  const fi::SeqId s = a->batch()->create();
  EXPECT_THROW(b->batch()->fork(s), framescribe::Error);
  EXPECT_THROW(b->batch()->release(s), framescribe::Error);
  const std::vector<std::int32_t> t = {21};
  const fi::StepSpan span{s, t, {}, fi::LogitsMode::kLast};
  EXPECT_THROW(b->batch()->step({&span, 1}), framescribe::Error);
  EXPECT_EQ(a->batch()->step({&span, 1}).rows(), 1);
  EXPECT_EQ(a->backend_name(), "scheduled");
}

}  // namespace
