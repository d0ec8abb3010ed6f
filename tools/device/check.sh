#!/usr/bin/env bash
# The one command for the GPU machine (docs/device.md in the shared folder): preflight, every GPU
# test suite in its own process, compute-sanitizer, the engine benchmark, from binaries built on
# the development machine (tools/device/stage.sh -> build/device-bin). Everything it writes is
# packed into ONE file, $OUT/check-logs.tar.gz (plus summary.txt and bench.json beside it), and a
# summary table (under 12,000 characters) is printed last. Meant to finish in under 6 minutes,
# so that a second, warm run fits the device tool's 15 minutes.
#
#   tools/device/check.sh                      # from the repository root, $OUT set by the tool
#   BENCH_ROWS=all tools/device/check.sh       # include the 128k rows (several minutes more)
#   SANITIZE=0 tools/device/check.sh           # skip compute-sanitizer
#
# Without a GPU (the development machine, CI) it still runs: the suites report SKIPPED, the
# sanitizer and benchmark steps are marked SKIPPED (no GPU), and the table says so.
#
# Environment: BIN_DIR (default build/device-bin), OUT (default ./device-out), BENCH_ROWS,
# BENCH_ARGS (extra benchmark arguments), SUITE_TIMEOUT (seconds per suite, default 90).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
BIN_DIR=${BIN_DIR:-build/device-bin}
OUT=${OUT:-$PWD/device-out}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-90}
mkdir -p "$OUT"
LOGS="$OUT/check-logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The binaries were built elsewhere: point the tests at this copy of tests/data.
export FS_TEST_DATA_DIR="$PWD/tests/data"
# Rows in order of risk (issue 18): a crash in a late row does not hide the early ones.
DEFAULT_ROWS=decode_1k,window,vision_32x512,prefill_8k,vision_8x1024,prefill_32k
ROWS=${BENCH_ROWS:-$DEFAULT_ROWS}
[ "$ROWS" = all ] && ROWS=$DEFAULT_ROWS,prefill_128k,decode_128k
STEPS="$LOGS/steps.tsv"  # name, rc, seconds, note
: >"$STEPS"

step() {  # step NAME LIMIT_S CMD...: CMD with a time limit, log in $LOGS/NAME.log
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout --signal=TERM --kill-after=10 "$limit" "$@" >"$LOGS/$name.log" 2>&1
  local rc=$?
  local note=""
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && note="timed out after ${limit}s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$note" >>"$STEPS"
  return $rc
}
skipped() {  # skipped NAME WHY
  printf '%s\tSKIPPED\t0\t%s\n' "$1" "$2" >>"$STEPS"
}

for b in gpu_test framescribe; do
  [ -x "$BIN_DIR/$b" ] || { echo "missing $BIN_DIR/$b: run tools/device/stage.sh first" >&2; exit 2; }
done

# 1. Preflight: what the binaries load (cuDNN must NOT be among them: it is dlopen'ed), the card,
#    and the versions the engine sees.
{
  for b in "$BIN_DIR"/*; do
    [ -x "$b" ] || continue
    echo "== ldd $b"
    ldd "$b" 2>&1
  done
} >"$LOGS/ldd.log"
LDD_MISSING=$(grep -c 'not found' "$LOGS/ldd.log")
LDD_CUDNN=$(grep -ci 'libcudnn' "$LOGS/ldd.log")
if command -v nvidia-smi >/dev/null; then step nvidia_smi 30 nvidia-smi; else skipped nvidia_smi "not installed"; fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
    || echo "no GPU (nvidia-smi: $(command -v nvidia-smi || echo not installed))"; } >"$LOGS/device.txt"
step info 30 "$BIN_DIR/framescribe" info --device cuda
"$BIN_DIR/framescribe" info --device cuda --json >"$LOGS/cuda_info.json" 2>>"$LOGS/info.log"
HAVE_GPU=0
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("device") else 1)' \
  "$LOGS/cuda_info.json" 2>/dev/null && HAVE_GPU=1

# 2. Each test suite in its own process with its own time limit: one illegal address poisons
#    its CUDA context, not the suites after it. A failed suite is rerun once with
#    CUDA_LAUNCH_BLOCKING=1, so the error is reported at the launch that caused it.
"$BIN_DIR/gpu_test" --gtest_list_tests >"$LOGS/gpu_test.list" 2>&1
SUITES=$(grep -v '^ ' "$LOGS/gpu_test.list" | grep '\.$' | sed 's/\.$//')
run_suite() {  # run_suite BINARY SUITE
  local bin=$1 suite=$2 safe
  safe=$(basename "$bin")_$(echo "$suite" | tr -c 'A-Za-z0-9_\n' '_')
  if ! step "$safe" "$SUITE_TIMEOUT" "$bin" --gtest_filter="$suite.*" \
      --gtest_output="json:$LOGS/$safe.json"; then
    CUDA_LAUNCH_BLOCKING=1 step "$safe.blocking" $((SUITE_TIMEOUT + 30)) "$bin" \
      --gtest_filter="$suite.*" --gtest_output="json:$LOGS/$safe.blocking.json"
  fi
}
for s in $SUITES; do run_suite "$BIN_DIR/gpu_test" "$s"; done
if [ -x "$BIN_DIR/cudnn_library_test" ]; then
  step cudnn_library_test 30 "$BIN_DIR/cudnn_library_test" \
    --gtest_output="json:$LOGS/cudnn_library_test.json"
fi

# 3. compute-sanitizer: memcheck on the op, attention and fixture suites (small shapes),
#    racecheck on two attention shapes (the first vision and prefill instances).
CS=$(command -v compute-sanitizer || true)
[ -z "$CS" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] && CS=/usr/local/cuda/bin/compute-sanitizer
if [ $HAVE_GPU = 0 ]; then
  skipped memcheck "no GPU"
  skipped racecheck "no GPU"
elif [ "${SANITIZE:-1}" != 1 ] || [ -z "$CS" ]; then
  skipped memcheck "SANITIZE=0 or no compute-sanitizer"
else
  # Small shapes only (FS_GPU_SMALL_SHAPES=1: the large attention cases report SKIPPED).
  MEM_FILTER=$(echo "$SUITES" | grep -E 'RmsNorm|Rope|SiluMul|GeluBias|Convert|Embed|Argmax|Attention|FlashDecode|DecodeStep|Cudnn|CudaFixture|PagedKv' \
    | sed 's/$/.*/' | paste -sd: -)
  FS_GPU_SMALL_SHAPES=1 step memcheck 150 "$CS" --tool memcheck --error-exitcode 3 \
    "$BIN_DIR/gpu_test" --gtest_filter="$MEM_FILTER" --gtest_output="json:$LOGS/memcheck.json"
  # Two attention shapes (the first vision and prefill instances) and the flash-decoding kernel
  # at 1k keys (its cp.async double buffer over 32 tiles).
  RACE_FILTER=$(awk '/^[^ ].*(VisionAttentionTest|PrefillAttentionTest)\.$/ {s=$1; want=1; next}
                     want && /^  / {print s $1; want=0}' "$LOGS/gpu_test.list" | paste -sd: -)
  grep -q 'FlashDecodeTest\.$' "$LOGS/gpu_test.list" \
    && RACE_FILTER="$RACE_FILTER:Shapes/FlashDecodeTest.MatchesCpu/2"
  # The paged attention kernel (issue 24), with and without split-K.
  grep -q '^PagedKv\.$' "$LOGS/gpu_test.list" && RACE_FILTER="$RACE_FILTER:PagedKv.AttentionMatchesTheHostReference"
  step racecheck 120 "$CS" --tool racecheck --racecheck-report all --error-exitcode 3 \
    "$BIN_DIR/gpu_test" --gtest_filter="$RACE_FILTER"
fi

# 3b. The cuDNN paths again under the newer cuDNN that torch's environment bundles (the system
#     library is 9.14 there): version gating and the graph on a second 9.x, in one process.
TORCH_CUDNN=$(find /opt/torch/.venv -type d -path '*nvidia/cudnn/lib' 2>/dev/null | head -1)
if [ $HAVE_GPU = 1 ] && [ -n "$TORCH_CUDNN" ]; then
  LD_LIBRARY_PATH="$TORCH_CUDNN:$LD_LIBRARY_PATH" step cudnn_torch_lib "$SUITE_TIMEOUT" \
    "$BIN_DIR/gpu_test" --gtest_filter='*Cudnn*:*BothAttentionPaths*' \
    --gtest_output="json:$LOGS/cudnn_torch_lib.json"
  LD_LIBRARY_PATH="$TORCH_CUDNN:$LD_LIBRARY_PATH" "$BIN_DIR/framescribe" info --device cuda \
    >"$LOGS/info_torch_cudnn.log" 2>&1
else
  skipped cudnn_torch_lib "no GPU or no torch cuDNN"
fi

# 4. The benchmark at real size with dummy weights (the JSON is rewritten after each row).
if [ $HAVE_GPU = 1 ]; then
  # shellcheck disable=SC2086 # BENCH_ARGS is split into arguments on purpose
  step bench 180 "$BIN_DIR/framescribe" bench engine --device cuda --load-format dummy \
    --rows "$ROWS" --json "$LOGS/bench.json" ${BENCH_ARGS:-}
  [ -f "$LOGS/bench.json" ] && cp "$LOGS/bench.json" "$OUT/bench.json"
else
  skipped bench "no GPU"
fi

# 4b. Issue 24's target: the CUDA batch engine decoding 16 sequences at 33k context (halved
#     until the KV pool fits: 16 x 33k needs ~89 GB of KV, an H200), against the HBM floor.
if [ $HAVE_GPU = 1 ] && [ -x "$BIN_DIR/gpu_batch_bench" ]; then
  step batch_bench 150 "$BIN_DIR/gpu_batch_bench" --seqs 16 --context 33835 --steps 10 \
    --json "$LOGS/batch_bench.json"
elif [ $HAVE_GPU = 1 ]; then
  skipped batch_bench "no gpu_batch_bench in $BIN_DIR (rerun tools/device/stage.sh)"
else
  skipped batch_bench "no GPU"
fi

# 5. The table, into summary.txt; then everything packed into one file; the table printed last.
python3 - "$LOGS" "$LDD_MISSING" "$LDD_CUDNN" "$HAVE_GPU" >"$LOGS/summary.txt" <<'PY'
import glob, json, os, sys
logs, ldd_missing, ldd_cudnn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
have_gpu = sys.argv[4] == "1"
def read(name):
    try:
        return open(os.path.join(logs, name)).read().strip()
    except OSError:
        return ""
print("==== framescribe device check ====")
print("device:  ", read("device.txt"))
print("ldd:     ", f"{ldd_missing} missing libraries, {ldd_cudnn} cuDNN links (both must be 0)")
info = read("info.log")
for line in info.splitlines()[:12]:
    print("info:    ", line)
for line in read("info_torch_cudnn.log").splitlines():
    if line.startswith(("cuDNN", "text prefill", "decode", "vision")):
        print("torch cuDNN:", line)
# The engine's load log: which attention each path runs after the load-time cuDNN plans,
# self-tests and decode timing (fallback reasons carry cuDNN's error string).
engine_lines = []
for name in ("bench.log", "gpu_test_CudaEngine.log"):
    for line in read(name).splitlines():
        line = line.strip()
        if line.startswith(("text prefill:", "decode:", "vision encoder:")) and \
                line not in engine_lines:
            engine_lines.append(line)
for line in engine_lines[:9]:
    print("engine:  ", line[:150])

def counts(path):
    try:
        g = json.load(open(path))
    except (OSError, ValueError):
        return None
    p = f = s = 0
    failed = []
    for suite in g.get("testsuites", []):
        for t in suite.get("testsuite", []):
            if t.get("result") == "SKIPPED" or t.get("status") == "NOTRUN":
                s += 1
            elif t.get("failures"):
                f += 1
                failed.append(suite["name"] + "." + t["name"])
            else:
                p += 1
    return p, f, s, failed
rows, failures = [], []
for line in read("steps.tsv").splitlines():
    name, rc, secs, note = (line.split("\t") + [""] * 4)[:4]
    c = counts(os.path.join(logs, name + ".json"))
    if rc == "SKIPPED":
        status = "SKIPPED"
    elif c is not None:
        status = "PASS" if rc == "0" and c[1] == 0 else "FAIL"
        if c[0] == 0 and c[1] == 0 and c[2] > 0 and rc == "0":
            status = "SKIPPED"
        note = (note + " " if note else "") + f"{c[0]} passed, {c[1]} failed, {c[2]} skipped"
        failures += [(name, t) for t in c[3]]
    else:
        status = "PASS" if rc == "0" else "FAIL"
    rows.append((name, status, rc, secs, note))
print(f"\n{'step':44} {'result':8} {'rc':>4} {'s':>4}  note")
for name, status, rc, secs, note in rows:
    print(f"{name[:44]:44} {status:8} {rc:>4} {secs:>4}  {note}"[:160])
for name, t in failures[:30]:
    print(f"  FAILED in {name}: {t}"[:160])
try:
    b = json.load(open(os.path.join(logs, "bench.json")))
    print(f"\nbench ({b['card']}, {b['weights']} weights):")
    print(f"  {'row':16} {'ours':>10} {'unit':9} {'transf.':>9} {'x':>6} {'floor':>9} {'x':>6}")
    fmt = lambda v: "-" if v is None else f"{v:.4g}"
    for r in b["rows"]:
        print(f"  {r['name']:16} {fmt(r['value']):>10} {r['unit']:9} {fmt(r['transformers']):>9} "
              f"{fmt(r['vs_transformers']):>6} {fmt(r['floor']):>9} {fmt(r['vs_floor']):>6}"
              + ("  " + r["note"] if r.get("skipped") else ""))
except (OSError, ValueError, KeyError) as e:
    print("\nbench: " + ("no JSON result (" + str(e) + ") - see bench.log" if have_gpu
                         else "SKIPPED (no GPU)"))
try:
    b = json.load(open(os.path.join(logs, "batch_bench.json")))
    print(f"\nbatch decode ({b['card']}, peak {b['bandwidth_gbs']:.0f} GB/s; target: <= 1.3x floor):")
    print(f"  {'seqs':>5} {'context':>8} {'logits':>7} {'step ms':>9} {'floor ms':>9} {'x floor':>8}")
    for r in b["rows"]:
        x = r["step_ms"] / r["floor_ms"] if r["floor_ms"] else float("nan")
        print(f"  {r['seqs']:>5} {r['context']:>8} {r.get('logits', 'host'):>7} "
              f"{r['step_ms']:>9.2f} {r['floor_ms']:>9.2f} {x:>8.2f}")
except (OSError, ValueError, KeyError) as e:
    print("\nbatch decode: " + ("no JSON result (" + str(e) + ") - see batch_bench.log"
                                if have_gpu else "SKIPPED (no GPU)"))
if not have_gpu:
    print("\nNO GPU: every device result above is SKIPPED; nothing ran on a GPU.")
print("\nlogs: check-logs.tar.gz (every step's log and JSON)")
PY
cp "$LOGS/summary.txt" "$OUT/summary.txt"
tar -czf "$OUT/check-logs.tar.gz" -C "$OUT" check-logs && rm -rf "$LOGS"
head -c 12000 "$OUT/summary.txt"
