// Fixture A's vocabulary (tests/data/reference/pixtral_tiny_a) as a tokenizer, made in memory:
// 256 specials with Pixtral's ids ([IMG] = 10, ...), then one token per byte (text id =
// 256 + byte). For tests that run the tiny model without a model folder.
#pragma once

#include "framescribe/inference/tokenizer.h"

namespace framescribe::testing {

inference::Tokenizer tiny_tokenizer();

}  // namespace framescribe::testing
