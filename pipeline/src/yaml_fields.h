// Strict reading of YAML files (job files, monitor configs): every value is checked where it is
// read, and an error names "FILE:LINE:COLUMN: KEY.PATH: what" (batch::format_mark).
//
//   const YAML::Node root = detail::load_yaml(text, "job.yaml");   // syntax errors with a mark
//   const detail::YamlFields f{"job.yaml"};
//   f.check_map(root, "", {"version", "streams"});                 // unknown keys are errors
//   double every = f.number(root["every"], "every", 0, 86400, /*lo_open=*/true);
//
// Private to the pipeline module. Pure functions of their arguments; thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/batch/job_config.h"  // SourceMark, format_mark
#include "framescribe/pipeline/prompt_template.h"

namespace framescribe::pipeline::detail {

// Parses YAML text; a syntax error becomes Error(kInvalidArgument) at its line and column.
inline YAML::Node load_yaml(const std::string& text, const std::string& file_name) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(
        ErrorCode::kInvalidArgument,
        batch::format_mark({file_name, e.mark.line + 1, e.mark.column + 1, "(syntax)"}, e.msg));
  } catch (const YAML::Exception& e) {
    throw Error(ErrorCode::kInvalidArgument,
                batch::format_mark({file_name, 1, 1, "(syntax)"}, e.what()));
  }
}

struct YamlFields {
  std::string file;

  batch::SourceMark mark(const YAML::Node& n, const std::string& path) const {
    const YAML::Mark m = n.Mark();
    // A node without a position (an empty document) is reported at the start of the file.
    return batch::SourceMark{file, m.line >= 0 ? m.line + 1 : 1, m.column >= 0 ? m.column + 1 : 1,
                             path};
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& path,
                         const std::string& what) const {
    throw Error(ErrorCode::kInvalidArgument, batch::format_mark(mark(n, path), what));
  }

  static std::string kind(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Null:
        return "nothing (null)";
      case YAML::NodeType::Scalar:
        return "'" + n.Scalar() + "'";
      case YAML::NodeType::Sequence:
        return "a list";
      case YAML::NodeType::Map:
        return "a mapping";
      default:
        return "an undefined value";
    }
  }

  // A mapping whose keys are all in `allowed` (and appear once). Returns the keys' nodes.
  void check_map(const YAML::Node& n, const std::string& path,
                 const std::set<std::string>& allowed) const {
    if (!n.IsMap()) fail(n, path, "expected a mapping, got " + kind(n));
    std::set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) fail(kv.first, path, "keys must be plain strings");
      const std::string key = kv.first.Scalar();
      const std::string sub = path.empty() ? key : path + "." + key;
      if (!allowed.contains(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, sub, "unknown key; expected one of: " + list);
      }
      if (!seen.insert(key).second) fail(kv.first, sub, "key given twice");
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& path, const char* what) const {
    if (!n.IsScalar()) fail(n, path, std::string("expected ") + what + ", got " + kind(n));
    return n.Scalar();
  }

  double number(const YAML::Node& n, const std::string& path, double lo, double hi,
                bool lo_open = false) const {
    const std::string s = scalar(n, path, "a number");
    double v = 0;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      fail(n, path, "expected a number, got '" + s + "'");
    }
    if (!std::isfinite(v) || (lo_open ? v <= lo : v < lo) || v > hi) {
      std::ostringstream os;
      os << "must be " << (lo_open ? "> " : ">= ") << lo << " and <= " << hi << ", got " << s;
      fail(n, path, os.str());
    }
    return v;
  }

  std::int64_t integer(const YAML::Node& n, const std::string& path, std::int64_t lo,
                       std::int64_t hi) const {
    const std::string s = scalar(n, path, "an integer");
    long long v = 0;
    try {
      v = n.as<long long>();
    } catch (const YAML::Exception&) {
      fail(n, path, "expected an integer, got '" + s + "'");
    }
    if (v < lo || v > hi)
      fail(n, path,
           "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + s);
    return v;
  }

  bool boolean(const YAML::Node& n, const std::string& path) const {
    const std::string s = scalar(n, path, "true or false");
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
      fail(n, path, "expected true or false, got '" + s + "'");
    }
  }

  std::string text(const YAML::Node& n, const std::string& path, bool allow_empty = true) const {
    const std::string s = scalar(n, path, "a string");
    if (!allow_empty && s.empty()) fail(n, path, "must not be empty");
    return s;
  }

  void check_template_at(const YAML::Node& n, const std::string& path, const std::string& value,
                         std::span<const std::string_view> allowed) const {
    try {
      check_template(value, allowed);
    } catch (const Error& e) {
      fail(n, path, e.what());
    }
  }
};

}  // namespace framescribe::pipeline::detail
