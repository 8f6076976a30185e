#!/usr/bin/env bash
# On the device machine (JAX on a GPU, no TensorFlow or Keras): install the carried Keras wheels,
# put a `fer-edge` from this checkout on PATH, check that JAX sees the GPU, then run
# recipes/gpu_distill.py (teachers, then students, then their fine-tuning) in what is left of one call.
# With TEACHERS_PACK=FILE (e.g. recipes/teachers/fervgg48_pair.npz.xz, recipes/teachers_pack.py) its
# teachers are unpacked and the recipe skips training its own.
#
#   bash recipes/gpu_device.sh DATA RESULTS        (after recipes/gpu_prepare.sh here)
#
# BUDGET_S [585]: seconds from this script's start to the end of packing (a device call runs 600 at
# most). LIMIT (rows per split), FIRST_EPOCHS, TEACHERS_S and STUDENTS_S pass through to gpu_distill.py.
# FINETUNE [0]: 1 for the fine-tuning phase there too (its models then pass the 8 files a call returns).
# REQUIRE_GPU [1]: 0 for a dry run on a CPU.
# Exit 3: the wheels do not install; 4: no GPU for JAX; 5: the carried teachers do not unpack.
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

TEACHER_ARGS=()
if [ -n "${TEACHERS_PACK:-}" ]; then
    rm -rf /tmp/teachers
    python3 -P "$ROOT/recipes/teachers_pack.py" unpack "$TEACHERS_PACK" -o /tmp/teachers 2>&1 |
        grep -v '^I0000\|^W0000' || exit 5
    TEACHER_ARGS=(--teachers /tmp/teachers/*.keras)
fi

left=$((BUDGET - ($(date +%s) - START)))
python3 -P "$ROOT/recipes/gpu_distill.py" "$DATA" "$RESULTS" --deadline-s $((left - 20)) ${LIMIT:+--limit $LIMIT} \
    ${FIRST_EPOCHS:+--first-epochs $FIRST_EPOCHS} ${TEACHERS_S:+--teachers-s $TEACHERS_S} \
    ${STUDENTS_S:+--students-s $STUDENTS_S} $([ "${FINETUNE:-0}" = 1 ] || echo --no-finetune) "${TEACHER_ARGS[@]}" 2>&1 | grep -v '^I0000\|^W0000'
