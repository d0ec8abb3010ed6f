#!/usr/bin/env bash
# Runs summarize, monitor, batch and ask on the bundled samples with the demo model and writes
# every output into OUTDIR, with run-dependent values (wall-clock times, durations, temporary
# paths) replaced by placeholders, so that two builds can be compared with `diff -r`:
#
#   tools/behaviour-snapshot.sh build/cpu-release/apps/framescribe /tmp/before
#   ... change the code, rebuild ...
#   tools/behaviour-snapshot.sh build/cpu-release/apps/framescribe /tmp/after
#   diff -r /tmp/before /tmp/after && echo identical
#
# Used to show that a restructuring changed no behaviour (issue 19). Deterministic: greedy
# decoding, one engine thread, local files read as fast as the engine goes.
set -euo pipefail
bin=$(realpath "${1:?usage: behaviour-snapshot.sh FRAMESCRIBE_BINARY OUTDIR}")
out=${2:?usage: behaviour-snapshot.sh FRAMESCRIBE_BINARY OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$root"/samples/shapes-demo.mp4 "$root"/samples/shapes-three.mp4 .
model="$root/samples/models/framescribe-demo"

run() {  # run NAME CMD... : stdout, stderr and exit status of one command
  local name=$1
  shift
  set +e
  "$@" >"$out/$name.stdout" 2>"$out/$name.stderr"
  echo $? >"$out/$name.rc"
  set -e
}

# summarize: every format, a dry run (text and JSON), prompts dumped, overlap and carry.
for clip in shapes-demo shapes-three; do
  run "summarize-$clip" "$bin" summarize "$clip.mp4" -t 1 --format all -o "s-$clip" \
    --dump-prompts "s-$clip.prompts.jsonl"
  run "summarize-$clip-dry" "$bin" summarize "$clip.mp4" --dry-run
  run "summarize-$clip-dry-json" "$bin" summarize "$clip.mp4" --dry-run --json
  run "summarize-$clip-windows" "$bin" summarize "$clip.mp4" -t 1 --window-seconds 6 \
    --overlap 2 --carry-previous --format jsonl,srt -o "w-$clip"
done
run summarize-error "$bin" summarize missing.mp4

# monitor: a local file as a live source, no pacing, with two alert rules, JSONL outputs.
run monitor "$bin" monitor shapes-three.mp4 --no-realtime -t 1 --interval 4 --window 6 \
  --alert "circle=Is there a circle?" --alert "Is anything yellow?" -o mon --status-every 0

# batch: a job of both clips, then merge and search.
cat >job.yaml <<EOF
version: 1
batch:
  out: bat
  parallel: 1
defaults:
  model: $model
  threads: 1
jobs:
  - name: clips
    inputs: ["shapes-*.mp4"]
EOF
run batch "$bin" batch job.yaml --quiet
run batch-merge "$bin" batch merge job.yaml
run search "$bin" search bat/index.sqlite circle

# ask: frames of the clip as images, one and several.
"$bin" frames shapes-demo.mp4 --fps 0.5 --max-frames 3 -o frames >/dev/null 2>&1 || true
imgs=(frames/*)
run ask-one "$bin" ask -t 1 --image "${imgs[0]}" "What is in this frame?"
run ask-many "$bin" ask -t 1 --json --image "${imgs[0]}" --image "${imgs[1]}" \
  --image "${imgs[2]}" --system "Be brief." "What changed?"

# Collect the files, then blank what depends on the run, not on the code.
for d in s-shapes-demo s-shapes-three w-shapes-demo w-shapes-three mon bat; do
  [ -d "$d" ] && cp -r "$d" "$out/$d"
done
cp ./*.prompts.jsonl "$out/" 2>/dev/null || true
find "$out" -type f \( -name '*.sqlite' -o -name '*.db' -o -name '*.sqlite3' \) -print0 |
  while IFS= read -r -d '' f; do
    sqlite3 "$f" .dump >"$f.sql" 2>/dev/null || true
    rm -f "$f"
  done
python3 - "$out" "$work" "$root" <<'EOF'
import os, re, sys
out, work, root = sys.argv[1], sys.argv[2], sys.argv[3]
subs = [
    (re.escape(work), "<work>"),
    (re.escape(root), "<source>"),
    (r"(?m)^.*x real time.*\n", ""),     # the progress line, printed on a timer
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?", "<time>"),
    (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", "<time>"),
    (r'"(engine_ms|wall_ms|elapsed_s|engine_s|wall_s|vision_ms|prefill_ms|decode_ms|'
     r'seconds|duration_s|started|finished|wall_clock|wall_clock_ns|latency_s|updated|pid|host|'
     r'images|load|vision|prefill|decode|total|decode_tokens_per_s)"\s*:\s*[-0-9.e]+',
     r'"\1": <n>'),
    (r"(prefill|decode) \d+(\.\d+)? ms", r"\1 <t>"),
    (r"; \d+(\.\d+)? s \(engine", "; <t> (engine"),
    (r"(engine|wall|took|in) \d+(\.\d+)? ?(s|ms)\b", r"\1 <t>"),
    (r"\d+(\.\d+)? (s|ms) \(engine \d+(\.\d+)? s\)", "<t> (engine <t>)"),
    (r"\d+(\.\d+)? tokens/s", "<n> tokens/s"),
    (r"'[0-9a-f]{64}'", "'<sha256>'"),     # state file: hashes of outputs that hold times
    (r",-?\d{16,},", ",<n>,"),             # state file: file times in ns
]
for dirpath, _, files in os.walk(out):
    for name in files:
        p = os.path.join(dirpath, name)
        try:
            text = open(p, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        for pat, rep in subs:
            text = re.sub(pat, rep, text)
        open(p, "w", encoding="utf-8").write(text)
EOF
echo "snapshot in $out ($(find "$out" -type f | wc -l) files)"
