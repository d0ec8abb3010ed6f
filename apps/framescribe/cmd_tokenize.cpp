// framescribe tokenize --tokenizer FILE [--json] [--decode] TEXT: the token ids of a text (or the
// text of ids), for debugging prompts.
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/inference/token_ids.h"
#include "framescribe/inference/tokenizer.h"

namespace framescribe::apps {

void add_tokenize_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "tokenize", "Print the token ids of a text (or, with --decode, the text of ids)");
  cmd->footer(
      "FILE is a tekken.json (mistralai/Pixtral-12B-2409) or a tokenizer.json\n"
      "(mistral-community/pixtral-12b), or a model folder holding one. Encoding never produces\n"
      "control tokens: \"[INST]\" in TEXT is ordinary text. --decode prints special tokens by "
      "name.");
  struct Opts {
    std::string tokenizer;
    std::string text;
    std::string file;
    bool json = false;
    bool decode = false;
  };
  auto opts = std::make_shared<Opts>();
  // No -t: -t is --threads in every command that runs an engine.
  cmd->add_option("--tokenizer", opts->tokenizer, "tekken.json, tokenizer.json or a model folder")
      ->required();
  auto* text =
      cmd->add_option("text", opts->text, "Text to encode (with --decode: ids, e.g. \"1 3 1097\")");
  cmd->add_option("-f,--file", opts->file, "Read the text from this file instead ('-': stdin)")
      ->excludes(text);
  cmd->add_flag("--json", opts->json, "Print a JSON array (with --decode: a JSON string)");
  cmd->add_flag("--decode", opts->decode, "Decode ids to text instead");
  cmd->callback([opts, exit_code] {
    using namespace framescribe::inference;
    std::filesystem::path path = opts->tokenizer;
    if (std::filesystem::is_directory(path)) path = find_tokenizer(path);
    const Tokenizer tok = Tokenizer::load(path);

    std::string input = opts->text;
    if (!opts->file.empty()) {
      FS_CHECK(opts->text.empty(), kInvalidArgument, "tokenize: give TEXT or --file, not both");
      std::ostringstream buf;
      if (opts->file == "-") {
        buf << std::cin.rdbuf();
      } else {
        std::ifstream in(opts->file, std::ios::binary);
        FS_CHECK(in, kNotFound, opts->file << ": cannot open");
        buf << in.rdbuf();
      }
      input = buf.str();
    }

    if (opts->decode) {
      const std::string text = tok.decode(parse_token_ids(input), SpecialTokenPolicy::kKeep);
      if (opts->json) {
        std::cout << nlohmann::json(text).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace)
                  << "\n";
      } else {
        std::cout << text << "\n";
      }
    } else {
      const std::vector<int> ids = tok.encode(input);
      if (opts->json) {
        std::cout << nlohmann::json(ids).dump() << "\n";
      } else {
        for (std::size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
        std::cout << "\n";
      }
    }
    *exit_code = 0;
  });
}

}  // namespace framescribe::apps
