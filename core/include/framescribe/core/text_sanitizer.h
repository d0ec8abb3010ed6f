// Model text made safe for a terminal or a file, whole or as a stream of chunks (tokens).
//
//   core::TextSanitizer s;
//   for (const std::string& piece : pieces) std::cout << s.feed(piece);
//   std::cout << s.finish();
//   std::string safe = core::sanitize_text(answer);   // the same, in one call (event.h)
//
// Removed: C0 controls other than newline and tab (ESC, BEL, backspace, carriage return, ...),
// DEL, the C1 controls U+0080..U+009F (a terminal reads U+009B as CSI and U+009D as OSC) and the
// bidirectional embedding, override and isolate controls U+202A..U+202E and U+2066..U+2069
// (they reorder what is shown, "Trojan Source"). Invalid UTF-8 becomes U+FFFD. Removing ESC
// defuses every escape sequence: what followed it ("[2J", "]8;;http://...") stays as inert
// printable text. Everything else, newlines, tabs and valid UTF-8, passes unchanged.
//
// A stream gives exactly what the whole text would: a character cut between two chunks is held
// back until the next one (ESC in one token and "[2J" in the next is the same ESC removed).
// Not thread-safe; one sanitizer per stream.
#pragma once

#include <string>
#include <string_view>

namespace framescribe::core {

class TextSanitizer {
 public:
  // The safe form of `chunk`; the start of a UTF-8 character cut at its end is held back.
  std::string feed(std::string_view chunk);
  // The end of the stream: a character left incomplete becomes U+FFFD. The sanitizer can then
  // start a new stream.
  std::string finish();

 private:
  std::string pending_;  // at most 3 bytes: the start of a UTF-8 character
};

}  // namespace framescribe::core
