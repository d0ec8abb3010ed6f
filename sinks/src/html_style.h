// The inline stylesheet of the HTML report (kept apart from the markup code). Light, readable
// at laptop sizes, no web fonts or other external resources; prints without the timeline.
#pragma once

#include <string_view>

namespace framescribe::sinks {

inline constexpr std::string_view kHtmlStyle = R"css(
:root {
  --bg: #f5f6f8; --card: #fff; --text: #1d2330; --muted: #5d6678; --border: #e0e4ea;
  --accent: #2f6fde; --accent-soft: #d7e5fc; --untimed: #98a3b6;
  --warn: #b7791f; --warn-bg: #fff6e0; --bad: #c53030; --bad-bg: #fdecec;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1100px; margin: 0 auto; padding: 28px 24px 48px; }
.app { margin: 0; color: var(--muted); font-size: 12px; letter-spacing: .08em; text-transform: uppercase; }
h1 { margin: 2px 0 14px; font-size: 26px; line-height: 1.25; overflow-wrap: anywhere; }
h2 { margin: 0 0 10px; font-size: 18px; }
section { margin-top: 28px; }
.facts {
  display: flex; flex-wrap: wrap; gap: 10px 28px; margin: 0; padding: 14px 18px;
  background: var(--card); border: 1px solid var(--border); border-radius: 10px;
}
.facts dt { font-size: 11px; color: var(--muted); letter-spacing: .05em; text-transform: uppercase; }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.note { margin: 16px 0 0; padding: 12px 16px; border-left: 4px solid; border-radius: 8px; }
.note.stopped { background: var(--warn-bg); border-color: var(--warn); }
.note.failed { background: var(--bad-bg); border-color: var(--bad); }
.summary p {
  margin: 0; padding: 16px 18px; white-space: pre-line;
  background: var(--card); border: 1px solid var(--border); border-radius: 10px;
}
.summary p.empty, .empty { color: var(--muted); font-style: italic; }
.timeline {
  position: relative; background: var(--card); border: 1px solid var(--border);
  border-radius: 8px; overflow: hidden;
}
.covered { position: absolute; top: 0; bottom: 0; left: 0; background: #edf1f7; }
.mark {
  position: absolute; height: 10px; min-width: 4px; border-radius: 3px;
  background: var(--accent); opacity: .85;
}
.mark.untimed { background: var(--untimed); }
.mark:hover, .mark:focus { opacity: 1; outline: 2px solid #1b4fae; }
.axis { position: relative; height: 18px; margin-top: 4px; font-size: 12px; color: var(--muted); }
.axis span { position: absolute; transform: translateX(-50%); font-variant-numeric: tabular-nums; }
.axis span:first-child { transform: none; }
.axis span:last-child { transform: translateX(-100%); }
.events { display: grid; gap: 12px; margin: 0; padding: 0; list-style: none; }
.event {
  display: flex; gap: 16px; align-items: flex-start; padding: 12px;
  background: var(--card); border: 1px solid var(--border); border-radius: 10px;
}
.event:target { border-color: var(--accent); box-shadow: 0 0 0 3px var(--accent-soft); }
.thumb { flex: none; display: block; border-radius: 6px; background: #dde1e7; }
.no-thumb {
  flex: none; display: flex; align-items: center; justify-content: center;
  color: var(--muted); font-size: 12px; background: #eceff3; border-radius: 6px;
}
.event-body { min-width: 0; }
.event-time { font-weight: 600; color: var(--accent); font-variant-numeric: tabular-nums; }
.event-time a { color: inherit; text-decoration: none; }
.tag {
  margin-left: 8px; padding: 1px 6px; font-size: 11px; font-weight: 600; color: var(--muted);
  background: #eceff3; border-radius: 4px; letter-spacing: .04em; text-transform: uppercase;
}
.event-text { margin: 4px 0 0; white-space: pre-line; overflow-wrap: anywhere; }
footer { margin-top: 32px; font-size: 12px; color: var(--muted); }
@media (max-width: 640px) { .event { flex-direction: column; } }
@media print { .timeline-section { display: none; } body { background: #fff; } }
)css";

}  // namespace framescribe::sinks
