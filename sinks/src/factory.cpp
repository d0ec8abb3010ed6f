// Format names -> sinks; the one place in sinks/ that knows every format.
#include <algorithm>

#include "framescribe/core/error.h"
#include "framescribe/sinks/sinks.h"

namespace framescribe::sinks {
namespace {

std::string valid_names() {
  std::string list;
  for (const std::string& n : format_names()) list += (list.empty() ? "" : ", ") + n;
  return list + " (or all)";
}

std::string_view trim(std::string_view s) {
  const std::size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace

const std::vector<std::string>& format_names() {
  static const std::vector<std::string> kNames = {"console", "jsonl", "srt", "vtt", "md", "html"};
  return kNames;
}

std::vector<std::string> parse_formats(std::string_view list) {
  std::vector<std::string> formats;
  FS_CHECK(!trim(list).empty(), kInvalidArgument,
           "no output format given; choose from " << valid_names());
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    const std::string_view name = trim(list.substr(pos, comma - pos));
    pos = comma + 1;
    FS_CHECK(!name.empty(), kInvalidArgument,
             "empty name in output formats '" << list << "'; choose from " << valid_names());
    if (name == "all") {
      for (const std::string& n : format_names()) {
        if (std::find(formats.begin(), formats.end(), n) == formats.end()) formats.push_back(n);
      }
      continue;
    }
    const auto& names = format_names();
    FS_CHECK(std::find(names.begin(), names.end(), name) != names.end(), kInvalidArgument,
             "unknown output format '" << name << "'; choose from " << valid_names());
    if (std::find(formats.begin(), formats.end(), name) == formats.end()) {
      formats.emplace_back(name);
    }
  }
  return formats;
}

std::unique_ptr<core::EventSink> make_sink(std::string_view format,
                                           const std::filesystem::path& out_dir,
                                           std::string_view stem, std::FILE* console) {
  if (format == "console") return make_console_sink(console);
  FS_CHECK(!stem.empty() && stem.find('/') == std::string_view::npos, kInvalidArgument,
           "output file stem '" << stem << "' must be a non-empty file name without '/'");
  const auto path = [&](const char* ext) { return out_dir / (std::string(stem) + ext); };
  if (format == "jsonl") return make_jsonl_sink(path(".jsonl"));
  if (format == "srt") return make_srt_sink(path(".srt"));
  if (format == "vtt") return make_vtt_sink(path(".vtt"));
  if (format == "md") return make_markdown_sink(path(".md"));
  if (format == "html") return make_html_sink(path(".html"));
  FS_FAIL(kInvalidArgument,
          "unknown output format '" << format << "'; choose from " << valid_names());
}

}  // namespace framescribe::sinks
