// KvBlockTable's accounting under random operation sequences (reference counts equal table
// entries, never negative, nothing lost, all or nothing on refusal, everything free at the end);
// the batch engine's refusals leaving its state as it was; FrameEmbeddingCache returning exactly
// the engine's embeddings and counting hits, misses and encoder calls.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/frame_cache.h"
#include "inference/random_image.h"
#include "inference/tiny_engine.h"

namespace fi = framescribe::inference;
using framescribe::ErrorCode;

namespace {

template <typename F>
ErrorCode error_of(F&& f) {
  try {
    f();
  } catch (const framescribe::Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return ErrorCode::kInternal;
}

TEST(KvBlockTable, ForkSharesEveryBlockAndCopiesAPartialLastBlockOnWrite) {
  fi::KvBlockTable t(8, 4, 100);
  const fi::SeqId a = t.create();
  const fi::KvAppend six{a, 6};
  EXPECT_TRUE(t.append({&six, 1}).empty());
  ASSERT_EQ(t.blocks(a).size(), 2u);
  const fi::SeqId b = t.fork(a);
  EXPECT_EQ(t.length(b), 6);
  EXPECT_EQ(t.refcount(t.blocks(a)[0]), 2);
  EXPECT_EQ(t.refcount(t.blocks(a)[1]), 2);
  EXPECT_EQ(t.stats().blocks_free, 6);
  // b writes into the shared partial block: one copy, then private.
  const fi::KvAppend one{b, 1};
  EXPECT_EQ(t.blocks_needed({&one, 1}), 1);
  const std::vector<fi::KvBlockCopy> copies = t.append({&one, 1});
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].src, t.blocks(a)[1]);
  EXPECT_EQ(copies[0].dst, t.blocks(b)[1]);
  EXPECT_EQ(t.blocks(a)[0], t.blocks(b)[0]);  // the full block stays shared
  EXPECT_EQ(t.refcount(t.blocks(a)[1]), 1);
  // a appends to its now private partial block (no copy), then into a new block.
  const fi::KvAppend three{a, 3};
  EXPECT_EQ(t.blocks_needed({&three, 1}), 1);
  EXPECT_TRUE(t.append({&three, 1}).empty());
  t.check_consistency();
  t.release(a);
  t.release(b);
  EXPECT_EQ(t.stats().blocks_free, 8);
  t.check_consistency();
}

TEST(KvBlockTable, RefusalsChangeNothing) {
  fi::KvBlockTable t(4, 4, 20);
  const fi::SeqId a = t.create(), b = t.create();
  const fi::KvAppend too_many[] = {{a, 8}, {b, 9}};  // 2 + 3 blocks of 4
  EXPECT_EQ(error_of([&] { t.append(too_many); }), ErrorCode::kOutOfMemory);
  const fi::KvAppend repeated[] = {{a, 1}, {a, 1}};
  EXPECT_EQ(error_of([&] { t.append(repeated); }), ErrorCode::kInvalidArgument);
  const fi::KvAppend past_context[] = {{a, 1}, {b, 21}};
  EXPECT_EQ(error_of([&] { t.append(past_context); }), ErrorCode::kInvalidArgument);
  const fi::KvAppend unknown[] = {{a, 1}, {99, 1}};
  EXPECT_EQ(error_of([&] { t.append(unknown); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { t.fork(99); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { t.truncate(a, -1); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { t.release(99); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.length(a), 0);
  EXPECT_EQ(t.length(b), 0);
  EXPECT_EQ(t.stats().blocks_free, 4);
  t.check_consistency();
  EXPECT_EQ(error_of([] { fi::KvBlockTable(0, 4, 10); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { fi::KvBlockTable(4, 0, 10); }), ErrorCode::kInvalidArgument);
}

TEST(KvBlockTable, RandomOperationsNeverLeakAndRefusalsAreAllOrNothing) {
  int refused = 0, copies = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::uint64_t s = seed * 0x9e3779b97f4a7c15ULL;
    auto rng = [&s](std::uint32_t n) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      return static_cast<std::uint32_t>(s >> 33) % n;
    };
    const int bt = 1 + static_cast<int>(rng(8));  // 1: never a partial block
    fi::KvBlockTable t(30, bt, 200);
    std::vector<fi::SeqId> live;
    for (int op = 0; op < 400; ++op) {
      const std::uint32_t k = rng(100);
      if (live.empty() || k < 10) {
        live.push_back(t.create());
      } else if (k < 25) {
        live.push_back(t.fork(live[rng(static_cast<std::uint32_t>(live.size()))]));
      } else if (k < 35) {
        const fi::SeqId q = live[rng(static_cast<std::uint32_t>(live.size()))];
        t.truncate(q, rng(static_cast<std::uint32_t>(t.length(q) + 1)));
      } else if (k < 45) {
        const std::size_t i = rng(static_cast<std::uint32_t>(live.size()));
        t.release(live[i]);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        // Appends to a few distinct sequences at once.
        std::vector<fi::KvAppend> appends;
        for (fi::SeqId q : live)
          if (rng(2) == 0 && t.length(q) < 200)
            appends.push_back({q, 1 + rng(static_cast<std::uint32_t>(
                                          std::min<std::int64_t>(40, 200 - t.length(q))))});
        std::map<fi::SeqId, std::int64_t> lengths;
        for (fi::SeqId q : live) lengths[q] = t.length(q);
        const fi::KvStats before = t.stats();
        const std::int64_t need = t.blocks_needed(appends);
        std::vector<std::int32_t> expected_new;
        if (need <= before.blocks_free) {
          const std::span<const std::int32_t> nf = t.next_free(need);
          expected_new.assign(nf.begin(), nf.end());
        }
        std::vector<int> refs_before;
        for (std::int32_t b = 0; b < 30; ++b) refs_before.push_back(t.refcount(b));
        try {
          copies += static_cast<int>(t.append(appends).size());
          // next_free named exactly the blocks that went from free to held.
          std::vector<std::int32_t> taken;
          for (std::int32_t b = 0; b < 30; ++b)
            if (refs_before[static_cast<std::size_t>(b)] == 0 && t.refcount(b) > 0)
              taken.push_back(b);
          std::sort(expected_new.begin(), expected_new.end());
          EXPECT_EQ(taken, expected_new);
          EXPECT_EQ(t.stats().blocks_free, before.blocks_free - need);
        } catch (const framescribe::Error& e) {
          ASSERT_EQ(e.code(), ErrorCode::kOutOfMemory) << e.what();
          EXPECT_GT(need, before.blocks_free);
          EXPECT_EQ(t.stats().blocks_free, before.blocks_free);
          for (fi::SeqId q : live) EXPECT_EQ(t.length(q), lengths[q]);
          ++refused;
        }
      }
      t.check_consistency();  // refcounts == table entries, >= 0; free list == unreferenced
    }
    for (fi::SeqId q : live) t.release(q);
    EXPECT_EQ(t.stats().blocks_free, 30);
    EXPECT_EQ(t.stats().sequences, 0);
    t.check_consistency();
  }
  EXPECT_GT(refused, 20) << "too few refusals: the failure path is barely tested";
  EXPECT_GT(copies, 20) << "too few copy-on-write copies";
}

fi::EngineOptions tiny_options() {
  fi::EngineOptions o;
  o.n_threads = 1;
  o.load_format = fi::LoadFormat::kDummy;
  o.dummy_seed = 5;
  return o;
}

TEST(BatchEngine, BadRequestsAreRefusedBeforeAnythingChanges) {
  auto e = fi::make_cpu_batch_engine(fi::testing::tiny_engine_config(), tiny_options(),
                                     {.block_tokens = 4, .cache_tokens = 32});
  const fi::SeqId a = e->create(), b = e->create();
  const std::vector<std::int32_t> ok = {1, 30, 31, 32, 33};
  const std::vector<std::int32_t> bad_token = {1, 300};
  const std::vector<std::int32_t> image = {1, e->config().image_token_id};
  const std::vector<std::int32_t> long_prompt(30, 40);
  auto lengths_unchanged = [&] {
    EXPECT_EQ(e->length(a), 0);
    EXPECT_EQ(e->length(b), 0);
    EXPECT_EQ(e->kv_stats().blocks_free, 8);
    e->kv_table().check_consistency();
  };
  const fi::StepSpan token_out_of_vocab[] = {{a, ok, {}, fi::LogitsMode::kNone},
                                             {b, bad_token, {}, fi::LogitsMode::kNone}};
  EXPECT_EQ(error_of([&] { e->step(token_out_of_vocab); }), ErrorCode::kInvalidArgument);
  lengths_unchanged();
  const fi::StepSpan image_without_rows[] = {{a, ok, {}, fi::LogitsMode::kNone},
                                             {b, image, {}, fi::LogitsMode::kNone}};
  EXPECT_EQ(error_of([&] { e->step(image_without_rows); }), ErrorCode::kInvalidArgument);
  const fi::StepSpan twice[] = {{a, ok, {}, fi::LogitsMode::kNone},
                                {a, ok, {}, fi::LogitsMode::kNone}};
  EXPECT_EQ(error_of([&] { e->step(twice); }), ErrorCode::kInvalidArgument);
  const fi::StepSpan unknown[] = {{a, ok, {}, fi::LogitsMode::kNone},
                                  {77, ok, {}, fi::LogitsMode::kNone}};
  EXPECT_EQ(error_of([&] { e->step(unknown); }), ErrorCode::kInvalidArgument);
  const fi::StepSpan no_room[] = {{a, long_prompt, {}, fi::LogitsMode::kNone},
                                  {b, ok, {}, fi::LogitsMode::kNone}};  // 8 + 2 blocks of 8 free
  EXPECT_EQ(e->blocks_needed(no_room), 10);
  EXPECT_EQ(error_of([&] { e->step(no_room); }), ErrorCode::kOutOfMemory);
  lengths_unchanged();
  const std::vector<std::int32_t> past_context(e->max_context() + 1, 40);
  const fi::StepSpan too_long[] = {{a, past_context, {}, fi::LogitsMode::kNone}};
  EXPECT_EQ(error_of([&] { e->step(too_long); }), ErrorCode::kInvalidArgument);
  lengths_unchanged();
  EXPECT_EQ(error_of([&] { e->truncate(a, -1); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { e->fork(77); }), ErrorCode::kInvalidArgument);
  // And a good step still works afterwards, with only the rows asked for.
  const fi::StepSpan good[] = {{a, ok, {}, fi::LogitsMode::kNone},
                               {b, ok, {}, fi::LogitsMode::kLast}};
  const fi::StepResult r = e->step(good);
  EXPECT_EQ(r.rows(), 1);
  EXPECT_EQ(r.first_row, (std::vector<std::int64_t>{0, 0}));
  EXPECT_EQ(e->length(a), 5);
  EXPECT_EQ(e->length(b), 5);
  EXPECT_EQ(error_of([] {
              fi::make_batch_engine(fi::testing::tiny_engine_config(),
                                    {.device = fi::Device::kCuda}, {});
            }),
            ErrorCode::kUnsupported);
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

TEST(FrameEmbeddingCache, ReturnsTheEnginesEmbeddingsAndEncodesEachFrameOnce) {
  auto engine = fi::make_cpu_engine(fi::testing::tiny_engine_config(), tiny_options());
  const fi::PixelImage f1 = fi::testing::random_image(32, 16, 1),
                       f2 = fi::testing::random_image(16, 32, 2),
                       f3 = fi::testing::random_image(32, 32, 3);
  fi::PixelImage f1_copy = f1;  // the same content at another address: a hit
  fi::PixelImage f1_changed = f1;
  f1_changed.chw[17] += 1e-3f;  // one value differs: a miss
  auto direct = [&](std::vector<const fi::PixelImage*> v) { return engine->encode_images(v); };

  fi::FrameEmbeddingCache cache;
  std::vector<const fi::PixelImage*> w1 = {&f1, &f2, &f1};  // a repeat within the call
  EXPECT_TRUE(same_floats(cache.encode(*engine, w1), direct(w1)));
  fi::FrameCacheStats st = cache.stats();
  EXPECT_EQ(st.misses, 2);
  EXPECT_EQ(st.hits, 1);
  EXPECT_EQ(st.encoder_calls, 1);
  EXPECT_EQ(st.entries, 2);

  std::vector<const fi::PixelImage*> w2 = {&f2, &f3, &f1_copy};  // an overlapping window
  EXPECT_TRUE(same_floats(cache.encode(*engine, w2), direct(w2)));
  st = cache.stats();
  EXPECT_EQ(st.misses, 3);
  EXPECT_EQ(st.hits, 3);
  EXPECT_EQ(st.encoder_calls, 2);

  std::vector<const fi::PixelImage*> w3 = {&f1, &f2, &f3};  // all cached: no encoder call
  EXPECT_TRUE(same_floats(cache.encode(*engine, w3), direct(w3)));
  EXPECT_EQ(cache.stats().encoder_calls, 2);
  EXPECT_EQ(cache.stats().hits, 6);

  std::vector<const fi::PixelImage*> w4 = {&f1_changed};
  EXPECT_TRUE(same_floats(cache.encode(*engine, w4), direct(w4)));
  EXPECT_EQ(cache.stats().misses, 4);
  EXPECT_NE(fi::frame_key(f1), fi::frame_key(f1_changed));
  EXPECT_EQ(fi::frame_key(f1), fi::frame_key(f1_copy));

  // Bad images: the engine's error, nothing cached or counted.
  const fi::PixelImage bad{20, 16, std::vector<float>(3 * 20 * 16)};
  std::vector<const fi::PixelImage*> w5 = {&f1, &bad};
  EXPECT_EQ(error_of([&] { cache.encode(*engine, w5); }), ErrorCode::kInvalidArgument);
  std::vector<const fi::PixelImage*> w6 = {&f1, nullptr};
  EXPECT_EQ(error_of([&] { cache.encode(*engine, w6); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(cache.stats().entries, 4);
  EXPECT_EQ(cache.stats().encoder_calls, 3);
}

TEST(FrameEmbeddingCache, EvictsLeastRecentlyUsedWithinItsBudget) {
  auto engine = fi::make_cpu_batch_engine(fi::testing::tiny_engine_config(), tiny_options(), {});
  const fi::PixelImage a = fi::testing::random_image(16, 16, 1),
                       b = fi::testing::random_image(16, 16, 2),
                       c = fi::testing::random_image(16, 16, 3);
  const std::int64_t one = 64 * 4;  // one patch of 64 floats
  fi::FrameEmbeddingCache cache(2 * one);
  std::vector<const fi::PixelImage*> ab = {&a, &b}, a_only = {&a}, c_only = {&c},
                                     all = {&a, &b, &c};
  const std::vector<float> want = engine->encode_images(all);
  cache.encode(*engine, ab);
  cache.encode(*engine, a_only);  // a is now the most recent
  cache.encode(*engine, c_only);  // evicts b
  EXPECT_EQ(cache.stats().entries, 2);
  EXPECT_EQ(cache.stats().bytes, 2 * one);
  const std::int64_t calls = cache.stats().encoder_calls;
  cache.encode(*engine, a_only);
  EXPECT_EQ(cache.stats().encoder_calls, calls);  // a was kept
  // A request larger than the budget still gets every row, right.
  EXPECT_TRUE(same_floats(cache.encode(*engine, all), want));
  EXPECT_LE(cache.stats().bytes, 2 * one);
  cache.clear();
  EXPECT_EQ(cache.stats().entries, 0);
}

TEST(FrameEmbeddingCache, EntriesIdleForMaxIdleCallsAreDropped) {
  auto engine = fi::make_cpu_engine(fi::testing::tiny_engine_config(), tiny_options());
  const fi::PixelImage f1 = fi::testing::random_image(16, 16, 1),
                       f2 = fi::testing::random_image(16, 16, 2),
                       f3 = fi::testing::random_image(16, 16, 3);
  fi::FrameEmbeddingCache cache(std::int64_t{1} << 30, /*max_idle_calls=*/2);
  auto call = [&](std::vector<const fi::PixelImage*> v) {
    EXPECT_TRUE(same_floats(cache.encode(*engine, v), engine->encode_images(v)));
  };
  call({&f1, &f2});  // call 1
  call({&f2});       // call 2: f1 idle 1 call
  EXPECT_EQ(cache.stats().entries, 2);
  call({&f3});  // call 3: f1 unused by calls 2 and 3: dropped; f2 kept
  EXPECT_EQ(cache.stats().entries, 2);
  call({&f2});  // a hit
  EXPECT_EQ(cache.stats().hits, 2);
  call({&f1});  // encoded again
  EXPECT_EQ(cache.stats().misses, 4);
  EXPECT_EQ(cache.stats().entries, 2);  // f3 idle since call 3: dropped at call 5
  EXPECT_EQ(cache.stats().bytes, 2 * 16 * 16 / 256 * engine->config().text.n_embd *
                                     static_cast<std::int64_t>(sizeof(float)));
  EXPECT_THROW(fi::FrameEmbeddingCache(1, -1), framescribe::Error);
}

}  // namespace
