// Frame embeddings cached by content (issue 24): Pixtral's vision encoder sees each image alone,
// so an image's rows do not depend on the other images of a request. Overlapping windows and
// repeated frames then never run the encoder twice.
//
//   FrameEmbeddingCache cache(/*max_bytes=*/512 << 20);
//   std::vector<float> feats = cache.encode(*engine, images);  // == engine->encode_images(images)
//   FrameCacheStats s = cache.stats();   // hits, misses, encoder_calls, entries, bytes
//
// Rules: the key is a 128-bit hash of the image's size and every pixel value (two independent
// 64-bit hashes), so two different frames share an entry only by a hash collision (about 2^-64
// per pair). Entries are evicted least recently used first once `max_bytes` of embeddings are
// held; an image larger than the whole budget is encoded but not kept. With max_idle_calls > 0,
// an entry that none of the last max_idle_calls encode() calls used is dropped too (a video's
// frames then stay only while windows near them run: memory does not grow with the video). The
// misses of one call go to the engine in one encode_images call, in request order. The cache does
// not know which engine filled it: use one cache per set of weights (clear() after loading others).
// Thread-safety: none; use it from the thread that drives the engine.
// Errors: those of Engine::encode_images (bad image sizes, null images), before anything is
// cached.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/engine.h"

namespace framescribe::inference {

struct FrameCacheStats {
  std::int64_t hits = 0;           // images served from the cache
  std::int64_t misses = 0;         // images encoded
  std::int64_t encoder_calls = 0;  // encode_images calls made on the engine
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
};

// The 128-bit content key of an image: its size and pixel values.
struct FrameKey {
  std::uint64_t a = 0, b = 0;
  bool operator==(const FrameKey&) const = default;
};
FrameKey frame_key(const PixelImage& image);

class FrameEmbeddingCache {
 public:
  explicit FrameEmbeddingCache(std::int64_t max_bytes = std::int64_t{256} << 20,
                               std::int64_t max_idle_calls = 0);

  // [sum of patches, text n_embd], images in order, as engine.encode_images(images).
  std::vector<float> encode(Engine& engine, std::span<const PixelImage* const> images);
  std::vector<float> encode(BatchEngine& engine, std::span<const PixelImage* const> images);

  FrameCacheStats stats() const;
  void clear();

 private:
  using Encoder = std::vector<float> (*)(void* engine, std::span<const PixelImage* const>);
  std::vector<float> encode_with(void* engine, Encoder encoder, int text_embd, int patch_px,
                                 std::span<const PixelImage* const> images);

  struct KeyHash {
    std::size_t operator()(const FrameKey& k) const { return static_cast<std::size_t>(k.a ^ k.b); }
  };
  struct Entry {
    std::vector<float> rows;
    std::list<FrameKey>::iterator lru;
    std::int64_t last_call = 0;  // the encode() call that last used it
  };
  void evict_back();
  std::int64_t max_bytes_;
  std::int64_t max_idle_calls_;
  std::int64_t calls_ = 0;
  std::unordered_map<FrameKey, Entry, KeyHash> entries_;
  std::list<FrameKey> lru_;  // most recently used first
  FrameCacheStats stats_;
};

}  // namespace framescribe::inference
