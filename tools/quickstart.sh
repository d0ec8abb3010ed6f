#!/usr/bin/env bash
# One command from a fresh clone to a running framescribe: installs the Debian packages,
# builds the optimised CPU binary and runs it on the bundled tiny Pixtral model.
# (Until the video summary lands, the "main job" is describing the model and proving the
# engine against the reference implementation.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset cpu-release >/dev/null
cmake --build --preset cpu-release --target framescribe -j "$(nproc)"
bin=build/cpu-release/apps/framescribe
model=tests/data/reference/pixtral_tiny_a

echo
echo "\$ framescribe info --model $model"
"$bin" info --model "$model"
echo
echo "\$ framescribe reference-check --model $model --expected $model/expected.safetensors"
"$bin" reference-check --model "$model" --expected "$model/expected.safetensors"
