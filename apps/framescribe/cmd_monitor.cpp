// framescribe monitor URL...: live descriptions and alerts for RTSP (or any GStreamer URI)
// streams, with a status page and Prometheus metrics.
//
// Composition: decoder::GstLiveSource (one per stream, reconnecting) -> pipeline::LiveJob
// (windows every N s, drop-oldest, alerts) -> the model loaded once (SharedEngines): on the CPU
// a PixtralWindowEngine per stream (descriptions and alert questions), all batched step by step
// by one inference::StepScheduler; with --step-tokens 0 or CUDA one PixtralWindowEngine shared
// through pipeline::EngineScheduler (a description client and a higher-priority alert client
// per stream, one call at a time) -> console, <out>/<stream>.descriptions.jsonl, <out>/gaps.jsonl,
// <out>/alerts.jsonl, <out>/snapshots/*.jpg, webhook, command (sinks::StreamOutputs);
// sinks::MonitorHttp serves the board. Ctrl-C stops (130).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/core/source_name.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/gst_source.h"
#include "framescribe/http/http_policy.h"
#include "framescribe/inference/engine.h"
#include "framescribe/pipeline/engine_scheduler.h"
#include "framescribe/pipeline/live/live_job.h"
#include "framescribe/pipeline/live/live_runner.h"
#include "framescribe/pipeline/live/live_settings.h"
#include "framescribe/pipeline/live/monitor_config.h"
#include "framescribe/pixtral/window_engine.h"
#include "framescribe/sinks/alerts.h"
#include "framescribe/sinks/live_outputs.h"
#include "framescribe/sinks/monitor_outputs.h"
#include "framescribe/sinks/sinks.h"
#include "framescribe/sinks/status_http.h"
#include "model_defaults.h"
#include "run_support.h"
#include "shared_engines.h"
#include "summarize_support.h"

namespace framescribe::apps {
namespace {

namespace fs = std::filesystem;

struct MonitorOptions {
  std::vector<std::string> urls;
  std::string config;  // monitor.yaml: streams with their own windows, prompts and alerts
  ModelRequest req;    // --model, --device, --load-format, --threads, --context
  int max_tokens = 128;
  int max_edge = 512;
  inference::SamplingParams sampling;  // greedy by default
  pipeline::LiveSettings live;         // --interval, --window, --sample, --alert ...
  bool realtime = true;                // local files at their own pace, like a camera
  // Given on the command line (the model folder's framescribe.json fills in the others).
  bool sample_given = false, max_edge_given = false, max_tokens_given = false;
  bool every_deprecated = false;  // --every (old name of --interval) was used
  std::string system;
  std::int64_t step_tokens = inference::StepSchedulerOptions{}.step_tokens;  // --step-tokens
  bool approximate_reuse = false;                                            // opt-in
  sinks::AlertTargets alerts_to;  // --webhook*, --alert-command* (the log: --out)
  std::string out, http;
  bool udp = false, quiet = false;
  int latency_ms = 200;
  double stall_s = 10, backoff_max_s = 30, backoff_initial_s = 0.5, duration_s = 0;
  double status_every_s = 10;
};

// A live job's reports, to the stream's outputs (sinks::StreamOutputs).
class MonitorObserver final : public pipeline::LiveObserver {
 public:
  explicit MonitorObserver(sinks::StreamOutputs outputs) : out_(std::move(outputs)) {}
  void on_frame(const std::string&, const core::Frame& f) override { out_.frame(f.image); }
  void on_window(const std::string& stream, const core::WindowResult& w, double latency,
                 std::int64_t wall_clock_ns) override {
    out_.window(stream, w, latency, wall_clock_ns);
  }
  void on_gap(const std::string& stream, const core::StreamGap& g) override { out_.gap(stream, g); }
  void on_alert(const core::Alert& a) override { out_.alert(a); }

 private:
  sinks::StreamOutputs out_;
};

// Picks the model (--model, $FRAMESCRIBE_MODEL or the bundled demo model, as summarize does)
// and applies what its framescribe.json recommends to the options the user did not give: fps
// as --sample (1/fps seconds), max_edge, max_tokens. Returns the engine options.
inference::EngineOptions apply_model_defaults(MonitorOptions& o) {
  const ModelSettings m = resolve_model_settings(o.req, nullptr, nullptr);
  o.req.model = m.dir.string();
  const ModelDefaults& d = m.recommended;
  if (!o.sample_given && d.fps) o.live.sample_s = 1.0 / *d.fps;
  if (!o.max_edge_given && d.max_edge) o.max_edge = *d.max_edge;
  if (!o.max_tokens_given && d.max_tokens) o.max_tokens = *d.max_tokens;
  print_demo_model_notice(m, "streams");  // global -q (errors only) silences it
  return m.engine;
}

int run_monitor(MonitorOptions o, const inference::EngineOptions& eo) {
  if (o.every_deprecated)
    FS_LOG_WARN(
        "--every is deprecated for monitor: use --interval S (a window every S seconds; "
        "--every means every Nth frame in summarize)");
  // (after the model's recommended --sample is known)
  const pipeline::LiveOptions lo = pipeline::live_options(o.live, o.max_tokens);
  // Streams: those of --config (each with its own options over the command line's), then the
  // URLs given on the command line (with the command line's options).
  std::vector<pipeline::MonitorStreamConfig> specs;
  if (!o.config.empty()) specs = pipeline::load_monitor_config(o.config, lo).streams;
  for (const std::string& url : o.urls) specs.push_back({url, {}, lo});
  FS_CHECK(!specs.empty(), kInvalidArgument, "no stream to watch: give URLs or --config FILE");
  for (auto& spec : specs) {
    decoder::check_live_input(spec.url);
    // A file read as fast as possible waits for the engine rather than dropping windows.
    spec.live.wait_for_engine = !o.realtime && !decoder::live_local_file(spec.url).empty();
  }
  bool any_alerts = false;
  for (const auto& spec : specs) any_alerts |= !spec.live.alerts.empty();
  std::string http_host;
  int http_port = 0;
  if (!o.http.empty()) http::parse_host_port(o.http, &http_host, &http_port);

  const fs::path out = o.out;
  sinks::prepare_monitor_out(out, /*snapshots=*/any_alerts);
  pixtral::PixtralWindowOptions wo;
  wo.system = o.system;
  wo.max_answer_tokens = o.max_tokens;
  wo.context_tokens = o.req.context;
  wo.sampling = o.sampling;
  wo.model_name = model_display_name(o.req.model);
  wo.approximate_reuse = o.approximate_reuse;
  // One sequence per stream: its descriptions and alert questions come from its live job's one
  // worker thread, one after the other, so one window engine serves both.
  SharedEngines engines(o.req.model, o.req.engine, eo, wo,
                        {.clients = static_cast<int>(specs.size()), .step_tokens = o.step_tokens});

  o.alerts_to.out = out;
  const std::vector<std::unique_ptr<sinks::QueuedDelivery>> deliveries =
      sinks::make_alert_deliveries(o.alerts_to);
  std::vector<sinks::AlertDelivery*> delivery_ptrs;
  for (auto& d : deliveries) delivery_ptrs.push_back(d.get());
  std::unique_ptr<sinks::JsonLinesFile> gaps =
      out.empty() ? nullptr : std::make_unique<sinks::JsonLinesFile>(out / "gaps.jsonl");

  core::StopFlag stop;
  ScopedStopSignals signals(stop);

  sinks::MonitorBoard board;
  struct Stream {
    std::string name, stem;
    std::unique_ptr<decoder::GstLiveSource> source;
    pipeline::WindowEngine* describe = nullptr;
    pipeline::WindowEngine* alerts = nullptr;
    std::unique_ptr<sinks::JsonLinesFile> descriptions;
    std::unique_ptr<core::EventSink> console;
    std::unique_ptr<MonitorObserver> observer;
    std::unique_ptr<pipeline::LiveJob> job;
    int index = 0;
  };
  std::vector<Stream> streams(specs.size());
  std::set<std::string> stems;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    Stream& s = streams[i];
    // Wherever the stream is named (console, files, /metrics, the page, alerts, prompts): no
    // user-info, no query values. File names: the URL's stem only (stream_file_stem).
    s.name = specs[i].name.empty() ? core::redact_source(specs[i].url) : specs[i].name;
    s.stem = sinks::stream_file_stem(specs[i].url, specs[i].name, stems);
    s.index = board.add_stream(s.name);
    decoder::GstSourceOptions go;
    go.url = specs[i].url;
    go.rtsp_tcp = !o.udp;
    go.latency_ms = o.latency_ms;
    go.sizing.longest_edge_px = o.max_edge;
    go.stall_timeout_s = o.stall_s;
    go.backoff_initial_s = o.backoff_initial_s;
    go.backoff_max_s = std::max(o.backoff_max_s, o.backoff_initial_s);
    go.realtime = o.realtime;
    s.source = std::make_unique<decoder::GstLiveSource>(go);
    if (engines.batched()) {
      s.describe = s.alerts = &engines.engine(s.name);
    } else {  // alert questions before descriptions, whole calls one at a time
      s.describe = &engines.engine(s.name, 0);
      s.alerts = &engines.engine(s.name + " alerts", 1);
    }
    if (!out.empty())
      s.descriptions =
          std::make_unique<sinks::JsonLinesFile>(out / (s.stem + ".descriptions.jsonl"));
    std::vector<core::EventSink*> sinks;
    if (!o.quiet) {
      s.console = sinks::make_sink("console", {}, s.stem, stdout);
      sinks.push_back(s.console.get());
    }
    s.observer = std::make_unique<MonitorObserver>(
        sinks::StreamOutputs(board, s.index, s.stem, s.descriptions.get(), gaps.get(),
                             delivery_ptrs, out.empty() ? fs::path() : out / "snapshots"));
    s.job = std::make_unique<pipeline::LiveJob>(s.name, *s.describe, s.alerts, specs[i].live, sinks,
                                                s.observer.get());
  }
  std::unique_ptr<sinks::MonitorHttp> http;
  if (!o.http.empty()) {
    http = std::make_unique<sinks::MonitorHttp>(board, http_host, http_port);
    std::fprintf(stderr, "framescribe: status page http://%s:%d/ (metrics at /metrics)\n",
                 http_host.c_str(), http->port());
  }

  // Until Ctrl-C, --duration, or every stream has ended (files played to their end); meanwhile
  // the board is refreshed and a line per stream printed now and then.
  std::vector<pipeline::LiveStream> runs;
  for (Stream& s : streams)
    runs.push_back({s.name,
                    s.job.get(),
                    s.source.get(),
                    {.video = s.name, .model = wo.model_name, .sampling = "live"}});
  auto last_print = std::chrono::steady_clock::now();
  const auto poll = [&](std::chrono::steady_clock::time_point now) {
    for (Stream& s : streams) {
      const decoder::GstSourceStats st = s.source->stats();
      const pipeline::LiveStats js = s.job->stats();
      board.update(s.index, [&](sinks::StreamStatus& b) {
        b.frames_received = st.frames_received;
        b.frames_dropped = st.frames_dropped;
        b.reconnects = st.reconnects;
        b.gaps = st.gaps;
        b.connected = st.connected;
        b.last_frame_wall_ns = st.last_frame_wall_ns;
        b.windows_done = js.windows_done;
        b.windows_dropped = js.windows_dropped;
        b.alerts_fired = js.alerts_fired;
        b.latency_s = js.last_latency_s;
        b.max_latency_s = js.max_latency_s;
      });
    }
    const pixtral::PixtralEngineStats es = engines.reuse_stats();  // after the jobs' counts
    sinks::EngineStatus engine_status{es.prompt_tokens, es.prefilled_tokens, es.frames,
                                      es.frames_encoded};
    const std::optional<inference::StepSchedulerStats> ss = engines.scheduler_stats();
    if (ss) {
      engine_status.batched = true;
      engine_status.steps = ss->steps;
      engine_status.step_rows = ss->rows;
      engine_status.max_step_rows = ss->max_step_rows;
      engine_status.preemptions = ss->preemptions;
      engine_status.recomputed_tokens = ss->recomputed_tokens;
    }
    board.set_engine(engine_status);
    if (o.status_every_s > 0 &&
        std::chrono::duration<double>(now - last_print).count() >= o.status_every_s) {
      last_print = now;
      for (const sinks::StreamStatus& b : board.snapshot())
        std::fprintf(stderr, "framescribe: %s\n", sinks::stream_status_line(b).c_str());
      if (ss) std::fprintf(stderr, "framescribe: engine: %s\n", scheduler_line(*ss).c_str());
    }
  };
  const pipeline::LiveRunResult run = pipeline::run_live_jobs(
      std::move(runs), stop, o.duration_s, poll, [](const std::string& name, const Error& e) {
        std::fprintf(stderr, "framescribe: %s: error (%s): %s\n", name.c_str(),
                     std::string(to_string(e.code())).c_str(), e.what());
      });
  for (const sinks::StreamStatus& b : board.snapshot())
    std::fprintf(stderr, "framescribe: %s\n", sinks::stream_end_line(b).c_str());
  FS_LOG_DEBUG("engine " << pixtral::to_string(engines.reuse_stats()));
  if (const auto ss = engines.scheduler_stats()) FS_LOG_DEBUG("scheduler " << scheduler_line(*ss));
  for (const auto& d : deliveries)
    if (d->dropped() > 0)
      std::fprintf(stderr, "framescribe: alert %s: %lld alerts dropped (delivery queue full)\n",
                   std::string(d->name()).c_str(), static_cast<long long>(d->dropped()));
  if (run.failures > 0) return 1;
  return run.timed_out || !stop.stop_requested() ? 0 : 130;
}

}  // namespace

void add_monitor_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("monitor", "Live descriptions and alerts for RTSP/live streams");
  auto o = std::make_shared<MonitorOptions>();
  cmd->add_option("URL", o->urls, "rtsp://, http(s)://, file://, v4l2:// URLs or files");
  cmd->add_option("--config", o->config,
                  "monitor.yaml: streams with their own windows, prompts and alert rules "
                  "(docs/monitor.md); its values override the command line's")
      ->check(CLI::ExistingFile);
  add_model_option(cmd, &o->req.model);
  add_engine_options(cmd, &o->req);
  add_context_option(cmd, &o->req.context);
  cmd->add_option("-n,--max-tokens", o->max_tokens, "Most tokens per description")
      ->capture_default_str()
      ->check(number_range(1, 1 << 20));
  cmd->add_option("--max-edge", o->max_edge, "Longest frame edge in pixels (patch grid)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_sampling_options(cmd, &o->sampling);
  auto* interval = cmd->add_option("--interval", o->live.every_s, "A window every S seconds")
                       ->capture_default_str();
  cmd->add_option("--every", o->live.every_s, "Deprecated: the old name of --interval")
      ->excludes(interval)
      ->group("Deprecated");
  cmd->add_flag("--realtime,!--no-realtime", o->realtime,
                "Play local files at their own pace, like a live stream (default; "
                "--no-realtime: as fast as the engine goes, no window dropped)");
  auto* win =
      cmd->add_option("--window", o->live.window_s, "Of the last S seconds")->capture_default_str();
  cmd->add_option("--frames", o->live.frames, "Of the last K sampled frames instead")
      ->excludes(win);
  cmd->add_option("--sample", o->live.sample_s, "Keep one frame every S seconds")
      ->capture_default_str();
  cmd->add_option("--max-frames-per-window", o->live.max_frames, "Frames per window at most")
      ->capture_default_str();
  cmd->add_option("--max-pending", o->live.max_pending,
                  "Windows waiting for the engine at most (older ones are dropped)")
      ->capture_default_str();
  cmd->add_option("--prompt", o->live.prompt, "Window prompt ({start} {end} {video} {n_frames})");
  cmd->add_option("--system", o->system, "System prompt");
  cmd->add_option("--alert", o->live.alerts, "A yes/no question, or NAME=QUESTION (repeatable)");
  cmd->add_option("--alert-threshold", o->live.alert_threshold, "P(yes) at or above this is a hit")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--alert-need", o->live.alert_need, "Hits needed (N of M)")
      ->capture_default_str();
  cmd->add_option("--alert-of", o->live.alert_of, "Of the last M windows")->capture_default_str();
  cmd->add_option("--alert-cooldown", o->live.alert_cooldown_s, "Seconds between alerts of a rule")
      ->capture_default_str();
  cmd->add_option("--webhook", o->alerts_to.webhook.url, "POST each alert's JSON to this URL");
  cmd->add_option("--webhook-timeout-ms", o->alerts_to.webhook.timeout_ms, "Per attempt")
      ->capture_default_str();
  cmd->add_option("--webhook-retries", o->alerts_to.webhook.retries, "Attempts after the first")
      ->capture_default_str();
  cmd->add_option("--alert-command", o->alerts_to.command,
                  "Run this (sh -c) per alert, JSON on stdin, FS_ALERT_* in the environment");
  cmd->add_option("--alert-command-timeout", o->alerts_to.command_timeout_s,
                  "Seconds an --alert-command may run; then its process group is killed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("-o,--out", o->out,
                  "Directory for descriptions, gaps and alerts (JSONL) and snapshots");
  cmd->add_option("--http", o->http, "Serve the status page and /metrics on HOST:PORT");
  cmd->add_flag("--udp", o->udp, "RTSP over UDP (default: TCP)");
  cmd->add_option("--latency-ms", o->latency_ms, "RTSP jitter buffer")->capture_default_str();
  cmd->add_option("--stall-timeout", o->stall_s, "No frame for S seconds: reconnect")
      ->capture_default_str();
  cmd->add_option("--backoff-max", o->backoff_max_s, "Longest wait between reconnects (s)")
      ->capture_default_str();
  cmd->add_option("--backoff-initial", o->backoff_initial_s, "First wait before a reconnect (s)")
      ->capture_default_str();
  cmd->add_option("--duration", o->duration_s, "Stop after S seconds (0: run until Ctrl-C)");
  cmd->add_option("--status-every", o->status_every_s, "Status line every S seconds (0: never)")
      ->capture_default_str();
  add_step_tokens_option(cmd, &o->step_tokens);
  add_approximate_reuse_option(cmd, &o->approximate_reuse);
  cmd->add_flag("--quiet", o->quiet, "No descriptions on the console");
  cmd->callback([o, cmd, exit_code] {
    MonitorOptions opt = *o;
    opt.sample_given = cmd->get_option("--sample")->count() > 0;
    opt.max_edge_given = cmd->get_option("--max-edge")->count() > 0;
    opt.max_tokens_given = cmd->get_option("--max-tokens")->count() > 0;
    opt.every_deprecated = cmd->get_option("--every")->count() > 0;
    // A missing local file fails at once, before the model is chosen or loaded.
    for (const std::string& url : opt.urls) decoder::check_live_input(url);
    const inference::EngineOptions eo = apply_model_defaults(opt);
    *exit_code = run_monitor(std::move(opt), eo);
  });
}

}  // namespace framescribe::apps
