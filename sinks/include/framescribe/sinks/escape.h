// Escaping text for the markup the sinks write, public so other HTML writers (the monitor's
// status page) use the same rules.
//
//   sinks::html_escape("a < b & \"c\"");   // a &lt; b &amp; &quot;c&quot;
//   sinks::markup_escape("a < b");          // a &lt; b   (WebVTT cue text, Markdown)
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace framescribe::sinks {

// &, <, >, " and ' as entities: safe in HTML element content and in quoted attributes.
std::string html_escape(std::string_view text);

// &, < and > only: what WebVTT cue text allows, and enough to keep Markdown from reading tags.
std::string markup_escape(std::string_view text);

}  // namespace framescribe::sinks
