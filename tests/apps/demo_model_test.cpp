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
// The floors below are what the bundled model must keep, far above a model that ignores the
// pictures (it would name about 2% of the events and get each part right by chance: colour
// 25%, shape 33%, motion 25%), and below what it measures (tools/demo-model/README.md). Issue 8's
// own target (named >= 80%, timed >= 80%, extra <= 10%) is printed beside them; the model does
// not reach it yet (shapes are its weak part).
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

// Floors for the bundled model (see the top of the file), about 15 points (8 events) under what
// it measures on these 32 clips (57 events): named 35.1%, timed 80.0% of those, placed 80.7%,
// colour 80.7%, shape 43.9%, motion 56.1%. Raise them with a better model.
constexpr double kFloorNamed = 0.20, kFloorTimed = 0.60, kFloorPlaced = 0.65, kFloorColour = 0.60,
                 kFloorMotion = 0.40;

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
    const std::vector<json> events = read_jsonl(out / (video.stem().string() + ".jsonl"));
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
      "target: >= 80%%, >= 80%%, <= 10%%)\nplaced %.1f%%, colour %.1f%%, shape %.1f%%, "
      "motion %.1f%%\n",
      n_clips, total.truth, 100 * named, 100 * timed, 100 * extra, 100 * share(total.placed),
      100 * share(total.colour), 100 * share(total.shape), 100 * share(total.motion));
  EXPECT_GE(named, kFloorNamed);
  EXPECT_GE(timed, kFloorTimed);
  EXPECT_GE(share(total.placed), kFloorPlaced);
  EXPECT_GE(share(total.colour), kFloorColour);
  EXPECT_GE(share(total.motion), kFloorMotion);
}

TEST_F(DemoModel, QuickStartCommandDescribesTheSample) {
  // The README's quick start: `framescribe summarize samples/shapes-demo.mp4`, nothing else.
  const testing::CliRun r =
      testing::run_framescribe({"summarize", kSample.string()}, tmp_.path() / "err.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("using the bundled demo model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--model"), std::string::npos) << "says how to use Pixtral-12B instead";
  const json truth = read_json(fs::path(kSample).replace_extension(".truth.json"));
  std::string lower = r.out;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const json& t : truth["events"])
    EXPECT_NE(lower.find(norm(t["text"])), std::string::npos)
        << "the console output names " << t["text"] << ":\n"
        << r.out;
}

}  // namespace
}  // namespace framescribe
