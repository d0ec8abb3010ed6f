#include "framescribe/inference/frame_cache.h"

#include <algorithm>
#include <cstring>

#include "framescribe/core/error.h"

namespace framescribe::inference {

namespace {
// 64-bit mixing (splitmix64's finaliser).
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

FrameKey frame_key(const PixelImage& image) {
  // Two independent multiply-mix chains over the size and the bit pattern of every value.
  FrameKey k{0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL};
  auto add = [&k](std::uint64_t v) {
    k.a = mix(k.a ^ v) * 0xff51afd7ed558ccdULL;
    k.b = mix(k.b + v * 0x9fb21c651e98df25ULL) ^ (k.b >> 29);
  };
  add(static_cast<std::uint64_t>(static_cast<std::uint32_t>(image.width_px)));
  add(static_cast<std::uint64_t>(static_cast<std::uint32_t>(image.height_px)));
  add(image.chw.size());
  const std::size_t n = image.chw.size();
  std::size_t i = 0;
  for (; i + 1 < n; i += 2) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, &image.chw[i], 4);
    std::memcpy(&hi, &image.chw[i + 1], 4);
    add((static_cast<std::uint64_t>(hi) << 32) | lo);
  }
  if (i < n) {
    std::uint32_t lo;
    std::memcpy(&lo, &image.chw[i], 4);
    add(lo);
  }
  return {mix(k.a), mix(k.b)};
}

FrameEmbeddingCache::FrameEmbeddingCache(std::int64_t max_bytes, std::int64_t max_idle_calls)
    : max_bytes_(max_bytes), max_idle_calls_(max_idle_calls) {
  FS_CHECK(max_bytes >= 0, kInvalidArgument, "frame cache of " << max_bytes << " bytes");
  FS_CHECK(max_idle_calls >= 0, kInvalidArgument,
           "frame cache idle limit of " << max_idle_calls << " calls");
}

void FrameEmbeddingCache::evict_back() {
  auto victim = entries_.find(lru_.back());
  stats_.bytes -= static_cast<std::int64_t>(victim->second.rows.size() * sizeof(float));
  entries_.erase(victim);
  lru_.pop_back();
}

std::vector<float> FrameEmbeddingCache::encode(Engine& engine,
                                               std::span<const PixelImage* const> images) {
  return encode_with(
      &engine,
      [](void* e, std::span<const PixelImage* const> im) {
        return static_cast<Engine*>(e)->encode_images(im);
      },
      engine.config().text.n_embd, engine.config().vision.patch_px, images);
}

std::vector<float> FrameEmbeddingCache::encode(BatchEngine& engine,
                                               std::span<const PixelImage* const> images) {
  return encode_with(
      &engine,
      [](void* e, std::span<const PixelImage* const> im) {
        return static_cast<BatchEngine*>(e)->encode_images(im);
      },
      engine.config().text.n_embd, engine.config().vision.patch_px, images);
}

std::vector<float> FrameEmbeddingCache::encode_with(void* engine, Encoder encoder, int text_embd,
                                                    int patch_px,
                                                    std::span<const PixelImage* const> images) {
  for (std::size_t i = 0; i < images.size(); ++i)
    FS_CHECK(images[i] != nullptr, kInvalidArgument, "image " << i << " is null");
  std::vector<FrameKey> keys;
  std::vector<const PixelImage*> missing;
  std::vector<FrameKey> missing_keys;
  for (const PixelImage* img : images) {
    keys.push_back(frame_key(*img));
    if (entries_.count(keys.back()) == 0 &&
        std::find(missing_keys.begin(), missing_keys.end(), keys.back()) == missing_keys.end()) {
      missing.push_back(img);
      missing_keys.push_back(keys.back());
    }
  }
  // The misses in one call (the engine validates them; nothing is cached if it throws).
  std::vector<float> fresh;
  if (!missing.empty()) {
    fresh = encoder(engine, missing);
    ++stats_.encoder_calls;
  }
  std::unordered_map<FrameKey, std::vector<float>, KeyHash> new_rows;
  std::size_t off = 0;
  for (std::size_t i = 0; i < missing.size(); ++i) {
    const std::size_t n = static_cast<std::size_t>(missing[i]->width_px / patch_px) *
                          static_cast<std::size_t>(missing[i]->height_px / patch_px) *
                          static_cast<std::size_t>(text_embd);
    FS_CHECK(off + n <= fresh.size(), kInternal,
             "the encoder returned " << fresh.size() << " values for the missing images");
    new_rows.emplace(missing_keys[i],
                     std::vector<float>(fresh.begin() + static_cast<std::ptrdiff_t>(off),
                                        fresh.begin() + static_cast<std::ptrdiff_t>(off + n)));
    off += n;
  }

  ++calls_;
  // The answer first (hits touch the LRU order), then the new entries, so that an eviction
  // made room for this call's misses never takes rows this call still needs.
  std::vector<float> out;
  std::vector<FrameKey> inserted;
  for (const FrameKey& k : keys) {
    auto nr = new_rows.find(k);
    if (nr != new_rows.end()) {
      const bool first = std::find(inserted.begin(), inserted.end(), k) == inserted.end();
      ++(first ? stats_.misses : stats_.hits);  // a repeat within the call is not encoded again
      if (first) inserted.push_back(k);
      out.insert(out.end(), nr->second.begin(), nr->second.end());
      continue;
    }
    auto it = entries_.find(k);
    ++stats_.hits;
    it->second.last_call = calls_;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    out.insert(out.end(), it->second.rows.begin(), it->second.rows.end());
  }
  for (const FrameKey& k : inserted) {
    std::vector<float>& rows = new_rows[k];
    const auto bytes = static_cast<std::int64_t>(rows.size() * sizeof(float));
    if (bytes > max_bytes_) continue;  // larger than the whole budget: not kept
    while (stats_.bytes + bytes > max_bytes_ && !lru_.empty()) evict_back();
    lru_.push_front(k);
    entries_.emplace(k, Entry{std::move(rows), lru_.begin(), calls_});
    stats_.bytes += bytes;
  }
  // Entries idle for max_idle_calls calls (the LRU list is in order of last use).
  while (max_idle_calls_ > 0 && !lru_.empty() &&
         entries_.at(lru_.back()).last_call + max_idle_calls_ <= calls_)
    evict_back();
  stats_.entries = static_cast<std::int64_t>(entries_.size());
  return out;
}

FrameCacheStats FrameEmbeddingCache::stats() const {
  return stats_;
}

void FrameEmbeddingCache::clear() {
  entries_.clear();
  lru_.clear();
  stats_.entries = 0;
  stats_.bytes = 0;
}

}  // namespace framescribe::inference
