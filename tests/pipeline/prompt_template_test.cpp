// Prompt templates: variables, escapes, and the errors a user sees for a bad template.
#include "framescribe/pipeline/prompt_template.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>

#include "framescribe/core/error.h"

namespace framescribe::pipeline {
namespace {

constexpr std::int64_t kS = 1'000'000'000;

// The message of the Error that `fn` must throw (kInvalidArgument).
std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "no framescribe::Error thrown";
  return {};
}

const TemplateVars kVars = window_prompt_vars("talk.mp4", 5 * kS, 65 * kS + 500'000'000, 12);

TEST(PromptTemplate, DefaultPromptsAreTheDocumentedText) {
  EXPECT_EQ(std::string(kDefaultWindowPrompt),
            "These are {n_frames} frames of the video {video}, from {start} to {end}. Each frame "
            "comes after its timestamp in brackets. List what happens, one event per line, as "
            "[start-end] description, using the frame timestamps.");
  EXPECT_EQ(std::string(kDefaultSummaryPrompt),
            "Here are timestamped descriptions of the video {video}, from {start} to {end}. "
            "Summarise what happens in the whole video in a few sentences, keeping the times of "
            "the main events.");
}

TEST(PromptTemplate, DefaultWindowPromptExpands) {
  EXPECT_EQ(expand_template(kDefaultWindowPrompt, kVars),
            "These are 12 frames of the video talk.mp4, from 00:05.0 to 01:05.5. Each frame "
            "comes after its timestamp in brackets. List what happens, one event per line, as "
            "[start-end] description, using the frame timestamps.");
  EXPECT_EQ(expand_template(kDefaultSummaryPrompt,
                            summary_prompt_vars("a.mkv", 0, 3723 * kS + 500'000'000)),
            "Here are timestamped descriptions of the video a.mkv, from 00:00.0 to 1:02:03.5. "
            "Summarise what happens in the whole video in a few sentences, keeping the times of "
            "the main events.");
}

TEST(PromptTemplate, EachVariable) {
  EXPECT_EQ(expand_template("{video}", kVars), "talk.mp4");
  EXPECT_EQ(expand_template("{start}", kVars), "00:05.0");
  EXPECT_EQ(expand_template("{end}", kVars), "01:05.5");
  EXPECT_EQ(expand_template("{n_frames}", kVars), "12");
  EXPECT_EQ(expand_template("[{start}-{end}]{n_frames}{n_frames}", kVars), "[00:05.0-01:05.5]1212");
  EXPECT_EQ(kVars.size(), kWindowPromptVariables.size());
  for (std::string_view name : kWindowPromptVariables) EXPECT_EQ(kVars.count(name), 1u) << name;
}

TEST(PromptTemplate, TextWithoutVariablesIsCopied) {
  EXPECT_EQ(expand_template("", kVars), "");
  EXPECT_EQ(expand_template("plain\ntext \xC3\xA9", kVars), "plain\ntext \xC3\xA9");
}

TEST(PromptTemplate, DoubledBracesAreLiteral) {
  EXPECT_EQ(expand_template("{{video}}", kVars), "{video}");
  EXPECT_EQ(expand_template("a }} b {{ c", kVars), "a } b { c");
  EXPECT_EQ(expand_template("{{{video}}}", kVars), "{talk.mp4}");
  EXPECT_EQ(expand_template("{{}}", kVars), "{}");
}

TEST(PromptTemplate, ValuesAreNotExpandedAgain) {
  const TemplateVars vars{{"video", "{start} }"}, {"start", "x"}};
  EXPECT_EQ(expand_template("{video}", vars), "{start} }");
}

TEST(PromptTemplate, UnknownVariableIsNamedWithTheKnownOnes) {
  const std::string message = error_of([] { expand_template("Video {vidoe} now", kVars); });
  EXPECT_NE(message.find("unknown variable '{vidoe}'"), std::string::npos) << message;
  EXPECT_NE(message.find("column 7"), std::string::npos) << message;
  EXPECT_NE(message.find("known variables: end, n_frames, start, video"), std::string::npos)
      << message;
}

TEST(PromptTemplate, ErrorsOnLaterLinesNameTheLine) {
  const std::string message = error_of([] { expand_template("first\nsecond {x}", kVars); });
  EXPECT_NE(message.find("line 2, column 8"), std::string::npos) << message;
}

TEST(PromptTemplate, UnclosedBrace) {
  std::string message = error_of([] { expand_template("abc {video", kVars); });
  EXPECT_NE(message.find("'{' at column 5 is not closed"), std::string::npos) << message;
  // A newline or another "{" before the "}" leaves it unclosed too.
  message = error_of([] { expand_template("{video\n}", kVars); });
  EXPECT_NE(message.find("'{' at column 1 is not closed"), std::string::npos) << message;
  message = error_of([] { expand_template("ab{vi{video}", kVars); });
  EXPECT_NE(message.find("'{' at column 3 is not closed"), std::string::npos) << message;
  message = error_of([] { expand_template("end {", kVars); });
  EXPECT_NE(message.find("column 5"), std::string::npos) << message;
}

TEST(PromptTemplate, LoneClosingBraceAndEmptyVariable) {
  std::string message = error_of([] { expand_template("a } b", kVars); });
  EXPECT_NE(message.find("'}' at column 3 closes nothing"), std::string::npos) << message;
  message = error_of([] { expand_template("x{}", kVars); });
  EXPECT_NE(message.find("empty variable '{}' at column 2"), std::string::npos) << message;
}

TEST(PromptTemplate, CheckAcceptsTheAllowedNames) {
  EXPECT_NO_THROW(check_template(kDefaultWindowPrompt, kWindowPromptVariables));
  EXPECT_NO_THROW(check_template(kDefaultSummaryPrompt, kSummaryPromptVariables));
  EXPECT_NO_THROW(check_template("{{n_frames}}", kSummaryPromptVariables));
}

TEST(PromptTemplate, CheckRejectsWithTheSameErrors) {
  std::string message =
      error_of([] { check_template(kDefaultWindowPrompt, kSummaryPromptVariables); });
  EXPECT_NE(message.find("unknown variable '{n_frames}' at column 11"), std::string::npos)
      << message;
  EXPECT_NE(message.find("known variables: video, start, end"), std::string::npos) << message;
  message = error_of([] { check_template("{video", kWindowPromptVariables); });
  EXPECT_NE(message.find("not closed"), std::string::npos) << message;
  message = error_of([] { check_template("{a}", {}); });
  EXPECT_NE(message.find("known variables: (none)"), std::string::npos) << message;
}

}  // namespace
}  // namespace framescribe::pipeline
