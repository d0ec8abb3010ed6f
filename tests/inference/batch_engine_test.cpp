// The multi-sequence CPU engine (batch_engine.h, issue 24) on random mixes of sequences, chunk
// lengths, images, forks, truncations and releases (fixed seeds, tiny dummy-weight model):
//   - batched == sequential: every logits row of a mixed step equals, bit for bit (memcmp), the
//     row of the same span run alone on a second engine;
//   - chunked == whole and fork + eval == fresh eval: every row equals the last-token logits of
//     a fresh single-sequence engine evaluating the row's whole history (its prefix, images
//     included) in one call;
//   - a step refused for lack of blocks changes nothing, and releasing everything frees every
//     block. And requests that cannot be right are refused before anything changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/engine.h"
#include "inference/random_image.h"
#include "inference/tiny_engine.h"

namespace fi = framescribe::inference;

namespace {

struct Rng {
  std::uint64_t s;
  std::uint32_t operator()(std::uint32_t n) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(s >> 33) % n;
  }
};

fi::EngineOptions dummy_options(std::uint64_t seed) {
  fi::EngineOptions o;
  o.n_threads = 2;
  o.load_format = fi::LoadFormat::kDummy;
  o.dummy_seed = seed;
  return o;
}

// A sequence's tokens so far, and the image rows its image tokens took, in order.
struct History {
  std::vector<std::int32_t> tokens;
  std::vector<float> image_rows;
};

// Tokens waiting to be fed to a sequence (text runs and image blocks).
struct Pending {
  std::vector<std::int32_t> tokens;
  std::vector<float> image_rows;
};

struct CheckedRow {
  History prefix;  // the history the row is the last-token logits of
  std::vector<float> logits;
  bool forked = false;
};

class Mix {
 public:
  Mix(std::uint64_t seed, std::int64_t tight_cache_tokens)
      : rng_{seed * 0x9e3779b97f4a7c15ULL + 1},
        config_(fi::testing::tiny_engine_config()),
        weights_seed_(seed),
        batched_(fi::make_cpu_batch_engine(
            config_, dummy_options(seed), {.block_tokens = 4, .cache_tokens = tight_cache_tokens})),
        alone_(fi::make_cpu_batch_engine(config_, dummy_options(seed),
                                         {.block_tokens = 4, .cache_tokens = 8 * 256})) {
    // Images of 1, 2 and 4 patches; their rows come from the engine itself.
    for (const auto& [w, h] : {std::pair{16, 16}, std::pair{32, 16}, std::pair{32, 32}}) {
      const fi::PixelImage img =
          fi::testing::random_image(w, h, static_cast<unsigned>(seed + w + h));
      const fi::PixelImage* p = &img;
      images_.push_back(batched_->encode_images({&p, 1}));
    }
  }

  void run(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      const std::uint32_t op = rng_(100);
      if (live_.empty() || (op < 12 && live_.size() < 6)) {
        create();
      } else if (op < 22 && live_.size() < 6) {
        fork();
      } else if (op < 32) {
        truncate();
      } else if (op < 37) {
        release(live_[rng_(static_cast<std::uint32_t>(live_.size()))]);
      } else {
        step();
      }
      batched_->kv_table().check_consistency();
      alone_->kv_table().check_consistency();
    }
    while (!live_.empty()) release(live_.back());
    const fi::KvStats st = batched_->kv_stats();
    EXPECT_EQ(st.blocks_free, st.blocks_total) << "blocks leaked";
    EXPECT_EQ(st.sequences, 0);
    EXPECT_EQ(alone_->kv_stats().blocks_free, alone_->kv_stats().blocks_total);
  }

  // Every recorded row against a fresh single-sequence engine fed the row's whole history.
  void check_against_fresh_eval() {
    auto fresh = fi::make_cpu_engine(config_, dummy_options(seed_of_weights()));
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      const CheckedRow& row = rows_[i];
      fresh->truncate(0);
      const std::vector<float> want =
          fresh->eval(row.prefix.tokens, row.prefix.image_rows, fi::LogitsMode::kLast);
      ASSERT_EQ(want.size(), row.logits.size());
      ASSERT_EQ(std::memcmp(want.data(), row.logits.data(), want.size() * sizeof(float)), 0)
          << "row " << i << " (" << row.prefix.tokens.size() << " tokens, "
          << row.prefix.image_rows.size() / config_.text.n_embd << " image rows"
          << (row.forked ? ", forked" : "") << ") differs from a fresh whole eval";
    }
  }

  std::size_t rows() const { return rows_.size(); }
  std::size_t forked_rows() const {
    return static_cast<std::size_t>(
        std::count_if(rows_.begin(), rows_.end(), [](const CheckedRow& r) { return r.forked; }));
  }
  int multi_span_steps = 0, refused_steps = 0, truncations = 0, image_tokens = 0, shared_seen = 0,
      cow_spans = 0;

 private:
  std::uint64_t seed_of_weights() const { return weights_seed_; }

  void create() {
    const fi::SeqId a = batched_->create();
    seqs_[a] = {alone_->create(), {}, {}, false};
    live_.push_back(a);
  }
  void fork() {
    const fi::SeqId src = live_[rng_(static_cast<std::uint32_t>(live_.size()))];
    const fi::SeqId a = batched_->fork(src);
    State s = seqs_[src];
    s.alone = alone_->fork(seqs_[src].alone);
    s.pending = {};
    s.forked = true;
    seqs_[a] = s;
    live_.push_back(a);
    shared_seen += batched_->kv_stats().blocks_shared > 0;
  }
  void truncate() {
    const fi::SeqId a = live_[rng_(static_cast<std::uint32_t>(live_.size()))];
    State& s = seqs_[a];
    const auto len = static_cast<std::uint32_t>(s.history.tokens.size());
    const std::int64_t n = rng_(len + 1);
    batched_->truncate(a, n);
    alone_->truncate(s.alone, n);
    s.history.tokens.resize(static_cast<std::size_t>(n));
    s.history.image_rows.resize(image_count(s.history.tokens) * embd());
    ++truncations;
  }
  void release(fi::SeqId a) {
    batched_->release(a);
    alone_->release(seqs_[a].alone);
    seqs_.erase(a);
    live_.erase(std::find(live_.begin(), live_.end(), a));
  }

  std::size_t embd() const { return static_cast<std::size_t>(config_.text.n_embd); }
  std::size_t image_count(std::span<const std::int32_t> t) const {
    return static_cast<std::size_t>(std::count(t.begin(), t.end(), config_.image_token_id));
  }

  void refill(Pending& p) {
    if (rng_(3) == 0) {  // an image block: its image tokens, then [IMG_END]
      const std::vector<float>& rows = images_[rng_(static_cast<std::uint32_t>(images_.size()))];
      const std::size_t n = rows.size() / embd();
      p.tokens.insert(p.tokens.end(), n, config_.image_token_id);
      p.tokens.push_back(config_.image_end_token_id);
      p.image_rows.insert(p.image_rows.end(), rows.begin(), rows.end());
    } else {
      const std::uint32_t n = 1 + rng_(12);
      for (std::uint32_t i = 0; i < n; ++i)
        p.tokens.push_back(20 + static_cast<std::int32_t>(rng_(config_.text.n_vocab - 20)));
    }
  }

  void step() {
    // A random subset of the live sequences, in random order, each with a chunk of 1..10.
    std::vector<fi::SeqId> order = live_;
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng_(i)]);
    order.resize(1 + rng_(static_cast<std::uint32_t>(order.size())));
    struct Chunk {
      fi::SeqId seq;
      std::vector<std::int32_t> tokens;
      std::vector<float> rows;
      fi::LogitsMode mode;
    };
    std::vector<Chunk> chunks;
    for (fi::SeqId a : order) {
      State& s = seqs_[a];
      const std::int64_t room =
          batched_->max_context() - static_cast<std::int64_t>(s.history.tokens.size());
      std::size_t n = std::min<std::size_t>(1 + rng_(10), static_cast<std::size_t>(room));
      if (n == 0) continue;
      while (s.pending.tokens.size() < n) refill(s.pending);
      Chunk c{a,
              {s.pending.tokens.begin(), s.pending.tokens.begin() + static_cast<std::ptrdiff_t>(n)},
              {},
              static_cast<fi::LogitsMode>(rng_(3))};
      c.rows.assign(s.pending.image_rows.begin(),
                    s.pending.image_rows.begin() +
                        static_cast<std::ptrdiff_t>(image_count(c.tokens) * embd()));
      chunks.push_back(std::move(c));
    }
    if (chunks.empty()) return;
    std::vector<fi::StepSpan> spans;
    for (const Chunk& c : chunks) spans.push_back({c.seq, c.tokens, c.rows, c.mode});

    for (const Chunk& c : chunks) {  // spans that write into a shared partial block (a copy)
      const std::span<const std::int32_t> blocks = batched_->kv_table().blocks(c.seq);
      cow_spans +=
          batched_->length(c.seq) % 4 != 0 && batched_->kv_table().refcount(blocks.back()) > 1;
    }
    const fi::KvStats before = batched_->kv_stats();
    const std::int64_t need = batched_->blocks_needed(spans);
    fi::StepResult got;
    try {
      got = batched_->step(spans);
    } catch (const framescribe::Error& e) {
      // Refused for lack of blocks: nothing changed.
      ASSERT_EQ(e.code(), framescribe::ErrorCode::kOutOfMemory) << e.what();
      EXPECT_GT(need, before.blocks_free);
      const fi::KvStats after = batched_->kv_stats();
      EXPECT_EQ(after.blocks_free, before.blocks_free);
      EXPECT_EQ(after.blocks_shared, before.blocks_shared);
      for (const Chunk& c : chunks)
        EXPECT_EQ(batched_->length(c.seq),
                  static_cast<std::int64_t>(seqs_[c.seq].history.tokens.size()));
      ++refused_steps;
      return;
    }
    EXPECT_LE(need, before.blocks_free);
    EXPECT_EQ(batched_->kv_stats().blocks_free, before.blocks_free - need);
    multi_span_steps += chunks.size() > 1;
    ASSERT_EQ(got.first_row.size(), chunks.size());

    for (std::size_t i = 0; i < chunks.size(); ++i) {
      const Chunk& c = chunks[i];
      State& s = seqs_[c.seq];
      const fi::StepSpan alone_span{s.alone, c.tokens, c.rows, c.mode};
      const fi::StepResult want = alone_->step({&alone_span, 1});
      const std::int64_t n_rows = want.rows();
      ASSERT_EQ(n_rows, c.mode == fi::LogitsMode::kAll    ? std::ssize(c.tokens)
                        : c.mode == fi::LogitsMode::kLast ? 1
                                                          : 0);
      // (memcmp with zero rows would be given null pointers: nothing to compare then.)
      if (!want.logits.empty())
        ASSERT_EQ(std::memcmp(got.row(got.first_row[i]).data(), want.logits.data(),
                              want.logits.size() * sizeof(float)),
                  0)
            << "span " << i << " of " << chunks.size() << ": batched differs from alone";
      // Advance the history and record each row with its prefix.
      const std::size_t first_token = s.history.tokens.size();
      s.history.tokens.insert(s.history.tokens.end(), c.tokens.begin(), c.tokens.end());
      s.history.image_rows.insert(s.history.image_rows.end(), c.rows.begin(), c.rows.end());
      image_tokens += static_cast<int>(image_count(c.tokens));
      s.pending.tokens.erase(
          s.pending.tokens.begin(),
          s.pending.tokens.begin() + static_cast<std::ptrdiff_t>(c.tokens.size()));
      s.pending.image_rows.erase(
          s.pending.image_rows.begin(),
          s.pending.image_rows.begin() + static_cast<std::ptrdiff_t>(c.rows.size()));
      for (std::int64_t r = 0; r < n_rows; ++r) {
        const std::size_t end = c.mode == fi::LogitsMode::kAll
                                    ? first_token + static_cast<std::size_t>(r) + 1
                                    : s.history.tokens.size();
        CheckedRow row;
        row.prefix.tokens.assign(s.history.tokens.begin(),
                                 s.history.tokens.begin() + static_cast<std::ptrdiff_t>(end));
        row.prefix.image_rows.assign(
            s.history.image_rows.begin(),
            s.history.image_rows.begin() +
                static_cast<std::ptrdiff_t>(image_count(row.prefix.tokens) * embd()));
        const auto row_data = got.row(got.first_row[i] + r);
        row.logits.assign(row_data.begin(), row_data.end());
        row.forked = s.forked;
        rows_.push_back(std::move(row));
      }
    }
  }

  struct State {
    fi::SeqId alone = 0;
    History history;
    Pending pending;
    bool forked = false;
  };

  Rng rng_;
  fi::ModelConfig config_;
  std::uint64_t weights_seed_ = 0;
  std::unique_ptr<fi::BatchEngine> batched_, alone_;
  std::vector<std::vector<float>> images_;
  std::map<fi::SeqId, State> seqs_;  // by the batched engine's id
  std::vector<fi::SeqId> live_;
  std::vector<CheckedRow> rows_;
};

TEST(BatchEngine, RandomMixesAreBitIdenticalToSequentialAndToFreshWholeEvals) {
  int refused = 0, cow_spans = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    // A pool of 160 positions (40 blocks of 4) for up to six sequences: some steps are refused.
    Mix mix(seed, 160);
    mix.run(70);
    mix.check_against_fresh_eval();
    EXPECT_GT(mix.rows(), 30u);
    EXPECT_GT(mix.forked_rows(), 0u) << "no row of a forked sequence was compared";
    EXPECT_GT(mix.multi_span_steps, 5);
    EXPECT_GT(mix.truncations, 0);
    EXPECT_GT(mix.image_tokens, 0);
    EXPECT_GT(mix.shared_seen, 0);
    refused += mix.refused_steps;
    cow_spans += mix.cow_spans;
  }
  EXPECT_GT(cow_spans, 0) << "no span wrote into a shared block: copy-on-write is untested";
  EXPECT_GT(refused, 0) << "no step was refused for lack of blocks: the failure path is untested";
}

}  // namespace
