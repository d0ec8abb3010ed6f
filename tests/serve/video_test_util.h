// What the serve video tests share: the demo model as a ModelHost, a real curl process, the
// events of `framescribe summarize` on a clip, and a loopback server with the job routes.
//
//   auto host = load_demo_host();                               // samples/models/framescribe-demo
//   CurlResult r = curl("GET", url, {}, scratch_dir);            // a real curl process
//   std::vector<TimedText> want = summarize_events(clip, out_dir, {"--window-seconds", "4"});
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framescribe/serve/model_host.h"

namespace framescribe::testing {

// The bundled demo model, loaded on the CPU engine, with its framescribe.json defaults;
// `parallel` > 1: as `serve --parallel N` loads it (N slots on the step scheduler).
std::unique_ptr<serve::ModelHost> load_demo_host(int parallel = 1);
std::filesystem::path demo_model_dir();
std::filesystem::path sample_clip(const std::string& name = "shapes-demo.mp4");

struct CurlResult {
  int status = 0;    // HTTP status; 0: curl itself failed
  std::string body;  // the response body
  std::string headers;
};
// `method` `url`; `body_file` non-empty: sent as the body (--data-binary @file) with
// `content_type`. Fails the test (ADD_FAILURE) when curl cannot be run.
CurlResult curl(const std::string& method, const std::string& url,
                const std::filesystem::path& scratch, const std::filesystem::path& body_file = {},
                const std::string& content_type = "application/json");
// The same with the body given as text (written to a scratch file first).
CurlResult curl_json(const std::string& method, const std::string& url,
                     const std::filesystem::path& scratch, const std::string& body);

struct TimedText {
  double start = 0, end = 0;
  std::string text;
  bool operator==(const TimedText&) const = default;
};
// Events of a JSONL file as summarize writes it ("type": "event" lines).
std::vector<TimedText> jsonl_events(const std::string& jsonl);
// Runs the real `framescribe summarize CLIP --out DIR --format jsonl --quiet EXTRA...` and
// returns its events; fails the test when it does not exit 0.
std::vector<TimedText> summarize_events(const std::filesystem::path& clip,
                                        const std::filesystem::path& out_dir,
                                        const std::vector<std::string>& extra = {});
std::string describe(const std::vector<TimedText>& events);

// A fresh scratch directory under the system temp dir (removed by the caller).
std::filesystem::path scratch_dir(const std::string& what);

}  // namespace framescribe::testing
