#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "framescribe/core/error.h"
#include "framescribe/inference/sampling.h"

namespace fi = framescribe::inference;

TEST(Argmax, LowestIndexWinsTiesAndNanNeverWins) {
  std::vector<float> v = {1, 3, 3, NAN, -1};
  EXPECT_EQ(fi::argmax(v), 1);
  std::vector<float> nan_first = {NAN, -5, -2};
  EXPECT_EQ(fi::argmax(nan_first), 2);
  EXPECT_THROW(fi::argmax({}), framescribe::Error);
}

TEST(Sampler, GreedyWhenTemperatureIsZero) {
  fi::Sampler s({0.0f, 1.0f, 7});
  std::vector<float> v = {0.1f, 2.0f, 1.9f};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(v), 1);
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  // logits log(1), log(2), log(7): probabilities 0.1, 0.2, 0.7 at temperature 1.
  fi::Sampler s({1.0f, 1.0f, 42});
  std::vector<float> v = {0.0f, std::log(2.0f), std::log(7.0f)};
  std::map<int, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) counts[s.sample(v)]++;
  // 4 standard deviations of a binomial at n = 20000 is at most 0.013.
  EXPECT_NEAR(counts[0] / double(n), 0.1, 0.013);
  EXPECT_NEAR(counts[1] / double(n), 0.2, 0.013);
  EXPECT_NEAR(counts[2] / double(n), 0.7, 0.013);
}

TEST(Sampler, TopPCutsTheTail) {
  // p = 0.7, 0.2, 0.1; top_p 0.8 keeps {0.7, 0.2} only.
  fi::Sampler s({1.0f, 0.8f, 3});
  std::vector<float> v = {std::log(7.0f), std::log(2.0f), 0.0f};
  int twos = 0;
  for (int i = 0; i < 5000; ++i) {
    int t = s.sample(v);
    EXPECT_NE(t, 2);
    twos += t == 1;
  }
  EXPECT_NEAR(twos / 5000.0, 2.0 / 9.0, 0.03);
}

// Infinite logits (a model in trouble, or a caller's mask) must still give a token of the input,
// never read past what was kept: +inf is certain; all -inf is uniform; all NaN falls back to
// argmax.
TEST(Sampler, InfiniteAndNanLogitsStillGiveAValidToken) {
  fi::Sampler s({1.0f, 0.9f, 5});
  const float inf = INFINITY;
  const std::vector<float> certain = {0.0f, inf, 3.0f, NAN};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(certain), 1);
  fi::Sampler all_p({1.0f, 1.0f, 6});
  const std::vector<float> masked = {-inf, -inf, -inf};
  std::map<int, int> counts;
  for (int i = 0; i < 3000; ++i) counts[all_p.sample(masked)]++;
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [tok, c] : counts) EXPECT_NEAR(c / 3000.0, 1.0 / 3.0, 0.05) << tok;
  const std::vector<float> nans = {NAN, NAN};
  EXPECT_EQ(s.sample(nans), 0);
}

TEST(Sampler, SameSeedSameSequenceEverywhere) {
  fi::Sampler a({0.8f, 0.9f, 123}), b({0.8f, 0.9f, 123}), c({0.8f, 0.9f, 124});
  std::vector<float> v(50);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::sin(i * 0.7));
  std::vector<int> sa, sb, sc;
  for (int i = 0; i < 64; ++i) {
    sa.push_back(a.sample(v));
    sb.push_back(b.sample(v));
    sc.push_back(c.sample(v));
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
  // splitmix64 from seed 0: the first output is 0xE220A8397B1DCDAF (Vigna's reference code).
  fi::Sampler z({1.0f, 1.0f, 0});
  EXPECT_DOUBLE_EQ(z.next_uniform(), static_cast<double>(0xE220A8397B1DCDAFull >> 11) * 0x1.0p-53);
}

TEST(Sampler, RejectsBadParameters) {
  EXPECT_THROW(fi::Sampler({1.0f, 0.0f, 0}), framescribe::Error);
  EXPECT_THROW(fi::Sampler({1.0f, 1.5f, 0}), framescribe::Error);
  EXPECT_THROW(fi::Sampler({NAN, 1.0f, 0}), framescribe::Error);
}
