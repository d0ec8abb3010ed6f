// The embedded OpenAPI document (serve/src/openapi.h): well-formed, every endpoint of issue 20
// with its methods, every $ref resolvable, errors in the right envelope for each dialect.
// Whether the running server answers as it says is schemathesis' job
// (tests/serve/python/test_schemathesis.py).
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "openapi.h"

namespace framescribe::serve {
namespace {

using nlohmann::json;

json document() {
  return json::parse(openapi_document());
}

TEST(OpenApiDocument, ParsesWithTheVersion) {
  json d = document();
  EXPECT_EQ(d["openapi"], "3.1.0");
  EXPECT_EQ(d["info"]["version"], std::string(serve_version()));
  EXPECT_FALSE(serve_version().empty());
  EXPECT_EQ(std::string(serve_version()).find('@'), std::string::npos);
}

TEST(OpenApiDocument, ListsEveryEndpoint) {
  json d = document();
  const std::vector<std::pair<std::string, std::string>> want = {
      {"/v1/chat/completions", "post"},
      {"/v1/models", "get"},
      {"/health", "get"},
      {"/metrics", "get"},
      {"/openapi.json", "get"},
      {"/api/chat", "post"},
      {"/api/generate", "post"},
      {"/api/tags", "get"},
      {"/api/show", "post"},
      {"/api/version", "get"},
      {"/v1/videos/summaries", "post"},
      {"/v1/videos/summaries/{id}", "get"},
      {"/v1/videos/summaries/{id}", "delete"}};
  for (const auto& [path, method] : want) {
    SCOPED_TRACE(method + " " + path);
    ASSERT_TRUE(d["paths"].contains(path));
    ASSERT_TRUE(d["paths"][path].contains(method));
    const json& op = d["paths"][path][method];
    EXPECT_TRUE(op.contains("operationId"));
    EXPECT_TRUE(op["responses"].contains("200") || op["responses"].contains("202"));
  }
  // Chat in both dialects documents every error status it can answer.
  for (const char* path : {"/v1/chat/completions", "/api/chat", "/api/generate"}) {
    for (const char* status : {"400", "401", "404", "413", "429", "500", "503"})
      EXPECT_TRUE(d["paths"][path]["post"]["responses"].contains(status)) << path << " " << status;
  }
  // /health is public even with --api-key.
  EXPECT_EQ(d["paths"]["/health"]["get"]["security"], json::array());
}

// Resolves "#/components/..." in `d`.
const json* resolve(const json& d, const std::string& ref) {
  if (ref.rfind("#/", 0) != 0) return nullptr;
  const json* at = &d;
  std::size_t pos = 2;
  while (pos <= ref.size()) {
    std::size_t next = ref.find('/', pos);
    if (next == std::string::npos) next = ref.size();
    const std::string key = ref.substr(pos, next - pos);
    if (!at->is_object() || !at->contains(key)) return nullptr;
    at = &(*at)[key];
    pos = next + 1;
  }
  return at;
}

TEST(OpenApiDocument, EveryRefResolves) {
  json d = document();
  int refs = 0;
  std::function<void(const json&, const std::string&)> walk = [&](const json& v,
                                                                  const std::string& where) {
    if (v.is_object()) {
      if (auto it = v.find("$ref"); it != v.end()) {
        ++refs;
        EXPECT_NE(resolve(d, it->get<std::string>()), nullptr) << where << ": " << *it;
      }
      for (const auto& [k, x] : v.items()) walk(x, where + "/" + k);
    } else if (v.is_array()) {
      for (std::size_t i = 0; i < v.size(); ++i) walk(v[i], where + "/" + std::to_string(i));
    }
  };
  walk(d, "");
  EXPECT_GT(refs, 50);
}

TEST(OpenApiDocument, ErrorsUseTheirDialectsEnvelope) {
  json d = document();
  int checked = 0;
  for (const auto& [path, item] : d["paths"].items()) {
    const bool ollama = path.rfind("/api/", 0) == 0;
    for (const auto& [method, op] : item.items()) {
      for (const auto& [status, response] : op["responses"].items()) {
        if (status[0] != '4' && status[0] != '5') continue;
        const json* r = response.contains("$ref") ? resolve(d, response["$ref"]) : &response;
        ASSERT_NE(r, nullptr);
        const json& schema = (*r)["content"]["application/json"]["schema"];
        EXPECT_EQ(schema["$ref"],
                  ollama ? "#/components/schemas/OllamaError" : "#/components/schemas/OpenAIError")
            << method << " " << path << " " << status;
        if (status == "429" || status == "503") {
          EXPECT_TRUE(r->contains("headers"));
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 40);
}

}  // namespace
}  // namespace framescribe::serve
