#include "framescribe/serve/openai_json.h"

#include <nlohmann/json.hpp>

namespace framescribe::serve {
namespace {

using nlohmann::ordered_json;
using json = nlohmann::json;

std::string dump(const ordered_json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace);
}

ordered_json token_entry(const inference::Tokenizer& tok, std::int32_t id, double logprob) {
  // A special token (EOS, [IMG], ...) is spelled as its control text ("</s>").
  const std::int32_t one[1] = {id};
  const std::string bytes = tok.is_special(id)
                                ? tok.decode(one, inference::SpecialTokenPolicy::kKeep)
                                : std::string(tok.token_bytes(id));
  ordered_json b = ordered_json::array();
  for (unsigned char c : bytes) b.push_back(static_cast<int>(c));
  return {{"token", bytes}, {"logprob", logprob}, {"bytes", b}};
}

ordered_json logprob_entry(const inference::Tokenizer& tok, const inference::GeneratedToken& g) {
  ordered_json e = token_entry(tok, g.id, g.logprob);
  ordered_json top = ordered_json::array();
  for (const auto& t : g.top) top.push_back(token_entry(tok, t.id, t.logprob));
  e["top_logprobs"] = top;
  return e;
}

ordered_json usage_json(const ChatOutcome& out) {
  const inference::ChatUsage& u = out.result.usage;
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens()},
          {"prompt_tokens_details", {{"cached_tokens", 0}, {"image_tokens", u.image_tokens}}}};
}

// llama-server's "timings" (milliseconds), with framescribe's vision and queue times.
ordered_json timings_json(const ChatOutcome& out) {
  const inference::ChatTimings& t = out.result.timings;
  const auto& u = out.result.usage;
  const double n = static_cast<double>(u.completion_tokens);
  return {{"queue_ms", out.queue_ms},
          {"vision_ms", t.vision_ms},
          {"prompt_n", u.prompt_tokens},
          {"prompt_ms", t.prefill_ms},
          {"prompt_per_second",
           t.prefill_ms > 0 ? static_cast<double>(u.prompt_tokens) * 1000.0 / t.prefill_ms : 0.0},
          {"predicted_n", u.completion_tokens},
          {"predicted_ms", t.decode_ms},
          {"predicted_per_second", t.decode_ms > 0 ? n * 1000.0 / t.decode_ms : 0.0},
          {"first_token_ms", t.first_token_ms}};
}

}  // namespace

std::string error_json(const ApiError& e) {
  ordered_json err = {{"message", e.what()}, {"type", e.type()}};
  err["param"] = e.param().empty() ? ordered_json(nullptr) : ordered_json(e.param());
  err["code"] = e.code().empty() ? ordered_json(e.status()) : ordered_json(e.code());
  return dump({{"error", err}});
}

std::string finish_reason(inference::StopReason reason) {
  using inference::StopReason;
  return reason == StopReason::kMaxTokens || reason == StopReason::kContextFull ? "length" : "stop";
}

std::string completion_json(const ChatOutcome& out, const ChatRequest& request,
                            const inference::Tokenizer& tokenizer, const std::string& id,
                            std::int64_t created) {
  ordered_json choice = {{"index", 0},
                         {"message", {{"role", "assistant"}, {"content", out.result.text}}}};
  if (request.logprobs) {
    ordered_json content = ordered_json::array();
    for (const auto& g : out.result.logprobs) content.push_back(logprob_entry(tokenizer, g));
    choice["logprobs"] = {{"content", content}};
  } else {
    choice["logprobs"] = nullptr;
  }
  choice["finish_reason"] = finish_reason(out.result.stop_reason);
  ordered_json j = {{"id", id},
                    {"object", "chat.completion"},
                    {"created", created},
                    {"model", out.model},
                    {"choices", ordered_json::array({choice})},
                    {"usage", usage_json(out)},
                    {"timings", timings_json(out)}};
  return dump(j);
}

std::string SseWriter::role() const {
  ordered_json j = {{"id", id_},
                    {"object", "chat.completion.chunk"},
                    {"created", created_},
                    {"model", model_},
                    {"choices",
                     {{{"index", 0},
                       {"delta", {{"role", "assistant"}, {"content", ""}}},
                       {"logprobs", nullptr},
                       {"finish_reason", nullptr}}}}};
  return "data: " + dump(j) + "\n\n";
}

std::string SseWriter::content(std::string_view text, const inference::GeneratedToken* token,
                               const inference::Tokenizer* logprobs) const {
  ordered_json choice = {{"index", 0}, {"delta", {{"content", std::string(text)}}}};
  if (logprobs && token) {
    choice["logprobs"] = {{"content", {logprob_entry(*logprobs, *token)}}};
  } else {
    choice["logprobs"] = nullptr;
  }
  choice["finish_reason"] = nullptr;
  ordered_json j = {{"id", id_},
                    {"object", "chat.completion.chunk"},
                    {"created", created_},
                    {"model", model_},
                    {"choices", {choice}}};
  return "data: " + dump(j) + "\n\n";
}

std::string SseWriter::finish(inference::StopReason reason) const {
  ordered_json j = {{"id", id_},
                    {"object", "chat.completion.chunk"},
                    {"created", created_},
                    {"model", model_},
                    {"choices",
                     {{{"index", 0},
                       {"delta", ordered_json::object()},
                       {"logprobs", nullptr},
                       {"finish_reason", finish_reason(reason)}}}}};
  return "data: " + dump(j) + "\n\n";
}

std::string SseWriter::usage(const ChatOutcome& out) const {
  ordered_json j = {{"id", id_},
                    {"object", "chat.completion.chunk"},
                    {"created", created_},
                    {"model", model_},
                    {"choices", ordered_json::array()},
                    {"usage", usage_json(out)},
                    {"timings", timings_json(out)}};
  return "data: " + dump(j) + "\n\n";
}

std::string SseWriter::error(const ApiError& e) {
  return "data: " + error_json(e) + "\n\n";
}

std::string models_json(const ModelHost& host) {
  ordered_json m = {
      {"id", host.name},
      {"object", "model"},
      {"created", host.created_unix_s},
      {"owned_by", "framescribe"},
      {"root", host.dir.filename().string()},
      {"max_model_len", host.context_tokens},
      {"architecture", {{"input_modalities", {"text", "image", "video"}}}},
      {"meta",
       {{"n_ctx_train", host.config.text.max_context}, {"n_vocab", host.config.text.n_vocab}}}};
  return dump({{"object", "list"}, {"data", ordered_json::array({m})}});
}

}  // namespace framescribe::serve
