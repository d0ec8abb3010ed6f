#include "framescribe/serve/ollama_routes.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "framescribe/core/log.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/serve/api_error.h"
#include "framescribe/serve/api_server.h"
#include "framescribe/sinks/checksum.h"
#include "ollama_json.h"
#include "openapi.h"

namespace framescribe::serve {
namespace {

using nlohmann::json;
constexpr const char* kJson = "application/json";
constexpr const char* kNdjson = "application/x-ndjson";

http::Reply json_reply(int status, const json& body) {
  return http::Reply{
      status, kJson, body.dump(-1, ' ', false, json::error_handler_t::replace), {}, {}};
}

std::string line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

http::Reply error_reply(const ApiError& e) {
  http::Reply r = json_reply(e.status(), ollama::error(e.what()));
  if (e.retry_after_s() > 0)
    r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s()));
  return r;
}

// Ollama's errors are {"error": "..."}: ApiError and anything else (500) become that here, so
// ApiServer::counted only counts.
http::RequestHandler ollama_errors(std::string endpoint, http::RequestHandler handler) {
  return [endpoint = std::move(endpoint), handler = std::move(handler)](const http::Request& r) {
    try {
      return handler(r);
    } catch (const ApiError& e) {
      return error_reply(e);
    } catch (const std::exception& e) {
      FS_LOG_ERROR(endpoint << ": " << e.what());
      return error_reply(ApiError(500, std::string("internal error: ") + e.what()));
    }
  };
}

std::int64_t weights_bytes(const inference::ModelConfig& c, std::int64_t parameters) {
  std::error_code ec;
  std::int64_t total = 0;
  if (c.weights_path.extension() == ".json") {  // a sharded checkpoint's index
    for (const auto& e : std::filesystem::directory_iterator(c.dir, ec)) {
      if (e.path().extension() == ".safetensors") {
        const auto n = e.file_size(ec);
        if (!ec) total += static_cast<std::int64_t>(n);
      }
    }
  } else {
    const auto n = std::filesystem::file_size(c.weights_path, ec);
    if (!ec) total = static_cast<std::int64_t>(n);
  }
  return total > 0 ? total : parameters * 4;  // --load-format dummy: float32 weights in memory
}

ollama::ModelFacts model_facts(const ModelHost& host) {
  ollama::ModelFacts m;
  m.name = host.name;
  m.parameters = inference::count_parameters(host.config).total();
  m.size_bytes = weights_bytes(host.config, m.parameters);
  try {
    m.digest = sinks::sha256_file(host.config.config_path);
  } catch (const std::exception& e) {
    FS_LOG_WARN("/api/tags: no digest: " << e.what());
    m.digest = std::string(64, '0');
  }
  m.context_tokens = host.context_tokens;
  m.embedding_length = host.config.text.n_embd;
  m.block_count = host.config.text.n_layer;
  m.head_count = host.config.text.n_head;
  m.vocab_size = host.config.text.n_vocab;
  m.modified_unix_s = host.created_unix_s;
  return m;
}

enum class Dialect { kChat, kGenerate };

json done_line(Dialect dialect, const std::string& model, std::string_view text,
               const inference::ChatResult& r, std::chrono::steady_clock::time_point start) {
  const double total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const ollama::Durations d = ollama::durations(r, total_ms);
  return dialect == Dialect::kChat ? ollama::chat_done(model, text, r, d)
                                   : ollama::generate_done(model, text, r, d);
}

class OllamaChatRoute {
 public:
  OllamaChatRoute(ApiServer& server, Dialect dialect) : server_(server), dialect_(dialect) {}

  http::Reply operator()(const http::Request& request) const {
    const auto start = std::chrono::steady_clock::now();
    const ServeLimits& limits = server_.limits();
    ollama::OllamaChat c = dialect_ == Dialect::kChat
                               ? ollama::parse_chat(request.body, limits)
                               : ollama::parse_generate(request.body, limits);
    ChatRequest& req = c.request;
    if (!server_.host().serves(req.model))
      throw ApiError(404,
                     "model \"" + req.model + "\" not found (this server has \"" +
                         ollama::tagged(server_.host().name) + "\")",
                     "model");
    const std::string model = ollama::tagged(server_.host().name);
    if (c.load_only)
      return json_reply(200, dialect_ == Dialect::kChat ? ollama::chat_load(model)
                                                        : ollama::generate_load(model));
    const std::function<bool()> gone = request.client_gone;
    ChatService& chat = server_.chat();
    std::shared_ptr<PreparedChat> prepared = chat.prepare(req, gone);
    double queue_ms = 0;
    auto lease = std::make_shared<EngineGate::Lease>(chat.wait_turn(*prepared, gone, &queue_ms));
    if (!req.stream) {
      ChatOutcome out = chat.generate(*prepared, *lease, {}, gone);
      lease.reset();
      return json_reply(200, done_line(dialect_, model, out.result.text, out.result, start));
    }
    http::Reply reply{200, kNdjson, {}, {{"Cache-Control", "no-cache"}}, {}};
    reply.stream = [&chat, dialect = dialect_, prepared, lease, model, gone,
                    start](const http::ChunkWriter& write) {
      bool open = true;
      try {
        ChatOutcome out = chat.generate(
            *prepared, *lease,
            [&](const inference::ChatPiece& p) {
              if (!open) return false;
              if (p.text.empty()) return true;
              open = write(line(dialect == Dialect::kChat ? ollama::chat_piece(model, p.text)
                                                          : ollama::generate_piece(model, p.text)));
              return open;
            },
            gone);
        if (open) write(line(done_line(dialect, model, "", out.result, start)));
      } catch (const ApiError& e) {
        if (open) write(line(ollama::error(e.what())));
      } catch (const std::exception& e) {
        FS_LOG_ERROR("ollama stream: " << e.what());
        if (open) write(line(ollama::error(std::string("internal error: ") + e.what())));
      }
    };
    return reply;
  }

 private:
  ApiServer& server_;
  Dialect dialect_;
};

}  // namespace

void add_ollama_routes(ApiServer& server) {
  http::Server& s = server.http();
  s.route("POST", "/api/chat",
          server.counted("/api/chat",
                         ollama_errors("/api/chat", OllamaChatRoute(server, Dialect::kChat))));
  s.route(
      "POST", "/api/generate",
      server.counted("/api/generate",
                     ollama_errors("/api/generate", OllamaChatRoute(server, Dialect::kGenerate))));
  // The facts are read per request: the context is known once the engine has loaded.
  s.route("GET", "/api/tags", server.counted("/api/tags", [&server](const http::Request&) {
    return json_reply(200, ollama::tags(model_facts(server.host())));
  }));
  s.route("POST", "/api/show",
          server.counted("/api/show", ollama_errors("/api/show", [&server](const http::Request& r) {
                           const std::string name = ollama::parse_show(r.body);
                           if (!server.host().serves(name))
                             throw ApiError(404, "model \"" + name + "\" not found", "model");
                           return json_reply(200, ollama::show(model_facts(server.host())));
                         })));
  s.route("GET", "/api/version", server.counted("/api/version", [](const http::Request&) {
    return json_reply(200, ollama::version(serve_version()));
  }));
}

void add_openapi_route(ApiServer& server) {
  server.http().route("GET", "/openapi.json",
                      server.counted("/openapi.json", [](const http::Request&) {
                        return http::Reply{200, kJson, std::string(openapi_document()), {}, {}};
                      }));
}

}  // namespace framescribe::serve
