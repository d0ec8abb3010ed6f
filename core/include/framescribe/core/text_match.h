// Near matches between short words (option names, command names) and durations as people read
// them: what a "did you mean" message and a progress line need.
//
//   core::closest_names("--max-egde", {"--max-edge", "--fps"}) == {"--max-edge"}
//   core::join_alternatives({"--a", "--b", "--c"}) == "--a, --b or --c"
//   core::format_duration(185) == "3 min 05 s"
//
// Rules: closest_names skips names of two characters or fewer (short flags are too short to
// guess from) and keeps the names at the smallest distance, at most a third of the word's length
// (at least 2 edits); a name the word is a prefix of (word of 4 characters or more) counts as
// distance 1. Pure functions, no errors; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace framescribe::core {

// Insertions, deletions, substitutions and swaps of two adjacent characters turning a into b.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The names of `names` closest to `word` (in their order, without repeats); empty when none is
// close enough.
std::vector<std::string> closest_names(std::string_view word,
                                       const std::vector<std::string>& names);

// "a", "a or b", "a, b or c".
std::string join_alternatives(const std::vector<std::string>& words);

// "1.2 s", "3 min 05 s", "1 h 02 min"; "?" for a negative or non-finite value.
std::string format_duration(double seconds);

}  // namespace framescribe::core
