// The checks every engine makes on a request before touching its state, so that the CPU and
// CUDA engines refuse the same requests with the same messages (Error kInvalidArgument).
#pragma once

#include <cstdint>
#include <span>

#include "framescribe/inference/model_config.h"
#include "framescribe/inference/preprocess.h"

namespace framescribe::inference {

// `tokens` appended after `n_past` positions must fit `max_context`, be in the vocabulary, and
// hold exactly as many image tokens as `image_embd` has rows of the text width. Returns the
// number of image rows.
std::int64_t check_eval_request(const ModelConfig& config, std::int64_t n_past,
                                std::int64_t max_context, std::span<const std::int32_t> tokens,
                                std::size_t image_embd_values);

// Image `index` must have positive sides, multiples of the patch size, at most the vision
// encoder's image size, and 3 * width * height values. Returns its patch count.
std::int64_t check_image(const VisionConfig& vision, const PixelImage& image, std::size_t index);

}  // namespace framescribe::inference
