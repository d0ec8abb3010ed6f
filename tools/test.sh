#!/usr/bin/env bash
# Builds and runs the tests: tools/test.sh [PRESET] [extra ctest arguments]
#   tools/test.sh                     everything, optimised CPU build (the README's test command)
#   tools/test.sh cpu-release -L unit only the unit tests
#   tools/test.sh asan                unit + reference tests under ASan + UBSan
# Presets are in CMakePresets.json; build trees go to build/<preset>.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-cpu-release}"
shift || true
bash tools/setup.sh
jobs="${FRAMESCRIBE_JOBS:-$(nproc)}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
ctest --preset "$preset" -j "$jobs" "$@"
