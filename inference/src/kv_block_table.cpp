#include <algorithm>
#include <map>
#include <set>

#include "framescribe/core/error.h"
#include "framescribe/inference/batch_engine.h"

namespace framescribe::inference {

namespace {
std::int64_t blocks_for(std::int64_t tokens, int block_tokens) {
  return (tokens + block_tokens - 1) / block_tokens;
}
}  // namespace

KvBlockTable::KvBlockTable(std::int64_t n_blocks, int block_tokens, std::int64_t max_seq_tokens)
    : block_tokens_(block_tokens), max_seq_tokens_(max_seq_tokens) {
  FS_CHECK(block_tokens > 0, kInvalidArgument, "KV blocks must hold at least one position");
  FS_CHECK(n_blocks > 0 && n_blocks < (std::int64_t{1} << 31), kInvalidArgument,
           "KV cache of " << n_blocks << " blocks; it must hold 1 to 2^31-1 blocks");
  FS_CHECK(max_seq_tokens > 0, kInvalidArgument, "a sequence must hold at least one position");
  refs_.assign(static_cast<std::size_t>(n_blocks), 0);
  free_.reserve(static_cast<std::size_t>(n_blocks));
  // A stack whose top is block 0: blocks are handed out in ascending order from a fresh pool.
  for (std::int64_t b = n_blocks - 1; b >= 0; --b) free_.push_back(static_cast<std::int32_t>(b));
}

const KvBlockTable::Seq& KvBlockTable::get(SeqId seq) const {
  auto it = seqs_.find(seq);
  FS_CHECK(it != seqs_.end(), kInvalidArgument, "KV cache: no sequence " << seq);
  return it->second;
}

std::int64_t KvBlockTable::length(SeqId seq) const {
  return get(seq).length;
}

std::span<const std::int32_t> KvBlockTable::blocks(SeqId seq) const {
  return get(seq).blocks;
}

SeqId KvBlockTable::create() {
  const SeqId id = next_id_++;
  seqs_.emplace(id, Seq{});
  return id;
}

SeqId KvBlockTable::fork(SeqId src) {
  Seq copy = get(src);
  for (std::int32_t b : copy.blocks) ++refs_[static_cast<std::size_t>(b)];
  const SeqId id = next_id_++;
  seqs_.emplace(id, std::move(copy));
  return id;
}

void KvBlockTable::unref(std::int32_t block) {
  int& r = refs_[static_cast<std::size_t>(block)];
  FS_CHECK(r > 0, kInternal, "KV block " << block << " released more often than held");
  if (--r == 0) free_.push_back(block);
}

void KvBlockTable::truncate(SeqId seq, std::int64_t n_tokens) {
  FS_CHECK(n_tokens >= 0, kInvalidArgument, "KV cache: truncate to " << n_tokens << " positions");
  get(seq);
  Seq& s = seqs_[seq];
  if (n_tokens >= s.length) return;
  const auto keep = static_cast<std::size_t>(blocks_for(n_tokens, block_tokens_));
  // Released last block first, so that a re-append takes the same blocks again.
  for (std::size_t i = s.blocks.size(); i > keep; --i) unref(s.blocks[i - 1]);
  s.blocks.resize(keep);
  s.length = n_tokens;
}

void KvBlockTable::release(SeqId seq) {
  get(seq);
  truncate(seq, 0);
  seqs_.erase(seq);
}

namespace {
void check_shift_range(std::int64_t begin, std::int64_t end, std::int64_t length, SeqId seq) {
  FS_CHECK(0 <= begin && begin <= end && end <= length, kInvalidArgument,
           "KV cache: cannot shift out positions [" << begin << ", " << end << ") of sequence "
                                                    << seq << " (" << length << " positions)");
}
}  // namespace

std::int64_t KvBlockTable::shift_blocks_needed(SeqId seq, std::int64_t begin,
                                               std::int64_t end) const {
  const Seq& s = get(seq);
  check_shift_range(begin, end, s.length, seq);
  if (begin == end || end == s.length) return 0;
  const std::int64_t last = blocks_for(s.length - (end - begin), block_tokens_);
  std::int64_t need = 0;
  for (std::int64_t i = begin / block_tokens_; i < last; ++i)
    need += refs_[static_cast<std::size_t>(s.blocks[static_cast<std::size_t>(i)])] > 1;
  return need;
}

KvBlockTable::Shift KvBlockTable::shift_out(SeqId seq, std::int64_t begin, std::int64_t end) {
  const std::int64_t need = shift_blocks_needed(seq, begin, end);  // checks seq and the range
  Seq& s = seqs_[seq];
  Shift out{begin, end, s.length, s.blocks, {}, {}};
  if (begin == end) {
    out.new_blocks = s.blocks;
    return out;
  }
  if (end == s.length) {
    truncate(seq, begin);
    out.new_blocks = s.blocks;
    return out;
  }
  FS_CHECK(need <= static_cast<std::int64_t>(free_.size()), kOutOfMemory,
           "KV cache full: shifting out [" << begin << ", " << end << ") needs " << need
                                           << " free blocks, " << free_.size() << " of "
                                           << refs_.size() << " are free");
  const std::int64_t first = begin / block_tokens_;
  const auto last = static_cast<std::size_t>(blocks_for(s.length - (end - begin), block_tokens_));
  std::vector<std::int32_t> blocks = s.blocks;
  for (auto i = static_cast<std::size_t>(first); i < last; ++i) {
    int& r = refs_[static_cast<std::size_t>(blocks[i])];
    if (r == 1) continue;
    const std::int32_t fresh = take_block();
    if (static_cast<std::int64_t>(i) == first && begin % block_tokens_ != 0)
      out.copies.push_back({blocks[i], fresh});  // keeps positions before begin
    --r;                                         // still held by the other sequences
    blocks[i] = fresh;
  }
  // Dropped last first, as truncate does. After the fresh blocks were taken, so that none of
  // them is a block the move still reads.
  for (std::size_t i = blocks.size(); i > last; --i) unref(blocks[i - 1]);
  blocks.resize(last);
  s.blocks = blocks;
  s.length -= end - begin;
  out.new_blocks = std::move(blocks);
  return out;
}

std::int64_t KvBlockTable::blocks_needed(std::span<const KvAppend> appends) const {
  std::int64_t need = 0;
  std::set<SeqId> seen;
  std::map<std::int32_t, int> copies;
  for (const KvAppend& a : appends) {
    const Seq& s = get(a.seq);
    FS_CHECK(seen.insert(a.seq).second, kInvalidArgument,
             "KV cache: sequence " << a.seq << " appears twice in one step");
    FS_CHECK(a.n_tokens >= 0, kInvalidArgument, "KV cache: append of " << a.n_tokens);
    FS_CHECK(s.length + a.n_tokens <= max_seq_tokens_, kInvalidArgument,
             a.n_tokens << " more tokens after " << s.length << " exceed the context of "
                        << max_seq_tokens_ << " tokens");
    if (a.n_tokens == 0) continue;
    need += blocks_for(s.length + a.n_tokens, block_tokens_) -
            static_cast<std::int64_t>(s.blocks.size());
    // The partial last block is written: a shared one is copied first. Each copy drops the
    // block's count by one, so the last of its holders in this step writes it in place (as
    // append() does).
    if (s.length % block_tokens_ != 0) {
      const std::int32_t last = s.blocks.back();
      int& copied = copies[last];
      if (refs_[static_cast<std::size_t>(last)] - copied > 1) {
        ++copied;
        ++need;
      }
    }
  }
  return need;
}

std::int32_t KvBlockTable::take_block() {
  FS_CHECK(!free_.empty(), kInternal, "KV cache: free list empty after admission");
  const std::int32_t b = free_.back();
  free_.pop_back();
  refs_[static_cast<std::size_t>(b)] = 1;
  return b;
}

std::span<const std::int32_t> KvBlockTable::next_free(std::int64_t n) const {
  FS_CHECK(n >= 0 && n <= static_cast<std::int64_t>(free_.size()), kInvalidArgument,
           "KV cache: " << n << " of " << free_.size() << " free blocks asked for");
  // Taken from the back of the stack: the last n entries, in reverse order. Returned as the
  // stack holds them; callers only need the set.
  return std::span<const std::int32_t>(free_).last(static_cast<std::size_t>(n));
}

std::vector<KvBlockCopy> KvBlockTable::append(std::span<const KvAppend> appends) {
  const std::int64_t need = blocks_needed(appends);
  FS_CHECK(need <= static_cast<std::int64_t>(free_.size()), kOutOfMemory,
           "KV cache full: the step needs " << need << " free blocks of " << block_tokens_
                                            << " positions, " << free_.size() << " of "
                                            << refs_.size() << " are free");
  std::vector<KvBlockCopy> copies;
  for (const KvAppend& a : appends) {
    if (a.n_tokens == 0) continue;
    Seq& s = seqs_[a.seq];
    if (s.length % block_tokens_ != 0) {
      std::int32_t& last = s.blocks.back();
      if (refs_[static_cast<std::size_t>(last)] > 1) {
        const std::int32_t fresh = take_block();
        copies.push_back({last, fresh});
        --refs_[static_cast<std::size_t>(last)];  // still held by the other sequences
        last = fresh;
      }
    }
    s.length += a.n_tokens;
    while (static_cast<std::int64_t>(s.blocks.size()) < blocks_for(s.length, block_tokens_))
      s.blocks.push_back(take_block());
  }
  return copies;
}

KvStats KvBlockTable::stats() const {
  KvStats st;
  st.blocks_total = n_blocks();
  st.blocks_free = static_cast<std::int64_t>(free_.size());
  st.blocks_shared = std::count_if(refs_.begin(), refs_.end(), [](int r) { return r > 1; });
  st.sequences = static_cast<std::int64_t>(seqs_.size());
  st.block_tokens = block_tokens_;
  return st;
}

void KvBlockTable::check_consistency() const {
  std::vector<int> counted(refs_.size(), 0);
  for (const auto& [id, s] : seqs_) {
    FS_CHECK(static_cast<std::int64_t>(s.blocks.size()) == blocks_for(s.length, block_tokens_),
             kInternal,
             "KV sequence " << id << " of " << s.length << " positions has " << s.blocks.size()
                            << " blocks");
    for (std::int32_t b : s.blocks) ++counted[static_cast<std::size_t>(b)];
  }
  std::vector<bool> is_free(refs_.size(), false);
  for (std::int32_t b : free_) {
    FS_CHECK(!is_free[static_cast<std::size_t>(b)], kInternal, "KV block " << b << " freed twice");
    is_free[static_cast<std::size_t>(b)] = true;
  }
  for (std::size_t b = 0; b < refs_.size(); ++b) {
    FS_CHECK(refs_[b] >= 0, kInternal, "KV block " << b << " has reference count " << refs_[b]);
    FS_CHECK(refs_[b] == counted[b], kInternal,
             "KV block " << b << " has reference count " << refs_[b] << " but " << counted[b]
                         << " table entries");
    FS_CHECK(is_free[b] == (refs_[b] == 0), kInternal,
             "KV block " << b
                         << (is_free[b] ? " is free but referenced"
                                        : " is lost (unreferenced, not free)"));
  }
}

}  // namespace framescribe::inference
