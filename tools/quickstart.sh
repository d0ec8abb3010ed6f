#!/usr/bin/env bash
# One command from a fresh clone to a running framescribe: installs the Debian packages, builds
# the optimised CPU binary and summarises the bundled sample clip with the bundled demo model
# (samples/models/framescribe-demo, a tiny Pixtral trained on a synthetic world of moving
# shapes), then prints what really happens in the clip, for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset cpu-release >/dev/null
cmake --build --preset cpu-release --target framescribe -j "$(nproc)"
bin=build/cpu-release/apps/framescribe
sample=samples/shapes-demo.mp4

echo
echo "\$ framescribe summarize $sample"
"$bin" summarize "$sample"
echo
echo "What really happens in $sample (samples/shapes-demo.truth.json):"
grep -E '"(start|end|text)"' samples/shapes-demo.truth.json | sed 's/[",]//g; s/^ *//' | paste - - -
echo
echo "For real videos, point --model at Pixtral-12B (mistral-community/pixtral-12b or"
echo "mistralai/Pixtral-12B-2409), e.g. framescribe summarize VIDEO --model /models/pixtral-12b"
