// framescribe ask: a question about zero or more images (files, http(s) URLs, data: URIs),
// answered by the model and streamed to stdout as it is generated.
//
// The prompt is Instruct v3 (inference/prompt.h): one user turn holding the images in the
// order given, then the question; --system goes inside that turn, as mistral-common puts it.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/core/text_sanitizer.h"
#include "framescribe/decoder/ffmpeg_source.h"  // route_ffmpeg_logs
#include "framescribe/decoder/still_image.h"
#include "framescribe/inference/ask.h"
#include "framescribe/inference/chat.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/image_fit.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/inference/prompt.h"
#include "framescribe/inference/sampling.h"
#include "framescribe/inference/tokenizer.h"
#include "model_defaults.h"
#include "video_options.h"  // max_edge_message, number_range

namespace framescribe::apps {
namespace {

struct AskOptions {
  ModelRequest req;  // --model, --device, --load-format, --threads; what was given
  std::vector<std::string> images;
  std::string system;
  std::string question;
  int max_tokens = 512;
  inference::SamplingParams sampling;  // --temperature, --top-p, --seed
  int max_image_edge_px = 0;           // 0: the model's image size
  bool json = false;
};

double ms_between(std::chrono::steady_clock::time_point a,
                  std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The engine's context when EngineOptions::max_context_tokens is 0: the model's, at most 128k.
constexpr std::int64_t kEngineDefaultContext = 131072;

// Picks the model (--model, $FRAMESCRIBE_MODEL or the bundled demo model) and applies what its
// framescribe.json recommends (max_edge, max_tokens) to the options the user did not give, as
// summarize does. The notice of the demo model goes to stderr (not with -q).
inference::EngineOptions apply_model_defaults(AskOptions& o) {
  // No VideoOptions: ask's own default edge is the model's image size, not summarize's 512.
  const ModelSettings m = resolve_model_settings(o.req, nullptr, &o.max_tokens);
  o.req.model = m.dir.string();
  if (!o.req.size_given && m.recommended.max_edge) o.max_image_edge_px = *m.recommended.max_edge;
  print_demo_model_notice(m);
  return m.engine;
}

int run_ask(AskOptions o) {
  using namespace framescribe::inference;
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  const EngineOptions eo = apply_model_defaults(o);

  // Cheap checks first: the tokenizer and the model must agree before any weight is read.
  const ModelConfig config = load_config(o.req.model, o.req.engine);
  const Tokenizer tok = Tokenizer::load(find_tokenizer(o.req.model));
  check_tokenizer_matches(tok, config, /*images=*/!o.images.empty());
  const int patch_px = config.vision.patch_px;
  const int edge_px = o.max_image_edge_px > 0 ? o.max_image_edge_px : config.vision.image_size_px;
  // The model's patch and image sizes bound the edge; a bad value is a usage error (exit 2).
  if (edge_px % patch_px != 0 || edge_px < patch_px || edge_px > config.vision.image_size_px) {
    throw CLI::ValidationError(
        max_edge_message("--max-edge", edge_px, patch_px, config.vision.image_size_px));
  }

  // Images: read, decode, preprocess (each failure names its image). FFmpeg's own complaints
  // about a damaged file go to the log (shown with -v); the error says what matters.
  decoder::route_ffmpeg_logs(core::log_level() == core::LogLevel::kDebug);
  const auto t_images = Clock::now();
  PreprocessOptions pre;
  pre.longest_edge_px = edge_px;
  pre.patch_px = patch_px;
  std::vector<AskImage> images;
  for (const std::string& source : o.images) {
    std::string name = decoder::describe_image_source(source);
    images.push_back(prepare_ask_image(std::move(name), decoder::load_image(source).view(), pre));
  }
  const double images_ms = ms_between(t_images, Clock::now());

  // Prompt: [images in order..., question] in one user turn, the system prompt inside it. The
  // images stay in `images` (by reference); the request API hands them over in prompt order.
  const ChatPrompt prompt = prepare_chat(tok, ask_messages(o.system, images, patch_px, o.question));
  // The context must hold the prompt and at least one answer token: else say which --max-edge
  // fits (before the weights load).
  const std::int64_t context =
      std::min<std::int64_t>(config.text.max_context, kEngineDefaultContext);
  std::vector<std::pair<int, int>> sizes;
  for (const AskImage& li : images) sizes.emplace_back(li.source_width_px, li.source_height_px);
  const std::string problem = image_fit_problem(prompt.size(), prompt.image_block_tokens(), sizes,
                                                patch_px, edge_px, context);
  if (!problem.empty()) throw CLI::ValidationError(problem);

  const auto t_load = Clock::now();
  std::unique_ptr<Engine> engine = load_engine(o.req.model, eo);
  const double load_ms = ms_between(t_load, Clock::now());
  FS_LOG_DEBUG("engine " << engine->backend_name() << ", prompt " << prompt.size() << " tokens, "
                         << prompt.images.size() << " images");

  ChatOptions co;
  co.max_tokens = o.max_tokens;
  co.sampling = o.sampling;
  co.stop_tokens = {tok.eos()};

  // Text goes out as soon as it forms whole UTF-8 characters, sanitised as events are: model
  // text must not reach the terminal with escape sequences, C1 or bidi controls in it. The
  // sanitiser is a stream, so ESC in one token and "[2J" in the next is caught too.
  core::TextSanitizer terminal;
  const ChatResult r = run_chat(*engine, tok, prompt, co, [&](const ChatPiece& piece) {
    if (!o.json && !piece.text.empty()) {
      std::cout << terminal.feed(piece.text);
      std::cout.flush();
    }
    return true;
  });
  const double total_ms = ms_between(t_start, Clock::now());

  if (!o.json) {
    std::cout << terminal.finish() << "\n";
    std::cout.flush();
    FS_LOG_INFO(r.tokens.size() << " tokens (" << to_string(r.stop_reason) << "), prompt "
                                << r.usage.prompt_tokens << " tokens; prefill "
                                << r.timings.prefill_ms << " ms, decode " << r.timings.decode_ms
                                << " ms");
    return 0;
  }
  std::cout << ask_report_json(r, prompt, images, {images_ms, load_ms, total_ms},
                               std::string(engine->backend_name()));
  std::cout.flush();
  return 0;
}

}  // namespace

void add_ask_command(CLI::App& app, int* exit_code) {
  auto* cmd =
      app.add_subcommand("ask", "Ask a question about images (files, http(s) URLs, data: URIs)");
  cmd->footer(
      "IMAGE is a file (PNG, JPEG, WebP, BMP, GIF: the first frame), an http(s) URL or a\n"
      "data:image/...;base64,... URI; give --image once per image, in the order the question "
      "refers\n"
      "to them. JPEG EXIF orientation is applied; transparency is composited over white. Images "
      "are\n"
      "resized so the longer edge is at most --max-edge (default: the model's 1024).\n"
      "The answer is streamed to stdout; --json prints one object instead (answer, token counts,\n"
      "stop reason, timings). MODEL must hold tekken.json or tokenizer.json; without --model,\n"
      "$FRAMESCRIBE_MODEL, else the bundled demo model (synthetic shapes only). The model's\n"
      "framescribe.json (max_edge, max_tokens) applies to the options not given.");
  auto o = std::make_shared<AskOptions>();
  add_model_option(cmd, &o->req.model);
  // One value per --image, so the question may follow the last image.
  cmd->add_option("-i,--image", o->images, "An image: file, http(s) URL or data: URI (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("-s,--system", o->system, "System prompt");
  cmd->add_option("-n,--max-tokens", o->max_tokens, "Most tokens to generate")
      ->capture_default_str()
      ->check(number_range(1, 1 << 20));
  add_sampling_options(cmd, &o->sampling);
  cmd->add_option("--max-edge,--max-image-edge", o->max_image_edge_px,
                  "Longest image edge in pixels, a multiple of the patch size (0 = the model's)")
      ->capture_default_str()
      ->check(number_range(0, 1 << 16));
  add_engine_options(cmd, &o->req);
  cmd->add_flag("--json", o->json, "Print one JSON object instead of streaming text");
  cmd->add_option("question", o->question, "The question")->required();
  cmd->callback([cmd, o, exit_code] {
    note_given_options(*cmd, &o->req);
    *exit_code = run_ask(*o);
  });
}

}  // namespace framescribe::apps
