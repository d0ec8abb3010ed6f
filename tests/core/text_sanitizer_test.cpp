// core::TextSanitizer and core::sanitize_text: model text made safe for terminals and files,
// whole or streamed token by token, with a split sequence treated as the whole one.
#include "framescribe/core/text_sanitizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "framescribe/core/event.h"

namespace framescribe::core {
namespace {

// Feeds `chunks` one by one and finishes.
std::string streamed(const std::vector<std::string>& chunks) {
  TextSanitizer s;
  std::string out;
  for (const std::string& c : chunks) out += s.feed(c);
  return out + s.finish();
}

// Every way of cutting `text` into two chunks, and one byte at a time, gives the whole result.
void expect_split_invariant(const std::string& text) {
  const std::string whole = sanitize_text(text);
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(streamed({text.substr(0, cut), text.substr(cut)}), whole) << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (const char c : text) bytes.emplace_back(1, c);
  EXPECT_EQ(streamed(bytes), whole);
}

TEST(TextSanitizer, RemovesTerminalControlsAndKeepsText) {
  // Clear screen, a window-title OSC ended by BEL, an OSC 8 hyperlink ended by ST, backspace
  // and carriage-return overwrites: the control characters go, the rest is inert text.
  EXPECT_EQ(sanitize_text("a\x1b[2Jb"), "a[2Jb");
  EXPECT_EQ(sanitize_text("\x1b]0;pwned\x07title"), "]0;pwnedtitle");
  EXPECT_EQ(sanitize_text("\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\"),
            "]8;;http://evil/\\click]8;;\\");
  EXPECT_EQ(sanitize_text("rm -rf /\rls\b\b"), "rm -rf /ls");
  EXPECT_EQ(sanitize_text(std::string("nul\0del\x7f", 8)), "nuldel");
  // C1 controls: CSI (U+009B) and OSC (U+009D) as single characters; U+00A0 and up stay.
  EXPECT_EQ(sanitize_text("x\xC2\x9B"
                          "2Jy\xC2\x9D"
                          "0;t\xC2\x9C"),
            "x2Jy0;t");
  EXPECT_EQ(sanitize_text("\xC2\xA0\xC2\xA9"), "\xC2\xA0\xC2\xA9");
  // Bidi embedding/override/isolate controls (U+202A..U+202E, U+2066..U+2069) go; their
  // neighbours U+2029 and U+202F, U+2065 and U+206A stay.
  EXPECT_EQ(sanitize_text("a\xE2\x80\xAE"
                          "cba\xE2\x80\xAC"
                          "d\xE2\x81\xA6"
                          "e\xE2\x81\xA9"),
            "acbade");
  EXPECT_EQ(sanitize_text("\xE2\x80\xA9\xE2\x80\xAF\xE2\x81\xA5\xE2\x81\xAA"),
            "\xE2\x80\xA9\xE2\x80\xAF\xE2\x81\xA5\xE2\x81\xAA");
  // Newlines, tabs and valid UTF-8 of every length pass unchanged.
  const std::string text = "line 1\n\tcaf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x99\x82 \xE4\xB8\xAD\n";
  EXPECT_EQ(sanitize_text(text), text);
  // Invalid UTF-8 becomes U+FFFD: a lone continuation byte, an overlong, a surrogate, a cut
  // character at the end.
  EXPECT_EQ(sanitize_text("a\x80"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(sanitize_text("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_text("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_text("ok\xE2\x82"), "ok\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TextSanitizer, SequencesSplitAcrossTokensAreRemovedAsAWhole) {
  // ESC in one token, "[2J" in the next: ESC is removed all the same.
  EXPECT_EQ(streamed({"before \x1b", "[2J after"}), "before [2J after");
  // A C1 CSI and a bidi override cut in the middle of their UTF-8 bytes: held back, then
  // removed, never written as a lone lead byte or as U+FFFD.
  EXPECT_EQ(streamed({"a\xC2",
                      "\x9B"
                      "2J"}),
            "a2J");
  EXPECT_EQ(streamed({"x\xE2", "\x80",
                      "\xAE"
                      "y"}),
            "xy");
  // A valid character cut in two is written whole once complete.
  TextSanitizer s;
  EXPECT_EQ(s.feed("caf\xC3"), "caf");
  EXPECT_EQ(s.feed("\xA9!"), "\xC3\xA9!");
  EXPECT_EQ(s.finish(), "");
  // A character still incomplete at the end becomes U+FFFD, and the sanitizer starts afresh.
  EXPECT_EQ(s.feed("\xF0\x9F"), "");
  EXPECT_EQ(s.finish(), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(s.feed("new"), "new");
  // An invalid byte after a held lead byte is judged at once.
  EXPECT_EQ(streamed({"\xE2", "z"}), "\xEF\xBF\xBDz");

  for (const std::string& text :
       {std::string("a\x1b[31mred\x1b[0m\r\n\xC2\x9B\xE2\x80\xAE\xF0\x9F\x99\x82\xC3\xA9\x80\xED"
                    "\xA0\x80\xF4\x90\x80\x80z\xE2\x82"),
        std::string("\t\xE2\x81\xA6\xE4\xB8\xAD\x07\x08\xC2\xA0")}) {
    expect_split_invariant(text);
  }
}

}  // namespace
}  // namespace framescribe::core
