// A decoded frame for the Pixtral glue's tests (and coster_plan, a window of such frames): a w x h
// RGB image of a fixed pattern (`seed` shifts it, so different seeds give different frames) at
// `pts_ns`.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "framescribe/core/frame.h"
#include "framescribe/core/image.h"
#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pipeline/packer.h"

namespace framescribe::testing {

inline core::Frame test_frame(int w, int h, std::int64_t pts_ns, int seed) {
  auto img = std::make_shared<core::Image>(w, h, core::PixelFormat::kRgb8);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img->data()[img->stride_bytes() * y + 3 * x + c] =
            static_cast<std::uint8_t>((x * 37 + y * 11 + c * 80 + seed * 51) % 256);
  core::Frame f;
  f.image = img;
  f.pts_ns = pts_ns;
  return f;
}

// A window of `frames` (prepared by `engine`), planned with its coster as the packer does, with
// the instruction "Describe the frames.".
template <class Engine>
pipeline::WindowPlan coster_plan(Engine& engine, const std::vector<core::Frame>& frames,
                                 std::int64_t id) {
  const pipeline::PromptCoster& c = engine.coster();
  pipeline::WindowPlan w;
  w.id = id;
  w.planned_tokens = c.fixed_tokens();
  for (std::size_t i = 0; i < frames.size(); ++i) {
    w.frames.push_back(pipeline::PreparedFrame{frames[i], static_cast<std::int64_t>(i),
                                               engine.prepare(frames[i])});
    w.labels.push_back(pipeline::frame_label(frames[i].pts_ns));
    w.planned_tokens += c.text_tokens(w.labels.back()) +
                        c.image_tokens(frames[i].image->width_px(), frames[i].image->height_px());
  }
  w.instruction = "Describe the frames.";
  w.planned_tokens += c.text_tokens(w.instruction);
  return w;
}

}  // namespace framescribe::testing
