#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset, clang) and fuzzes the safetensors header
# parser for a number of seconds (default 60) on a scratch copy of the seed corpus, so the
# committed corpus stays small. Crashing inputs land in build/fuzz/artifacts/.
#
#   tools/fuzz.sh          # 60 s
#   tools/fuzz.sh 300      # 5 min
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
  echo "usage: $0 [seconds > 0]" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cmake --preset fuzz >/dev/null
# Only the fuzzer: it compiles the parser itself, so the rest of the library need not build.
cmake --build build/fuzz --target safetensors_header_fuzzer

fuzzer="build/fuzz/tests/fuzz/safetensors_header_fuzzer"
artifacts="build/fuzz/artifacts"
mkdir -p "$artifacts"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/framescribe-fuzz-corpus.XXXXXX")"
log="$(mktemp "${TMPDIR:-/tmp}/framescribe-fuzz-log.XXXXXX")"
trap 'rm -rf "$scratch" "$log"' EXIT
cp tests/fuzz/corpus/safetensors/* "$scratch"/

echo "fuzzing safetensors_header_fuzzer for ${seconds}s (corpus copy: $scratch)"
status=0
"$fuzzer" -max_total_time="$seconds" -dict=tests/fuzz/safetensors.dict -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$scratch" >"$log" 2>&1 || status=$?

# The last progress line has executions, coverage and exec/s; "Done" has the totals.
grep -E '^#[0-9]+' "$log" | tail -n 1 || true
grep -E '^(Done|stat::)' "$log" || true
echo "corpus after the run: $(find "$scratch" -type f | wc -l) files"
if [[ "$status" -ne 0 ]]; then
  echo "fuzzer exited with status $status; last lines of its log:" >&2
  tail -n 40 "$log" >&2
  exit "$status"
fi
