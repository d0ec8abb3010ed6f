#include "framescribe/pipeline/summary.h"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>
#include <utility>

#include "framescribe/core/error.h"
#include "framescribe/core/event.h"
#include "framescribe/pipeline/prompt_template.h"

namespace framescribe::pipeline {
namespace {

constexpr std::array<std::string_view, 3> kSummaryVars = {"start", "end", "video"};

std::string header(const SummaryOptions& o, const std::string& tmpl, std::int64_t start_ns,
                   std::int64_t end_ns) {
  const std::map<std::string, std::string, std::less<>> vars = {
      {"start", core::format_timestamp(start_ns)},
      {"end", core::format_timestamp(end_ns)},
      {"video", o.video_name}};
  return expand_template(tmpl, vars);
}

std::string prompt_for(const std::string& head, const std::vector<SummaryItem>& items,
                       std::size_t first, std::size_t last) {
  std::string p = head;
  p += "\n\n";
  for (std::size_t i = first; i < last; ++i) {
    p += items[i].text;
    if (i + 1 < last) p += '\n';
  }
  return p;
}

// Cuts `text` to at most `bytes` bytes at a UTF-8 character boundary.
std::string cut_utf8(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t n = bytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

}  // namespace

SummaryResult summarize(std::vector<SummaryItem> items, WindowEngine& engine,
                        const SummaryOptions& options, const core::StopFlag& stop) {
  SummaryResult result;
  items.erase(std::remove_if(items.begin(), items.end(),
                             [](const SummaryItem& it) { return it.text.empty(); }),
              items.end());
  if (items.empty()) return result;
  const std::string tmpl = options.prompt_template.empty() ? std::string(kDefaultSummaryPrompt)
                                                           : options.prompt_template;
  check_template(tmpl, kSummaryVars);
  const std::int64_t context =
      options.context_tokens > 0
          ? std::min(options.context_tokens, engine.coster().context_tokens())
          : engine.coster().context_tokens();
  const std::int64_t budget = context - engine.max_answer_tokens();
  const std::string probe_head = header(options, tmpl, items.front().start_ns, items.back().end_ns);
  FS_CHECK(engine.text_prompt_tokens(probe_head + "\n\n") < budget / 2, kInvalidArgument,
           "the summary prompt alone takes more than half of the " + std::to_string(budget) +
               "-token budget; shorten it");

  std::int64_t item_limit = budget / 2;
  // A window's description too long for half the budget is split at line ends (each event line
  // stays whole) before anything is cut.
  {
    std::vector<SummaryItem> split;
    for (SummaryItem& it : items) {
      const std::string head = header(options, tmpl, it.start_ns, it.end_ns);
      if (engine.text_prompt_tokens(head + "\n\n" + it.text) <= item_limit ||
          it.text.find('\n') == std::string::npos) {
        split.push_back(std::move(it));
        continue;
      }
      SummaryItem part{it.start_ns, it.end_ns, {}};
      std::size_t pos = 0;
      while (pos <= it.text.size()) {
        std::size_t nl = it.text.find('\n', pos);
        if (nl == std::string::npos) nl = it.text.size();
        const std::string line = it.text.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        const std::string joined = part.text.empty() ? line : part.text + "\n" + line;
        if (!part.text.empty() && engine.text_prompt_tokens(head + "\n\n" + joined) > item_limit) {
          split.push_back(part);
          part.text = line;
        } else {
          part.text = joined;
        }
      }
      if (!part.text.empty()) split.push_back(std::move(part));
    }
    items = std::move(split);
  }
  for (int pass = 1;; ++pass) {
    result.passes = pass;
    // An item must fit half the budget with the header, so that any two fit together.
    for (SummaryItem& it : items) {
      const std::string head = header(options, tmpl, it.start_ns, it.end_ns);
      while (engine.text_prompt_tokens(head + "\n\n" + it.text) > item_limit && !it.text.empty())
        it.text = cut_utf8(it.text, it.text.size() * 3 / 4);
    }
    // Greedy groups, each checked exactly.
    std::vector<std::pair<std::size_t, std::size_t>> groups;
    std::size_t first = 0;
    while (first < items.size()) {
      std::size_t last = first + 1;
      while (last < items.size()) {
        const std::string head = header(options, tmpl, items[first].start_ns, items[last].end_ns);
        if (engine.text_prompt_tokens(prompt_for(head, items, first, last + 1)) > budget) break;
        ++last;
      }
      groups.emplace_back(first, last);
      first = last;
    }
    if (groups.size() == items.size() && items.size() > 1) {
      // No two items fit together (token counts are not quite additive): cut harder.
      FS_CHECK(item_limit > 8, kInternal, "summary: cannot fit two descriptions in one prompt");
      item_limit /= 2;
      --pass;
      continue;
    }
    std::vector<SummaryItem> next;
    for (const auto& [a, b] : groups) {
      if (stop.stop_requested()) {
        result.stopped = true;
        result.text.clear();
        return result;
      }
      const std::int64_t start = items[a].start_ns, end = items[b - 1].end_ns;
      const std::string prompt = prompt_for(header(options, tmpl, start, end), items, a, b);
      WindowAnswer answer = engine.complete(prompt, stop);
      ++result.prompts;
      if (answer.abandoned) {
        result.stopped = true;
        result.text.clear();
        return result;
      }
      std::string text = answer.text;
      if (groups.size() > 1)  // label partial summaries with the span they cover
        text =
            "[" + core::format_timestamp(start) + "-" + core::format_timestamp(end) + "] " + text;
      next.push_back({start, end, std::move(text)});
    }
    if (groups.size() == 1) {
      result.text = next.front().text;
      return result;
    }
    items = std::move(next);
  }
}

}  // namespace framescribe::pipeline
