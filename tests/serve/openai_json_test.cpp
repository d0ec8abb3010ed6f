// The OpenAI request parser on its own: every field's forms, the rules (max_completion_tokens
// wins, n = 1, top_logprobs with logprobs, stream_options with stream, response_format text
// only), wrong types named, hostile shapes (deep nesting, too many parts) refused; and the
// error envelope.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "framescribe/serve/openai_json.h"

namespace framescribe::serve {
namespace {

using json = nlohmann::json;

ChatRequest parse(const json& body, ServeLimits limits = {}) {
  return parse_chat_request(body.dump(), limits);
}

// The ApiError of parsing `body`: its status, and the message must contain `words`.
ApiError refusal(const std::string& body, ServeLimits limits = {}) {
  try {
    parse_chat_request(body, limits);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body.substr(0, 200);
  return ApiError(0, "");
}

json user(json content) {
  return {{"role", "user"}, {"content", std::move(content)}};
}

TEST(OpenAiParse, ContentAsStringOrPartsInOrder) {
  const ChatRequest r =
      parse({{"model", "m"},
             {"messages",
              {{{"role", "system"}, {"content", "Be brief."}},
               user({{{"type", "text"}, {"text", "first"}},
                     {{"type", "image_url"},
                      {"image_url", {{"url", "data:image/png;base64,AA=="}, {"detail", "low"}}}},
                     {{"type", "image_url"}, {"image_url", "https://example.com/a.jpg"}},
                     {{"type", "video_url"},
                      {"video_url", {{"url", "/v/a.mp4"}, {"fps", 2}}},
                      {"max_frames", 8}}})}}});
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, RequestMessage::Role::kSystem);
  EXPECT_EQ(r.messages[0].parts.at(0).text, "Be brief.");
  const auto& p = r.messages[1].parts;
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].kind, RequestPart::Kind::kText);
  EXPECT_EQ(p[1].kind, RequestPart::Kind::kImage);
  EXPECT_EQ(p[1].source, "data:image/png;base64,AA==");
  EXPECT_EQ(p[1].where, "messages[1].content[1]");
  EXPECT_EQ(p[2].source, "https://example.com/a.jpg");
  EXPECT_EQ(p[3].kind, RequestPart::Kind::kVideo);
  EXPECT_EQ(p[3].video.fps, 2.0);
  EXPECT_EQ(p[3].video.max_frames, 8);
  EXPECT_FALSE(p[3].video.max_edge.has_value());
}

TEST(OpenAiParse, OptionsAndTheirRules) {
  json body = {{"messages", {user("hi")}},
               {"max_tokens", 10},
               {"max_completion_tokens", 20},
               {"temperature", 0.5},
               {"top_p", 0.9},
               {"seed", 7},
               {"stop", "\n\n"},
               {"n", 1},
               {"logprobs", true},
               {"top_logprobs", 3},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"response_format", {{"type", "text"}}},
               {"frequency_penalty", 0},  // unknown to this server: ignored
               {"user", "someone"}};
  ChatRequest r = parse(body);
  EXPECT_EQ(r.max_tokens, 20);  // max_completion_tokens wins, whatever the order
  EXPECT_EQ(r.temperature, 0.5);
  EXPECT_EQ(r.top_p, 0.9);
  EXPECT_EQ(r.seed, 7u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n\n"});
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  body["stop"] = {"a", "b"};
  body["max_completion_tokens"] = nullptr;  // null is absent: max_tokens applies
  r = parse(body);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.max_tokens, 10);
  const ChatRequest bare = parse({{"messages", {user("hi")}}});
  EXPECT_FALSE(bare.max_tokens.has_value());
  EXPECT_FALSE(bare.temperature.has_value());
  EXPECT_FALSE(bare.stream);
}

TEST(OpenAiParse, RefusesWhatItCannotDo) {
  const json ok = {{"messages", {user("hi")}}};
  auto with = [&](const char* key, json v) {
    json b = ok;
    b[key] = std::move(v);
    return b.dump();
  };
  ApiError e = refusal(with("n", 2));
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.param(), "n");
  e = refusal(with("response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "x"}}}}));
  EXPECT_EQ(e.status(), 400);
  EXPECT_NE(std::string(e.what()).find("json_schema"), std::string::npos);
  EXPECT_EQ(refusal(with("response_format", {{"type", "json_object"}})).status(), 400);
  EXPECT_EQ(refusal(with("top_logprobs", 2)).param(), "top_logprobs");  // without logprobs
  json b = ok;
  b["logprobs"] = true;
  b["top_logprobs"] = 21;
  EXPECT_EQ(refusal(b.dump()).status(), 400);
  EXPECT_EQ(refusal(with("stream_options", {{"include_usage", true}})).param(), "stream_options");
  EXPECT_EQ(refusal(with("tools", {{{"type", "function"}}})).param(), "tools");
  EXPECT_EQ(refusal(with("stop", "")).status(), 400);
  EXPECT_EQ(refusal(with("max_tokens", 0)).param(), "max_tokens");
  EXPECT_EQ(refusal(with("temperature", 3)).param(), "temperature");
}

TEST(OpenAiParse, WrongTypesAreNamed) {
  struct Case {
    std::string body, param, words;
  };
  const std::vector<Case> cases = {
      {R"({"messages": "hi"})", "messages", "messages must be an array, not a string"},
      {R"({"messages": []})", "messages", "must not be empty"},
      {R"({"model": 3, "messages": [{"role":"user","content":"x"}]})", "model",
       "model must be a string"},
      {R"({"messages": [{"role":"user","content":"x"}], "max_tokens": "10"})", "max_tokens",
       "an integer"},
      {R"({"messages": [{"role":"user","content":"x"}], "max_tokens": 1.5})", "max_tokens",
       "an integer"},
      {R"({"messages": [{"role":"user","content":"x"}], "stream": "yes"})", "stream", "a boolean"},
      {R"({"messages": [{"role":"user","content":"x"}], "temperature": "hot"})", "temperature",
       "a number"},
      {R"({"messages": [{"role":"user","content":"x"}], "stop": 5})", "stop",
       "a string or an array"},
      {R"({"messages": [{"role":"user","content":"x"}], "stop": ["a", 5]})", "stop[1]", "a string"},
      {R"({"messages": [{"content":"x"}]})", "messages[0].role", "required"},
      {R"({"messages": [{"role":"tool","content":"x"}]})", "messages[0].role", "not supported"},
      {R"({"messages": [{"role":"user"}]})", "messages[0].content", "required"},
      {R"({"messages": [{"role":"user","content":7}]})", "messages[0].content",
       "a string or an array"},
      {R"({"messages": [{"role":"user","content":["x"]}]})", "messages[0].content[0]", "an object"},
      {R"({"messages": [{"role":"user","content":[{"type":"audio_url","audio_url":{"url":"a"}}]}]})",
       "messages[0].content[0].type", "unknown part type \"audio_url\""},
      {R"({"messages": [{"role":"user","content":[{"text":"x"}]}]})", "messages[0].content[0].type",
       "required"},
      {R"({"messages": [{"role":"user","content":[{"type":"text","text":1}]}]})",
       "messages[0].content[0].text", "must be a string"},
      {R"({"messages": [{"role":"user","content":[{"type":"image_url","image_url":{"url":5}}]}]})",
       "messages[0].content[0].image_url.url", "must be a string"},
      {R"({"messages": [{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
       "messages[0].content[0].image_url.url", "required"},
      {R"({"messages": [{"role":"user","content":[{"type":"image_url"}]}]})",
       "messages[0].content[0].image_url", "needs"},
      {R"({"messages": [{"role":"system","content":[{"type":"image_url","image_url":"https://a/b.png"}]}]})",
       "messages[0].content[0]", "text only"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const ApiError e = refusal(c.body);
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), c.param);
    EXPECT_NE(std::string(e.what()).find(c.words), std::string::npos) << e.what();
  }
}

TEST(OpenAiParse, HostileShapes) {
  EXPECT_EQ(refusal("{\"messages\": [").status(), 400);
  EXPECT_NE(std::string(refusal("{nope").what()).find("not valid JSON"), std::string::npos);
  EXPECT_EQ(refusal("").status(), 400);
  // A number out of double's range is nlohmann's out_of_range, not a parse_error (found by
  // tests/fuzz/openai_request_fuzzer).
  EXPECT_EQ(refusal("224e22222").status(), 400);
  EXPECT_EQ(
      refusal(R"({"messages": [{"role":"user","content":"x"}], "max_tokens": 1e999})").status(),
      400);
  EXPECT_EQ(refusal("[1, 2]").status(), 400);
  EXPECT_EQ(refusal(std::string(100000, '[') + std::string(100000, ']')).status(), 400);
  // Brackets inside strings are not nesting.
  const std::string deep_text = std::string(200, '[');
  EXPECT_EQ(parse({{"messages", {user(deep_text)}}}).messages[0].parts[0].text, deep_text);
  json parts = json::array();
  for (int i = 0; i < 10000; ++i) parts.push_back({{"type", "text"}, {"text", "x"}});
  const ApiError e = refusal(json{{"messages", {user(parts)}}}.dump());
  EXPECT_EQ(e.status(), 413);
}

TEST(OpenAiJson, ErrorEnvelope) {
  const json j = json::parse(error_json(ApiError(400, "messages[0]: bad", "messages")));
  EXPECT_EQ(j["error"]["message"], "messages[0]: bad");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "messages");
  EXPECT_EQ(j["error"]["code"], 400);
  const json busy = json::parse(error_json(ApiError::too_busy(2)));
  EXPECT_EQ(busy["error"]["type"], "rate_limit_error");
  EXPECT_TRUE(busy["error"]["param"].is_null());
  EXPECT_EQ(finish_reason(inference::StopReason::kMaxTokens), "length");
  EXPECT_EQ(finish_reason(inference::StopReason::kEos), "stop");
  EXPECT_EQ(finish_reason(inference::StopReason::kStopString), "stop");
}

}  // namespace
}  // namespace framescribe::serve
