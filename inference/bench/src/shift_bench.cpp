// framescribe_bench_shift: how often approximate KV reuse (BatchEngine::shift_out, kv_shift.h;
// issue 24, opt-in) changes the answers against recomputing each window.
//
//   framescribe_bench_shift [--model DIR] [--load-format checkpoint|dummy] [--video FILE]...
//       [--fps F] [--max-edge PX] [--frames K] [--answer N] [--system TEXT] [--question TEXT]
//       [--threads N] [--show]
//
// The frames of the videos (default samples/shapes-demo.mp4 then samples/shapes-three.mp4, as
// one stream, the second's times following the first's) go through the real decoder and
// preprocessing; sliding windows of K frames hop one frame. Each window is the pipeline's prompt:
// the system text, then per frame its "[MM:SS.s]" label and its image, then the pipeline's
// default window instruction (pipeline/prompt_template.h). For every window:
//   (a) recompute: a fresh sequence prefilled with the whole prompt;
//   (b) reuse: the previous window's sequence (prompt + answer) shifted (plan_shift, apply_shift:
//       the frames that left are shifted out, the kept ones re-rotated), then the new frame and
//       the instruction appended; the same sequence goes on from window to window, so shifts
//       accumulate (as a live stream would use it);
//   (c) one shift: the previous window's RECOMPUTED sequence (a) shifted once the same way (the
//       error of a single shift, without the accumulation of (b)).
// Both decode N greedy tokens. A second pass asks a yes/no question (--question) instead of the
// instruction and compares which of "yes"/"no" scores higher. Frame embeddings come from one
// cache, so both sides see the same image rows. Printed: a row per window (prefilled tokens
// (a)/(b), first token and answer equal, max |logit| difference of the first answer token,
// yes/no choice) and the totals. The model defaults to the bundled demo model; with
// --load-format dummy the same model's config with random weights.
// Not a test: it measures how an approximation behaves on one model and clip.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/event.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/frame_cache.h"
#include "framescribe/inference/kv_shift.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/inference/prompt.h"
#include "framescribe/inference/sampling.h"
#include "framescribe/pipeline/prompt_template.h"

namespace fi = framescribe::inference;
namespace fs_core = framescribe::core;
namespace dec = framescribe::decoder;

namespace {

struct Args {
  std::string model, load_format = "checkpoint";
  std::vector<std::string> videos;
  double fps = 1.0;
  int max_edge = 64, frames = 8, answer = 16, threads = 0;
  bool show = false;
  std::string system = "You watch a video and report what happens.";
  std::string question = "Is a red shape visible in the last frame? Answer yes or no.";
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "framescribe_bench_shift: %s\nusage: framescribe_bench_shift [--model DIR] "
      "[--load-format checkpoint|dummy] [--video FILE]... [--fps F] [--max-edge PX] "
      "[--frames K] [--answer N] [--system TEXT] [--question TEXT] [--threads N] [--show]\n",
      why.c_str());
  std::exit(2);
}

double number(const std::string& flag, const char* v, double lo, double hi) {
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(x >= lo && x <= hi))
    usage(flag + " takes a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
          ", not '" + v + "'");
  return x;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--show") {
      a.show = true;
      continue;
    }
    if (i + 1 >= argc) usage(f + " needs a value (or is unknown)");
    const char* v = argv[++i];
    if (f == "--model")
      a.model = v;
    else if (f == "--load-format")
      a.load_format = v;
    else if (f == "--video")
      a.videos.push_back(v);
    else if (f == "--fps")
      a.fps = number(f, v, 0.01, 60);
    else if (f == "--max-edge")
      a.max_edge = static_cast<int>(number(f, v, 16, 4096));
    else if (f == "--frames")
      a.frames = static_cast<int>(number(f, v, 2, 256));
    else if (f == "--answer")
      a.answer = static_cast<int>(number(f, v, 1, 4096));
    else if (f == "--threads")
      a.threads = static_cast<int>(number(f, v, 0, 1024));
    else if (f == "--system")
      a.system = v;
    else if (f == "--question")
      a.question = v;
    else
      usage("unknown option " + f);
  }
  if (a.load_format != "checkpoint" && a.load_format != "dummy")
    usage("--load-format is checkpoint or dummy, not '" + a.load_format + "'");
  if (a.max_edge % 16 != 0) usage("--max-edge must be a multiple of 16");
  if (a.videos.empty()) a.videos = {"samples/shapes-demo.mp4", "samples/shapes-three.mp4"};
  return a;
}

struct Frame {
  std::int64_t pts_ns = 0;
  fi::PixelImage pixels;
  fi::FrameKey key;
};

// Every video's frames at a fixed rate, the later videos' times following the earlier ones.
std::vector<Frame> read_frames(const Args& a, const fi::ModelConfig& config) {
  std::vector<Frame> out;
  std::int64_t offset = 0;
  for (const std::string& v : a.videos) {
    dec::SourceOptions so;
    so.sample_fps = a.fps;
    auto src = dec::FfmpegSource::open(v, so);
    dec::SamplingOptions sampling;
    sampling.mode = dec::SamplingMode::kFixedRate;
    sampling.fps = a.fps;
    dec::OutputSizing sizing;
    sizing.longest_edge_px = a.max_edge;
    sizing.patch_px = config.vision.patch_px;
    dec::SampledReader reader(*src, sampling, sizing);
    fi::PreprocessOptions pre;
    pre.longest_edge_px = a.max_edge;
    pre.patch_px = config.vision.patch_px;
    std::int64_t last = 0;
    while (std::optional<fs_core::Frame> f = reader.next()) {
      Frame fr{offset + f->pts_ns, fi::preprocess_image(f->image->view(), pre), {}};
      fr.key = fi::frame_key(fr.pixels);
      last = f->pts_ns;
      out.push_back(std::move(fr));
    }
    offset += std::max(last + static_cast<std::int64_t>(1e9 / a.fps), src->info().duration_ns);
  }
  return out;
}

struct Window {
  fi::Prompt prompt;
  std::vector<fi::TokenKey> keys;
  std::vector<float> rows;  // image rows, prompt order
};

Window build(const Args& a, const fi::Tokenizer& tok, const fi::ModelConfig& config,
             fi::BatchEngine& engine, fi::FrameEmbeddingCache& cache,
             const std::vector<Frame>& frames, std::size_t first, bool question) {
  std::vector<fi::Message> m;
  if (!a.system.empty()) m.push_back(fi::Message::system(a.system));
  std::vector<fi::Chunk> chunks;
  std::vector<const fi::PixelImage*> images;
  std::vector<fi::FrameKey> keys;
  const std::size_t end = first + static_cast<std::size_t>(a.frames);
  for (std::size_t i = first; i < end; ++i) {
    chunks.push_back(
        fi::Chunk::text_chunk("[" + fs_core::format_timestamp(frames[i].pts_ns) + "]"));
    chunks.push_back(fi::Chunk::image_chunk(frames[i].pixels, config.vision.patch_px));
  }
  const std::string instruction = framescribe::pipeline::expand_template(
      framescribe::pipeline::kDefaultWindowPrompt,
      framescribe::pipeline::window_prompt_vars("clip", frames[first].pts_ns,
                                                frames[end - 1].pts_ns, a.frames));
  chunks.push_back(fi::Chunk::text_chunk(question ? a.question : instruction));
  m.push_back(fi::Message::user(std::move(chunks)));
  Window w;
  w.prompt = fi::build_prompt(tok, m);
  for (const fi::ImagePlacement& p : w.prompt.images) {
    images.push_back(&frames[first + p.source_index].pixels);
    keys.push_back(frames[first + p.source_index].key);
  }
  w.rows = cache.encode(engine, images);
  w.keys = fi::prompt_token_keys(w.prompt.ids, keys, config);
  return w;
}

// The image rows of the [IMG] tokens at positions >= from.
std::span<const float> rows_from(const Window& w, std::int64_t from, const fi::ModelConfig& c) {
  const auto before = std::count(w.prompt.ids.begin(), w.prompt.ids.begin() + from,
                                 static_cast<std::int32_t>(c.image_token_id));
  return std::span<const float>(w.rows).subspan(static_cast<std::size_t>(before * c.text.n_embd));
}

struct Answer {
  std::vector<float> first_logits;
  std::vector<std::int32_t> tokens;
};

// Prefills ids[from..] and decodes greedily; the tokens join `keys` (the sequence's content).
Answer answer(fi::BatchEngine& e, fi::SeqId s, const Window& w, std::int64_t from, int n, int eos,
              const fi::ModelConfig& c, std::vector<fi::TokenKey>* keys) {
  const std::span<const std::int32_t> ids =
      std::span(w.prompt.ids).subspan(static_cast<std::size_t>(from));
  fi::StepSpan span{s, ids, rows_from(w, from, c), fi::LogitsMode::kLast};
  Answer out;
  out.first_logits = e.step({&span, 1}).logits;
  std::vector<float> logits = out.first_logits;
  for (int i = 0; i < n; ++i) {
    logits[static_cast<std::size_t>(c.image_token_id)] = -INFINITY;
    const std::int32_t t = fi::argmax(logits);
    out.tokens.push_back(t);
    if (t == eos || i + 1 == n || e.length(s) + 1 > e.max_context()) break;
    if (keys) keys->push_back({t, 0, {}});  // only what the sequence holds
    const fi::StepSpan next{s, {&out.tokens.back(), 1}, {}, fi::LogitsMode::kLast};
    logits = e.step({&next, 1}).logits;
  }
  return out;
}

struct Compared {
  int first_differs = 0, answer_differs = 0, choice_flips = 0;
  float max_diff = 0, max_margin_diff = 0;
  double sum_diff = 0;
};

void run(const Args& a) {
  fi::EngineChoice choice;
  choice.load_format = a.load_format;
  bool is_demo = false;
  const std::filesystem::path dir = fi::resolve_model_dir(a.model, &is_demo);
  const fi::ModelConfig config = fi::load_config(dir.string(), choice);
  const fi::Tokenizer tok = fi::Tokenizer::load(fi::find_tokenizer(dir));
  fi::check_tokenizer_matches(tok, config);
  fi::EngineOptions eo = fi::engine_options(choice);
  eo.n_threads = a.threads;
  auto engine = fi::make_cpu_batch_engine(config, eo, fi::KvCacheOptions{});
  fi::FrameEmbeddingCache cache(std::int64_t{1} << 30);
  const std::vector<Frame> frames = read_frames(a, config);
  if (frames.size() < static_cast<std::size_t>(a.frames) + 1)
    FS_FAIL(kInvalidArgument, frames.size() << " frames sampled: a sliding window of " << a.frames
                                            << " needs at least one more");
  const std::size_t n_windows = frames.size() - static_cast<std::size_t>(a.frames) + 1;
  std::printf(
      "model %s (%s weights), %zu frames of %zu video(s) at %.2f fps, %d px; windows of "
      "%d frames hopping one frame: %zu windows; answers of up to %d greedy tokens\n\n",
      dir.string().c_str(), a.load_format.c_str(), frames.size(), a.videos.size(), a.fps,
      a.max_edge, a.frames, n_windows, a.answer);
  const std::vector<std::int32_t> yes = tok.encode("yes"), no = tok.encode("no"),
                                  yes_c = tok.encode("Yes"), no_c = tok.encode("No");
  const auto score = [&](const std::vector<float>& l, const std::vector<std::int32_t>& a1,
                         const std::vector<std::int32_t>& a2) {
    return std::max(l[static_cast<std::size_t>(a1.at(0))], l[static_cast<std::size_t>(a2.at(0))]);
  };

  // The yes/no margin: the best "yes" logit minus the best "no" logit.
  const auto margin = [&](const std::vector<float>& l) {
    return score(l, yes, yes_c) - score(l, no, no_c);
  };
  const auto yes_wins = [&](const std::vector<float>& l) { return margin(l) > 0; };
  const auto max_diff = [](const std::vector<float>& x, const std::vector<float>& y) {
    float d = 0;
    for (std::size_t i = 0; i < x.size(); ++i) d = std::max(d, std::abs(x[i] - y[i]));
    return d;
  };
  for (int pass = 0; pass < 2; ++pass) {
    const bool question = pass == 1;
    std::printf("%s\n", question ? "yes/no question (--question)"
                                 : "window description (the pipeline's default instruction)");
    std::printf("%6s %9s %9s | %-24s | %-24s | %s\n", "", "", "", "(b) accumulated shifts",
                "(c) one shift", "");
    std::printf("%6s %9s %9s | %5s %6s %11s | %5s %6s %11s | %s\n", "window", "prefill_a",
                "prefill_b", "first", "answer", "max|dlogit|", "first", "answer", "max|dlogit|",
                "yes/no a,b,c  shift (removed, moved)");
    Compared cb, cc;
    std::int64_t prefill_a = 0, prefill_b = 0;
    float max_logit = 0, min_margin = INFINITY;
    fi::SeqId reuse = engine->create(), prev = 0;
    std::vector<fi::TokenKey> reuse_keys, prev_keys;
    double secs_a = 0, secs_b = 0;
    for (std::size_t w = 0; w < n_windows; ++w) {
      const Window win = build(a, tok, config, *engine, cache, frames, w, question);
      const auto n = static_cast<std::int64_t>(win.prompt.ids.size());
      auto t0 = std::chrono::steady_clock::now();
      const fi::SeqId fresh = engine->create();
      std::vector<fi::TokenKey> fresh_keys = win.keys;
      const Answer ra = answer(*engine, fresh, win, 0, a.answer, tok.eos(), config, &fresh_keys);
      auto t1 = std::chrono::steady_clock::now();
      const fi::ShiftPlan plan = fi::plan_shift(reuse_keys, win.keys);
      fi::apply_shift(*engine, reuse, plan);
      reuse_keys = win.keys;  // what the sequence holds once the prompt is in
      const Answer rb =
          answer(*engine, reuse, win, plan.reused(), a.answer, tok.eos(), config, &reuse_keys);
      auto t2 = std::chrono::steady_clock::now();
      secs_a += std::chrono::duration<double>(t1 - t0).count();
      secs_b += std::chrono::duration<double>(t2 - t1).count();
      Answer rc = ra;  // window 0: nothing to shift
      if (w > 0) {
        const fi::ShiftPlan pc = fi::plan_shift(prev_keys, win.keys);
        fi::apply_shift(*engine, prev, pc);
        rc = answer(*engine, prev, win, pc.reused(), a.answer, tok.eos(), config, nullptr);
        engine->release(prev);
      }
      prev = fresh;
      prev_keys = std::move(fresh_keys);

      const auto compare = [&](const Answer& r, Compared& c) {
        const float d = max_diff(ra.first_logits, r.first_logits);
        c.first_differs += ra.tokens.at(0) != r.tokens.at(0);
        c.answer_differs += ra.tokens != r.tokens;
        c.choice_flips += yes_wins(ra.first_logits) != yes_wins(r.first_logits);
        c.max_diff = std::max(c.max_diff, d);
        c.max_margin_diff =
            std::max(c.max_margin_diff, std::abs(margin(ra.first_logits) - margin(r.first_logits)));
        c.sum_diff += d;
        return d;
      };
      const float db = compare(rb, cb), dc = compare(rc, cc);
      for (float x : ra.first_logits) max_logit = std::max(max_logit, std::abs(x));
      min_margin = std::min(min_margin, std::abs(margin(ra.first_logits)));
      prefill_a += n;
      prefill_b += n - plan.reused();
      const auto same = [](bool s) { return s ? "same" : "DIFF"; };
      std::printf("%6zu %9lld %9lld | %5s %6s %11.4g | %5s %6s %11.4g | %c%c%c  (%lld, %lld)%s\n",
                  w, static_cast<long long>(n), static_cast<long long>(n - plan.reused()),
                  same(ra.tokens[0] == rb.tokens[0]), same(ra.tokens == rb.tokens), db,
                  same(ra.tokens[0] == rc.tokens[0]), same(ra.tokens == rc.tokens), dc,
                  yes_wins(ra.first_logits) ? 'y' : 'n', yes_wins(rb.first_logits) ? 'y' : 'n',
                  yes_wins(rc.first_logits) ? 'y' : 'n',
                  static_cast<long long>(plan.remove_end - plan.keep),
                  static_cast<long long>(plan.moved), w == 0 ? "  (first window: no reuse)" : "");
      if (a.show && ra.tokens != rb.tokens) {
        std::printf("         (a) %s\n         (b) %s\n", tok.decode(ra.tokens).c_str(),
                    tok.decode(rb.tokens).c_str());
      }
    }
    engine->release(reuse);
    engine->release(prev);
    const int k = static_cast<int>(n_windows) - 1;  // window 0 is the same prefill everywhere
    std::printf(
        "total: %zu windows, %d reused; prefilled %lld (a) vs %lld (b) tokens (%.1f%%); "
        "%.2f s (a) vs %.2f s (b); largest |logit| %.4g; smallest |yes-no margin| (a) "
        "%.4g\n",
        n_windows, k, static_cast<long long>(prefill_a), static_cast<long long>(prefill_b),
        100.0 * static_cast<double>(prefill_b) / static_cast<double>(prefill_a), secs_a, secs_b,
        max_logit, min_margin);
    for (const auto& [name, c] : {std::pair{"(b) accumulated", cb}, std::pair{"(c) one shift", cc}})
      std::printf(
          "  %-16s first token differs %d of %d, whole answer %d of %d, yes/no flips %d "
          "of %d (margin moves up to %.4g), max |dlogit| %.4g (mean %.4g)\n",
          name, c.first_differs, k, c.answer_differs, k, c.choice_flips, k, c.max_margin_diff,
          c.max_diff, k > 0 ? c.sum_diff / k : 0.0);
    std::printf("\n");
  }
  engine->kv_table().check_consistency();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    run(parse(argc, argv));
  } catch (const framescribe::Error& e) {
    std::fprintf(stderr, "framescribe_bench_shift: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "framescribe_bench_shift: %s\n", e.what());
    return 1;
  }
  return 0;
}
