// framescribe's side of the mistral-common cross-check (tests/crosscheck/crosscheck.py): one
// process per batch, so 100,000 strings cost one start-up, not 100,000.
//
//   crosscheck_harness tokenize TEKKEN_JSON  < records > results
//       records: [u32 length][bytes] ...        (little-endian, until end of input)
//       results: [u32 n][i32 id] x n [u32 m][m bytes of decode(ids)] ... one per record
//   crosscheck_harness prompt TEKKEN_JSON   < requests.jsonl > prompts.jsonl
//       request: {"messages": [{"role": "system"|"user"|"assistant",
//                               "content": [{"type": "text", "text": S} |
//                                           {"type": "image", "width": W, "height": H}]}],
//                 "continue_final_message": bool}
//       result:  {"ids": [...], "images": [{"source_index", "first_token", "n_tokens"}]}
//                or {"error": message} when build_prompt refuses the request
//   crosscheck_harness preprocess           < images.jsonl > results.jsonl
//       image:   {"width": W, "height": H, "format": "rgb"|"rgba", "input": PATH, "output": PATH}
//                (PATH holds H x W x 3|4 bytes; the output gets 3 x h x w float32, CHW)
//       result:  {"width_px", "height_px", "n_tokens"}
//
// Usage errors exit 2, failures 1 (with the message on stderr).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/image.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/inference/prompt.h"
#include "framescribe/inference/tokenizer.h"

namespace fi = framescribe::inference;
namespace core = framescribe::core;
using nlohmann::json;

namespace {

bool read_exact(std::istream& in, char* data, std::size_t n) {
  in.read(data, static_cast<std::streamsize>(n));
  return static_cast<std::size_t>(in.gcount()) == n;
}

void write_u32(std::ostream& out, std::uint32_t v) {
  char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
               static_cast<char>(v >> 24)};
  out.write(b, 4);
}

int run_tokenize(const fi::Tokenizer& tok) {
  std::vector<int> ids;
  std::string text;
  while (true) {
    unsigned char len_bytes[4];
    if (!read_exact(std::cin, reinterpret_cast<char*>(len_bytes), 4)) break;
    const std::uint32_t len = len_bytes[0] | (len_bytes[1] << 8) | (len_bytes[2] << 16) |
                              (static_cast<std::uint32_t>(len_bytes[3]) << 24);
    text.resize(len);
    FS_CHECK(read_exact(std::cin, text.data(), len), kIo,
             "tokenize: input ends inside a record of " << len << " bytes");
    ids.clear();
    tok.encode_append(text, ids);
    write_u32(std::cout, static_cast<std::uint32_t>(ids.size()));
    for (int id : ids) write_u32(std::cout, static_cast<std::uint32_t>(id));
    const std::string back = tok.decode(ids, fi::SpecialTokenPolicy::kKeep);
    write_u32(std::cout, static_cast<std::uint32_t>(back.size()));
    std::cout.write(back.data(), static_cast<std::streamsize>(back.size()));
  }
  std::cout.flush();
  return std::cout ? 0 : 1;
}

fi::Role role_of(const std::string& r) {
  if (r == "system") return fi::Role::kSystem;
  if (r == "user") return fi::Role::kUser;
  FS_CHECK(r == "assistant", kInvalidArgument, "prompt: unknown role \"" << r << "\"");
  return fi::Role::kAssistant;
}

int run_prompt(const fi::Tokenizer& tok) {
  std::string line;
  while (std::getline(std::cin, line)) {
    const json req = json::parse(line);
    std::vector<fi::Message> messages;
    for (const json& m : req.at("messages")) {
      fi::Message msg;
      msg.role = role_of(m.at("role").get<std::string>());
      for (const json& c : m.at("content")) {
        if (c.at("type") == "text") {
          msg.content.push_back(fi::Chunk::text_chunk(c.at("text").get<std::string>()));
        } else {
          // What an application does with an image of this size: the mistral-common size rule.
          msg.content.push_back(fi::Chunk::image_chunk(
              fi::target_size(c.at("width").get<int>(), c.at("height").get<int>())));
        }
      }
      messages.push_back(std::move(msg));
    }
    fi::PromptOptions options;
    options.continue_final_message = req.value("continue_final_message", false);
    json out;
    try {
      const fi::Prompt p = fi::build_prompt(tok, messages, options);
      out["ids"] = p.ids;
      out["images"] = json::array();
      for (const fi::ImagePlacement& im : p.images) {
        out["images"].push_back({{"source_index", im.source_index},
                                 {"first_token", im.first_token},
                                 {"n_tokens", im.n_tokens}});
      }
    } catch (const framescribe::Error& e) {
      out = {{"error", e.what()}};
    }
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  }
  std::cout.flush();
  return std::cout ? 0 : 1;
}

int run_preprocess() {
  std::string line;
  while (std::getline(std::cin, line)) {
    const json req = json::parse(line);
    const int w = req.at("width").get<int>(), h = req.at("height").get<int>();
    const bool rgba = req.at("format") == "rgba";
    core::Image img(w, h, rgba ? core::PixelFormat::kRgba8 : core::PixelFormat::kRgb8);
    const std::string in_path = req.at("input").get<std::string>();
    std::ifstream in(in_path, std::ios::binary);
    const std::size_t n = img.stride_bytes() * static_cast<std::size_t>(h);
    FS_CHECK(in && read_exact(in, reinterpret_cast<char*>(img.data()), n), kIo,
             in_path << ": cannot read " << n << " bytes of pixels");
    const fi::PixelImage px = fi::preprocess_image(img.view());
    const std::string out_path = req.at("output").get<std::string>();
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(px.chw.data()),
              static_cast<std::streamsize>(px.chw.size() * sizeof(float)));
    FS_CHECK(out.good(), kIo, out_path << ": cannot write the preprocessed image");
    const fi::TargetSize ts = fi::target_size(w, h);
    std::cout << json{{"width_px", px.width_px},
                      {"height_px", px.height_px},
                      {"n_tokens", ts.n_tokens()}}
                     .dump()
              << '\n';
  }
  std::cout.flush();
  return std::cout ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool needs_tokenizer = mode == "tokenize" || mode == "prompt";
  if (!(needs_tokenizer && argc == 3) && !(mode == "preprocess" && argc == 2)) {
    std::cerr << "usage: crosscheck_harness tokenize|prompt TEKKEN_JSON  |  preprocess\n";
    return 2;
  }
  try {
    if (mode == "preprocess") return run_preprocess();
    const fi::Tokenizer tok = fi::Tokenizer::load(argv[2]);
    return mode == "tokenize" ? run_tokenize(tok) : run_prompt(tok);
  } catch (const std::exception& e) {
    std::cerr << "crosscheck_harness: " << e.what() << '\n';
    return 1;
  }
}
