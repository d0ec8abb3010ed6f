#!/usr/bin/env bash
# Development machine (no GPU): build the GPU test and the framescribe CLI with the cuda-engine
# preset (the CUDA engine and the engine commands: no FFmpeg, GStreamer or TBB, which the GPU
# machine lacks) and copy the two binaries into build/device-bin/, the one folder the device tool
# carries to the GPU machine (the whole build folder is far over its 64 MiB).
#
#   tools/device/stage.sh                 # sm_90a (H100/H200) only: faster to build
#   CUDA_ARCHS="80-real;90a-real" tools/device/stage.sh
#
# Then, with the device tool: run `tools/device/check.sh` carrying build/device-bin.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build/cuda-engine}
CUDA_ARCHS=${CUDA_ARCHS:-90a-real}
JOBS=${JOBS:-1}
# -lineinfo: compute-sanitizer and kernel errors name source lines (check.sh's sanitizer steps).
cmake --preset cuda-engine -B "$BUILD_DIR" -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS" \
  -DCMAKE_CUDA_FLAGS=-lineinfo >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target gpu_test cudnn_library_test gpu_batch_bench framescribe
rm -rf build/device-bin
mkdir -p build/device-bin
cp "$BUILD_DIR/tests/gpu_test" "$BUILD_DIR/tests/cudnn_library_test" "$BUILD_DIR/tests/gpu_batch_bench" \
  "$BUILD_DIR/apps/framescribe" \
  build/device-bin/
# --strip-debug keeps the symbol table (sanitizer reports name host functions); the binaries
# must stay far under the device tool's 64 MiB.
strip --strip-debug build/device-bin/*
ls -la build/device-bin
du -sh build/device-bin
