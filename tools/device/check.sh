#!/usr/bin/env bash
# The one command for the GPU machine (docs/device.md in the shared folder): runs every GPU test
# and the engine benchmark from binaries built on the development machine
# (tools/device/stage.sh -> build/device-bin), writes logs and JSON under $OUT, and prints a
# short table last. Meant to finish in under 5 minutes; each step has its own time limit, and
# a step that runs out still leaves its log (and the benchmark its rows so far).
#
#   tools/device/check.sh                      # from the repository root, $OUT set by the tool
#   BENCH_ROWS=all tools/device/check.sh       # include the 128k rows (several minutes more)
#   SANITIZE=0 tools/device/check.sh           # skip the compute-sanitizer pass
#
# Environment: BIN_DIR (default build/device-bin), OUT (default ./device-out), BENCH_ROWS
# (default: every row but the 128k ones), BENCH_ARGS (extra benchmark arguments).
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN_DIR=${BIN_DIR:-build/device-bin}
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The binaries were built elsewhere: point the tests at this copy of tests/data.
export FS_TEST_DATA_DIR="$PWD/tests/data"
DEFAULT_ROWS=vision_32x512,vision_8x1024,prefill_8k,decode_1k,prefill_32k,window
ROWS=${BENCH_ROWS:-$DEFAULT_ROWS}
[ "$ROWS" = all ] && ROWS=$DEFAULT_ROWS,prefill_128k,decode_128k
# The window row's 33,835 tokens need a context of 34k; decode_1k follows prefill_8k so the
# text path is warm.

step() {  # step NAME LIMIT_S CMD...: runs CMD with a time limit, log in $OUT/NAME.log
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout --signal=TERM --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc $((SECONDS - t0))s" >>"$OUT/steps.txt"
  return $rc
}

: >"$OUT/steps.txt"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true; } \
  >"$OUT/device.txt" 2>&1
for b in gpu_test framescribe; do
  [ -x "$BIN_DIR/$b" ] || { echo "missing $BIN_DIR/$b: run tools/device/stage.sh first" >&2; exit 2; }
done

# 1. Every GPU test (ops against the CPU reference, fixtures, engine).
step gpu_test 120 "$BIN_DIR/gpu_test" --gtest_output="json:$OUT/gpu_test.json"

# 2. compute-sanitizer memcheck on the fixture and engine tests (the acceptance asks for a
#    clean run on the fixtures).
CS=$(command -v compute-sanitizer || true)
[ -z "$CS" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] && CS=/usr/local/cuda/bin/compute-sanitizer
if [ "${SANITIZE:-1}" = 1 ] && [ -n "$CS" ]; then
  step memcheck 60 "$CS" --tool memcheck --error-exitcode 3 "$BIN_DIR/gpu_test" \
    --gtest_filter='Fixtures/CudaFixture.*:CudaEngine.ChunkedPrefill*:CudaEngine.CachedDecode*'
fi

# 3. The benchmark at real size with dummy weights (the JSON is rewritten after each row).
step bench 150 "$BIN_DIR/framescribe" bench engine --device cuda --load-format dummy \
  --rows "$ROWS" --json "$OUT/bench.json" ${BENCH_ARGS:-}

# 4. The short table, last.
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
print("\n==== framescribe device check ====")
try:
    print("device:", open(os.path.join(out, "device.txt")).read().strip())
except OSError:
    pass
print(open(os.path.join(out, "steps.txt")).read().strip())
try:
    g = json.load(open(os.path.join(out, "gpu_test.json")))
    passed = failed = skipped = 0
    failures = []
    for suite in g.get("testsuites", []):
        for t in suite.get("testsuite", []):
            if t.get("result") == "SKIPPED" or t.get("status") == "NOTRUN":
                skipped += 1
            elif t.get("failures"):
                failed += 1
                failures.append(suite["name"] + "." + t["name"])
            else:
                passed += 1
    print(f"gpu_test: {passed} passed, {failed} failed, {skipped} skipped")
    for f in failures[:15]:
        print("  FAILED", f)
except (OSError, ValueError) as e:
    print("gpu_test: no JSON result (", e, ") - see gpu_test.log")
try:
    b = json.load(open(os.path.join(out, "bench.json")))
    print(f"bench ({b['card']}, {b['weights']} weights):")
    print(f"  {'row':16} {'ours':>10} {'unit':9} {'transf.':>9} {'x':>6} {'floor':>9} {'x':>6}")
    for r in b["rows"]:
        fmt = lambda v: "-" if v is None else f"{v:.4g}"
        print(f"  {r['name']:16} {fmt(r['value']):>10} {r['unit']:9} {fmt(r['transformers']):>9} "
              f"{fmt(r['vs_transformers']):>6} {fmt(r['floor']):>9} {fmt(r['vs_floor']):>6}"
              + ("  " + r["note"] if r.get("skipped") else ""))
except (OSError, ValueError, KeyError) as e:
    print("bench: no JSON result (", e, ") - see bench.log")
PY
