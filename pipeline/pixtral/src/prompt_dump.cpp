#include "prompt_dump.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framescribe/core/frame.h"

namespace framescribe::pixtral {

using namespace framescribe::inference;

void write_prompt_dump(std::FILE* out, const Tokenizer& tok, const pipeline::WindowPlan& plan,
                       const Prompt& prompt, const PromptDumpInfo& info) {
  // Text with each image block shown as one placeholder: what the model was asked.
  std::string text;
  std::vector<std::int32_t> run;
  auto flush = [&] {
    text += tok.decode(run, SpecialTokenPolicy::kKeep);
    run.clear();
  };
  std::size_t k = 0;
  for (std::size_t i = 0; i < prompt.ids.size();) {
    if (k < prompt.images.size() && i == prompt.images[k].first_token) {
      flush();
      const TargetSize& ts = prompt.images[k].size;
      text += "<image " + std::to_string(ts.cols()) + "x" + std::to_string(ts.rows()) + ">";
      i += prompt.images[k].n_tokens;
      ++k;
    } else {
      run.push_back(prompt.ids[i++]);
    }
  }
  flush();
  std::vector<double> times;
  for (const auto& f : plan.frames) times.push_back(core::media_seconds(f.frame.pts_ns));
  nlohmann::json j = {{"window", plan.id},
                      {"start", core::media_seconds(plan.start_ns)},
                      {"end", core::media_seconds(plan.end_ns)},
                      {"frame_times", times},
                      {"labels", plan.labels},
                      {"prompt_tokens", prompt.ids.size()},
                      {"planned_tokens", plan.planned_tokens},
                      {"context_tokens", info.context_tokens},
                      {"max_answer_tokens", info.max_answer_tokens},
                      {"prompt", text}};
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), out);
  std::fflush(out);
}

}  // namespace framescribe::pixtral
