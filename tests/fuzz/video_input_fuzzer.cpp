// libFuzzer target for the way video inputs arrive from outside: the input check
// (decoder::check_video_input), the redaction of URLs in names and in free text, and batch
// manifest files (pipeline::batch::expand_videos reading the input as a manifest, every line
// through the same check). Promises checked for any input:
// - check_video_input returns or throws framescribe::Error (kUnsupported or kInvalidArgument);
//   what it accepts is a local path without control characters or an http(s) URL, and its
//   display name is the redacted input; no message shows a URL's password;
// - redact_urls_in_text is idempotent and leaves no user-info in the URLs it rewrote;
// - a manifest expands or throws Error(kInvalidArgument) naming "manifest:LINE:COLUMN: " (or the
//   job file for a manifest without inputs); every video it yields has a stem that is not empty,
//   has no '/' and is not only dots, an output directory inside {out}, and an identity and a
//   display name without credentials.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target video_input_fuzzer
//   build/fuzz/tests/fuzz/video_input_fuzzer -dict=tests/fuzz/video_input.dict CORPUS_COPY
// or tools/fuzz.sh [seconds] video_input.
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "framescribe/core/error.h"
#include "framescribe/core/source_name.h"
#include "framescribe/decoder/video_input.h"
#include "framescribe/pipeline/batch/plan.h"

namespace {

namespace fs = std::filesystem;
namespace batch = framescribe::pipeline::batch;
using framescribe::Error;
using framescribe::ErrorCode;

[[noreturn]] void broken_promise(const char* what, const std::string& detail) {
  std::fprintf(stderr, "video_input_fuzzer: %s: [%s]\n", what, detail.c_str());
  std::abort();
}

// The password of "scheme://user:password@host..." when it is long enough to be recognised in a
// message (short ones could appear there by chance), else "".
std::string password_of(const std::string& text) {
  const auto sep = text.find("://");
  if (sep == std::string::npos) return "";
  // In free text a URL ends at white space (redact_urls_in_text); so does its authority here.
  const auto end = text.find_first_of("/?# \t\n\v\f\r", sep + 3);
  const std::string authority =
      text.substr(sep + 3, end == std::string::npos ? end : end - sep - 3);
  const auto at = authority.rfind('@');
  const auto colon = authority.find(':');
  if (at == std::string::npos || colon == std::string::npos || colon > at) return "";
  const std::string pw = authority.substr(colon + 1, at - colon - 1);
  // Only a password that appears nowhere else in the input can be told apart.
  if (pw.size() < 6 || text.find(pw) != text.rfind(pw)) return "";
  return pw;
}

void check_one(const std::string& text) {
  const std::string pw = password_of(text);
  try {
    const framescribe::decoder::VideoInput in = framescribe::decoder::check_video_input(text);
    if (in.display != framescribe::core::redact_source(text)) broken_promise("display", text);
    if (in.location.empty()) broken_promise("empty location", text);
    for (const char c : in.location)
      if (static_cast<unsigned char>(c) < 0x20) broken_promise("control character", text);
    if (in.kind == framescribe::decoder::VideoInputKind::kHttp) {
      std::string scheme = in.location.substr(0, in.location.find("://"));
      for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (scheme != "http" && scheme != "https") broken_promise("http kind, other scheme", text);
    }
    if (!pw.empty() && in.display.find(pw) != std::string::npos)
      broken_promise("password in the display name", text);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kUnsupported && e.code() != ErrorCode::kInvalidArgument)
      broken_promise("unexpected error code", e.what());
    if (!pw.empty() && std::string(e.what()).find(pw) != std::string::npos)
      broken_promise("password in a message", e.what());
  }
  const std::string once = framescribe::decoder::redact_urls_in_text(text);
  if (framescribe::decoder::redact_urls_in_text(once) != once)
    broken_promise("not idempotent", text);
  if (!pw.empty() && once.find(pw) != std::string::npos) broken_promise("password kept", text);
}

// A scratch folder with one clip-named file, made once per process.
const fs::path& scratch() {
  static const fs::path dir = [] {
    const fs::path d =
        fs::temp_directory_path() / ("fs_video_input_fuzz_" + std::to_string(getpid()));
    fs::create_directories(d);
    std::ofstream(d / "a.mp4") << "x";
    return d;
  }();
  return dir;
}

void check_manifest(const std::string& text) {
  const fs::path manifest = scratch() / "list.txt";
  std::ofstream(manifest, std::ios::binary | std::ios::trunc) << text;
  batch::JobFile job;
  job.path = scratch() / "fuzz.yaml";
  job.base_dir = scratch();
  job.model = "m";
  job.batch.out = (scratch() / "out").string();
  batch::JobSpec spec;
  spec.name = "j";
  batch::InputSpec in;
  in.kind = batch::InputSpec::Kind::kManifest;
  in.value = "list.txt";
  in.mark = {"fuzz.yaml", 6, 14, "jobs[0].inputs[0]"};
  spec.inputs.push_back(in);
  job.jobs.push_back(spec);
  // The decoder's check, as framescribe batch runs it; globs that would walk the whole file
  // system or climb out of the scratch folder are not explored (they are slow, not wrong).
  const batch::InputCheck check = [](const std::string& input) {
    const framescribe::decoder::VideoInput v = framescribe::decoder::check_video_input(input);
    const bool glob = v.location.find_first_of("*?[") != std::string::npos;
    if (v.kind == framescribe::decoder::VideoInputKind::kFile && glob &&
        (v.location.front() == '/' || v.location.find("..") != std::string::npos))
      throw Error(ErrorCode::kUnsupported, "fuzzer: not exploring this glob");
    return batch::CheckedInput{v.kind == framescribe::decoder::VideoInputKind::kHttp, v.location};
  };
  try {
    for (const batch::BatchVideo& v : batch::expand_videos(job, check)) {
      if (v.stem.empty() || v.stem.find('/') != std::string::npos ||
          v.stem.find_first_not_of('.') == std::string::npos)
        broken_promise("bad stem", v.stem);
      const fs::path rel = v.out_dir.lexically_relative(fs::path(job.batch.out));
      if (rel.empty() || *rel.begin() == "..") broken_promise("outside {out}", v.out_dir.string());
      // The identity is the job and the redacted name, plus a hash when redaction changed it.
      if (v.display != (v.is_url ? framescribe::core::redact_source(v.input) : v.input))
        broken_promise("display", v.display);
      const std::string want = "j\n" + v.display;
      if (v.display == v.input
              ? v.identity != want
              : v.identity.rfind(want + "\n#", 0) != 0 || v.identity.size() != want.size() + 2 + 16)
        broken_promise("credentials in a name", v.identity);
    }
  } catch (const Error& e) {
    const std::string m = e.what();
    if (e.code() != ErrorCode::kInvalidArgument) broken_promise("unexpected error code", m);
    if (m.rfind(manifest.string() + ":", 0) != 0 && m.rfind("fuzz.yaml:6:14: ", 0) != 0)
      broken_promise("message without its position", m);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  check_one(text);
  check_manifest(text);
  return 0;
}
