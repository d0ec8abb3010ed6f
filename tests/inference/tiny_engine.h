// A tiny Pixtral config with random (dummy) weights for engine tests: fast on one thread.
#pragma once

#include "framescribe/inference/model_config.h"

namespace framescribe::inference::testing {

inline ModelConfig tiny_engine_config() {
  ModelConfig c = pixtral_12b_config();
  c.text.n_embd = 64;
  c.text.n_layer = 2;
  c.text.n_head = 4;
  c.text.n_head_kv = 2;
  c.text.head_dim = 16;
  c.text.n_ff = 128;
  c.text.n_vocab = 300;
  c.text.max_context = 256;
  c.vision.n_layer = 1;
  c.vision.n_embd = 32;
  c.vision.n_ff = 32;
  c.vision.n_head = 2;
  return c;
}

}  // namespace framescribe::inference::testing
