// Whether a prompt with images fits the context, and if not, which longest image edge would:
// said before the weights load, as a usage error naming --max-edge.
//
//   const ChatPrompt prompt = prepare_chat(tok, messages);
//   std::string problem = inference::image_fit_problem(prompt.size(), prompt.image_block_tokens(),
//                                                      source_sizes, patch_px, edge_px, context);
//   if (!problem.empty()) usage_error(problem);
//
// `source_sizes` are the images as given (before resizing), in any order; a smaller edge resizes
// them with inference::target_size, the prompt's other tokens unchanged. Messages: "the image
// needs 4,160 tokens (the prompt 4,180 in all); the context is 4,096: use --max-edge 496", or
// "...: no --max-edge fits; give fewer images or a shorter question". Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace framescribe::inference {

// The largest longest edge (a multiple of patch_px, at most edge_px) at which the images and
// `text_tokens` other tokens leave at least one token of `context` free; 0 if none.
int largest_fitting_edge(const std::vector<std::pair<int, int>>& source_sizes, int patch_px,
                         int edge_px, std::int64_t text_tokens, std::int64_t context);

// "" when prompt_tokens < context (one answer token free), else the problem (above).
std::string image_fit_problem(std::int64_t prompt_tokens, std::int64_t image_tokens,
                              const std::vector<std::pair<int, int>>& source_sizes, int patch_px,
                              int edge_px, std::int64_t context);

// 1234567 as "1,234,567".
std::string thousands(std::int64_t n);

}  // namespace framescribe::inference
