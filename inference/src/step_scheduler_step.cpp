// StepScheduler (step_scheduler.h): one step: order the waiting calls, plan their chunks within
// the token budget, admit them by free blocks (preempting others when the first call cannot
// fit), run the step, hand the logits rows back. Called with the engine and queue locks held.
#include <algorithm>
#include <set>
#include <sstream>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "step_scheduler_impl.h"

namespace framescribe::inference {
namespace {

std::int64_t count_images(std::span<const std::int32_t> tokens, std::int32_t image_id) {
  return static_cast<std::int64_t>(std::count(tokens.begin(), tokens.end(), image_id));
}

std::vector<StepSpan> spans_of(const std::vector<SchedChunk>& chunks) {
  std::vector<StepSpan> spans;
  for (const SchedChunk& c : chunks) spans.push_back(c.span);
  return spans;
}

}  // namespace

std::vector<SchedChunk> StepScheduler::Impl::plan(SchedCall* call, std::int64_t budget) {
  const std::int32_t img = engine_.config().image_token_id;
  const std::size_t n_embd = static_cast<std::size_t>(engine_.config().text.n_embd);
  std::vector<SchedChunk> out;
  for (std::size_t i = 0; i < call->parts.size() && budget > 0; ++i) {
    SchedPart& p = call->parts[i];
    SchedSeq& s = seqs_.at(p.seq);
    SchedChunk c;
    c.call = call;
    c.part = i;
    if (s.held < s.length()) {  // preempted: what it held comes back first
      c.recompute = true;
      c.n = std::min(s.length() - s.held, budget);
      const std::span<const std::int32_t> t(s.tokens.data() + s.held,
                                            static_cast<std::size_t>(c.n));
      c.n_rows = count_images(t, img);
      c.span = {p.seq, t,
                std::span<const float>(s.rows.data() + s.held_rows * n_embd, c.n_rows * n_embd),
                LogitsMode::kNone};
    } else if (p.remaining() > 0) {
      c.n = std::min(p.remaining(), budget);
      const auto t =
          p.tokens.subspan(static_cast<std::size_t>(p.done), static_cast<std::size_t>(c.n));
      c.n_rows = count_images(t, img);
      const LogitsMode mode = p.mode == LogitsMode::kAll ? LogitsMode::kAll
                              : p.mode == LogitsMode::kLast && p.done + c.n == std::ssize(p.tokens)
                                  ? LogitsMode::kLast
                                  : LogitsMode::kNone;
      c.span = {p.seq, t, p.rows.subspan(p.rows_done * n_embd, c.n_rows * n_embd), mode};
    } else {
      continue;
    }
    budget -= c.n;
    out.push_back(c);
  }
  return out;
}

bool StepScheduler::Impl::make_room(SchedCall* call, std::vector<StepSpan> spans) {
  std::set<SeqId> keep, busy;
  for (const SchedPart& p : call->parts) keep.insert(p.seq);
  std::map<SeqId, const SchedCall*> waiting;  // sequences other calls are using
  for (const SchedCall* c : calls_)
    for (const SchedPart& p : c->parts) waiting[p.seq] = c;
  // Victims: idle sequences, least recently used first; then those of waiting calls, lowest
  // priority and newest call first.
  struct Victim {
    SeqId seq;
    bool in_use;
    int priority;
    std::uint64_t order;
  };
  std::vector<Victim> victims;
  for (const auto& [id, s] : seqs_) {
    if (keep.count(id) || s.held == 0) continue;
    const auto w = waiting.find(id);
    if (w == waiting.end())
      victims.push_back({id, false, 0, s.last_used});
    else
      victims.push_back({id, true, w->second->client->priority, ~w->second->ticket});
  }
  std::sort(victims.begin(), victims.end(), [](const Victim& a, const Victim& b) {
    if (a.in_use != b.in_use) return !a.in_use;
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.order < b.order;
  });
  for (const Victim& v : victims) {
    if (engine_.blocks_needed(spans) <= engine_.kv_stats().blocks_free) return true;
    SchedSeq& s = seqs_.at(v.seq);
    engine_.truncate(v.seq, 0);
    FS_LOG_DEBUG("scheduler: preempted " << s.owner->name << "'s sequence " << v.seq << " ("
                                         << s.held << " positions) for " << call->client->name);
    s.held = s.held_rows = 0;
    ++stats_.preemptions;
  }
  return engine_.blocks_needed(spans) <= engine_.kv_stats().blocks_free;
}

void StepScheduler::Impl::undo(SchedCall* call) {
  for (const SchedPart& p : call->parts) {
    auto it = seqs_.find(p.seq);
    if (it != seqs_.end()) cut(p.seq, it->second, p.start_length);
  }
}

void StepScheduler::Impl::cut(SeqId id, SchedSeq& s, std::int64_t n) {
  if (n >= s.length()) return;
  const std::int64_t rows =
      count_images({s.tokens.data(), static_cast<std::size_t>(n)}, engine_.config().image_token_id);
  s.tokens.resize(static_cast<std::size_t>(n));
  s.rows.resize(static_cast<std::size_t>(rows * engine_.config().text.n_embd));
  if (s.held > n) {
    engine_.truncate(id, n);
    s.held = n;
    s.held_rows = rows;
  }
}

void StepScheduler::Impl::run_step(std::unique_lock<std::mutex>& l, std::vector<SchedCall*> calls) {
  auto is_short = [&](const SchedCall* c) {
    for (const SchedPart& p : c->parts) {
      const SchedSeq& s = seqs_.at(p.seq);
      if (s.length() - s.held + p.remaining() > opt_.short_span_tokens) return false;
    }
    return true;
  };
  std::vector<std::pair<bool, SchedCall*>> order;
  for (SchedCall* c : calls) order.push_back({!is_short(c), c});
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return !a.first;
    if (a.second->client->priority != b.second->client->priority)
      return a.second->client->priority > b.second->client->priority;
    return a.second->ticket < b.second->ticket;
  });

  std::int64_t budget = opt_.step_tokens;
  std::vector<SchedChunk> chunks;
  for (const auto& [long_call, call] : order) {
    if (budget <= 0) break;
    std::vector<SchedChunk> mine = plan(call, budget);
    if (mine.empty()) {  // nothing left to run (empty spans): done
      finish(call, nullptr);
      continue;
    }
    std::vector<StepSpan> spans = spans_of(chunks);
    for (const SchedChunk& c : mine) spans.push_back(c.span);
    if (engine_.blocks_needed(spans) > engine_.kv_stats().blocks_free) {
      if (!chunks.empty()) break;  // waits for a later step
      if (!make_room(call, spans)) {
        const KvStats st = engine_.kv_stats();
        std::ostringstream m;
        m << call->client->name << ": the KV cache is too small for this request: it needs "
          << engine_.blocks_needed(spans) << " more blocks of " << st.block_tokens
          << " positions and only " << st.blocks_free << " of " << st.blocks_total
          << " are free with every other sequence preempted (raise the cache size)";
        undo(call);
        finish(call, std::make_exception_ptr(Error(ErrorCode::kOutOfMemory, m.str())));
        continue;
      }
    }
    for (const SchedChunk& c : mine) budget -= c.n;
    chunks.insert(chunks.end(), mine.begin(), mine.end());
  }
  if (!chunks.empty()) run_chunks(l, chunks);
}

void StepScheduler::Impl::run_chunks(std::unique_lock<std::mutex>& l,
                                     std::vector<SchedChunk>& chunks) {
  std::vector<SchedCall*> in_step;
  for (const SchedChunk& c : chunks)
    if (std::find(in_step.begin(), in_step.end(), c.call) == in_step.end())
      in_step.push_back(c.call);
  const std::vector<StepSpan> spans = spans_of(chunks);
  l.unlock();
  StepResult r;
  std::exception_ptr error;
  try {
    r = engine_.step(spans);
  } catch (...) {
    error = std::current_exception();
  }
  l.lock();
  ++step_no_;
  if (error) {  // the engine changed nothing; find whose call it was
    if (in_step.size() == 1) {
      undo(in_step[0]);
      finish(in_step[0], error);
      return;
    }
    for (SchedCall* call : in_step) {
      std::vector<SchedChunk> alone;
      for (const SchedChunk& c : chunks)
        if (c.call == call) alone.push_back(c);
      run_chunks(l, alone);
    }
    return;
  }
  ++stats_.steps;
  std::int64_t rows = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    SchedChunk& c = chunks[i];
    SchedSeq& s = seqs_.at(c.span.seq);
    s.last_used = step_no_;
    s.held += c.n;
    s.held_rows += c.n_rows;
    rows += c.n;
    if (c.recompute) {
      stats_.recomputed_tokens += c.n;
      continue;
    }
    s.tokens.insert(s.tokens.end(), c.span.tokens.begin(), c.span.tokens.end());
    s.rows.insert(s.rows.end(), c.span.image_embeddings.begin(), c.span.image_embeddings.end());
    SchedPart& p = c.call->parts[c.part];
    p.done += c.n;
    p.rows_done += c.n_rows;
    const std::int64_t n_rows = c.span.logits == LogitsMode::kAll    ? c.n
                                : c.span.logits == LogitsMode::kLast ? 1
                                                                     : 0;
    for (std::int64_t k = 0; k < n_rows; ++k) {
      const std::span<const float> row = r.row(r.first_row[i] + k);
      p.logits.insert(p.logits.end(), row.begin(), row.end());
    }
  }
  stats_.rows += rows;
  stats_.max_step_rows = std::max(stats_.max_step_rows, rows);
  stats_.max_step_calls = std::max(stats_.max_step_calls, std::ssize(in_step));
  for (SchedCall* call : in_step) {
    if (!call->started) {
      call->started = true;
      stats_.max_wait_s =
          std::max(stats_.max_wait_s,
                   std::chrono::duration<double>(SchedClock::now() - call->submitted).count());
    }
    bool left = false;
    for (const SchedPart& p : call->parts)
      left |= p.remaining() > 0 || seqs_.at(p.seq).held < seqs_.at(p.seq).length();
    if (!left) finish(call, nullptr);
  }
}

}  // namespace framescribe::inference
