// The server's counters for GET /metrics, in Prometheus' text format (version 0.0.4): requests
// by endpoint and status, prompt and generated tokens, time to first token and per-token latency
// histograms, and the engine's load (read when formatted): the queue's depth, the slots running,
// and with --parallel N > 1 the step scheduler's counters.
//
//   Metrics m;
//   m.count_request("/v1/chat/completions", 200);
//   m.count_tokens(prompt_tokens, generated_tokens);
//   m.observe_first_token_s(0.12);
//   m.observe_token_s(0.004);                     // once per generated token after the first
//   std::string text = m.prometheus({.queue_depth = gate.waiting(), .running = gate.running(),
//                                    .slots = gate.slots(), .scheduler = host.scheduler_stats()});
//
// Names: framescribe_serve_requests_total{endpoint,status}, framescribe_serve_queue_depth,
// framescribe_serve_slots, framescribe_serve_slots_running,
// framescribe_serve_prompt_tokens_total, framescribe_serve_generated_tokens_total,
// framescribe_serve_time_to_first_token_seconds, framescribe_serve_time_per_token_seconds; with a
// scheduler: framescribe_serve_scheduler_{steps,rows,calls,preemptions,recomputed_tokens}_total,
// framescribe_serve_scheduler_max_step_rows, framescribe_serve_scheduler_max_step_calls,
// framescribe_serve_scheduler_clients (rows per step: rows_total / steps_total).
// `endpoint` is the route's name given by the caller (a fixed set, never the raw path, so a
// client cannot grow the label set). Thread-safe (one mutex; counting is cheap).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "framescribe/inference/step_scheduler.h"

namespace framescribe::serve {

// The engine's load at the time /metrics is read.
struct EngineLoad {
  std::size_t queue_depth = 0;                             // requests waiting for a slot
  int running = 0;                                         // slots in use
  int slots = 1;                                           // --parallel
  std::optional<inference::StepSchedulerStats> scheduler;  // with slots > 1
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds)
      : bounds_(std::move(upper_bounds)), counts_(bounds_.size(), 0) {}
  void observe(double v);
  // The histogram's lines (_bucket with le="...", +Inf, _sum, _count) for metric `name`.
  void format(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative)
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

class Metrics {
 public:
  Metrics();
  void count_request(const std::string& endpoint, int status);
  void count_tokens(std::int64_t prompt_tokens, std::int64_t generated_tokens);
  void observe_first_token_s(double seconds);
  void observe_token_s(double seconds);
  std::string prometheus(const EngineLoad& load) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::uint64_t prompt_tokens_ = 0, generated_tokens_ = 0;
  Histogram first_token_, per_token_;
};

}  // namespace framescribe::serve
