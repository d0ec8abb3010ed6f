#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset, clang) and runs each for a number of seconds
# on a scratch copy of its seed corpus, so the committed corpora stay small. Crashing inputs land
# in build/fuzz/artifacts/.
#
#   tools/fuzz.sh                          # every target, 60 s each
#   tools/fuzz.sh 300                      # every target, 5 min each
#   tools/fuzz.sh 300 video_source         # one target
#   FRAMESCRIBE_FUZZ_RUNS=10000 tools/fuzz.sh 60   # reproducible: fixed seed, at most N inputs
# Targets: safetensors_header, video_source, tokenizer_json, tokenizer_encode, event_parser,
# job_config, video_input, openai_request, ollama_request.
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
  echo "usage: $0 [seconds > 0] [target...]" >&2
  exit 2
fi
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(safetensors_header video_source tokenizer_json tokenizer_encode event_parser job_config video_input openai_request ollama_request)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Per target: its seed corpus folder and extra libFuzzer options.
declare -A corpus=([safetensors_header]=safetensors [video_source]=video
                   [tokenizer_json]=tokenizer_json [tokenizer_encode]=tokenizer_encode
                   [event_parser]=event_parser [job_config]=job_config [video_input]=video_input
                   [openai_request]=openai_request [ollama_request]=ollama_request)
declare -A options=([safetensors_header]="-dict=tests/fuzz/safetensors.dict"
                    [video_source]="-timeout=20 -rss_limit_mb=4096 -max_len=65536"
                    [tokenizer_json]="-dict=tests/fuzz/tokenizer.dict"
                    [tokenizer_encode]=""
                    [event_parser]="-dict=tests/fuzz/event_parser.dict"
                    [job_config]="-dict=tests/fuzz/job_config.dict"
                    [video_input]="-dict=tests/fuzz/video_input.dict -timeout=10 -max_len=4096"
                    [openai_request]="-dict=tests/fuzz/openai_request.dict -timeout=10"

                    [ollama_request]="-dict=tests/fuzz/ollama_request.dict -timeout=10 -max_len=65536")

cmake --preset fuzz >/dev/null
# Only the fuzzers: each compiles the code under test itself.
cmake --build build/fuzz --target $(printf '%s_fuzzer ' "${targets[@]}")

# CI wants the same inputs every run (a fixed seed and a fixed number of runs), so that a
# finding is a reproducible failure rather than luck; exploration uses the clock.
repro=()
if [[ -n "${FRAMESCRIBE_FUZZ_RUNS:-}" ]]; then repro=(-seed=1 -runs="$FRAMESCRIBE_FUZZ_RUNS"); fi

artifacts="build/fuzz/artifacts"
mkdir -p "$artifacts"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/framescribe-fuzz.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

for t in "${targets[@]}"; do
  [[ -n "${corpus[$t]+x}" ]] || { echo "unknown fuzz target '$t'" >&2; exit 2; }
  mkdir -p "$tmp/$t"
  cp tests/fuzz/corpus/"${corpus[$t]}"/* "$tmp/$t"/
  echo "fuzzing ${t}_fuzzer for ${seconds}s"
  status=0
  # shellcheck disable=SC2086
  "build/fuzz/tests/fuzz/${t}_fuzzer" -max_total_time="$seconds" "${repro[@]}" ${options[$t]} -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$tmp/$t" >"$tmp/$t.log" 2>&1 || status=$?
  # The last progress line has executions, coverage and exec/s; "Done" has the totals.
  grep -E '^#[0-9]+' "$tmp/$t.log" | tail -n 1 || true
  grep -E '^(Done|stat::)' "$tmp/$t.log" || true
  echo "corpus after the run: $(find "$tmp/$t" -type f | wc -l) files"
  if [[ "$status" -ne 0 ]]; then
    echo "${t}_fuzzer exited with status $status; last lines of its log:" >&2
    tail -n 40 "$tmp/$t.log" >&2
    exit "$status"
  fi
done
