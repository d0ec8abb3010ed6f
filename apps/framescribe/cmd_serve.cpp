// framescribe serve: the model behind an OpenAI- (and Ollama-) compatible HTTP API. Parses the
// options, loads the model as the other commands do (model_defaults.h), and wires
// serve::ApiServer; everything else lives in serve/.
//
// Order: the model's config and tokenizer (cheap, errors before anything listens), bind and
// listen (/health answers 503), load the weights, serve until SIGINT/SIGTERM, then drain: the
// engine's queue closes (waiters get 503), answers in progress finish, exit 0.
// --parallel N (default 4 on the CPU): N requests run at once on the step scheduler (batched
// steps of --step-tokens rows); devices without a multi-sequence engine (CUDA) and
// --step-tokens 0 serve one at a time (a warning when N > 1 was asked for on such a device).
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/ffmpeg_source.h"  // route_ffmpeg_logs
#include "framescribe/http/http_policy.h"
#include "framescribe/serve/api_server.h"
#include "framescribe/serve/ollama_routes.h"
#include "framescribe/serve/video_jobs.h"
#include "framescribe/serve/video_part.h"
#include "model_defaults.h"
#include "run_support.h"
#include "video_options.h"  // number_range

namespace framescribe::apps {
namespace {

struct ServeOptions {
  ModelRequest req;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  std::vector<std::string> allow_paths;
  std::string cors;
  int max_tokens = kDefaultMaxTokens;
  int max_queue = 64;
  int timeout_s = 600;
  std::int64_t max_body_mb = 64;
  int max_connections = 256;
  int parallel = 0;  // 0: kDefaultParallel on the CPU, 1 elsewhere
  std::int64_t step_tokens = inference::StepSchedulerOptions{}.step_tokens;
};

constexpr int kDefaultParallel = 4;

int run_serve(ServeOptions o) {
  if (!http::is_loopback_address(o.host) && o.api_key.empty()) {
    throw CLI::ValidationError("--host " + o.host +
                               ": serving beyond this machine needs --api-key KEY (clients then "
                               "send \"Authorization: Bearer KEY\")");
  }
  int max_tokens = o.max_tokens;
  const ModelSettings m = resolve_model_settings(o.req, nullptr, &max_tokens);
  print_demo_model_notice(m, "images");
  decoder::route_ffmpeg_logs(core::log_level() == core::LogLevel::kDebug);
  serve::ModelHost host;
  serve::prepare_host(host, m, o.req.engine, o.req.context, max_tokens);
  host.gate.set_max_waiting(static_cast<std::size_t>(o.max_queue));

  serve::ApiServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.policy.api_key = o.api_key;
  so.policy.cors_origin = o.cors;
  so.policy.max_connections = o.max_connections;
  so.limits.max_body_bytes = o.max_body_mb << 20;
  so.limits.request_timeout_ms = o.timeout_s * 1000;
  so.limits.allow_paths = o.allow_paths;
  serve::ApiServer server(host, so);
  serve::add_ollama_routes(server);  // /api/* (Ollama) and GET /openapi.json
  serve::add_openapi_route(server);
  server.chat().set_video_expander(serve::make_video_expander(host, so.limits));  // video_url
  serve::VideoJobs video_jobs(host, so.limits);  // POST /v1/videos/summaries, GET / (the page)
  video_jobs.add_routes(server.http(), [&](std::string e, http::RequestHandler h) {
    return server.counted(std::move(e), std::move(h));
  });
  for (const char* page : {"/", "/web/app.js", "/web/app.css"})
    server.policy().public_paths.push_back(page);

  core::StopFlag stop;
  ScopedStopSignals signals(stop);
  std::signal(SIGPIPE, SIG_IGN);  // a client that went away is a failed write, not a signal
  server.start();
  const std::string shown_host =
      o.host.find(':') != std::string::npos && o.host.front() != '[' ? "[" + o.host + "]" : o.host;
  std::cerr << "framescribe serve: listening on http://" << shown_host << ":" << server.port()
            << " (model " << host.name << ")" << std::endl;

  const int parallel = o.parallel > 0
                           ? o.parallel
                           : (m.engine.device == inference::Device::kCpu ? kDefaultParallel : 1);
  serve::load_host_engine(host, m.engine, parallel, o.step_tokens);

  while (!stop.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cerr << "framescribe serve: stopping: finishing the answers in progress (Ctrl-C again: "
               "stop them now)"
            << std::endl;
  // A second Ctrl-C abandons the answers still running; the drain then ends at their next token.
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    server.drain();
    drained = true;
  });
  bool abandoned = false;
  while (!drained) {
    if (!abandoned && stop.level() >= core::StopFlag::kAbandon) {
      server.chat().abandon();
      abandoned = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  drainer.join();
  std::cerr << "framescribe serve: stopped" << std::endl;
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "serve", "Serve the model over HTTP: the OpenAI Chat Completions API (and more, serve/)");
  cmd->footer(
      "Listens on 127.0.0.1:8080 by default. Another --host needs --api-key (Bearer). Images in\n"
      "requests: data: URIs, http(s) URLs; local files only under --allow-path DIR. Ctrl-C\n"
      "finishes the answers in progress, then exits. See serve/README.md.");
  auto o = std::make_shared<ServeOptions>();
  cmd->add_option("-m,--model", o->req.model,
                  "Model directory; default: $FRAMESCRIBE_MODEL, else the bundled demo model")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--host", o->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0: a free one)")
      ->capture_default_str()
      ->check(number_range(0, 65535));
  cmd->add_option("--api-key", o->api_key, "Require \"Authorization: Bearer KEY\"");
  cmd->add_option("--allow-path", o->allow_paths,
                  "A folder whose files requests may name (repeatable)")
      ->check(CLI::ExistingDirectory)
      ->allow_extra_args(false);
  cmd->add_option("--cors", o->cors, "Allow browsers on this origin (CORS), e.g. http://host:3000");
  cmd->add_option("-n,--max-tokens", o->max_tokens,
                  "Default most tokens per answer (requests may set their own)")
      ->capture_default_str()
      ->check(number_range(1, 1 << 20));
  cmd->add_option("--ctx-size,--max-model-len", o->req.context,
                  "Context tokens (0: the model's, at most 131072)")
      ->capture_default_str()
      ->check(number_range(0, 1 << 24));
  cmd->add_option("--parallel", o->parallel,
                  "Requests run at once, batched step by step (default: 4 on the CPU; CUDA: 1)")
      ->check(number_range(1, 256));
  cmd->add_option("--step-tokens", o->step_tokens,
                  "With --parallel > 1: tokens per batched engine step, the requests' decodes and "
                  "prefill chunks together (smaller: shorter decode stalls while another request "
                  "prefills). 0: one request at a time (as --parallel 1)")
      ->capture_default_str()
      ->check(number_range(0, 1 << 20));
  cmd->add_option("--max-queue", o->max_queue, "Requests that may wait for a free slot (more: 429)")
      ->capture_default_str()
      ->check(number_range(0, 100000));
  cmd->add_option("--timeout", o->timeout_s, "Seconds a request may take, queue included")
      ->capture_default_str()
      ->check(number_range(1, 86400));
  cmd->add_option("--max-body-mb", o->max_body_mb, "Largest request body in MiB")
      ->capture_default_str()
      ->check(number_range(1, 4096));
  cmd->add_option("--max-connections", o->max_connections, "Connections served at once (more: 503)")
      ->capture_default_str()
      ->check(number_range(1, 4096));
  cmd->add_option("-t,--threads,--engine-threads", o->req.threads, "CPU engine threads (0: all)")
      ->capture_default_str()
      ->check(number_range(0, 1024));
  add_engine_choice_options(cmd, &o->req.engine);
  cmd->callback([cmd, o, exit_code] {
    note_given_options(*cmd, &o->req);
    *exit_code = run_serve(*o);
  });
}

}  // namespace framescribe::apps
