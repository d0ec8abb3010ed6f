#!/usr/bin/env bash
# Soak test of `framescribe monitor` (not in CI): two RTSP streams from the in-process test
# server, fixture A's tiny model on the CPU, for DURATION seconds (default 1800). Samples the
# monitor's resident memory every 10 s and fails when it grows by 5% or more after warm-up
# (WARMUP seconds, default 300): max RSS after warm-up vs RSS at the end of warm-up.
#
#   tools/soak-monitor.sh build/cpu-release            # 30 minutes
#   DURATION=600 WARMUP=120 tools/soak-monitor.sh build/cpu-release
#
# Needs the targets framescribe and monitor_soak_helper built in BUILD_DIR. Writes
# $OUT (default: a temp dir) /rss.csv, monitor.log and the monitor's outputs.
set -euo pipefail
BUILD=${1:?usage: $0 BUILD_DIR}
DURATION=${DURATION:-1800}
WARMUP=${WARMUP:-300}
OUT=${OUT:-$(mktemp -d /tmp/fs-soak.XXXXXX)}
BIN=$BUILD/apps/framescribe
HELPER=$BUILD/tests/monitor_soak_helper
[[ -x $BIN && -x $HELPER ]] || { echo "build framescribe and monitor_soak_helper in $BUILD" >&2; exit 2; }
mkdir -p "$OUT"
"$HELPER" tiny-model "$OUT/model"
"$HELPER" serve > "$OUT/server.url" 2> "$OUT/server.log" &
SERVER=$!
MON=
cleanup() {
  [[ -n $MON ]] && kill "$MON" 2>/dev/null || true
  kill "$SERVER" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do [[ -s $OUT/server.url ]] && break; sleep 0.1; done
URL=$(head -1 "$OUT/server.url")
echo "soak: $URL x 2 streams for ${DURATION}s (warm-up ${WARMUP}s), outputs in $OUT"
"$BIN" monitor "$URL" "$URL?b" --model "$OUT/model" -t 1 --every 2 --window 4 --sample 0.5 \
  --max-edge 64 -n 16 --alert "door=Is the door open?" --alert-threshold 0.5 --alert-cooldown 60 \
  --out "$OUT/out" --http 127.0.0.1:0 --duration "$DURATION" --status-every 60 --quiet \
  > "$OUT/monitor.out" 2> "$OUT/monitor.log" &
MON=$!
echo "t_s,rss_kb" > "$OUT/rss.csv"
START=$(date +%s)
while kill -0 "$MON" 2>/dev/null; do
  RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$MON/status" 2>/dev/null || true)
  [[ -n $RSS ]] && echo "$(( $(date +%s) - START )),$RSS" >> "$OUT/rss.csv"
  sleep 10
done
wait "$MON" && RC=0 || RC=$?
MON=
[[ $RC -eq 0 ]] || { echo "soak: the monitor exited with $RC (see $OUT/monitor.log)" >&2; exit 1; }
awk -F, -v w="$WARMUP" 'NR > 1 {
    if ($1 <= w) base = $2; else if ($2 > max) max = $2; n++ }
  END {
    if (base == 0 || max == 0) { print "soak: too short to judge"; exit 1 }
    g = 100 * (max - base) / base
    printf "soak: RSS at warm-up end %d kB, max after %d kB, growth %.2f%%\n", base, max, g
    exit (g < 5 ? 0 : 1) }' "$OUT/rss.csv"
