#!/usr/bin/env bash
# On the device machine (JAX on a GPU, no TensorFlow or Keras): install the carried Keras wheels,
# put a `fer-edge` from this checkout on PATH, check that JAX sees the GPU, time a short training
# run (is the step compiled?), then run recipes/gpu_distill.sh inside what is left of one call.
#
#   bash recipes/gpu_device.sh DATA RESULTS        (after recipes/gpu_prepare.sh here)
#
# BUDGET_S [585]: seconds from this script's start to the end of packing (a device call runs 600 at
# most); gpu_distill.sh's deadlines are set from what is left after the checks unless PHASE1_S /
# PHASE2_S are given. PACE_S [30]: the timing run. REQUIRE_GPU [1]: 0 for a dry run on a CPU.
# Exit 3: the wheels do not install; 4: no GPU for JAX.
set -uo pipefail
DATA=${1:?usage: bash recipes/gpu_device.sh DATA RESULTS}
RESULTS=${2:?usage: bash recipes/gpu_device.sh DATA RESULTS}
BUDGET=${BUDGET_S:-585}
START=$(date +%s)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SITE=${SITE:-/tmp/site}
PKG=${PKG:-/tmp/pk}
mkdir -p "$RESULTS"

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$ROOT"/.whl/*.whl || exit 3
# The installed package's layout from the checkout's: fer_edge/ with train, convert, edge and models in it.
rm -rf "$PKG" && mkdir -p "$PKG/fer_edge" "$PKG/bin" && cp -r "$ROOT/fer_edge/." "$PKG/fer_edge/"
for d in train convert edge models; do ln -s "$ROOT/$d" "$PKG/fer_edge/$d"; done
printf '#!/bin/sh\nexec python3 -P -m fer_edge "$@"\n' > "$PKG/bin/fer-edge" && chmod +x "$PKG/bin/fer-edge"
export PYTHONPATH=$SITE:$PKG KERAS_BACKEND=jax PATH=$PKG/bin:$PATH PYTHONUNBUFFERED=1

command -v nvidia-smi >/dev/null && nvidia-smi -L
python3 -P -c "
import jax, keras, sys
print('jax', jax.__version__, 'keras', keras.__version__, keras.backend.backend(), jax.devices())
sys.exit(0 if jax.default_backend() == 'gpu' or '${REQUIRE_GPU:-1}' == '0' else 4)
" 2>&1 | grep -v '^I0000\|^W0000' || exit 4

# Pace: batches per second of one fervgg run alone (a compiled step on an H200 does well over 50).
timeout --signal=INT --kill-after=20 "${PACE_S:-30}" fer-edge train --model fervgg --data "$DATA" --epochs 1 \
    --batch-size 128 --out /tmp/pace ${LIMIT:+--limit $LIMIT} > "$RESULTS/pace.log" 2>&1
echo "pace: $(tr '\r' '\n' < "$RESULTS/pace.log" | grep -oE '[0-9.]+ ?(batch/s|s/batch)' | tail -n 1)"
rm -rf /tmp/pace

left=$((BUDGET - ($(date +%s) - START)))
export PHASE2_S=${PHASE2_S:-$((left - 30))}  # 30 s: packing the results
export PHASE1_S=${PHASE1_S:-$((PHASE2_S * 6 / 10))}
echo "recipe: phase 1 ${PHASE1_S} s, phase 2 ${PHASE2_S} s"
bash "$ROOT/recipes/gpu_distill.sh" "$DATA" "$RESULTS" > "$RESULTS/console.log" 2>&1
rc=$?
grep -v '^I0000\|^W0000' "$RESULTS/console.log" | tail -n 60
exit $rc
