// The bundled demo model end to end (label integration): `framescribe summarize` with default
// settings on held-out synthetic clips (tests/data/demo-clips, made by
// tools/demo-model/make_clip.py from seeds the model never saw in training) must say what
// happens and when. This is the test of meaning that random weights cannot give: if frames,
// their order, the timestamp labels, the prompt layout, the engine or the event parser were
// wrong, the model's answers would not line up with the truth files.
//
// Scoring, as in issue 8 and tools/demo-model/evaluate.py: a true event is named when an event
// of the output has its caption; it is timed when that event starts within one sampling interval
// (1 s at the model's 1 fps) of the true start; output events matching no true event are extra.
// Per part: a true event is placed when an output event starts within one interval of it, and
// its colour, shape and motion are right when one of those output events says them.
//
// The bound asserted is issue 8's own target, named >= 80%, timed >= 80% of those, extra <= 10%
// (and each part >= 80%), far above a model that ignores the pictures (it would name about 2% of
// the events and get each part right by chance: colour 25%, shape 33%, motion 25%) and below
// what the bundled model measures (tools/demo-model/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "inference/test_files.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kDemoModel = fs::path(FS_SOURCE_DIR) / "samples" / "models" / "framescribe-demo";
const fs::path kSample = fs::path(FS_SOURCE_DIR) / "samples" / "shapes-demo.mp4";

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);  // throws (fails the test) when malformed
}

std::vector<json> read_jsonl(const fs::path& p) {
  std::vector<json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// Captions compare without case, surrounding blanks or the final full stop.
std::string norm(std::string s) {
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '.'))
    s.pop_back();
  s.erase(0, s.find_first_not_of(" \t"));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Issue 8's target (see the top of the file). The bundled model measures on these 32 clips
// (57 events): named 98.2%, timed 100% of those, extra 0%, placed, colour, shape and motion
// 98.2% each (one event missed), so a drop of 10 events fails.
constexpr double kMinNamed = 0.80, kMinTimed = 0.80, kMaxExtra = 0.10, kMinPart = 0.80;

struct Score {
  int truth = 0, named = 0, timed = 0, extra = 0;
  int placed = 0, colour = 0, shape = 0, motion = 0;
};

bool says(const json& event, const std::string& words) {
  std::string text(1, ' '), needle(1, ' ');  // whole words: " red " is not in " reddish "
  text += norm(event["text"].get<std::string>());
  text += ' ';
  needle += words;
  needle += ' ';
  return text.find(needle) != std::string::npos;
}

Score score(const json& truth, const std::vector<json>& events, double interval_s) {
  Score s;
  std::vector<bool> used(events.size(), false);
  for (const json& t : truth["events"]) {
    ++s.truth;
    for (std::size_t k = 0; k < events.size(); ++k) {
      if (used[k] || norm(events[k]["text"].get<std::string>()) != norm(t["text"])) continue;
      used[k] = true;
      ++s.named;
      if (std::abs(events[k]["start"].get<double>() - t["start"].get<double>()) <=
          interval_s + 1e-6)
        ++s.timed;
      break;
    }
  }
  s.extra = static_cast<int>(std::count(used.begin(), used.end(), false));
  for (const json& t : truth["events"]) {
    bool placed = false, colour = false, shape = false, motion = false;
    for (const json& e : events) {
      if (std::abs(e["start"].get<double>() - t["start"].get<double>()) > interval_s + 1e-6)
        continue;
      placed = true;
      colour = colour || says(e, t["colour"].get<std::string>());
      shape = shape || says(e, t["shape"].get<std::string>());
      motion = motion || says(e, "moves " + t["motion"].get<std::string>());
    }
    s.placed += placed;
    s.colour += colour;
    s.shape += shape;
    s.motion += motion;
  }
  return s;
}

class DemoModel : public ::testing::Test {
 protected:
  void SetUp() override {
    // The default model must be found from the source tree, whatever the caller's environment.
    unsetenv("FRAMESCRIBE_MODEL");
    ASSERT_TRUE(fs::is_regular_file(kDemoModel / "model.safetensors"))
        << "the demo model is missing under " << kDemoModel;
  }
  testing::TempDir tmp_;
};

TEST_F(DemoModel, NamesAndTimesTheEventsOfHeldOutClips) {
  const fs::path clips = fs::path(FS_TEST_DATA_DIR) / "demo-clips";
  Score total;
  int n_clips = 0;
  std::vector<fs::path> videos;
  for (const auto& e : fs::directory_iterator(clips))
    if (e.path().extension() == ".mp4") videos.push_back(e.path());
  std::sort(videos.begin(), videos.end());
  ASSERT_GE(videos.size(), 32u);
  for (const fs::path& video : videos) {
    const fs::path out = tmp_.path() / video.stem();
    // Default settings: no --model (the bundled demo model and its recommended 1 fps, 64 px).
    const testing::CliRun r = testing::run_framescribe(
        {"summarize", video.string(), "--out", out.string(), "--format", "jsonl", "--quiet"},
        tmp_.path() / "err.txt");
    ASSERT_EQ(r.exit_code, 0) << video << "\n" << r.err;
    const json truth = read_json(fs::path(video).replace_extension(".truth.json"));
    std::vector<json> events;
    for (json& j : read_jsonl(out / (video.stem().string() + ".jsonl")))
      if (j["type"] == "event") events.push_back(std::move(j));
    const Score s = score(truth, events, 1.0);
    std::ostringstream got;
    for (const json& e : events) got << "\n  " << e["start"] << "-" << e["end"] << " " << e["text"];
    std::printf("%s: %d true, %d named, %d timed, %d extra%s\n", video.filename().c_str(), s.truth,
                s.named, s.timed, s.extra, got.str().c_str());
    for (int Score::*f : {&Score::truth, &Score::named, &Score::timed, &Score::extra,
                          &Score::placed, &Score::colour, &Score::shape, &Score::motion})
      total.*f += s.*f;
    ++n_clips;
  }
  ASSERT_GT(total.truth, 0);
  const auto share = [&](int n) { return static_cast<double>(n) / total.truth; };
  const double named = share(total.named);
  const double timed = total.named ? static_cast<double>(total.timed) / total.named : 0.0;
  const double extra = share(total.extra);
  std::printf(
      "%d clips: %d true events; named %.1f%%, timed %.1f%% of those, extra %.1f%% (issue 8's "
      "target, asserted: >= 80%%, >= 80%%, <= 10%%)\nplaced %.1f%%, colour %.1f%%, shape %.1f%%, "
      "motion %.1f%%\n",
      n_clips, total.truth, 100 * named, 100 * timed, 100 * extra, 100 * share(total.placed),
      100 * share(total.colour), 100 * share(total.shape), 100 * share(total.motion));
  EXPECT_GE(named, kMinNamed);
  EXPECT_GE(timed, kMinTimed);
  EXPECT_LE(extra, kMaxExtra);
  EXPECT_GE(share(total.placed), kMinPart);
  EXPECT_GE(share(total.colour), kMinPart);
  EXPECT_GE(share(total.shape), kMinPart);
  EXPECT_GE(share(total.motion), kMinPart);
}

// Runs `framescribe summarize SAMPLE` (no other option), checks that every true caption of the
// sample's truth file is in the console output, and returns the run (for its messages).
testing::CliRun expect_describes(const fs::path& sample, const fs::path& err_file) {
  const testing::CliRun r = testing::run_framescribe({"summarize", sample.string()}, err_file);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json truth = read_json(fs::path(sample).replace_extension(".truth.json"));
  std::string lower = r.out;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const json& t : truth["events"])
    EXPECT_NE(lower.find(norm(t["text"])), std::string::npos)
        << "the console output names " << t["text"] << ":\n"
        << r.out;
  return r;
}

TEST_F(DemoModel, QuickStartCommandDescribesTheSample) {
  // The README's quick start: `framescribe summarize samples/shapes-demo.mp4`, nothing else.
  const testing::CliRun r = expect_describes(kSample, tmp_.path() / "err.txt");
  EXPECT_NE(r.err.find("using the bundled demo model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--model"), std::string::npos) << "says how to use Pixtral-12B instead";
}

TEST_F(DemoModel, GlobalQuietHidesTheNotice) {
  // -q after the command is the global one: errors only, so no demo-model notice either.
  const testing::CliRun r =
      testing::run_framescribe({"summarize", kSample.string(), "-q"}, tmp_.path() / "err.txt");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("demo model"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Summary"), std::string::npos) << "the console output stays";
}

TEST_F(DemoModel, DescribesTheBusierSample) {
  // samples/shapes-three.mp4: three events over a noisy background.
  expect_describes(fs::path(FS_SOURCE_DIR) / "samples" / "shapes-three.mp4", tmp_.path() / "e.txt");
}

}  // namespace
}  // namespace framescribe

namespace framescribe {
namespace {

// The events of a JSONL file (the records that carry a caption; not the summary record).
std::vector<json> events_of(const fs::path& jsonl) {
  std::vector<json> out;
  for (json& j : read_jsonl(jsonl))
    if (j.contains("text") && j.value("type", "event") == "event")
      out.push_back({{"start", j["start"]}, {"end", j["end"]}, {"text", j["text"]}});
  return out;
}

TEST_F(DemoModel, BatchUsesTheModelSettingsLikeSummarize) {
  // A batch job that names no max_edge nor fps ran the demo model at 512 px and gave garbage
  // where summarize (which read the model's framescribe.json: 64 px, 1 fps) named every event.
  // One function now fills both: the same clip gives the same events.
  const fs::path sum_out = tmp_.path() / "summarize";
  testing::CliRun r = testing::run_framescribe(
      {"summarize", kSample.string(), "--out", sum_out.string(), "--format", "jsonl", "--quiet"},
      tmp_.path() / "err.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path job = tmp_.path() / "job.yaml";
  std::ofstream(job) << "version: 1\nbatch: {out: " << (tmp_.path() / "batch").string()
                     << "}\ndefaults:\n  model: " << kDemoModel.string()
                     << "\n  outputs: {formats: [jsonl]}\njobs:\n  - name: demo\n    inputs: ["
                     << kSample.string() << "]\n";
  r = testing::run_framescribe({"batch", job.string(), "--quiet"}, tmp_.path() / "err.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<json> want = events_of(sum_out / "shapes-demo.jsonl");
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(events_of(tmp_.path() / "batch" / "demo" / "shapes-demo" / "shapes-demo.jsonl"), want);
}

}  // namespace
}  // namespace framescribe
