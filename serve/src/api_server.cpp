#include "framescribe/serve/api_server.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

#include "framescribe/core/log.h"
#include "framescribe/serve/openai_json.h"

namespace framescribe::serve {
namespace {

constexpr const char* kJson = "application/json";

std::string completion_id() {
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t salt = std::random_device{}();
  char buf[48];
  std::snprintf(buf, sizeof buf, "chatcmpl-%012llx%06llx",
                static_cast<unsigned long long>(salt & 0xffffffffffffull),
                static_cast<unsigned long long>(++counter & 0xffffff));
  return buf;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void record(Metrics& m, const ChatOutcome& out) {
  const auto& u = out.result.usage;
  m.count_tokens(u.prompt_tokens, u.completion_tokens);
  if (u.completion_tokens > 0) m.observe_first_token_s(out.result.timings.first_token_ms / 1000);
  if (u.completion_tokens > 1) {
    const double per =
        out.result.timings.decode_ms / 1000 / static_cast<double>(u.completion_tokens - 1);
    for (std::int64_t k = 1; k < u.completion_tokens; ++k) m.observe_token_s(per);
  }
}

}  // namespace

http::Reply ApiServer::error_reply(const ApiError& e) {
  http::Reply r{e.status(), kJson, error_json(e), {}, {}};
  if (e.retry_after_s() > 0)
    r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s()));
  return r;
}

ApiServer::ApiServer(ModelHost& host, ApiServerOptions options)
    : host_(host),
      options_(std::move(options)),
      http_(std::make_unique<http::Server>(options_.host, options_.port)),
      chat_(host, options_.limits) {
  options_.policy.max_body_bytes = static_cast<std::size_t>(options_.limits.max_body_bytes);
  options_.policy.public_paths.push_back("/health");
  // The server's own refusals (no route, no key, too large, ...) count under one label: their
  // paths are whatever clients send.
  options_.policy.error_reply = [this](int status, const std::string& message,
                                       const http::Request& request) {
    metrics_.count_request("(refused)", status);
    if (request.path.rfind("/api/", 0) == 0) {
      return http::Reply{status, kJson, nlohmann::json({{"error", message}}).dump(), {}, {}};
    }
    ApiError e(status, message);
    return error_reply(e);
  };
  add_core_routes();
}

ApiServer::~ApiServer() {
  drain();
}

http::RequestHandler ApiServer::counted(std::string endpoint, http::RequestHandler handler) {
  return [this, endpoint = std::move(endpoint),
          handler = std::move(handler)](const http::Request& req) {
    http::Reply r;
    try {
      r = handler(req);
    } catch (const ApiError& e) {
      r = error_reply(e);
    } catch (const std::exception& e) {
      FS_LOG_ERROR(endpoint << ": " << e.what());
      r = error_reply(ApiError(500, std::string("internal error: ") + e.what()));
    }
    metrics_.count_request(endpoint, r.status);
    return r;
  };
}

void ApiServer::add_core_routes() {
  http::Server& s = *http_;
  s.route("GET", "/health", counted("/health", [this](const http::Request&) {
            if (!host_.loaded.load())
              throw ApiError(503, "the model is loading", {}, "unavailable_error");
            return http::Reply{200, kJson, R"({"status":"ok"})", {}, {}};
          }));
  s.route("GET", "/v1/models", counted("/v1/models", [this](const http::Request&) {
            return http::Reply{200, kJson, models_json(host_), {}, {}};
          }));
  s.route("GET", "/v1/models/(.+)", counted("/v1/models/{id}", [this](const http::Request& r) {
            if (!host_.serves(r.captures.at(1)))
              throw ApiError(404, "the model \"" + r.captures.at(1) + "\" is not served here",
                             "model", "model_not_found");
            auto list = nlohmann::json::parse(models_json(host_));
            return http::Reply{200, kJson, list["data"][0].dump(), {}, {}};
          }));
  s.route("GET", "/metrics", counted("/metrics", [this](const http::Request&) {
            return http::Reply{200,
                               "text/plain; version=0.0.4; charset=utf-8",
                               metrics_.prometheus(engine_load()),
                               {},
                               {}};
          }));
  s.route("POST", "/v1/chat/completions",
          counted("/v1/chat/completions",
                  [this](const http::Request& r) { return chat_completions(r); }));
}

http::Reply ApiServer::chat_completions(const http::Request& request) {
  const ChatRequest req = parse_chat_request(request.body, options_.limits);
  const std::string id = completion_id();
  const std::int64_t created = unix_now();
  const std::function<bool()> gone = request.client_gone;
  if (!req.stream) {
    ChatOutcome out = chat_.run(req, {}, gone);
    record(metrics_, out);
    return {200, kJson, completion_json(out, req, *host_.tokenizer, id, created), {}, {}};
  }
  // Streaming: every error that can be known before the first byte is an HTTP status; the
  // slot is held from the stream's start to its end (the lease lives in the streamer).
  std::shared_ptr<PreparedChat> chat = chat_.prepare(req, gone);
  double queue_ms = 0;
  auto lease = std::make_shared<EngineGate::Lease>(chat_.wait_turn(*chat, gone, &queue_ms));
  http::Reply reply{200, "text/event-stream", {}, {{"Cache-Control", "no-cache"}}, {}};
  // The streamer keeps what it needs, not the request (its data: URIs may be megabytes).
  reply.stream = [this, chat, lease, logprobs = req.logprobs, include_usage = req.include_usage, id,
                  created, gone, queue_ms](const http::ChunkWriter& write) {
    const SseWriter sse(id, created, host_.name);
    if (!write(sse.role())) return;
    const inference::Tokenizer* lp = logprobs ? host_.tokenizer.get() : nullptr;
    bool open = true;
    try {
      ChatOutcome out = chat_.generate(
          *chat, *lease,
          [&](const inference::ChatPiece& p) {
            if (!open) return false;
            if (p.text.empty() && !(lp && p.token)) return true;
            open = write(sse.content(p.text, p.token, lp));
            return open;
          },
          gone);
      out.queue_ms = queue_ms;
      record(metrics_, out);
      if (!open) return;  // the client went away: generation stopped, nothing more to say
      if (!write(sse.finish(out.result.stop_reason))) return;
      if (include_usage && !write(sse.usage(out))) return;
    } catch (const ApiError& e) {
      if (!write(SseWriter::error(e))) return;
    } catch (const std::exception& e) {
      if (!write(SseWriter::error(ApiError(500, e.what())))) return;
    }
    write(SseWriter::done());
  };
  return reply;
}

EngineLoad ApiServer::engine_load() const {
  EngineLoad load;
  load.queue_depth = host_.gate.waiting();
  load.running = host_.gate.running();
  load.slots = host_.gate.slots();
  load.scheduler = host_.scheduler_stats();
  return load;
}

void ApiServer::start() {
  http_->start_api(options_.policy);
}

void ApiServer::drain() {
  host_.gate.close();
  http_->stop();
}

}  // namespace framescribe::serve
