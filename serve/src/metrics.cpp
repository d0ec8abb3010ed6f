#include "framescribe/serve/metrics.h"

#include <algorithm>
#include <cstdio>

namespace framescribe::serve {
namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Label values are fixed route names here; escaped anyway as the format requires.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Histogram::observe(double v) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  if (it != bounds_.end()) ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += v;
}

void Histogram::format(std::string& out, const std::string& name) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : first_token_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      per_token_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void Metrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::count_tokens(std::int64_t prompt_tokens, std::int64_t generated_tokens) {
  std::lock_guard lock(mu_);
  prompt_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(prompt_tokens, 0));
  generated_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(generated_tokens, 0));
}

void Metrics::observe_first_token_s(double seconds) {
  std::lock_guard lock(mu_);
  first_token_.observe(seconds);
}

void Metrics::observe_token_s(double seconds) {
  std::lock_guard lock(mu_);
  per_token_.observe(seconds);
}

std::string Metrics::prometheus(const EngineLoad& load) const {
  std::lock_guard lock(mu_);
  std::string out;
  header(out, "framescribe_serve_requests_total", "counter",
         "HTTP requests answered, by endpoint and status.");
  for (const auto& [key, n] : requests_)
    out += "framescribe_serve_requests_total{endpoint=\"" + label(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  header(out, "framescribe_serve_queue_depth", "gauge", "Requests waiting for the engine now.");
  out += "framescribe_serve_queue_depth " + std::to_string(load.queue_depth) + "\n";
  header(out, "framescribe_serve_slots", "gauge", "Requests the engine runs at once (--parallel).");
  out += "framescribe_serve_slots " + std::to_string(load.slots) + "\n";
  header(out, "framescribe_serve_slots_running", "gauge", "Slots running a request now.");
  out += "framescribe_serve_slots_running " + std::to_string(load.running) + "\n";
  if (load.scheduler) {
    const inference::StepSchedulerStats& st = *load.scheduler;
    auto counter = [&](const std::string& name, const char* help, std::int64_t v) {
      header(out, "framescribe_serve_scheduler_" + name, "counter", help);
      out += "framescribe_serve_scheduler_" + name + " " + std::to_string(v) + "\n";
    };
    auto gauge = [&](const std::string& name, const char* help, std::int64_t v) {
      header(out, "framescribe_serve_scheduler_" + name, "gauge", help);
      out += "framescribe_serve_scheduler_" + name + " " + std::to_string(v) + "\n";
    };
    counter("steps_total", "Engine steps run (each batches the work of every client ready).",
            st.steps);
    counter("rows_total", "Tokens the steps evaluated, recomputed ones included.", st.rows);
    counter("calls_total", "Client calls (evaluations) finished.", st.calls);
    counter("preemptions_total", "Sequences whose KV blocks were dropped to make room.",
            st.preemptions);
    counter("recomputed_tokens_total", "Tokens prefilled again after a preemption.",
            st.recomputed_tokens);
    gauge("max_step_rows", "The most rows one step has evaluated.", st.max_step_rows);
    gauge("max_step_calls", "The most client calls one step has served.", st.max_step_calls);
    gauge("clients", "Scheduler clients alive (the slots, video jobs, the video frame glue).",
          st.clients);
  }
  header(out, "framescribe_serve_prompt_tokens_total", "counter",
         "Prompt tokens processed (image tokens included).");
  out += "framescribe_serve_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
  header(out, "framescribe_serve_generated_tokens_total", "counter", "Tokens generated.");
  out += "framescribe_serve_generated_tokens_total " + std::to_string(generated_tokens_) + "\n";
  header(out, "framescribe_serve_time_to_first_token_seconds", "histogram",
         "From the engine's start on a request to its first generated token.");
  first_token_.format(out, "framescribe_serve_time_to_first_token_seconds");
  header(out, "framescribe_serve_time_per_token_seconds", "histogram",
         "Decode time per generated token after the first.");
  per_token_.format(out, "framescribe_serve_time_per_token_seconds");
  return out;
}

}  // namespace framescribe::serve
