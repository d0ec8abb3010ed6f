// The Markdown report. Model text in the title, facts and table cells is escaped so it stays
// plain text; the summary keeps the model's Markdown (lists, emphasis, http/https/mailto links)
// but not raw HTML, and not links to any other destination (javascript:, data:, vbscript:,
// relative paths): a viewer that renders the report would make those clickable.
#include <cctype>

#include "file_sink.h"
#include "framescribe/sinks/sinks.h"
#include "report.h"
#include "text.h"

namespace framescribe::sinks {
namespace {

// Backslash-escapes the punctuation that means something inline or in a table (CommonMark
// allows a backslash before any ASCII punctuation); joins lines with <br> to stay in one cell.
std::string md_inline(std::string_view text) {
  std::string out;
  const std::vector<std::string> lines = text_lines(core::sanitize_text(text));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "<br>";
    for (const char c : lines[i]) {
      if (std::string_view("\\`*_[]<>|#~&").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
  }
  return out;
}

// Whether a link destination (the text after "](" or "]:") is one a reader may follow: it
// starts, after spaces, with http://, https:// or mailto: spelled plainly. Anything else is
// refused, also what could decode to such a scheme ("javascript\:" with an escaped colon, a
// destination on the next line), so no spelling of javascript: slips through (entities cannot
// form: '&' is already "&amp;").
bool allowed_destination(std::string_view rest) {
  const std::size_t start = rest.find_first_not_of(" \t");
  if (start == std::string_view::npos) return false;
  rest.remove_prefix(start);
  for (std::string_view scheme : {"http://", "https://", "mailto:"}) {
    if (rest.size() < scheme.size()) continue;
    bool same = true;
    for (std::size_t i = 0; same && i < scheme.size(); ++i) {
      same = std::tolower(static_cast<unsigned char>(rest[i])) == scheme[i];
    }
    if (same) return true;
  }
  return false;
}

// Breaks inline links, images ("](dest") and reference definitions ("]: dest") whose
// destination is not allowed: a backslash before the '(' or ':' makes them literal text, shown
// as written. An escaped "\(" is never link syntax, whatever precedes the ']'.
std::string neutralise_links(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size(); ++i) {
    out += line[i];
    if (line[i] == ']' && i + 1 < line.size() && (line[i + 1] == '(' || line[i + 1] == ':') &&
        !allowed_destination(line.substr(i + 2))) {
      out += '\\';
    }
  }
  return out;
}

// Keeps line structure and Markdown, neutralises raw HTML (&, <, > as entities) and links to
// anything but http, https and mailto.
std::string md_block(std::string_view text) {
  std::string out;
  bool blank_pending = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    pos = nl + 1;
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      blank_pending = !out.empty();
      continue;
    }
    if (blank_pending) out += "\n";
    blank_pending = false;
    out += neutralise_links(markup_escape(line));
    out += "\n";
  }
  return out;
}

std::string event_time(const core::Event& e) {
  std::string t = core::format_timestamp(e.start_ns);
  if (e.end_ns != e.start_ns) t += " - " + core::format_timestamp(e.end_ns);
  if (!e.timed) t += " (untimed)";
  return t;
}

class MarkdownSink final : public FileSink {
 public:
  using FileSink::FileSink;
  std::string_view name() const override { return "md"; }

 protected:
  void start(AtomicFile&, const core::RunInfo& run) override {
    clear();
    run_ = run;
  }
  void window(AtomicFile&, const core::WindowResult& window) override {
    events_.insert(events_.end(), window.events.begin(), window.events.end());
    if (covered_until_ns_ == core::kNoTimestamp || window.end_ns > covered_until_ns_) {
      covered_until_ns_ = window.end_ns;
    }
  }
  void end(AtomicFile& file, const core::RunEnd& end) override {
    sort_by_start(events_);
    std::string out = "# " + (run_.video.empty() ? std::string("Video") : md_inline(run_.video));
    out += "\n\n";
    for (const RunFact& f : run_facts(run_, end, events_.size())) {
      out += "- **" + f.label + ":** " + md_inline(f.value) + "\n";
    }
    const std::string note = status_note(end, covered_until_ns_);
    if (!note.empty()) out += "\n> **Note:** " + md_inline(note) + "\n";
    out += "\n## Summary\n\n";
    const std::string summary = md_block(core::sanitize_text(end.summary));
    out += summary.empty() ? std::string("_No summary was made._\n") : summary;
    out += "\n## Events\n\n";
    if (events_.empty()) {
      out += "_No events._\n";
    } else {
      out += "| Time | Event |\n|---|---|\n";
      for (const core::Event& e : events_) {
        out += "| " + event_time(e) + " | " + md_inline(e.text) + " |\n";
      }
    }
    file.write(out);
  }
  void clear() noexcept override {
    events_.clear();
    covered_until_ns_ = core::kNoTimestamp;
  }

 private:
  core::RunInfo run_;
  std::vector<core::Event> events_;
  std::int64_t covered_until_ns_ = core::kNoTimestamp;
};

}  // namespace

std::unique_ptr<core::EventSink> make_markdown_sink(const std::filesystem::path& path) {
  return std::make_unique<MarkdownSink>(path);
}

}  // namespace framescribe::sinks
