#include "framescribe/pipeline/plan_report.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "framescribe/pipeline/packer.h"

namespace framescribe::pipeline {

PlanReport plan_report(core::FrameSource& source, const std::string& name,
                       const std::string& sampling_text, const PipelineOptions& p,
                       const PromptCoster& coster) {
  nlohmann::ordered_json j;
  j["video"] = name;
  j["duration_s"] = source.end_ns() == core::kNoTimestamp
                        ? nlohmann::ordered_json(nullptr)
                        : nlohmann::ordered_json(core::media_seconds(source.end_ns()));
  j["sampling"] = sampling_text;
  j["context_tokens"] = p.packing.context_tokens > 0
                            ? std::min(p.packing.context_tokens, coster.context_tokens())
                            : coster.context_tokens();
  j["answer_reserve_tokens"] = p.packing.answer_reserve_tokens;
  nlohmann::ordered_json windows = nlohmann::ordered_json::array();
  const VideoPlan plan = plan_video(source, p, coster, [&](const WindowPlan& w) {
    nlohmann::ordered_json times = nlohmann::ordered_json::array();
    for (const auto& f : w.frames) times.push_back(core::media_seconds(f.frame.pts_ns));
    windows.push_back({{"start_s", core::media_seconds(w.start_ns)},
                       {"end_s", core::media_seconds(w.end_ns)},
                       {"frames", w.frames.size()},
                       {"tokens", w.planned_tokens + w.carry_budget},
                       {"frame_times", times}});
  });
  if (plan.first) {
    const core::Image& img = *plan.first->image;
    j["frame_width_px"] = img.width_px();
    j["frame_height_px"] = img.height_px();
    j["tokens_per_frame"] = coster.text_tokens(frame_label(plan.first->pts_ns)) +
                            coster.image_tokens(img.width_px(), img.height_px());
    j["image_tokens_per_frame"] = coster.image_tokens(img.width_px(), img.height_px());
    j["max_frames_per_window"] = plan.stream->flight.frames_per_window;
    j["max_frames_in_flight"] = plan.stream->flight.frames_in_flight;
    j["budget_tokens"] = plan.budget_tokens;
  }
  j["frames"] = plan.frames;
  j["frames_skipped"] = plan.frames_skipped;
  j["windows"] = windows;
  std::ostringstream text;
  text << name << ": " << plan.frames << " frames (" << sampling_text << "), " << windows.size()
       << " windows\n";
  for (const auto& w : windows)
    text << "  " << core::format_timestamp(std::llround(w["start_s"].get<double>() * 1e9)) << " - "
         << core::format_timestamp(std::llround(w["end_s"].get<double>() * 1e9)) << "  "
         << w["frames"].get<long long>() << " frames, " << w["tokens"].get<long long>()
         << " tokens\n";
  return {j.dump(), text.str()};
}

}  // namespace framescribe::pipeline
