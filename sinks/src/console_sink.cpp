// The console sink: events as they arrive, then the summary and a tally. Nothing to make
// atomic: a terminal shows what was printed. Model text (events, summary) and the error go
// through core::sanitize_text first: escape sequences, C1 and bidi controls in it could
// otherwise rewrite the user's terminal.
#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

#include "framescribe/core/error.h"
#include "framescribe/sinks/sinks.h"
#include "text.h"

namespace framescribe::sinks {
namespace {

std::string plural(std::int64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

class ConsoleSink final : public core::EventSink {
 public:
  explicit ConsoleSink(std::FILE* out) : out_(out != nullptr ? out : stdout) {}

  std::string_view name() const override { return "console"; }

  void begin(const core::RunInfo&) override { n_events_ = 0; }

  void on_window(const core::WindowResult& window) override {
    std::string text;
    for (const core::Event& e : window.events) {
      std::string prefix = "[" + core::format_timestamp(e.start_ns);
      if (e.end_ns != e.start_ns) prefix += " - " + core::format_timestamp(e.end_ns);
      prefix += "] ";
      const std::vector<std::string> lines = text_lines(core::sanitize_text(e.text));
      text += prefix;
      // Continuation lines line up under the first line's text.
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i > 0) text += std::string(prefix.size(), ' ');
        text += lines[i];
        text += '\n';
      }
      if (lines.empty()) text += '\n';
      ++n_events_;
    }
    put(text);
  }

  void finish(const core::RunEnd& end) override {
    std::string text;
    // The summary is the model's answer as it came (the pipeline sanitises only events).
    const std::vector<std::string> summary = text_lines(core::sanitize_text(end.summary));
    if (!summary.empty()) {
      text += "\nSummary:\n";
      for (const std::string& line : summary) text += line + "\n";
    }
    text += "\n" + plural(n_events_, "event") + " in " + plural(end.windows, "window") + "; " +
            std::to_string(end.frames_sampled) + " frames sampled, " +
            std::to_string(end.frames_skipped) + " skipped; engine " + one_decimal(end.engine_s) +
            " s, wall " + one_decimal(end.wall_s) + " s; " +
            std::string(core::to_string(end.status));
    if ((end.status == core::RunStatus::kFailed || end.status == core::RunStatus::kPartial) &&
        !end.error.empty()) {
      text += ": " + core::sanitize_text(end.error);
    }
    text += "\n";
    put(text);
  }

  void abort() noexcept override { std::fflush(out_); }

 private:
  void put(const std::string& text) {
    if (text.empty()) return;
    const bool ok =
        std::fwrite(text.data(), 1, text.size(), out_) == text.size() && std::fflush(out_) == 0;
    FS_CHECK(ok, kIo,
             "console output: write failed: "
                 << std::error_code(errno, std::generic_category()).message());
  }

  std::FILE* out_;
  std::int64_t n_events_ = 0;
};

}  // namespace

std::unique_ptr<core::EventSink> make_console_sink(std::FILE* out) {
  return std::make_unique<ConsoleSink>(out);
}

}  // namespace framescribe::sinks
