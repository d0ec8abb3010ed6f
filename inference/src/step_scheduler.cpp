// StepScheduler (step_scheduler.h): the scheduler thread, step planning, admission by blocks,
// preemption with recompute.
#include "framescribe/inference/step_scheduler.h"

#include <algorithm>
#include <utility>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "request_checks.h"
#include "step_scheduler_impl.h"

namespace framescribe::inference {

StepScheduler::Impl::Impl(BatchEngine& engine, StepSchedulerOptions options)
    : engine_(engine), opt_(options) {
  FS_CHECK(opt_.step_tokens >= 1, kInvalidArgument,
           "step_tokens must be >= 1, got " << opt_.step_tokens);
  FS_CHECK(opt_.short_span_tokens >= 1, kInvalidArgument,
           "short_span_tokens must be >= 1, got " << opt_.short_span_tokens);
  thread_ = std::thread([this] { loop(); });
}

StepScheduler::Impl::~Impl() {
  {
    const std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

SchedClient* StepScheduler::Impl::add_client(std::string name, int priority) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  auto* c = new SchedClient{std::move(name), priority, 0, {}};
  c->own = engine_.create();
  c->seqs.insert(c->own);
  seqs_[c->own].owner = c;
  clients_.insert(c);
  ++stats_.clients;
  return c;
}

void StepScheduler::Impl::remove_client(SchedClient* c) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  for (SeqId s : c->seqs) {
    engine_.release(s);
    seqs_.erase(s);
  }
  clients_.erase(c);
  --stats_.clients;
  delete c;
}

SchedSeq& StepScheduler::Impl::owned(SchedClient* c, SeqId seq) {
  auto it = seqs_.find(seq);
  FS_CHECK(it != seqs_.end() && it->second.owner == c, kInvalidArgument,
           c->name << ": no sequence " << seq);
  return it->second;
}

SeqId StepScheduler::Impl::create(SchedClient* c) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  const SeqId s = engine_.create();
  c->seqs.insert(s);
  seqs_[s].owner = c;
  return s;
}

SeqId StepScheduler::Impl::fork(SchedClient* c, SeqId src) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  const SchedSeq from = owned(c, src);  // a copy: the map grows below
  const SeqId s = engine_.fork(src);
  c->seqs.insert(s);
  SchedSeq& to = seqs_[s];
  to = from;
  to.held = engine_.length(s);  // == from.held
  return s;
}

void StepScheduler::Impl::truncate(SchedClient* c, SeqId seq, std::int64_t n) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  cut(seq, owned(c, seq), std::max<std::int64_t>(0, n));
}

void StepScheduler::Impl::release(SchedClient* c, SeqId seq) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  owned(c, seq);
  FS_CHECK(seq != c->own, kInvalidArgument,
           c->name << ": sequence " << seq << " is the engine's own; truncate it instead");
  engine_.release(seq);
  seqs_.erase(seq);
  c->seqs.erase(seq);
}

void StepScheduler::Impl::shift_out(SchedClient* c, SeqId seq, std::int64_t begin,
                                    std::int64_t end) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  SchedSeq& s = owned(c, seq);
  FS_CHECK(0 <= begin && begin <= end && end <= s.length(), kInvalidArgument,
           c->name << ": cannot shift out [" << begin << ", " << end << ") of sequence " << seq
                   << ", which holds " << s.length() << " positions");
  if (begin == end) return;
  const std::int32_t img = engine_.config().image_token_id;
  const std::size_t n_embd = static_cast<std::size_t>(engine_.config().text.n_embd);
  const auto rows_before = [&](std::int64_t n) {
    return static_cast<std::size_t>(std::count(s.tokens.begin(), s.tokens.begin() + n, img));
  };
  const std::size_t r0 = rows_before(begin), r1 = rows_before(end);
  if (s.held == s.length()) {
    try {
      engine_.shift_out(seq, begin, end);  // approximate: the kept keys re-rotated
      s.held -= end - begin;
      s.held_rows -= static_cast<std::int64_t>(r1 - r0);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kOutOfMemory) throw;
      // No blocks for the copies: drop what follows `begin`; the shifted tokens are prefilled
      // again (exactly) when next used.
      engine_.truncate(seq, begin);
      s.held = begin;
      s.held_rows = static_cast<std::int64_t>(r0);
    }
  } else if (s.held > begin) {  // preempted part way: recomputed (exactly) when next used
    engine_.truncate(seq, begin);
    s.held = begin;
    s.held_rows = static_cast<std::int64_t>(r0);
  }
  s.tokens.erase(s.tokens.begin() + begin, s.tokens.begin() + end);
  s.rows.erase(s.rows.begin() + static_cast<std::ptrdiff_t>(r0 * n_embd),
               s.rows.begin() + static_cast<std::ptrdiff_t>(r1 * n_embd));
}

std::int64_t StepScheduler::Impl::shift_blocks_needed(SchedClient* c, SeqId seq, std::int64_t begin,
                                                      std::int64_t end) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  const SchedSeq& s = owned(c, seq);
  if (s.held < s.length()) return 0;  // only truncates
  return engine_.shift_blocks_needed(seq, begin, end);
}

std::int64_t StepScheduler::Impl::length(SchedClient* c, SeqId seq) {
  const std::lock_guard<std::mutex> l(mu_);
  return owned(c, seq).length();
}

KvStats StepScheduler::Impl::kv_stats(SchedClient* c) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  // Free for this client: what preempting every other client would leave it.
  KvStats st = engine_.kv_stats();
  std::set<std::int32_t> mine;
  for (SeqId s : c->seqs)
    for (std::int32_t b : engine_.kv_table().blocks(s)) mine.insert(b);
  st.blocks_free = st.blocks_total - static_cast<std::int64_t>(mine.size());
  st.sequences = static_cast<std::int64_t>(c->seqs.size());
  return st;
}

std::int64_t StepScheduler::Impl::blocks_needed(SchedClient* c, std::span<const StepSpan> spans) {
  const std::lock_guard<std::mutex> le(engine_mu_);
  const std::lock_guard<std::mutex> l(mu_);
  // A preempted sequence counts as prefilled again first (it is, before it grows).
  const KvBlockTable& table = engine_.kv_table();
  const int bt = table.block_tokens();
  std::vector<KvAppend> held_whole;
  std::int64_t need = 0;
  for (const StepSpan& sp : spans) {
    const SchedSeq& s = owned(c, sp.seq);
    const std::int64_t add = static_cast<std::int64_t>(sp.tokens.size());
    if (s.held == s.length()) {
      held_whole.push_back({sp.seq, add});
      continue;
    }
    const std::int64_t end = s.length() + add;
    FS_CHECK(end <= table.max_seq_tokens(), kInvalidArgument,
             c->name << ": sequence " << sp.seq << " would hold " << end << " positions, more "
                     << "than the " << table.max_seq_tokens() << " a sequence may hold");
    need += (end + bt - 1) / bt - (s.held + bt - 1) / bt + (s.held % bt != 0);
  }
  return need + table.blocks_needed(held_whole);
}

MemoryUse StepScheduler::Impl::memory_use() {
  const std::lock_guard<std::mutex> le(engine_mu_);
  return engine_.memory_use();
}

StepSchedulerStats StepScheduler::Impl::stats() const {
  const std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

std::vector<float> StepScheduler::Impl::encode(SchedClient* c,
                                               std::span<const PixelImage* const> images) {
  SchedCall call;
  call.client = c;
  call.encode = true;
  call.images = images;
  std::unique_lock<std::mutex> l(mu_);
  FS_CHECK(!stopping_, kCancelled, c->name << ": the scheduler has stopped");
  call.ticket = next_ticket_++;
  call.submitted = SchedClock::now();
  calls_.push_back(&call);
  work_cv_.notify_one();
  done_cv_.wait(l, [&] { return call.done; });
  if (call.error) std::rethrow_exception(call.error);
  return std::move(call.encoded);
}

StepResult StepScheduler::Impl::run(SchedClient* c, std::span<const StepSpan> spans) {
  SchedCall call;
  call.client = c;
  std::unique_lock<std::mutex> l(mu_);
  FS_CHECK(!stopping_, kCancelled, c->name << ": the scheduler has stopped");
  // Everything the engine would refuse, refused here, for this call alone.
  std::set<SeqId> seen;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const StepSpan& sp = spans[i];
    const SchedSeq& s = owned(c, sp.seq);
    FS_CHECK(seen.insert(sp.seq).second, kInvalidArgument,
             "step span " << i << ": sequence " << sp.seq << " appears twice");
    check_eval_request(engine_.config(), s.length(), engine_.max_context(), sp.tokens,
                       sp.image_embeddings.size());
    SchedPart p;
    p.seq = sp.seq;
    p.tokens = sp.tokens;
    p.rows = sp.image_embeddings;
    p.mode = sp.logits;
    p.start_length = s.length();
    call.parts.push_back(std::move(p));
  }
  call.ticket = next_ticket_++;
  call.submitted = SchedClock::now();
  calls_.push_back(&call);
  work_cv_.notify_one();
  done_cv_.wait(l, [&] { return call.done; });
  if (call.error) std::rethrow_exception(call.error);
  return std::move(call.result);
}

void StepScheduler::Impl::finish(SchedCall* call, std::exception_ptr error) {
  if (error) {
    call->error = std::move(error);
    ++stats_.failed_calls;
  } else if (!call->encode) {
    StepResult& r = call->result;
    r.n_vocab = engine_.config().text.n_vocab;
    std::int64_t row = 0;
    for (SchedPart& p : call->parts) {
      r.first_row.push_back(row);
      row += static_cast<std::int64_t>(p.logits.size()) / std::max<std::int64_t>(1, r.n_vocab);
      r.logits.insert(r.logits.end(), p.logits.begin(), p.logits.end());
      p.logits = {};
    }
  }
  ++stats_.calls;
  call->done = true;
  calls_.erase(std::find(calls_.begin(), calls_.end(), call));
  done_cv_.notify_all();
}

void StepScheduler::Impl::loop() {
  for (;;) {
    std::unique_lock<std::mutex> le(engine_mu_, std::defer_lock);
    std::unique_lock<std::mutex> l(mu_);
    work_cv_.wait(l, [&] { return stopping_ || !calls_.empty(); });
    if (stopping_) {
      for (SchedCall* c : std::vector<SchedCall*>(calls_.begin(), calls_.end()))
        finish(c, std::make_exception_ptr(
                      Error(ErrorCode::kCancelled, c->client->name + ": the scheduler stopped")));
      return;
    }
    l.unlock();
    le.lock();  // engine first, then the queue
    l.lock();
    // Vision encoding first, oldest first, one call at a time (the step waits for it).
    auto enc = std::find_if(calls_.begin(), calls_.end(), [](SchedCall* c) { return c->encode; });
    if (enc != calls_.end()) {
      SchedCall* call = *enc;
      l.unlock();
      std::exception_ptr error;
      try {
        call->encoded = engine_.encode_images(call->images);
      } catch (...) {
        error = std::current_exception();
      }
      l.lock();
      ++stats_.encodes;
      stats_.max_wait_s =
          std::max(stats_.max_wait_s,
                   std::chrono::duration<double>(SchedClock::now() - call->submitted).count());
      finish(call, error);
      continue;
    }
    try {
      run_step(l, std::vector<SchedCall*>(calls_.begin(), calls_.end()));  // no encode left
    } catch (...) {  // a bug: every waiting call gets the error rather than a hang
      const std::exception_ptr error = std::current_exception();
      if (!l.owns_lock()) l.lock();
      for (SchedCall* c : std::vector<SchedCall*>(calls_.begin(), calls_.end())) {
        try {
          if (!c->encode) undo(c);
        } catch (...) {
        }
        finish(c, error);
      }
    }
  }
}

}  // namespace framescribe::inference
