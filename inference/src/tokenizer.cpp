// The tekken encoder and decoder: PCRE2 pre-tokenisation, byte-pair merging by rank with
// tiktoken semantics, decoding and streaming decoding. The file readers are in
// tokenizer_files.cpp. References: docs/pixtral.md section 6; tiktoken src/lib.rs
// (`_byte_pair_merge`, `encode_ordinary`); mistral-common tekken.py (`Tekkenizer`).
#include "framescribe/inference/tokenizer.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>
#include <unordered_map>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "tokenizer_impl.h"

namespace framescribe::inference {

const std::string_view kTekkenPattern =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|)"
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}|)"
    R"( ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

std::string_view to_string(TokenizerFormat format) {
  return format == TokenizerFormat::kTekken ? "tekken.json" : "tokenizer.json";
}

namespace {

struct CodeDeleter {
  void operator()(pcre2_code* p) const { pcre2_code_free(p); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* p) const { pcre2_match_data_free(p); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* p) const { pcre2_match_context_free(p); }
};
struct JitStackDeleter {
  void operator()(pcre2_jit_stack* p) const { pcre2_jit_stack_free(p); }
};

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  int n = pcre2_get_error_message(code, buf, sizeof(buf));
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<char*>(buf));
}

std::uint64_t hash_bytes(std::string_view s) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xff51afd7ed558ccdull);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t k;
    std::memcpy(&k, p, 8);
    h = (h ^ k) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail) * 0xbf58476d1ce4e5b9ull;
  h ^= h >> 31;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 29;
  return h;
}

// The per-thread state PCRE2 needs to match: a match context whose JIT stack can grow to 8 MiB
// (the default 32 KiB is enough for ordinary text). The match limit is raised from 10 million
// because the tekken pattern backtracks once over a whole whitespace run (`\s*[\r\n]+` before
// `\s+(?!\S)`), which is linear but exceeds the default for runs of about 10 MB.
struct ThreadMatchState {
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> context;
  std::unique_ptr<pcre2_jit_stack, JitStackDeleter> jit_stack;
  ThreadMatchState() {
    context.reset(pcre2_match_context_create(nullptr));
    if (!context) return;
    pcre2_set_match_limit(context.get(), 0xffffffffu);
    pcre2_set_heap_limit(context.get(), 256 * 1024);  // KiB, interpreter only
    jit_stack.reset(pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr));
    if (jit_stack) pcre2_jit_stack_assign(context.get(), nullptr, jit_stack.get());
  }
};

ThreadMatchState& thread_match_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

struct Tokenizer::Impl {
  std::string source;
  TokenizerFormat format = TokenizerFormat::kTekken;
  std::string version;
  std::string pattern;
  int num_special = 0;
  std::vector<std::string> specials;
  std::unordered_map<std::string, int> special_ids;
  RankTable table;
  std::unique_ptr<pcre2_code, CodeDeleter> code;
  bool jit = false;
};

// ---------------------------------------------------------------------------------------------
// RankTable

void RankTable::build(const std::vector<std::string>& tokens) {
  std::size_t total = 0;
  for (const std::string& t : tokens) total += t.size();
  FS_ASSERT(total < std::numeric_limits<std::uint32_t>::max());
  buffer_.clear();
  buffer_.reserve(total);
  offsets_.assign(1, 0);
  offsets_.reserve(tokens.size() + 1);
  std::size_t capacity = 16;
  while (capacity < tokens.size() * 2) capacity *= 2;
  slots_.assign(capacity, kNone);
  mask_ = capacity - 1;
  duplicate = duplicate_of = kNone;
  for (std::size_t r = 0; r < tokens.size(); ++r) {
    buffer_ += tokens[r];
    offsets_.push_back(static_cast<std::uint32_t>(buffer_.size()));
    std::string_view key = bytes(static_cast<std::uint32_t>(r));
    std::uint64_t i = hash_bytes(key) & mask_;
    while (slots_[i] != kNone) {
      if (bytes(slots_[i]) == key) break;
      i = (i + 1) & mask_;
    }
    if (slots_[i] != kNone) {
      if (duplicate == kNone) {
        duplicate = static_cast<std::uint32_t>(r);
        duplicate_of = slots_[i];
      }
      continue;  // the first rank keeps the bytes
    }
    slots_[i] = static_cast<std::uint32_t>(r);
  }
}

std::uint32_t RankTable::find(std::string_view key) const {
  if (slots_.empty()) return kNone;
  std::uint64_t i = hash_bytes(key) & mask_;
  while (true) {
    std::uint32_t r = slots_[i];
    if (r == kNone) return kNone;
    if (offsets_[r + 1] - offsets_[r] == key.size() &&
        std::memcmp(buffer_.data() + offsets_[r], key.data(), key.size()) == 0) {
      return r;
    }
    i = (i + 1) & mask_;
  }
}

// ---------------------------------------------------------------------------------------------
// Construction

Tokenizer make_tokenizer(TokenizerData data) {
  auto impl = std::make_shared<Tokenizer::Impl>();
  const std::string& src = data.source;
  auto field = [&](int rank) {
    return data.field_of_rank ? data.field_of_rank(rank) : "rank " + std::to_string(rank);
  };
  FS_CHECK(data.ranks.size() >= 256, kMalformedModel,
           src << ": the vocabulary has " << data.ranks.size()
               << " BPE tokens, fewer than the 256 single bytes a byte-level BPE needs");
  FS_CHECK(
      data.num_special >= 0 && data.specials.size() <= static_cast<std::size_t>(data.num_special),
      kInternal, src << ": inconsistent special token count");
  FS_CHECK(static_cast<std::uint64_t>(data.num_special) + data.ranks.size() <=
               static_cast<std::uint64_t>(std::numeric_limits<int>::max()),
           kMalformedModel, src << ": vocabulary too large for 32-bit token ids");
  for (int b = 0; b < 256; ++b) {
    const std::string& t = data.ranks[static_cast<std::size_t>(b)];
    FS_CHECK(t.size() == 1 && static_cast<unsigned char>(t[0]) == b, kMalformedModel,
             src << ": " << field(b) << ": rank " << b << " must be the single byte 0x" << std::hex
                 << b << std::dec << " (ranks 0..255 are the 256 bytes in order)");
  }
  for (std::size_t r = 256; r < data.ranks.size(); ++r) {
    FS_CHECK(!data.ranks[r].empty(), kMalformedModel,
             src << ": " << field(static_cast<int>(r)) << ": empty token");
  }
  impl->table.build(data.ranks);
  if (impl->table.duplicate != RankTable::kNone) {
    FS_FAIL(kMalformedModel, src << ": " << field(static_cast<int>(impl->table.duplicate))
                                 << ": duplicate token, the same bytes as "
                                 << field(static_cast<int>(impl->table.duplicate_of)));
  }

  for (std::size_t i = 0; i < data.specials.size(); ++i) {
    auto [it, inserted] = impl->special_ids.emplace(data.specials[i], static_cast<int>(i));
    FS_CHECK(inserted, kMalformedModel,
             src << ": special token \"" << data.specials[i] << "\" is defined twice (ids "
                 << it->second << " and " << i << ")");
  }

  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  const std::string compiled = tiktoken_compatible_pattern(data.pattern);
  impl->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(),
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code,
                                 &error_offset, nullptr));
  if (!impl->code) {
    // Report the position in the file's pattern, not in the rewritten one, when that fails too.
    std::unique_ptr<pcre2_code, CodeDeleter> original(pcre2_compile(
        reinterpret_cast<PCRE2_SPTR>(data.pattern.data()), data.pattern.size(),
        PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code, &error_offset, nullptr));
    FS_FAIL(kMalformedModel, src << ": the pre-tokenisation pattern does not compile ("
                                 << pcre2_message(error_code) << " at offset " << error_offset
                                 << ")");
  }
  impl->jit = pcre2_jit_compile(impl->code.get(), PCRE2_JIT_COMPLETE) == 0;
  if (!impl->jit) FS_LOG_DEBUG(src << ": PCRE2 JIT unavailable; using the interpreter");

  impl->source = std::move(data.source);
  impl->format = data.format;
  impl->version = std::move(data.version);
  impl->pattern = std::move(data.pattern);
  impl->num_special = data.num_special;
  impl->specials = std::move(data.specials);
  return Tokenizer(std::move(impl));
}

// ---------------------------------------------------------------------------------------------
// Encoding

namespace {

// Byte-pair merging of one piece, tiktoken semantics, in O(n log n): a min-heap of adjacent
// pairs keyed by (rank of the concatenation, byte offset), so the lowest rank wins and ties go
// to the leftmost pair, exactly as tiktoken's linear scan picks them. Merged-away or changed
// pairs are recognised by a per-node version and skipped when popped.
class BytePairMerger {
 public:
  void encode(std::string_view piece, const RankTable& table, int id_offset,
              std::vector<std::int32_t>& out) {
    if (piece.empty()) return;
    if (std::uint32_t r = table.find(piece); r != RankTable::kNone) {  // whole piece first
      out.push_back(static_cast<int>(r) + id_offset);
      return;
    }
    if (piece.size() <= kSmall) {
      encode_small(piece, table, id_offset, out);
      return;
    }
    const auto n = static_cast<std::uint32_t>(piece.size());
    next_.resize(n);
    prev_.resize(n);
    version_.assign(n, 0);
    rank_.resize(n);
    heap_.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      next_[i] = i + 1;
      prev_[i] = i == 0 ? kNoNode : i - 1;
      rank_[i] = static_cast<unsigned char>(piece[i]);  // ranks 0..255 are the bytes
    }
    for (std::uint32_t i = 0; i + 1 < n; ++i) push(piece, table, i);
    while (!heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), greater);
      Candidate c = heap_.back();
      heap_.pop_back();
      if (version_[c.node] != c.version) continue;  // stale
      const std::uint32_t i = c.node, j = next_[i];
      rank_[i] = c.rank;
      next_[i] = next_[j];
      if (next_[j] < n) prev_[next_[j]] = i;
      ++version_[i];
      ++version_[j];  // j is gone; its entries are stale
      if (prev_[i] != kNoNode) {
        ++version_[prev_[i]];
        push(piece, table, prev_[i]);
      }
      push(piece, table, i);
    }
    for (std::uint32_t i = 0; i < n; i = next_[i])
      out.push_back(static_cast<int>(rank_[i]) + id_offset);
  }

  // Pieces up to this many bytes (nearly all of them in real text) take tiktoken's own
  // quadratic scan over small arrays on the stack: faster than a heap at these sizes.
  static constexpr std::size_t kSmall = 48;

 private:
  static void encode_small(std::string_view piece, const RankTable& table, int id_offset,
                           std::vector<std::int32_t>& out) {
    std::uint32_t start[kSmall + 1];  // start[k]: first byte of part k; start[m] == n
    std::uint32_t part_rank[kSmall];  // rank of part k
    std::uint32_t pair_rank[kSmall];  // rank of parts k and k+1 joined, or kNone
    const auto n = static_cast<std::uint32_t>(piece.size());
    std::uint32_t m = n;
    auto rank_of = [&](std::uint32_t a, std::uint32_t b) {
      return table.find(piece.substr(a, b - a));
    };
    for (std::uint32_t k = 0; k <= n; ++k) start[k] = k;
    for (std::uint32_t k = 0; k < n; ++k) {
      part_rank[k] = static_cast<unsigned char>(piece[k]);
      pair_rank[k] = k + 1 < n ? rank_of(k, k + 2) : RankTable::kNone;
    }
    while (m > 1) {
      std::uint32_t best = RankTable::kNone, at = 0;
      for (std::uint32_t k = 0; k + 1 < m; ++k) {
        if (pair_rank[k] < best) {
          best = pair_rank[k];
          at = k;
        }
      }
      if (best == RankTable::kNone) break;
      part_rank[at] = best;
      for (std::uint32_t k = at + 1; k < m; ++k) {  // drop part at+1
        start[k] = start[k + 1];
        part_rank[k] = k + 1 < m ? part_rank[k + 1] : 0;
        pair_rank[k] = k + 1 < m ? pair_rank[k + 1] : RankTable::kNone;
      }
      --m;
      pair_rank[at] = at + 1 < m ? rank_of(start[at], start[at + 2]) : RankTable::kNone;
      if (at > 0) pair_rank[at - 1] = rank_of(start[at - 1], start[at + 1]);
    }
    for (std::uint32_t k = 0; k < m; ++k) out.push_back(static_cast<int>(part_rank[k]) + id_offset);
  }

  static constexpr std::uint32_t kNoNode = 0xffffffffu;
  struct Candidate {
    std::uint32_t rank, node, version;
  };
  static bool greater(const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.node > b.node;
  }
  // Queues the pair (node i, its right neighbour) if their concatenation is a token.
  void push(std::string_view piece, const RankTable& table, std::uint32_t i) {
    const auto n = static_cast<std::uint32_t>(piece.size());
    if (next_[i] >= n) return;
    const std::uint32_t end = next_[next_[i]] < n ? next_[next_[i]] : n;
    std::uint32_t r = table.find(piece.substr(i, end - i));
    if (r == RankTable::kNone) return;
    heap_.push_back({r, i, version_[i]});
    std::push_heap(heap_.begin(), heap_.end(), greater);
  }

  std::vector<std::uint32_t> next_, prev_, version_, rank_;
  std::vector<Candidate> heap_;
};

}  // namespace

std::vector<std::int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<std::int32_t> out;
  encode_append(text, out);
  return out;
}

void Tokenizer::encode_append(std::string_view text, std::vector<std::int32_t>& out) const {
  FS_CHECK(text.size() < std::numeric_limits<std::uint32_t>::max(), kInvalidArgument,
           "tokenizer: text of " << text.size() << " bytes is too long to encode at once");
  const Impl& impl = *impl_;
  BytePairMerger merger;
  auto emit = [&](std::size_t begin, std::size_t end) {
    merger.encode(text.substr(begin, end - begin), impl.table, impl.num_special, out);
  };
  if (text.empty()) return;

  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(
      pcre2_match_data_create_from_pattern(impl.code.get(), nullptr));
  if (!md) throw std::bad_alloc();
  pcre2_match_context* context = thread_match_state().context.get();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const std::size_t n = text.size();
  std::size_t start = 0;    // where the next search begins
  std::size_t emitted = 0;  // bytes already turned into pieces
  std::uint32_t options = 0;
  while (start <= n) {
    int rc = pcre2_match(impl.code.get(), subject, n, start, options, md.get(), context);
    if (rc == PCRE2_ERROR_NOMATCH) {
      if (options == 0) break;
      // No non-empty match where the last empty one was: step one character on.
      options = 0;
      ++start;
      while (start < n && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
      continue;
    }
    if (rc < 0) {
      // A resource limit (match, depth or heap limit, JIT stack) on pathological input: the
      // rest becomes one piece, so the ids still decode to the input. Ordinary text (and the
      // tekken pattern on runs of many megabytes) never gets here.
      FS_LOG_WARN(impl.source << ": pre-tokenisation stopped at byte " << start << " of " << n
                              << " (" << pcre2_message(rc) << "); encoding the rest as one piece");
      break;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    const std::size_t ms = ov[0], me = ov[1];
    if (ms < emitted || me < ms || me > n) break;  // cannot happen; keep the bytes anyway
    if (ms > emitted) emit(emitted, ms);  // bytes the pattern does not match (invalid UTF-8)
    if (me > ms) emit(ms, me);
    emitted = me;
    start = me;
    options = me == ms ? (PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED) : 0;
    if (me == ms && me == n) break;
  }
  if (emitted < n) emit(emitted, n);
}

// ---------------------------------------------------------------------------------------------
// Decoding and accessors

int Tokenizer::vocab_size() const {
  return impl_->num_special + static_cast<int>(impl_->table.size());
}
int Tokenizer::num_special() const {
  return impl_->num_special;
}
TokenizerFormat Tokenizer::format() const {
  return impl_->format;
}
const std::string& Tokenizer::source() const {
  return impl_->source;
}
const std::string& Tokenizer::version() const {
  return impl_->version;
}
const std::string& Tokenizer::pattern() const {
  return impl_->pattern;
}
bool Tokenizer::uses_jit() const {
  return impl_->jit;
}

std::string Tokenizer::special_token(std::int32_t id) const {
  FS_CHECK(
      is_special(id), kInvalidArgument,
      impl_->source << ": id " << id << " is not a special token (0.." << num_special() - 1 << ")");
  if (static_cast<std::size_t>(id) < impl_->specials.size()) return impl_->specials[id];
  return "<SPECIAL_" + std::to_string(id) + ">";  // mistral-common's filler names
}

std::string_view Tokenizer::token_bytes(std::int32_t id) const {
  FS_CHECK(id >= num_special() && id < vocab_size(), kInvalidArgument,
           impl_->source << ": id " << id << " is not a BPE token id (" << num_special() << ".."
                         << vocab_size() - 1 << ")");
  return impl_->table.bytes(static_cast<std::uint32_t>(id - num_special()));
}

std::optional<int> Tokenizer::find_special(std::string_view name) const {
  const Impl& impl = *impl_;
  if (auto it = impl.special_ids.find(std::string(name)); it != impl.special_ids.end()) {
    return it->second;
  }
  constexpr std::string_view kPrefix = "<SPECIAL_";
  if (name.size() > kPrefix.size() + 1 && name.substr(0, kPrefix.size()) == kPrefix &&
      name.back() == '>') {
    std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - 1);
    int k = -1;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), k);
    if (ec == std::errc() && ptr == digits.data() + digits.size() && std::to_string(k) == digits &&
        k >= static_cast<int>(impl.specials.size()) && k < impl.num_special) {
      return k;
    }
  }
  return std::nullopt;
}

int Tokenizer::special_id(std::string_view name) const {
  std::optional<int> id = find_special(name);
  FS_CHECK(id.has_value(), kNotFound,
           impl_->source << ": no special token " << name
                         << "; is this a Pixtral (multimodal tekken) tokenizer?");
  return *id;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, SpecialTokenPolicy policy) const {
  std::string out;
  out.reserve(ids.size() * 4);
  for (std::int32_t id : ids) {
    if (is_special(id)) {
      if (policy == SpecialTokenPolicy::kKeep) {
        out += special_token(id);
      } else {
        FS_CHECK(policy == SpecialTokenPolicy::kIgnore, kInvalidArgument,
                 impl_->source << ": decoding special token " << special_token(id) << " (id " << id
                               << ") with the raise policy");
      }
      continue;
    }
    out += token_bytes(id);
  }
  return out;
}

std::size_t utf8_complete_prefix(std::string_view bytes) {
  const std::size_t n = bytes.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: the lead is further back
    const std::size_t need = (c >= 0xC2 && c <= 0xDF)   ? 2
                             : (c >= 0xE0 && c <= 0xEF) ? 3
                             : (c >= 0xF0 && c <= 0xF4) ? 4
                                                        : 0;
    if (need <= back) return n;  // complete, ASCII, or a byte that can never start a character
    for (std::size_t k = 1; k < back; ++k) {
      const auto b = static_cast<unsigned char>(bytes[n - back + k]);
      unsigned lo = 0x80, hi = 0xBF;
      if (k == 1) {
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;  // no surrogates
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
      }
      if (b < lo || b > hi) return n;  // already invalid: more bytes cannot repair it
    }
    return n - back;  // a valid start of a character that needs more bytes
  }
  return n;
}

std::string StreamingDecoder::take_complete() {
  const std::size_t k = utf8_complete_prefix(pending_);
  std::string out = pending_.substr(0, k);
  pending_.erase(0, k);
  return out;
}

std::string StreamingDecoder::push(std::int32_t id) {
  if (tokenizer_->is_special(id)) {
    if (policy_ == SpecialTokenPolicy::kIgnore) return {};
    pending_ += tokenizer_->decode(std::span<const std::int32_t>(&id, 1), policy_);
  } else {
    pending_ += tokenizer_->token_bytes(id);
  }
  return take_complete();
}

std::string StreamingDecoder::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace framescribe::inference
