#!/usr/bin/env bash
# Builds and runs the tests: tools/test.sh [PRESET] [extra ctest arguments]
#   tools/test.sh                     everything, optimised CPU build (the README's test command)
#   tools/test.sh cpu-release -L unit only the unit tests
#   tools/test.sh asan                unit, reference, decoder, pipeline and integration tests
#                                     under ASan + UBSan
#   tools/test.sh tsan                the pipeline tests under ThreadSanitizer, against a oneTBB
#                                     built for TSan (tools/tbb-tsan.sh; only those targets)
#   tools/test.sh cuda-release        the CUDA backend, its GPU tests and the engine benchmark
#                                     (only those targets; for sm_90a unless
#                                     FRAMESCRIBE_CUDA_ARCHS says otherwise). Without a GPU the
#                                     gpu tests report SKIPPED; on the GPU machine use
#                                     tools/device/check.sh.
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
  targets=(--target pipeline_test)
elif [ "$preset" = cuda-release ]; then
  configure=(-DCMAKE_CUDA_ARCHITECTURES="${FRAMESCRIBE_CUDA_ARCHS:-90a-real}")
  targets=(--target framescribe_inference gpu_test framescribe_bench_engine)
  [ $# -gt 0 ] || set -- -L gpu
fi
cmake --preset "$preset" "${configure[@]}" >/dev/null
cmake --build --preset "$preset" -j "$jobs" "${targets[@]}"
ctest --preset "$preset" -j "$jobs" "$@"
