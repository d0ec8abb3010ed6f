// Private to pipeline/pixtral: one JSONL line per window prompt (--dump-prompts), the prompt's
// text with each image block shown as one "<image COLSxROWS>" placeholder.
#pragma once

#include <cstdint>
#include <cstdio>

#include "framescribe/inference/prompt.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/interfaces.h"

namespace framescribe::pixtral {

struct PromptDumpInfo {
  std::int64_t context_tokens = 0;
  std::int64_t max_answer_tokens = 0;
};

// Writes and flushes the line for `prompt` of window `plan`.
void write_prompt_dump(std::FILE* out, const inference::Tokenizer& tokenizer,
                       const pipeline::WindowPlan& plan, const inference::Prompt& prompt,
                       const PromptDumpInfo& info);

}  // namespace framescribe::pixtral
