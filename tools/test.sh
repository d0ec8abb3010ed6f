#!/usr/bin/env bash
# Builds and runs the tests: tools/test.sh [PRESET] [extra ctest arguments]
#   tools/test.sh                     everything, optimised CPU build (the README's test command)
#   tools/test.sh cpu-release -L unit only the unit tests
#   tools/test.sh asan                unit, reference, decoder, pipeline, integration and serve (C++) tests
#                                     under ASan + UBSan
#   tools/test.sh tsan                the pipeline tests and the step scheduler's under
#                                     ThreadSanitizer, against a oneTBB built for TSan
#                                     (tools/tbb-tsan.sh; only those targets)
#   tools/test.sh cuda-engine         the CUDA backend with the engine commands of the CLI (no
#                                     media libraries, as on the GPU machine): every test of that
#                                     build, for sm_90a unless FRAMESCRIBE_CUDA_ARCHS says
#                                     otherwise. Without a GPU the gpu tests report SKIPPED; on
#                                     the GPU machine use tools/device/check.sh.
#   tools/test.sh cuda-release        the whole CLI with the CUDA backend (gpu tests by default)
# Presets are in CMakePresets.json; build trees go to build/<preset>.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-cpu-release}"
shift || true
bash tools/setup.sh
jobs="${FRAMESCRIBE_JOBS:-$(nproc)}"
configure=()
targets=()
if [ "$preset" = tsan ]; then
  configure=(-DTBB_DIR="$(bash tools/tbb-tsan.sh)")
  targets=(--target pipeline_test step_scheduler_test)
elif [ "$preset" = cuda-engine ]; then
  configure=(-DCMAKE_CUDA_ARCHITECTURES="${FRAMESCRIBE_CUDA_ARCHS:-90a-real}")
elif [ "$preset" = cuda-release ]; then
  configure=(-DCMAKE_CUDA_ARCHITECTURES="${FRAMESCRIBE_CUDA_ARCHS:-90a-real}")
  [ $# -gt 0 ] || set -- -L gpu
fi
cmake --preset "$preset" "${configure[@]}" >/dev/null
cmake --build --preset "$preset" -j "$jobs" "${targets[@]}"
ctest --preset "$preset" -j "$jobs" "$@"
