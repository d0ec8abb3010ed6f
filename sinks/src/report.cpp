#include "report.h"

#include "text.h"

namespace framescribe::sinks {

std::vector<RunFact> run_facts(const core::RunInfo& run, const core::RunEnd& end,
                               std::size_t n_events) {
  std::vector<RunFact> facts;
  const auto add = [&facts](std::string label, std::string value) {
    if (!value.empty()) facts.push_back({std::move(label), std::move(value)});
  };
  if (run.duration_ns != core::kNoTimestamp && run.duration_ns >= 0) {
    add("Duration", core::format_timestamp(run.duration_ns));
  }
  if (run.width_px > 0 && run.height_px > 0) {
    add("Size", std::to_string(run.width_px) + "x" + std::to_string(run.height_px));
  }
  add("Model", run.model);
  add("Sampling", run.sampling);
  add("Started", run.started_at);
  add("Status", std::string(core::to_string(end.status)));
  add("Windows", std::to_string(end.windows));
  add("Frames", std::to_string(end.frames_sampled) + " sampled, " +
                    std::to_string(end.frames_skipped) + " skipped");
  add("Events", std::to_string(n_events));
  add("Time", "engine " + one_decimal(end.engine_s) + " s, wall " + one_decimal(end.wall_s) + " s");
  return facts;
}

std::string status_note(const core::RunEnd& end, std::int64_t covered_until_ns) {
  if (end.status == core::RunStatus::kComplete) return {};
  const std::string coverage =
      covered_until_ns == core::kNoTimestamp
          ? "No window was described."
          : "This report covers the video up to " + core::format_timestamp(covered_until_ns) + ".";
  if (end.status == core::RunStatus::kStopped) {
    return "The run was stopped before the end of the video. " + coverage;
  }
  // An error may quote what it failed on (a model's text, a stream's message): no controls.
  std::string error = core::sanitize_text(end.error);
  while (!error.empty() && (error.back() == '.' || error.back() == '\n')) error.pop_back();
  if (end.status == core::RunStatus::kPartial)  // a truncated input: described as far as it goes
    return "Partial: " + (error.empty() ? std::string("the input ended early") : error) + ". " +
           coverage;
  return (error.empty() ? std::string("The run failed. ") : "The run failed: " + error + ". ") +
         coverage;
}

}  // namespace framescribe::sinks
