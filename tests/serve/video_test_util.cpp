#include "serve/video_test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "serve/serve_test_support.h"

namespace framescribe::testing {

namespace fs = std::filesystem;

fs::path demo_model_dir() {
  return fs::path(FS_SOURCE_DIR) / "samples/models/framescribe-demo";
}
fs::path sample_clip(const std::string& name) {
  return fs::path(FS_SOURCE_DIR) / "samples" / name;
}

std::unique_ptr<serve::ModelHost> load_demo_host(int parallel) {
  // The serve tests' demo host (serve_test_support.h), with the fps its framescribe.json gives.
  auto host = serve::testing::demo_host(inference::LoadFormat::kCheckpoint, true, parallel);
  std::ifstream in(host->dir / "framescribe.json");
  host->default_fps = nlohmann::json::parse(in).at("fps").get<double>();
  return host;
}

fs::path scratch_dir(const std::string& what) {
  std::string tmpl = (fs::temp_directory_path() / ("fs-" + what + "-XXXXXX")).string();
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

CurlResult curl(const std::string& method, const std::string& url, const fs::path& scratch,
                const fs::path& body_file, const std::string& content_type) {
  const fs::path out = scratch / "curl-body", hdr = scratch / "curl-headers";
  std::string cmd = "curl -sS --max-time 120 -X " + method + " -o '" + out.string() + "' -D '" +
                    hdr.string() + "' -w '%{http_code}'";
  if (!body_file.empty())
    cmd += " -H 'Content-Type: " + content_type + "' --data-binary '@" + body_file.string() + "'";
  cmd += " '" + url + "'";
  CurlResult r;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "cannot run curl";
    return r;
  }
  char buf[64] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  ::pclose(p);
  r.status = std::atoi(std::string(buf, n).c_str());
  std::ifstream b(out, std::ios::binary), h(hdr, std::ios::binary);
  std::ostringstream bs, hs;
  bs << b.rdbuf();
  hs << h.rdbuf();
  r.body = bs.str();
  r.headers = hs.str();
  return r;
}

CurlResult curl_json(const std::string& method, const std::string& url, const fs::path& scratch,
                     const std::string& body) {
  const fs::path f = scratch / "curl-request.json";
  std::ofstream(f, std::ios::binary) << body;
  return curl(method, url, scratch, f);
}

std::vector<TimedText> jsonl_events(const std::string& jsonl) {
  std::vector<TimedText> out;
  std::istringstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.at("type") == "event")
      out.push_back({j.at("start").get<double>(), j.at("end").get<double>(),
                     j.at("text").get<std::string>()});
  }
  return out;
}

std::vector<TimedText> summarize_events(const fs::path& clip, const fs::path& out_dir,
                                        const std::vector<std::string>& extra) {
  fs::create_directories(out_dir);
  std::vector<std::string> args = {"summarize", clip.string(), "--out",  out_dir.string(),
                                   "--format",  "jsonl",       "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  const CliRun r = run_framescribe(args, out_dir / "stderr.txt");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out_dir / (clip.stem().string() + ".jsonl"));
  std::ostringstream s;
  s << in.rdbuf();
  return jsonl_events(s.str());
}

std::string describe(const std::vector<TimedText>& events) {
  std::ostringstream s;
  for (const TimedText& e : events) s << "[" << e.start << "-" << e.end << "] " << e.text << "\n";
  return s.str();
}

}  // namespace framescribe::testing
