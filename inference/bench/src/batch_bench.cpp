// framescribe_bench_batch: the multi-sequence engine (batch_engine.h, issue 24) on the CPU.
//
//   framescribe_bench_batch --load-format dummy [--layers 4] [--embd 512] [--ff 1536]
//       [--vocab 32768] [--prompt 64] [--steps 16] [--seqs 1,4,16] [--threads 0]
//       [--streams 4] [--windows 3] [--frames 4] [--questions 3]
//
// Random (dummy) weights of a mid-size Pixtral-shaped config. Prints two tables:
//   1. decode: N sequences (each prefilled with --prompt tokens) decoding --steps greedy tokens
//      together (one batched step per token) against one after another (a step per sequence
//      and token); tokens/s side by side, and whether both gave the same tokens (they must:
//      the CPU engine is bit-exact across batchings).
//   2. live: --streams streams of --windows overlapping windows (--frames frames, hop one frame)
//      with --questions yes/no alert questions each; before the caches (every window and every
//      question re-encodes its frames and prefills everything) and after (frame-embedding cache,
//      questions forked off the window's end): vision encoder calls, frames encoded, tokens
//      prefilled per window, seconds; and whether the answers' logits are identical.
// Not a test: timings depend on the machine and its load.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/frame_cache.h"
#include "framescribe/inference/sampling.h"
#include "framescribe/inference/step_scheduler.h"

namespace fi = framescribe::inference;

namespace {

struct Args {
  int layers = 4, embd = 512, ff = 1536, vocab = 32768, prompt = 64, steps = 16, threads = 0;
  std::vector<int> seqs = {1, 4, 16};
  int streams = 4, windows = 3, frames = 4, questions = 3;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "framescribe_bench_batch: %s\nusage: framescribe_bench_batch --load-format dummy "
               "[--layers N] [--embd N] [--ff N] [--vocab N] [--prompt N] [--steps N] "
               "[--seqs N,N,..] [--threads N] [--streams N] [--windows N] [--frames N] "
               "[--questions N]\n",
               why.c_str());
  std::exit(2);
}

int positive(const std::string& flag, const char* v) {
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || n < 0 || n > (1 << 20))
    usage(flag + " takes a whole number from 0 to 2^20, not '" + v + "'");
  return static_cast<int>(n);
}

Args parse(int argc, char** argv) {
  Args a;
  bool dummy = false;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (i + 1 >= argc) usage(f + " needs a value");
    const char* v = argv[++i];
    if (f == "--load-format") {
      if (std::string(v) != "dummy") usage("only --load-format dummy is supported");
      dummy = true;
    } else if (f == "--seqs") {
      a.seqs.clear();
      std::string s = v;
      for (std::size_t p = 0; p <= s.size();) {
        const std::size_t c = std::min(s.find(',', p), s.size());
        a.seqs.push_back(positive(f, s.substr(p, c - p).c_str()));
        p = c + 1;
      }
    } else {
      int* dst = f == "--layers"      ? &a.layers
                 : f == "--embd"      ? &a.embd
                 : f == "--ff"        ? &a.ff
                 : f == "--vocab"     ? &a.vocab
                 : f == "--prompt"    ? &a.prompt
                 : f == "--steps"     ? &a.steps
                 : f == "--threads"   ? &a.threads
                 : f == "--streams"   ? &a.streams
                 : f == "--windows"   ? &a.windows
                 : f == "--frames"    ? &a.frames
                 : f == "--questions" ? &a.questions
                                      : nullptr;
      if (!dst) usage("unknown option " + f);
      *dst = positive(f, v);
    }
  }
  if (!dummy) usage("give --load-format dummy (random weights; no checkpoint is read)");
  if (a.embd % 64 != 0 || a.embd == 0) usage("--embd must be a positive multiple of 64");
  if (a.layers == 0 || a.ff == 0 || a.vocab < 64 || a.steps == 0 || a.prompt == 0)
    usage("sizes must be positive (vocab at least 64)");
  return a;
}

fi::ModelConfig mid_config(const Args& a) {
  fi::ModelConfig c = fi::pixtral_12b_config();
  c.text.n_embd = a.embd;
  c.text.n_layer = a.layers;
  c.text.head_dim = 64;
  c.text.n_head = a.embd / 64;
  c.text.n_head_kv = std::max(1, c.text.n_head / 4);
  while (c.text.n_head % c.text.n_head_kv != 0) --c.text.n_head_kv;
  c.text.n_ff = a.ff;
  c.text.n_vocab = a.vocab;
  c.text.max_context = 4096;
  c.vision.n_layer = 2;
  c.vision.n_embd = 256;
  c.vision.n_head = 4;
  c.vision.n_ff = 512;
  return c;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<std::int32_t> random_tokens(int n, int vocab, std::uint32_t seed) {
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (auto& x : t) {
    seed = seed * 1664525u + 1013904223u;
    x = 20 + static_cast<std::int32_t>((seed >> 8) % static_cast<std::uint32_t>(vocab - 20));
  }
  return t;
}

// N sequences prefilled, then `steps` greedy tokens each; batched or one after another.
double decode_run(fi::BatchEngine& e, const Args& a, int n, bool batched,
                  std::vector<std::int32_t>& tokens_out) {
  std::vector<fi::SeqId> seqs;
  std::vector<std::int32_t> next(static_cast<std::size_t>(n));
  for (int s = 0; s < n; ++s) {
    seqs.push_back(e.create());
    const std::vector<std::int32_t> p = random_tokens(a.prompt, a.vocab, 1000u + s);
    const fi::StepSpan span{seqs.back(), p, {}, fi::LogitsMode::kLast};
    next[static_cast<std::size_t>(s)] = fi::argmax(e.step({&span, 1}).row(0));
  }
  tokens_out.assign(static_cast<std::size_t>(n) * a.steps, 0);
  const double t0 = now_s();
  if (batched) {
    for (int k = 0; k < a.steps; ++k) {
      std::vector<fi::StepSpan> spans;
      for (int s = 0; s < n; ++s)
        spans.push_back({seqs[static_cast<std::size_t>(s)],
                         {&next[static_cast<std::size_t>(s)], 1},
                         {},
                         fi::LogitsMode::kLast});
      const fi::StepResult r = e.step(spans);
      for (int s = 0; s < n; ++s) {
        tokens_out[static_cast<std::size_t>(s * a.steps + k)] = next[static_cast<std::size_t>(s)];
        next[static_cast<std::size_t>(s)] = fi::argmax(r.row(s));
      }
    }
  } else {
    for (int s = 0; s < n; ++s) {
      for (int k = 0; k < a.steps; ++k) {
        std::int32_t& tok = next[static_cast<std::size_t>(s)];
        tokens_out[static_cast<std::size_t>(s * a.steps + k)] = tok;
        const fi::StepSpan span{
            seqs[static_cast<std::size_t>(s)], {&tok, 1}, {}, fi::LogitsMode::kLast};
        tok = fi::argmax(e.step({&span, 1}).row(0));
      }
    }
  }
  const double dt = now_s() - t0;
  for (fi::SeqId s : seqs) e.release(s);
  return dt;
}

// The same work as decode_run, each sequence an Engine of its own on its own thread, all of
// them clients of one StepScheduler (what monitor's streams and the server's requests do).
double scheduler_run(fi::BatchEngine& e, const Args& a, int n,
                     std::vector<std::int32_t>& tokens_out) {
  fi::StepScheduler sched(e);
  std::vector<std::unique_ptr<fi::Engine>> clients;
  std::vector<std::int32_t> next(static_cast<std::size_t>(n));
  for (int s = 0; s < n; ++s) {
    clients.push_back(sched.client("sequence " + std::to_string(s)));
    const std::vector<std::int32_t> p = random_tokens(a.prompt, a.vocab, 1000u + s);
    next[static_cast<std::size_t>(s)] =
        fi::argmax(clients.back()->eval(p, {}, fi::LogitsMode::kLast));
  }
  tokens_out.assign(static_cast<std::size_t>(n) * a.steps, 0);
  std::latch go(n + 1);
  std::vector<std::thread> threads;
  for (int s = 0; s < n; ++s)
    threads.emplace_back([&, s] {
      go.arrive_and_wait();
      std::int32_t& tok = next[static_cast<std::size_t>(s)];
      for (int k = 0; k < a.steps; ++k) {
        tokens_out[static_cast<std::size_t>(s * a.steps + k)] = tok;
        tok = fi::argmax(
            clients[static_cast<std::size_t>(s)]->eval({&tok, 1}, {}, fi::LogitsMode::kLast));
      }
    });
  const double t0 = now_s();
  go.arrive_and_wait();
  for (auto& t : threads) t.join();
  return now_s() - t0;
}

struct LiveCounts {
  long long encoder_calls = 0, frames_encoded = 0, prefilled = 0;
  double seconds = 0;
  std::vector<float> answers;  // each question's logits row, in order
};

fi::PixelImage frame(int stream, int index) {
  // 64x64: 16 patches; deterministic content per (stream, index).
  fi::PixelImage img{64, 64, std::vector<float>(3 * 64 * 64)};
  std::uint32_t s = static_cast<std::uint32_t>(stream * 7919 + index * 104729 + 1);
  for (float& v : img.chw) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<int>(s >> 9) % 2001 - 1000) / 500.0f;
  }
  return img;
}

LiveCounts live_run(fi::BatchEngine& e, const Args& a, bool cached) {
  const fi::ModelConfig& c = e.config();
  fi::FrameEmbeddingCache cache;
  LiveCounts out;
  const double t0 = now_s();
  for (int st = 0; st < a.streams; ++st) {
    std::vector<fi::PixelImage> all;
    for (int f = 0; f < a.frames + a.windows - 1; ++f) all.push_back(frame(st, f));
    for (int w = 0; w < a.windows; ++w) {
      std::vector<const fi::PixelImage*> imgs;
      for (int f = 0; f < a.frames; ++f) imgs.push_back(&all[static_cast<std::size_t>(w + f)]);
      // The window's prompt: BOS, per frame its 16 image tokens and [IMG_END], a short text.
      std::vector<std::int32_t> window{c.bos_token_id};
      for (int f = 0; f < a.frames; ++f) {
        window.insert(window.end(), 16, c.image_token_id);
        window.push_back(c.image_end_token_id);
      }
      const std::vector<std::int32_t> text = random_tokens(8, c.text.n_vocab, 7u + w);
      window.insert(window.end(), text.begin(), text.end());
      auto encode = [&] {
        ++out.encoder_calls;  // counted here for "before"; the cache counts its own
        out.frames_encoded += a.frames;
        return e.encode_images(imgs);
      };
      if (!cached) {
        // Before: the window, then each question as its own prompt (frames again).
        std::vector<float> feats = encode();
        fi::SeqId s = e.create();
        fi::StepSpan span{s, window, feats, fi::LogitsMode::kLast};
        e.step({&span, 1});
        e.release(s);
        out.prefilled += static_cast<long long>(window.size());
        for (int q = 0; q < a.questions; ++q) {
          feats = encode();
          std::vector<std::int32_t> prompt = window;
          const std::vector<std::int32_t> qt = random_tokens(6, c.text.n_vocab, 100u + q);
          prompt.insert(prompt.end(), qt.begin(), qt.end());
          s = e.create();
          span = {s, prompt, feats, fi::LogitsMode::kLast};
          const fi::StepResult r = e.step({&span, 1});
          out.answers.insert(out.answers.end(), r.logits.begin(), r.logits.end());
          e.release(s);
          out.prefilled += static_cast<long long>(prompt.size());
        }
      } else {
        // After: frames through the cache, the window once, questions forked off its end and
        // run together in one step.
        const std::vector<float> feats = cache.encode(e, imgs);
        const fi::SeqId s = e.create();
        const fi::StepSpan span{s, window, feats, fi::LogitsMode::kLast};
        e.step({&span, 1});
        out.prefilled += static_cast<long long>(window.size());
        std::vector<fi::SeqId> forks;
        std::vector<std::vector<std::int32_t>> qts;
        std::vector<fi::StepSpan> spans;
        for (int q = 0; q < a.questions; ++q) {
          forks.push_back(e.fork(s));
          qts.push_back(random_tokens(6, c.text.n_vocab, 100u + q));
        }
        for (int q = 0; q < a.questions; ++q)
          spans.push_back({forks[static_cast<std::size_t>(q)],
                           qts[static_cast<std::size_t>(q)],
                           {},
                           fi::LogitsMode::kLast});
        const fi::StepResult r = e.step(spans);
        out.answers.insert(out.answers.end(), r.logits.begin(), r.logits.end());
        for (const auto& q : qts) out.prefilled += static_cast<long long>(q.size());
        for (fi::SeqId f : forks) e.release(f);
        e.release(s);
      }
    }
  }
  out.seconds = now_s() - t0;
  if (cached) {
    out.encoder_calls = cache.stats().encoder_calls;
    out.frames_encoded = cache.stats().misses;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  try {
    const fi::ModelConfig c = mid_config(a);
    fi::EngineOptions o;
    o.load_format = fi::LoadFormat::kDummy;
    o.n_threads = a.threads;
    int max_n = 1;
    for (int n : a.seqs) max_n = std::max(max_n, n);
    fi::KvCacheOptions kv;
    kv.cache_tokens = static_cast<std::int64_t>(max_n) * (a.prompt + a.steps + 16) + 4096;
    auto e = fi::make_cpu_batch_engine(c, o, kv);
    std::printf(
        "framescribe_bench_batch: %s, dummy weights: %d layers, embd %d (%d heads, %d kv), "
        "ff %d, vocab %d; prompt %d, %d decode steps\n\n",
        e->device_name().c_str(), c.text.n_layer, c.text.n_embd, c.text.n_head, c.text.n_head_kv,
        c.text.n_ff, c.text.n_vocab, a.prompt, a.steps);
    std::printf("%6s  %16s  %16s  %8s  %18s  %s\n", "N seqs", "batched tok/s", "one-by-one tok/s",
                "speedup", "scheduler tok/s", "same tokens");
    for (int n : a.seqs) {
      if (n == 0) continue;
      std::vector<std::int32_t> tb, ts;
      const double sb = decode_run(*e, a, n, true, tb);
      const double ss = decode_run(*e, a, n, false, ts);
      std::vector<std::int32_t> tc;
      const double sc = scheduler_run(*e, a, n, tc);
      const double tok = static_cast<double>(n) * a.steps;
      std::printf("%6d  %16.1f  %16.1f  %7.2fx  %9.1f (%4.2fx)  %s\n", n, tok / sb, tok / ss,
                  ss / sb, tok / sc, ss / sc, tb == ts && tc == ts ? "yes" : "NO");
    }
    if (a.streams > 0 && a.windows > 0 && a.frames > 0) {
      std::printf(
          "\nlive: %d streams x %d windows of %d frames (64x64, hop 1 frame), %d alert "
          "questions per window\n",
          a.streams, a.windows, a.frames, a.questions);
      const LiveCounts before = live_run(*e, a, false), after = live_run(*e, a, true);
      const double windows = static_cast<double>(a.streams) * a.windows;
      std::printf("%-8s  %14s  %14s  %22s  %9s\n", "", "encoder calls", "frames encoded",
                  "prefilled tokens/window", "seconds");
      for (const auto& [name, l] : {std::pair{"before", &before}, std::pair{"after", &after}})
        std::printf("%-8s  %14lld  %14lld  %22.1f  %9.2f\n", name, l->encoder_calls,
                    l->frames_encoded, static_cast<double>(l->prefilled) / windows, l->seconds);
      const bool same = before.answers.size() == after.answers.size() &&
                        std::memcmp(before.answers.data(), after.answers.data(),
                                    before.answers.size() * sizeof(float)) == 0;
      std::printf("answers' logits identical (bit for bit): %s\n", same ? "yes" : "NO");
    }
  } catch (const framescribe::Error& err) {
    std::fprintf(stderr, "framescribe_bench_batch: %s\n", err.what());
    return 1;
  }
  return 0;
}
