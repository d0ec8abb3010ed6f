// The Ollama dialect's JSON translation (serve/src/ollama_json.h): request bodies into
// ChatRequest, answers and stream lines out, and every refusal with its status and field.
#include "ollama_json.h"

#include <gtest/gtest.h>

#include <string>

#include "framescribe/serve/api_error.h"

namespace framescribe::serve {
namespace {

using nlohmann::json;
using Kind = RequestPart::Kind;
using Role = RequestMessage::Role;

// 1x1 PNG and the first bytes of a JPEG, base64.
const std::string kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
const std::string kJpeg = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsL";

ApiError error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError thrown";
  return ApiError(0, "none");
}

TEST(OllamaJson, ChatWithImagesOptionsAndDefaults) {
  ServeLimits limits;
  json body = {{"model", "framescribe-demo:latest"},
               {"messages",
                {{{"role", "system"}, {"content", "Be brief."}},
                 {{"role", "user"}, {"content", "What moves?"}, {"images", {kPng, kJpeg}}},
                 {{"role", "assistant"}, {"content", "A circle."}},
                 {{"role", "user"}, {"content", "Which colour?"}}}},
               {"options",
                {{"temperature", 0.5},
                 {"top_p", 0.9},
                 {"seed", 7},
                 {"num_predict", 12},
                 {"stop", {"\n", "END"}},
                 {"top_k", 40},
                 {"num_ctx", 4096}}},
               {"keep_alive", "5m"}};
  ollama::OllamaChat c = ollama::parse_chat(body.dump(), limits);
  const ChatRequest& r = c.request;
  EXPECT_FALSE(c.load_only);
  EXPECT_EQ(r.model, "framescribe-demo:latest");
  EXPECT_TRUE(r.stream);  // Ollama streams unless told not to
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0].role, Role::kSystem);
  EXPECT_EQ(r.messages[2].role, Role::kAssistant);
  const auto& parts = r.messages[1].parts;
  ASSERT_EQ(parts.size(), 3u);  // the images first, as Ollama places them, then the text
  EXPECT_EQ(parts[0].kind, Kind::kImage);
  EXPECT_EQ(parts[0].source, "data:image/png;base64," + kPng);
  EXPECT_EQ(parts[0].where, "messages[1].images[0]");
  EXPECT_EQ(parts[1].source, "data:image/jpeg;base64," + kJpeg);
  EXPECT_EQ(parts[2].kind, Kind::kText);
  EXPECT_EQ(parts[2].text, "What moves?");
  EXPECT_EQ(parts[2].where, "messages[1].content");
  EXPECT_EQ(r.temperature, 0.5);
  EXPECT_EQ(r.top_p, 0.9);
  EXPECT_EQ(r.seed, 7u);
  EXPECT_EQ(r.max_tokens, 12);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n", "END"}));

  json plain = {{"model", "m"},
                {"stream", false},
                {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                {"options", {{"stop", "x"}, {"num_predict", -1}, {"seed", -1}}}};
  ChatRequest p = ollama::parse_chat(plain.dump(), limits).request;
  EXPECT_FALSE(p.stream);
  EXPECT_EQ(p.stop, std::vector<std::string>{"x"});
  EXPECT_FALSE(p.max_tokens.has_value());  // -1: the server's limit
  EXPECT_FALSE(p.seed.has_value());        // -1: random
  EXPECT_FALSE(p.temperature.has_value());
  // null is "not given", as Go's decoder reads it.
  json nulls = {{"model", "m"},
                {"stream", nullptr},
                {"format", nullptr},
                {"messages", {{{"role", "user"}, {"content", "hi"}, {"images", nullptr}}}}};
  EXPECT_TRUE(ollama::parse_chat(nulls.dump(), limits).request.stream);
}

TEST(OllamaJson, ChatImageOnlyMessageAndDataUri) {
  json body = {{"model", "m"},
               {"messages", {{{"role", "user"}, {"images", {"data:image/gif;base64,R0lGODlh"}}}}}};
  ChatRequest r = ollama::parse_chat(body.dump(), {}).request;
  ASSERT_EQ(r.messages[0].parts.size(), 1u);  // no empty text part after the image
  EXPECT_EQ(r.messages[0].parts[0].source, "data:image/gif;base64,R0lGODlh");
}

TEST(OllamaJson, LoadOnly) {
  EXPECT_TRUE(ollama::parse_chat(R"({"model":"m"})", {}).load_only);
  EXPECT_TRUE(ollama::parse_chat(R"({"model":"m","messages":[]})", {}).load_only);
  EXPECT_TRUE(ollama::parse_generate(R"({"model":"m","prompt":""})", {}).load_only);
  EXPECT_FALSE(ollama::parse_generate(R"({"model":"m","prompt":"hi"})", {}).load_only);
  json load = ollama::chat_load("m:latest");
  EXPECT_EQ(load["done"], true);
  EXPECT_EQ(load["done_reason"], "load");
  EXPECT_EQ(ollama::generate_load("m")["response"], "");
}

TEST(OllamaJson, Generate) {
  json body = {{"model", "m"},
               {"prompt", "Describe."},
               {"system", "Short answers."},
               {"images", {kPng}},
               {"stream", false},
               {"options", {{"temperature", 0}}},
               {"context", json::array()},
               {"raw", false},
               {"template", ""}};
  ollama::OllamaChat g = ollama::parse_generate(body.dump(), {});
  const ChatRequest& r = g.request;
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(r.temperature, 0.0);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, Role::kSystem);
  EXPECT_EQ(r.messages[0].parts[0].text, "Short answers.");
  ASSERT_EQ(r.messages[1].parts.size(), 2u);
  EXPECT_EQ(r.messages[1].parts[0].where, "images[0]");
  EXPECT_EQ(r.messages[1].parts[1].text, "Describe.");
  // Images alone are a question too.
  json only = {{"model", "m"}, {"images", {kJpeg}}};
  ChatRequest o = ollama::parse_generate(only.dump(), {}).request;
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].parts.size(), 1u);
}

TEST(OllamaJson, RefusalsNameTheField) {
  struct Case {
    std::string body, param, words;
  };
  const std::vector<Case> chat_cases = {
      {R"({"messages":[]})", "model", "model is required"},
      {R"({"model":7})", "model", "must be a string"},
      {R"({"model":"m","stream":"yes"})", "stream", "true or false"},
      {R"({"model":"m","format":"json"})", "format", "not supported"},
      {R"({"model":"m","format":{"type":"object"}})", "format", "not supported"},
      {R"({"model":"m","think":true})", "think", "thinking"},
      {R"({"model":"m","tools":[{"type":"function"}]})", "tools", "tools"},
      {R"({"model":"m","messages":{}})", "messages", "must be a list"},
      {R"({"model":"m","messages":"hi"})", "messages", "must be a list"},
      {R"({"model":"m","messages":[3]})", "messages[0]", "must be an object"},
      {R"({"model":"m","messages":[{"content":"x"}]})", "messages[0].role", "is required"},
      {R"({"model":"m","messages":[{"role":"robot"}]})", "messages[0].role", "robot"},
      {R"({"model":"m","messages":[{"role":"tool","content":"x"}]})", "messages[0].role", "tool"},
      {R"({"model":"m","messages":[{"role":"user","content":["a"]}]})", "messages[0].content",
       "must be a string"},
      {R"({"model":"m","messages":[{"role":"user","images":"abc"}]})", "messages[0].images",
       "list of base64"},
      {R"({"model":"m","messages":[{"role":"user","images":[1]}]})", "messages[0].images[0]",
       "must be a string"},
      {R"({"model":"m","messages":[{"role":"user","images":[""]}]})", "messages[0].images[0]",
       "empty image"},
      {R"({"model":"m","messages":[{"role":"assistant","content":"a","images":["QUJD"]}]})",
       "messages[0].images", "only user messages"},
      {R"({"model":"m","options":[]})", "options", "must be an object"},
      {R"({"model":"m","options":{"temperature":"hot"}})", "options.temperature", "number"},
      {R"({"model":"m","options":{"temperature":-1}})", "options.temperature", "between"},
      {R"({"model":"m","options":{"top_p":1.5}})", "options.top_p", "between"},
      {R"({"model":"m","options":{"seed":1.5}})", "options.seed", "integer"},
      {R"({"model":"m","options":{"seed":-5}})", "options.seed", ">= 0"},
      {R"({"model":"m","options":{"num_predict":0}})", "options.num_predict", ">= 1"},
      {R"({"model":"m","options":{"num_predict":99999999999}})", "options.num_predict",
       "too large"},
      {R"({"model":"m","options":{"stop":[""]}})", "options.stop", "empty"},
      {R"({"model":"m","options":{"stop":[1]}})", "options.stop[0]", "must be a string"},
      {R"({"model":"m","options":{"stop":5}})", "options.stop", "string or a list"},
  };
  for (const Case& c : chat_cases) {
    SCOPED_TRACE(c.body);
    ApiError e = error_of([&] { ollama::parse_chat(c.body, {}); });
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), c.param);
    EXPECT_NE(std::string(e.what()).find(c.words), std::string::npos) << e.what();
  }
  const std::vector<Case> generate_cases = {
      {R"({"model":"m","prompt":3})", "prompt", "must be a string"},
      {R"({"model":"m","prompt":"a","raw":true})", "raw", "raw prompts"},
      {R"({"model":"m","prompt":"a","suffix":"b"})", "suffix", "insert"},
      {R"({"model":"m","prompt":"a","context":[1,2]})", "context", "/api/chat"},
      {R"({"model":"m","prompt":"a","system":{}})", "system", "must be a string"},
      {R"({"model":"m","prompt":"a","images":[{}]})", "images[0]", "must be a string"},
  };
  for (const Case& c : generate_cases) {
    SCOPED_TRACE(c.body);
    ApiError e = error_of([&] { ollama::parse_generate(c.body, {}); });
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), c.param);
    EXPECT_NE(std::string(e.what()).find(c.words), std::string::npos) << e.what();
  }
}

TEST(OllamaJson, MalformedBodies) {
  for (const std::string body : {"", "{", "nul", "{\"model\":\"m\",}", "\xff\xfe",
                                 "{\"model\":\"m\"} trailing", "{\"model\":2e308}"}) {
    SCOPED_TRACE(body);
    ApiError e = error_of([&] { ollama::parse_chat(body, {}); });
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
  for (const std::string body : {"[]", "3", "\"s\"", "null"}) {
    ApiError e = error_of([&] { ollama::parse_generate(body, {}); });
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("must be a JSON object"), std::string::npos) << e.what();
  }
  // Deep nesting is refused before it costs anything (and never recurses the stack away).
  const std::string deep =
      "{\"model\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  ApiError e = error_of([&] { ollama::parse_chat(deep, {}); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_NE(std::string(e.what()).find("deeper than 64"), std::string::npos) << e.what();
}

TEST(OllamaJson, Limits) {
  ServeLimits limits;
  limits.max_images = 3;
  limits.max_parts = 5;
  json images = json::array();
  for (int i = 0; i < 4; ++i) images.push_back(kPng);
  json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"images", images}}}}};
  ApiError e = error_of([&] { ollama::parse_chat(body.dump(), limits); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.param(), "messages[0].images");
  EXPECT_NE(std::string(e.what()).find("more than 3 images"), std::string::npos) << e.what();
  json gen = {{"model", "m"}, {"prompt", "x"}, {"images", images}};
  EXPECT_EQ(error_of([&] { ollama::parse_generate(gen.dump(), limits); }).param(), "images");

  json msgs = json::array();
  for (int i = 0; i < 10000; ++i) msgs.push_back({{"role", "user"}, {"content", "x"}});
  json many = {{"model", "m"}, {"messages", msgs}};
  e = error_of([&] { ollama::parse_chat(many.dump(), limits); });
  EXPECT_EQ(e.param(), "messages");
  EXPECT_NE(std::string(e.what()).find("more than 5 messages"), std::string::npos) << e.what();
  // Parts are counted over all messages.
  limits.max_images = 10;
  json split = {{"model", "m"},
                {"messages",
                 {{{"role", "user"}, {"content", "a"}, {"images", {kPng, kPng}}},
                  {{"role", "user"}, {"content", "b"}, {"images", {kPng, kPng}}}}}};
  e = error_of([&] { ollama::parse_chat(split.dump(), limits); });
  EXPECT_EQ(e.param(), "messages[1]");
  EXPECT_NE(std::string(e.what()).find("more than 5 parts"), std::string::npos) << e.what();
}

TEST(OllamaJson, Show) {
  EXPECT_EQ(ollama::parse_show(R"({"model":"a:latest"})"), "a:latest");
  EXPECT_EQ(ollama::parse_show(R"({"name":"b","verbose":true})"), "b");
  EXPECT_EQ(error_of([] { ollama::parse_show("{}"); }).status(), 400);
  EXPECT_EQ(error_of([] { ollama::parse_show(R"({"model":1})"); }).param(), "model");

  ollama::ModelFacts m;
  m.name = "framescribe-demo";
  m.parameters = 1'134'000;
  m.context_tokens = 4096;
  m.embedding_length = 128;
  m.size_bytes = 4'500'000;
  m.digest = std::string(64, 'a');
  m.modified_unix_s = 1'764'979'200;  // 2025-12-06T00:00:00Z
  json s = ollama::show(m);
  EXPECT_EQ(s["capabilities"], json({"completion", "vision"}));
  EXPECT_EQ(s["model_info"]["pixtral.context_length"], 4096);
  EXPECT_EQ(s["model_info"]["general.parameter_count"], 1'134'000);
  EXPECT_EQ(s["details"]["parameter_size"], "1.1M");
  EXPECT_EQ(s["modified_at"], "2025-12-06T00:00:00.000000000Z");
  json t = ollama::tags(m);
  ASSERT_EQ(t["models"].size(), 1u);
  EXPECT_EQ(t["models"][0]["name"], "framescribe-demo:latest");
  EXPECT_EQ(t["models"][0]["model"], "framescribe-demo:latest");
  EXPECT_EQ(t["models"][0]["size"], 4'500'000);
  EXPECT_EQ(t["models"][0]["digest"], m.digest);
  EXPECT_EQ(t["models"][0]["details"]["family"], "pixtral");
  EXPECT_EQ(ollama::version("0.1.0"), json({{"version", "0.1.0"}}));
}

TEST(OllamaJson, Names) {
  EXPECT_TRUE(ollama::names_model("framescribe-demo", "framescribe-demo"));
  EXPECT_TRUE(ollama::names_model("framescribe-demo:latest", "framescribe-demo"));
  EXPECT_FALSE(ollama::names_model("framescribe-demo:7b", "framescribe-demo"));
  EXPECT_FALSE(ollama::names_model("llava", "framescribe-demo"));
  EXPECT_FALSE(ollama::names_model("", "framescribe-demo"));
  EXPECT_EQ(ollama::parameter_size(12'400'000'000), "12.4B");
  EXPECT_EQ(ollama::parameter_size(950), "950");
  EXPECT_EQ(ollama::sniff_base64_image("UklGRiQAAABXRUJQVlA4"), "image/webp");
  EXPECT_EQ(ollama::sniff_base64_image("Qk02AAAAAAAAADYAAAAo"), "image/bmp");
  EXPECT_EQ(ollama::sniff_base64_image("!!!not base64!!!!!!"), "image/unknown");
  EXPECT_EQ(ollama::sniff_base64_image("QUJD"), "image/unknown");  // too short to tell
}

TEST(OllamaJson, AnswersAndStats) {
  inference::ChatResult r;
  r.text = "A blue circle.";
  r.stop_reason = inference::StopReason::kEos;
  r.usage.prompt_tokens = 120;
  r.usage.completion_tokens = 6;
  r.timings.vision_ms = 1.5;
  r.timings.prefill_ms = 2.25;
  r.timings.decode_ms = 10;
  ollama::Durations d = ollama::durations(r, 20.0);
  json done = ollama::chat_done("m:latest", r.text, r, d);
  EXPECT_EQ(done["done"], true);
  EXPECT_EQ(done["done_reason"], "stop");
  EXPECT_EQ(done["message"]["role"], "assistant");
  EXPECT_EQ(done["message"]["content"], "A blue circle.");
  EXPECT_EQ(done["total_duration"], 20'000'000);
  EXPECT_EQ(done["load_duration"], 0);
  EXPECT_EQ(done["prompt_eval_count"], 120);
  EXPECT_EQ(done["prompt_eval_duration"], 3'750'000);
  EXPECT_EQ(done["eval_count"], 6);
  EXPECT_EQ(done["eval_duration"], 10'000'000);
  r.stop_reason = inference::StopReason::kMaxTokens;
  json g = ollama::generate_done("m:latest", "", r, d);
  EXPECT_EQ(g["done_reason"], "length");
  EXPECT_EQ(g["response"], "");
  EXPECT_FALSE(g.contains("message"));
  EXPECT_EQ(ollama::done_reason(inference::StopReason::kStopString), "stop");
  EXPECT_EQ(ollama::done_reason(inference::StopReason::kContextFull), "length");

  json piece = ollama::chat_piece("m:latest", "A bl");
  EXPECT_EQ(piece["done"], false);
  EXPECT_EQ(piece["message"]["content"], "A bl");
  EXPECT_EQ(ollama::generate_piece("m", "x")["response"], "x");
  EXPECT_EQ(ollama::error("bad")["error"], "bad");

  EXPECT_EQ(ollama::created_at(1'764'979'200'123'456'789), "2025-12-06T00:00:00.123456789Z");
  const std::string now = ollama::created_at_now();
  EXPECT_EQ(now.size(), 30u) << now;
  EXPECT_EQ(now.back(), 'Z');
}

}  // namespace
}  // namespace framescribe::serve
