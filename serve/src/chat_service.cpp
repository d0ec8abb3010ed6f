#include "framescribe/serve/chat_service.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

#include "framescribe/core/error.h"
#include "framescribe/decoder/still_image.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/inference/prompt.h"
#include "framescribe/serve/api_error.h"

namespace framescribe::serve {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// A local path is read only when its canonical form lies under one of the allowed folders
// (canonical too), so "..", symbolic links and "file://" cannot reach elsewhere.
std::string checked_local_path(const RequestPart& part, const std::vector<std::string>& allowed) {
  std::string path = part.source;
  if (path.rfind("file://", 0) == 0) path = path.substr(7);
  if (allowed.empty())
    throw ApiError(400,
                   part.where +
                       ": local files are not allowed on this server (it reads data: URIs and "
                       "http(s) URLs; start it with --allow-path DIR for files)",
                   part.where);
  std::error_code ec;
  const fs::path canon = fs::weakly_canonical(fs::path(path), ec);
  if (!ec && canon.is_absolute()) {
    for (const std::string& dir : allowed) {
      const fs::path root = fs::weakly_canonical(fs::path(dir), ec);
      if (ec) continue;
      auto r = root.begin(), c = canon.begin();
      for (; r != root.end() && c != canon.end() && *r == *c; ++r, ++c) {
      }
      // A trailing empty element of "dir/" counts as matched.
      if (r == root.end() || (std::next(r) == root.end() && r->empty())) return canon.string();
    }
  }
  throw ApiError(400, part.where + ": the file is not under an allowed folder (--allow-path)",
                 part.where);
}

inference::Role to_role(RequestMessage::Role r) {
  switch (r) {
    case RequestMessage::Role::kSystem:
      return inference::Role::kSystem;
    case RequestMessage::Role::kAssistant:
      return inference::Role::kAssistant;
    default:
      return inference::Role::kUser;
  }
}

}  // namespace

ChatService::ChatService(ModelHost& host, ServeLimits limits)
    : host_(host), limits_(std::move(limits)) {}

ChatOutcome ChatService::run(const ChatRequest& request, const inference::ChatCallback& on_piece,
                             const std::function<bool()>& cancelled) {
  std::unique_ptr<PreparedChat> chat = prepare(request, cancelled);
  double queue_ms = 0;
  EngineGate::Lease lease = wait_turn(*chat, cancelled, &queue_ms);
  ChatOutcome out = generate(*chat, lease, on_piece, cancelled);
  out.queue_ms = queue_ms;
  return out;
}

std::unique_ptr<PreparedChat> ChatService::prepare(const ChatRequest& request,
                                                   const std::function<bool()>& cancelled) {
  auto chat = std::make_unique<PreparedChat>();
  const auto deadline = Clock::now() + std::chrono::milliseconds(limits_.request_timeout_ms);
  chat->deadline = deadline;
  if (!host_.loaded.load()) throw ApiError::unavailable("the model is still loading; retry soon");
  if (!host_.serves(request.model))
    throw ApiError(404,
                   "the model \"" + request.model + "\" is not served here (this server serves \"" +
                       host_.name + "\")",
                   "model", "model_not_found");
  const inference::Tokenizer& tok = *host_.tokenizer;
  const int patch_px = host_.config.vision.patch_px;
  inference::PreprocessOptions pre;
  pre.patch_px = patch_px;
  pre.longest_edge_px =
      host_.image_max_edge > 0 ? host_.image_max_edge : host_.config.vision.image_size_px;
  decoder::StillImageOptions still;
  still.max_bytes = limits_.max_image_bytes;
  still.max_pixels = limits_.max_image_pixels;
  still.total_timeout_ms = limits_.url_timeout_ms;
  still.connect_timeout_ms = std::min(limits_.url_timeout_ms, 10'000);
  auto gone = [&] {
    return abandoned_.load() || (cancelled && cancelled()) || Clock::now() > deadline;
  };

  // Media first (each failure names its part), then the prompt.
  PreparedChat& media = *chat;
  std::vector<inference::Message> messages;
  int n_images = 0;
  for (const RequestMessage& m : request.messages) {
    inference::Message msg;
    msg.role = to_role(m.role);
    for (const RequestPart& part : m.parts) {
      // Fetching many images can take long: the time limit and the client are checked between.
      if (part.kind != RequestPart::Kind::kText && gone()) {
        if (cancelled && cancelled()) throw ApiError(499, "the client closed the request");
        throw ApiError(503,
                       part.where + ": the request ran out of its time limit (" +
                           std::to_string(limits_.request_timeout_ms / 1000) +
                           " s) while reading its images",
                       part.where, "timeout");
      }
      if (part.kind == RequestPart::Kind::kText) {
        msg.content.push_back(inference::Chunk::text_chunk(part.text));
        continue;
      }
      if (part.kind == RequestPart::Kind::kVideo) {
        if (!expand_video_)
          throw ApiError(400, part.where + ": video parts are not enabled on this server",
                         part.where);
        VideoFrames v = expand_video_(part, gone);
        if (gone()) throw ApiError(499, "the request was cancelled", part.where);
        n_images += static_cast<int>(v.frames.size());
        if (n_images > limits_.max_images)
          throw ApiError(400,
                         part.where + ": the request holds more than " +
                             std::to_string(limits_.max_images) + " images and video frames",
                         part.where);
        for (std::size_t k = 0; k < v.frames.size(); ++k) {
          if (k < v.labels.size() && !v.labels[k].empty())
            msg.content.push_back(inference::Chunk::text_chunk(v.labels[k]));
          msg.content.push_back(inference::Chunk::image_chunk(*v.frames[k], patch_px));
          media.frames.push_back(v.frames[k]);
        }
        continue;
      }
      if (++n_images > limits_.max_images)
        throw ApiError(400,
                       part.where + ": the request holds more than " +
                           std::to_string(limits_.max_images) + " images",
                       part.where);
      std::string source = part.source;
      if (decoder::classify_image_source(source) == decoder::ImageSourceKind::kFile)
        source = checked_local_path(part, limits_.allow_paths);
      try {
        core::Image img = decoder::load_image(source, still);
        media.images.push_back(
            std::make_unique<core::PixelImage>(inference::preprocess_image(img.view(), pre)));
      } catch (const Error& e) {
        const int status =
            std::string_view(e.what()).find("too large") != std::string_view::npos ? 413 : 400;
        throw ApiError(status, part.where + ": " + e.what(), part.where);
      }
      msg.content.push_back(inference::Chunk::image_chunk(*media.images.back(), patch_px));
    }
    messages.push_back(std::move(msg));
  }

  inference::ChatPrompt& prompt = chat->prompt;
  try {
    prompt = inference::prepare_chat(tok, messages);
  } catch (const Error& e) {
    throw ApiError(400, std::string("messages: ") + e.what(), "messages");
  }
  const std::int64_t context = host_.context_tokens;
  if (prompt.size() >= context) {
    std::ostringstream m;
    m << "the prompt is " << prompt.size() << " tokens (" << prompt.image_block_tokens()
      << " of them images); the model's context is " << context
      << " tokens and the answer needs at least one: send fewer or smaller images, or a "
         "shorter text";
    throw ApiError(400, m.str(), "messages", "context_length_exceeded");
  }

  inference::ChatOptions& co = chat->options;
  co.max_tokens = request.max_tokens.value_or(host_.default_max_tokens);
  co.sampling.temperature = static_cast<float>(request.temperature.value_or(0.0));
  co.sampling.top_p = static_cast<float>(request.top_p.value_or(1.0));
  co.sampling.seed = request.seed.value_or(0);
  co.stop_tokens = {tok.eos()};
  co.stop_strings = request.stop;
  co.logprobs = request.logprobs;
  co.top_logprobs = request.logprobs ? request.top_logprobs : 0;
  return chat;
}

EngineGate::Lease ChatService::wait_turn(const PreparedChat& chat,
                                         const std::function<bool()>& cancelled, double* queue_ms) {
  const auto deadline = chat.deadline;
  auto gone = [&] {
    return abandoned_.load() || (cancelled && cancelled()) || Clock::now() > deadline;
  };
  const auto t_queue = Clock::now();
  std::optional<EngineGate::Lease> lease = host_.gate.acquire(gone);
  if (queue_ms) *queue_ms = ms_since(t_queue);
  if (!lease) {
    if (cancelled && cancelled()) throw ApiError(499, "the client closed the request");
    if (Clock::now() > deadline)
      throw ApiError(503,
                     "the request waited longer than its time limit (" +
                         std::to_string(limits_.request_timeout_ms / 1000) + " s) for the engine",
                     {}, "timeout");
    throw ApiError::unavailable("the server is shutting down");
  }
  return std::move(*lease);
}

ChatOutcome ChatService::generate(PreparedChat& chat, const EngineGate::Lease& lease,
                                  const inference::ChatCallback& on_piece,
                                  const std::function<bool()>& cancelled) {
  const auto deadline = chat.deadline;
  auto gone = [&] {
    return abandoned_.load() || (cancelled && cancelled()) || Clock::now() > deadline;
  };
  ChatOutcome out;
  out.model = host_.name;
  inference::Engine& engine = host_.engine_for(lease);
  // A slot's sequence is emptied when its request ends, so that an idle slot holds no KV
  // blocks (the next request starts from an empty sequence in any case: run_chat truncates).
  struct Emptied {
    inference::Engine& e;
    bool batched;
    ~Emptied() {
      if (!batched) return;
      try {
        e.truncate(0);
      } catch (...) {  // the scheduler stopped (shutdown): nothing is held any more
      }
    }
  } emptied{engine, !host_.slots.empty()};
  try {
    out.result = inference::run_chat(engine, *host_.tokenizer, chat.prompt, chat.options,
                                     [&](const inference::ChatPiece& p) {
                                       const bool keep = on_piece ? on_piece(p) : true;
                                       return keep && !gone();
                                     });
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kInvalidArgument)
      throw ApiError(400, std::string("the request cannot run: ") + e.what());
    throw ApiError(500, std::string("the engine failed: ") + e.what());
  }
  return out;
}

}  // namespace framescribe::serve
