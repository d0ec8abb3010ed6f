// Private to pipeline/pixtral: the messages of a window prompt, shared by the coster (its fixed
// part) and the window engine (the prompts it runs).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "framescribe/inference/prompt.h"
#include "framescribe/pipeline/interfaces.h"

namespace framescribe::pixtral {

// The system message, if any.
std::vector<inference::Message> base_messages(const std::string& system);

// One user turn: for each frame its label then its image (the frame's size on the patch grid,
// pointing at its prepared pixels, which may be null when only costing), then "Before these
// frames: " + carry when carry is not empty, then the instruction.
std::vector<inference::Message> window_messages(const std::string& system,
                                                const pipeline::WindowPlan& plan,
                                                std::string_view carry, int patch_px);

}  // namespace framescribe::pixtral
