// Approximate KV reuse (batch_engine.h shift_out, kv_shift.h; issue 24, opt-in):
//   - lengths and positions: a shift leaves length - (end - begin) positions, [k, k) changes
//     nothing and a tail range is truncate, bit for bit (logits of a continuation memcmp-equal);
//   - the re-rotation is right: layer-0 keys depend only on the token's own embedding and its
//     position, so after a shift the kept tokens' layer-0 keys and values equal those a fresh eval
//     of the kept tokens caches at their new positions (within 1e-5; a wrong angle or sign is off
//     by O(1)); the layer-1 keys differ (they saw the removed tokens: that is the approximation),
//     and a one-layer model's continuation logits equal a fresh eval's within rounding;
//   - copy-on-write: shifting a sequence never changes a fork's logits (bit for bit), and random
//     creates, forks, steps, shifts, truncations and releases on a tight pool keep the block
//     table consistent, never leak, refuse shifts that lack blocks without changing anything, and
//     leave every sequence bit-identical to a replay of its own operations on a fresh engine;
//   - the planner: keys, plans for sliding windows, prefix-only reuse, the last token left.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "cpu/pixtral_cpu.h"
#include "framescribe/core/error.h"
#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/kv_shift.h"
#include "framescribe/inference/pixtral_weights.h"
#include "framescribe/inference/step_scheduler.h"
#include "inference/tiny_engine.h"

namespace fi = framescribe::inference;
using framescribe::ErrorCode;

namespace {

struct Rng {
  std::uint64_t s;
  std::uint32_t operator()(std::uint32_t n) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(s >> 33) % n;
  }
};

fi::EngineOptions dummy(std::uint64_t seed) {
  fi::EngineOptions o;
  o.n_threads = 1;
  o.load_format = fi::LoadFormat::kDummy;
  o.dummy_seed = seed;
  return o;
}

std::vector<std::int32_t> text(Rng& rng, std::size_t n, int vocab) {
  std::vector<std::int32_t> t;
  for (std::size_t i = 0; i < n; ++i) t.push_back(20 + static_cast<std::int32_t>(rng(vocab - 20)));
  return t;
}

std::vector<float> run(fi::BatchEngine& e, fi::SeqId s, std::span<const std::int32_t> tokens,
                       fi::LogitsMode mode = fi::LogitsMode::kAll,
                       std::span<const float> rows = {}) {
  const fi::StepSpan span{s, tokens, rows, mode};
  return e.step({&span, 1}).logits;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && !a.empty() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST(KvShift, LengthsEmptyRangeAndTailEqualTruncateBitForBit) {
  const fi::ModelConfig cfg = fi::testing::tiny_engine_config();
  Rng rng{7};
  const std::vector<std::int32_t> prompt = text(rng, 37, cfg.text.n_vocab),
                                  more = text(rng, 9, cfg.text.n_vocab);
  auto a = fi::make_cpu_batch_engine(cfg, dummy(3), {.block_tokens = 4, .cache_tokens = 256});
  auto b = fi::make_cpu_batch_engine(cfg, dummy(3), {.block_tokens = 4, .cache_tokens = 256});
  const fi::SeqId sa = a->create(), sb = b->create();
  run(*a, sa, prompt);
  run(*b, sb, prompt);

  a->shift_out(sa, 0, 0);  // nothing
  a->shift_out(sa, 13, 13);
  EXPECT_EQ(a->length(sa), 37);
  EXPECT_TRUE(same_bits(run(*a, sa, more), run(*b, sb, more)));
  a->truncate(sa, 37);
  b->truncate(sb, 37);

  a->shift_out(sa, 22, 37);  // a tail: truncate
  b->truncate(sb, 22);
  EXPECT_EQ(a->length(sa), 22);
  EXPECT_EQ(a->kv_stats().blocks_free, b->kv_stats().blocks_free);
  EXPECT_TRUE(same_bits(run(*a, sa, more), run(*b, sb, more)));

  a->shift_out(sa, 5, 11);  // the middle: 31 - 6
  EXPECT_EQ(a->length(sa), 25);
  EXPECT_EQ(a->kv_table().blocks(sa).size(), 7u);
  a->kv_table().check_consistency();

  // Refused before anything changes.
  for (auto [lo, hi] : {std::pair{-1, 3}, std::pair{4, 3}, std::pair{3, 26}}) {
    try {
      a->shift_out(sa, lo, hi);
      ADD_FAILURE() << "[" << lo << ", " << hi << ") accepted";
    } catch (const framescribe::Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    }
  }
  EXPECT_THROW(a->shift_out(999, 0, 1), framescribe::Error);
  EXPECT_EQ(a->length(sa), 25);
  a->kv_table().check_consistency();
}

// Layer-0 keys and values of the kept tokens after a shift equal a fresh eval's; layer 1 not.
TEST(KvShift, ReRotatedLayerZeroKeysEqualAFreshEvalAtTheNewPositions) {
  const fi::ModelConfig cfg = fi::testing::tiny_engine_config();
  ASSERT_GE(cfg.text.n_layer, 2);
  const fi::PixtralWeights w = fi::dummy_pixtral_weights(cfg, 11);
  const fi::KvCacheOptions cache{.block_tokens = 4, .cache_tokens = 256};
  Rng rng{11};
  const std::vector<std::int32_t> all = text(rng, 40, cfg.text.n_vocab);
  const std::int64_t begin = 6, end = 19;  // not block-aligned
  std::vector<std::int32_t> kept(all.begin(), all.begin() + begin);
  kept.insert(kept.end(), all.begin() + end, all.end());

  fi::cpu::TextDecoder shifted(cfg, w, 256, cache), fresh(cfg, w, 256, cache);
  const fi::SeqId s = shifted.table().create(), f = fresh.table().create();
  const fi::StepSpan a{s, all, {}, fi::LogitsMode::kNone}, b{f, kept, {}, fi::LogitsMode::kNone};
  shifted.step({&a, 1});
  fresh.step({&b, 1});
  // Sensitivity: before the shift, the key at end sits at the wrong position (off by d).
  const float unshifted =
      max_abs_diff(shifted.cached_row(s, 0, end, false), fresh.cached_row(f, 0, begin, false));
  EXPECT_GT(unshifted, 1e-2f) << "a missing rotation would go unnoticed";

  shifted.shift_out(s, begin, end);
  ASSERT_EQ(shifted.table().length(s), static_cast<std::int64_t>(kept.size()));
  float k0 = 0, v0 = 0, k1 = 0;
  for (std::int64_t p = 0; p < static_cast<std::int64_t>(kept.size()); ++p) {
    const std::vector<float> got = shifted.cached_row(s, 0, p, false),
                             want = fresh.cached_row(f, 0, p, false);
    if (p < begin) {
      EXPECT_TRUE(same_bits(got, want)) << "position " << p << " before the range changed";
    }
    k0 = std::max(k0, max_abs_diff(got, want));
    v0 = std::max(v0,
                  max_abs_diff(shifted.cached_row(s, 0, p, true), fresh.cached_row(f, 0, p, true)));
    if (p >= begin)
      k1 = std::max(
          k1, max_abs_diff(shifted.cached_row(s, 1, p, false), fresh.cached_row(f, 1, p, false)));
  }
  EXPECT_LT(k0, 1e-5f) << "layer-0 keys after the shift differ from a fresh eval's";
  EXPECT_EQ(v0, 0.0f) << "values are moved, not recomputed";
  EXPECT_GT(k1, 1e-4f) << "layer-1 keys saw the removed tokens: the shift cannot be exact there";
}

// With one layer nothing mixes before the cache: continuation logits equal a fresh eval's.
TEST(KvShift, OneLayerModelContinuesAsAFreshEvalWithinRounding) {
  fi::ModelConfig cfg = fi::testing::tiny_engine_config();
  cfg.text.n_layer = 1;
  Rng rng{5};
  const std::vector<std::int32_t> all = text(rng, 50, cfg.text.n_vocab),
                                  more = text(rng, 6, cfg.text.n_vocab);
  for (auto [begin, end] : {std::pair{0, 8}, std::pair{3, 30}, std::pair{16, 20}}) {
    SCOPED_TRACE(std::to_string(begin) + ".." + std::to_string(end));
    auto e = fi::make_cpu_batch_engine(cfg, dummy(9), {.block_tokens = 8, .cache_tokens = 256});
    const fi::SeqId s = e->create(), f = e->create();
    run(*e, s, all, fi::LogitsMode::kNone);
    e->shift_out(s, begin, end);
    std::vector<std::int32_t> kept(all.begin(), all.begin() + begin);
    kept.insert(kept.end(), all.begin() + end, all.end());
    run(*e, f, kept, fi::LogitsMode::kNone);
    const std::vector<float> got = run(*e, s, more), want = run(*e, f, more);
    float scale = 0;
    for (float x : want) scale = std::max(scale, std::abs(x));
    EXPECT_LT(max_abs_diff(got, want), 1e-5f * std::max(1.0f, scale));
    EXPECT_FALSE(same_bits(got, run(*e, e->create(), all)));  // (a different prefix differs)
  }
}

TEST(KvShift, ShiftingNeverChangesAFork) {
  const fi::ModelConfig cfg = fi::testing::tiny_engine_config();
  Rng rng{3};
  const std::vector<std::int32_t> prompt = text(rng, 30, cfg.text.n_vocab),
                                  q = text(rng, 5, cfg.text.n_vocab);
  auto e = fi::make_cpu_batch_engine(cfg, dummy(4), {.block_tokens = 4, .cache_tokens = 256});
  const fi::SeqId s = e->create();
  run(*e, s, prompt, fi::LogitsMode::kNone);
  const fi::SeqId f = e->fork(s), g = e->fork(s), ref = e->create();
  run(*e, ref, prompt, fi::LogitsMode::kNone);
  const std::int64_t free_before = e->kv_stats().blocks_free;
  // s: 26 positions in 7 blocks; blocks 1..6 are shared and written, block 7 is dropped.
  EXPECT_EQ(e->shift_blocks_needed(s, 5, 9), 6);
  e->shift_out(s, 5, 9);
  EXPECT_EQ(e->kv_stats().blocks_free, free_before - 6);
  e->shift_out(g, 0, 12);  // a fork shifted too
  e->kv_table().check_consistency();
  const std::vector<float> want = run(*e, ref, q);
  EXPECT_TRUE(same_bits(run(*e, f, q), want)) << "the fork changed";
  // The shifted sequences equal a fresh sequence shifted alike.
  const fi::SeqId h = e->create();
  run(*e, h, prompt, fi::LogitsMode::kNone);
  e->shift_out(h, 5, 9);
  EXPECT_TRUE(same_bits(run(*e, s, q), run(*e, h, q)));
  for (fi::SeqId x : {s, f, g, ref, h}) e->release(x);
  EXPECT_EQ(e->kv_stats().blocks_free, e->kv_stats().blocks_total);
}

// Random operations on a tight pool against replays of each sequence's own operations.
TEST(KvShift, RandomOperationsKeepAccountingAndMatchReplays) {
  const fi::ModelConfig cfg = fi::testing::tiny_engine_config();
  int shifts = 0, refused = 0, cow = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    Rng rng{seed * 977};
    auto e = fi::make_cpu_batch_engine(cfg, dummy(seed), {.block_tokens = 4, .cache_tokens = 96});
    struct Op {
      int kind;  // 0 step, 1 shift, 2 truncate
      std::vector<std::int32_t> tokens;
      std::int64_t a = 0, b = 0;
    };
    std::map<fi::SeqId, std::vector<Op>> log;
    std::vector<fi::SeqId> live;
    for (int r = 0; r < 120; ++r) {
      const std::uint32_t op = rng(100);
      if (live.empty() || (op < 10 && live.size() < 5)) {
        live.push_back(e->create());
        log[live.back()] = {};
      } else if (op < 20 && live.size() < 5) {
        const fi::SeqId src = live[rng(static_cast<std::uint32_t>(live.size()))];
        live.push_back(e->fork(src));
        log[live.back()] = log[src];
      } else if (op < 25) {
        const std::size_t i = rng(static_cast<std::uint32_t>(live.size()));
        e->release(live[i]);
        log.erase(live[i]);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      } else if (op < 55) {
        const fi::SeqId s = live[rng(static_cast<std::uint32_t>(live.size()))];
        const std::int64_t len = e->length(s);
        const std::int64_t lo = rng(static_cast<std::uint32_t>(len + 1));
        const std::int64_t hi = lo + rng(static_cast<std::uint32_t>(len - lo + 1));
        const fi::KvStats before = e->kv_stats();
        const std::int64_t need = e->shift_blocks_needed(s, lo, hi);
        for (std::int32_t blk : e->kv_table().blocks(s)) cow += e->kv_table().refcount(blk) > 1;
        try {
          e->shift_out(s, lo, hi);
        } catch (const framescribe::Error& err) {
          ASSERT_EQ(err.code(), ErrorCode::kOutOfMemory) << err.what();
          EXPECT_GT(need, before.blocks_free);
          EXPECT_EQ(e->length(s), len);
          EXPECT_EQ(e->kv_stats().blocks_free, before.blocks_free);
          EXPECT_EQ(e->kv_stats().blocks_shared, before.blocks_shared);
          ++refused;
          continue;
        }
        // It takes `need` blocks; dropped tail blocks no other sequence holds come back.
        EXPECT_GE(e->kv_stats().blocks_free, before.blocks_free - need);
        EXPECT_EQ(e->length(s), len - (hi - lo));
        log[s].push_back({1, {}, lo, hi});
        shifts += hi > lo && hi < len;
      } else if (op < 62) {
        const fi::SeqId s = live[rng(static_cast<std::uint32_t>(live.size()))];
        const std::int64_t n = rng(static_cast<std::uint32_t>(e->length(s) + 1));
        e->truncate(s, n);
        log[s].push_back({2, {}, n, 0});
      } else {
        const fi::SeqId s = live[rng(static_cast<std::uint32_t>(live.size()))];
        const std::int64_t room = e->max_context() - e->length(s);
        std::vector<std::int32_t> t =
            text(rng, std::min<std::size_t>(1 + rng(9), static_cast<std::size_t>(room)),
                 cfg.text.n_vocab);
        if (t.empty()) continue;
        try {
          run(*e, s, t, fi::LogitsMode::kNone);
        } catch (const framescribe::Error& err) {
          ASSERT_EQ(err.code(), ErrorCode::kOutOfMemory) << err.what();
          continue;
        }
        log[s].push_back({0, t, 0, 0});
      }
      e->kv_table().check_consistency();
    }
    // Each live sequence against a replay of its own operations on a roomy engine.
    auto replay =
        fi::make_cpu_batch_engine(cfg, dummy(seed), {.block_tokens = 4, .cache_tokens = 2048});
    const std::vector<std::int32_t> probe = {21, 22};
    for (fi::SeqId s : live) {
      if (e->length(s) + 2 > e->max_context()) continue;
      const fi::SeqId r = replay->create();
      for (const Op& o : log[s]) {
        if (o.kind == 0) run(*replay, r, o.tokens, fi::LogitsMode::kNone);
        if (o.kind == 1) replay->shift_out(r, o.a, o.b);
        if (o.kind == 2) replay->truncate(r, o.a);
      }
      ASSERT_EQ(replay->length(r), e->length(s));
      std::vector<float> got;
      try {
        got = run(*e, s, probe, fi::LogitsMode::kLast);
      } catch (const framescribe::Error&) {
        continue;  // no free block for the probe
      }
      EXPECT_TRUE(same_bits(got, run(*replay, r, probe, fi::LogitsMode::kLast)))
          << "sequence " << s << " differs from a replay of its operations";
      e->truncate(s, e->length(s) - 2);
      replay->release(r);
    }
    for (fi::SeqId s : live) e->release(s);
    e->kv_table().check_consistency();
    EXPECT_EQ(e->kv_stats().blocks_free, e->kv_stats().blocks_total) << "blocks leaked";
  }
  EXPECT_GT(shifts, 20);
  EXPECT_GT(cow, 0) << "no shift touched a shared block";
  EXPECT_GT(refused, 0) << "no shift was refused: the failure path is untested";
}

// The single-sequence engine's shift is the batch engine's on its own sequence, bit for bit.
TEST(KvShift, SingleSequenceEngineShiftsItsOwnSequence) {
  const fi::ModelConfig cfg = fi::testing::tiny_engine_config();
  Rng rng{21};
  const std::vector<std::int32_t> prompt = text(rng, 33, cfg.text.n_vocab),
                                  more = text(rng, 4, cfg.text.n_vocab);
  auto single = fi::make_cpu_engine(cfg, dummy(6));
  auto batch = fi::make_cpu_batch_engine(cfg, dummy(6), {});
  single->eval(prompt, {}, fi::LogitsMode::kNone);
  const fi::SeqId s = batch->create();
  run(*batch, s, prompt, fi::LogitsMode::kNone);
  const fi::ShiftPlan plan{3, 10, 20};  // keep 3, drop 7, keep 20 more: length 23
  fi::apply_shift(*single, plan);
  fi::apply_shift(*batch, s, plan);
  EXPECT_EQ(single->n_past(), 23);
  EXPECT_EQ(batch->length(s), 23);
  EXPECT_TRUE(same_bits(single->eval(more, {}, fi::LogitsMode::kAll), run(*batch, s, more)));
  EXPECT_THROW(single->shift_out(5, 99), framescribe::Error);
  EXPECT_EQ(single->n_past(), 27);
}

// Engines that do not implement the op say so (the CUDA engine today).
TEST(KvShift, EnginesWithoutTheOpThrowUnsupported) {
  struct NoShift final : fi::Engine {
    fi::ModelConfig c = fi::testing::tiny_engine_config();
    const fi::ModelConfig& config() const override { return c; }
    std::string_view backend_name() const override { return "none"; }
    std::string device_name() const override { return "none"; }
    fi::MemoryUse memory_use() const override { return {}; }
    using fi::Engine::encode_images;
    std::vector<float> encode_images(std::span<const fi::PixelImage* const>) override { return {}; }
    std::vector<float> eval(std::span<const std::int32_t>, std::span<const float>,
                            fi::LogitsMode) override {
      return {};
    }
    std::int64_t n_past() const override { return 10; }
    std::int64_t max_context() const override { return 256; }
    void truncate(std::int64_t) override {}
  } e;
  try {
    fi::apply_shift(e, fi::ShiftPlan{1, 3, 4});
    ADD_FAILURE() << "no error";
  } catch (const framescribe::Error& err) {
    EXPECT_EQ(err.code(), ErrorCode::kUnsupported) << err.what();
    EXPECT_NE(std::string(err.what()).find("CPU engine only"), std::string::npos) << err.what();
  }
}

// A scheduler client shifts as the single-sequence engine does (bit for bit); a client whose
// sequence was preempted shifts the tokens the scheduler kept, and is then recomputed exactly.
TEST(KvShift, StepSchedulerClientsShiftAsTheEngineDoes) {
  const fi::ModelConfig cfg = fi::testing::tiny_engine_config();
  Rng rng{5};
  const std::vector<std::int32_t> t = text(rng, 12, cfg.text.n_vocab);
  const std::int32_t next = 42;
  auto single = fi::make_cpu_engine(cfg, dummy(1));
  single->eval(t, {}, fi::LogitsMode::kNone);
  single->shift_out(3, 7);
  const std::vector<float> want = single->eval({&next, 1}, {}, fi::LogitsMode::kLast);
  // Exact: a fresh eval of what remains.
  std::vector<std::int32_t> kept(t.begin(), t.begin() + 3);
  kept.insert(kept.end(), t.begin() + 7, t.end());
  kept.push_back(next);
  auto fresh = fi::make_cpu_engine(cfg, dummy(1));
  const std::vector<float> exact = fresh->eval(kept, {}, fi::LogitsMode::kLast);
  ASSERT_FALSE(same_bits(want, exact)) << "the shift should be approximate here";

  // 4 blocks of 4 positions: b's 8 tokens preempt a's 12.
  auto be = fi::make_cpu_batch_engine(cfg, dummy(1), {.block_tokens = 4, .cache_tokens = 16});
  {
    fi::StepScheduler sched(*be);
    std::unique_ptr<fi::Engine> a = sched.client("a"), b = sched.client("b");
    a->eval(t, {}, fi::LogitsMode::kNone);
    a->shift_out(3, 7);
    EXPECT_EQ(a->n_past(), 8);
    EXPECT_TRUE(same_bits(a->eval({&next, 1}, {}, fi::LogitsMode::kLast), want));
    a->truncate(0);
    a->eval(t, {}, fi::LogitsMode::kNone);
    b->eval(std::vector<std::int32_t>(t.begin(), t.begin() + 8), {}, fi::LogitsMode::kNone);
    EXPECT_GT(sched.stats().preemptions, 0);
    a->shift_out(3, 7);
    EXPECT_EQ(a->n_past(), 8);
    EXPECT_TRUE(same_bits(a->eval({&next, 1}, {}, fi::LogitsMode::kLast), exact));
    EXPECT_THROW(a->shift_out(5, 20), framescribe::Error);
    EXPECT_THROW(a->batch()->shift_out(12345, 0, 1), framescribe::Error);
  }
  EXPECT_EQ(be->kv_stats().blocks_free, be->kv_stats().blocks_total);
}

// A window's tokens: prefix, frames (a label and an image of 3 [IMG] + [IMG_END]), instruction.
struct Window {
  std::vector<std::int32_t> ids;
  std::vector<fi::FrameKey> frames;
};
Window window(const fi::ModelConfig& c, int first_frame, int n_frames,
              std::vector<std::int32_t> tail = {40, 41, 42, 43}) {
  Window w{{1, 3, 30, 31, 32}, {}};
  for (int f = first_frame; f < first_frame + n_frames; ++f) {
    w.ids.insert(w.ids.end(), {50, 100 + f});  // label
    w.ids.insert(w.ids.end(),
                 {c.image_token_id, c.image_token_id, c.image_token_id, c.image_end_token_id});
    w.frames.push_back({static_cast<std::uint64_t>(f) * 7919, static_cast<std::uint64_t>(f)});
  }
  w.ids.insert(w.ids.end(), tail.begin(), tail.end());
  return w;
}

TEST(KvShiftPlan, SlidingWindowShiftsOutTheFramesThatLeft) {
  const fi::ModelConfig c = fi::testing::tiny_engine_config();
  Window old = window(c, 1, 4), next = window(c, 2, 4);
  std::vector<fi::TokenKey> ok = fi::prompt_token_keys(old.ids, old.frames, c);
  ok.push_back({77, 0, {}});  // the answer generated after the old prompt
  const fi::ShiftPlan p = fi::plan_shift(ok, fi::prompt_token_keys(next.ids, next.frames, c));
  // Labels start alike (token 50): the common prefix takes frame 1's first label token along.
  EXPECT_EQ(p.keep, 5 + 1);
  EXPECT_EQ(p.remove_end, 5 + 6 + 1);  // the rest of frame 1 left
  EXPECT_EQ(p.moved, 3 * 6 - 1);       // frames 2..4 are reused
  EXPECT_TRUE(p.approximate());
  EXPECT_EQ(p.reused(), 23);  // frame 5 and the instruction are appended

  // Two frames left at once.
  const Window later = window(c, 3, 4);
  const fi::ShiftPlan q = fi::plan_shift(ok, fi::prompt_token_keys(later.ids, later.frames, c));
  EXPECT_EQ(q.keep, 5 + 1);
  EXPECT_EQ(q.remove_end, 5 + 12 + 1);
  EXPECT_EQ(q.moved, 2 * 6 - 1);
  EXPECT_EQ(q.reused(), 5 + 12);
}

TEST(KvShiftPlan, ImagesMatchByContentAndTheLastTokenIsAlwaysLeft) {
  const fi::ModelConfig c = fi::testing::tiny_engine_config();
  Window a = window(c, 1, 3), b = a;
  const std::vector<fi::TokenKey> ka = fi::prompt_token_keys(a.ids, a.frames, c);
  // The same prompt: a prefix reuse of all but the last token, no shift.
  fi::ShiftPlan p = fi::plan_shift(ka, ka);
  EXPECT_EQ(p.keep, static_cast<std::int64_t>(ka.size()) - 1);
  EXPECT_EQ(p.moved, 0);
  EXPECT_FALSE(p.approximate());
  // Another frame of the same size in the middle: the prefix stops at its first [IMG].
  b.frames[1] = {123, 456};
  const std::vector<fi::TokenKey> kb = fi::prompt_token_keys(b.ids, b.frames, c);
  EXPECT_NE(ka, kb);
  p = fi::plan_shift(ka, kb);
  EXPECT_EQ(p.keep, 5 + 6 + 2);
  EXPECT_FALSE(p.approximate()) << "frame 3 follows another image in b: nothing to move";
  // Nothing cached, nothing wanted.
  EXPECT_EQ(fi::plan_shift({}, kb).reused(), 0);
  EXPECT_EQ(fi::plan_shift(ka, {}).reused(), 0);
  // Keys need one content key per image.
  EXPECT_THROW(fi::prompt_token_keys(a.ids, std::span(a.frames).first(2), c), framescribe::Error);
  const std::vector<std::int32_t> cut(a.ids.begin(), a.ids.begin() + 8);  // inside frame 1
  EXPECT_THROW(fi::prompt_token_keys(cut, std::span(a.frames).first(1), c), framescribe::Error);
}

TEST(KvShiftPlan, ApplyShiftOnTheEngineLeavesTheReusedTokens) {
  const fi::ModelConfig c = fi::testing::tiny_engine_config();
  auto e = fi::make_cpu_batch_engine(c, dummy(2), {.block_tokens = 4, .cache_tokens = 256});
  const Window old = window(c, 1, 4), next = window(c, 2, 4);
  const std::vector<float> rows(static_cast<std::size_t>(3 * 4 * c.text.n_embd), 0.01f);
  const fi::SeqId s = e->create();
  run(*e, s, old.ids, fi::LogitsMode::kNone, rows);
  const fi::ShiftPlan p = fi::plan_shift(fi::prompt_token_keys(old.ids, old.frames, c),
                                         fi::prompt_token_keys(next.ids, next.frames, c));
  fi::apply_shift(*e, s, p);
  EXPECT_EQ(e->length(s), p.reused());
  const std::vector<std::int32_t> rest(next.ids.begin() + p.reused(), next.ids.end());
  const std::vector<float> logits =
      run(*e, s, rest, fi::LogitsMode::kLast, std::span(rows).first(3 * c.text.n_embd));
  EXPECT_EQ(logits.size(), static_cast<std::size_t>(c.text.n_vocab));
  EXPECT_EQ(e->length(s), static_cast<std::int64_t>(next.ids.size()));
  e->kv_table().check_consistency();
}

}  // namespace
