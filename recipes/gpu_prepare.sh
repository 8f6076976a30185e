#!/usr/bin/env bash
# Here, before a device call: what travels with the working tree to a GPU machine that has JAX but
# no TensorFlow or Keras (see recipes/gpu_device.sh). Both folders are git-ignored (.git/info/exclude).
#   .gpu/fer2013.npz.xz   FER2013 Training + PublicTest, prediction-coded xz (47.1 MB, ~3 min here)
#   .whl/                 Keras (the version installed here) and its two packages the GPU image lacks
# Teachers trained before travel as a tracked file: recipes/teachers/fervgg48_pair.npz.xz (5.6 MB,
# recipes/teachers_pack.py). The tree holds one such pack: to carry others, pack them in its place.
#
#   recipes/gpu_prepare.sh FER2013_SOURCE        # then the device call
#   recipes/gpu_prepare.sh --restore              # afterwards: puts the set-aside models back
#
# Shipped models the device never reads (the accurate tier's int8 teachers, the other edge models'
# .keras; the students start from models/ferfast.keras, which stays) are moved into .gpu/aside/ for
# the call, since ignored paths do not travel: with them the tree, data and wheels pass 64 MiB.
#
# PYTHON_VERSION [3.12]: the device's Python, for which optree's compiled wheel is fetched.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ASIDE=(models/fervgg48_s1_int8.tflite models/fervgg48_s2_int8.tflite models/baseline.keras models/ferfast112.keras
       models/ferlite.keras)
if [ "${1:-}" = "--restore" ]; then
    for f in "${ASIDE[@]}"; do
        if [ -f ".gpu/aside/$f" ]; then mv ".gpu/aside/$f" "$f"; fi
    done
    git status --short -- models
    exit 0
fi
SRC=${1:?usage: recipes/gpu_prepare.sh FER2013_SOURCE (fer2013.csv, fer2013.tar.gz, ...) | --restore}
PY=${PYTHON_VERSION:-3.12}
for d in /.gpu/ /.whl/; do
    grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude
done
mkdir -p .gpu .whl
if [ ! -f .gpu/fer2013.npz.xz ]; then
    fer-edge data prepare "$SRC" -o .gpu/fer2013.npz.xz
fi
KERAS=$(python3 -c "import keras; print(keras.__version__)")  # the version this checkout's tests pass with
rm -f .whl/*.whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PY" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "keras==$KERAS" namex optree
ls .whl
mkdir -p .gpu/aside/models
for f in "${ASIDE[@]}"; do
    if [ -f "$f" ]; then mv "$f" ".gpu/aside/$f"; fi
done
echo "set aside in .gpu/aside/ for the call (recipes/gpu_prepare.sh --restore puts them back): ${ASIDE[*]}"
carried=(.gpu/fer2013.npz.xz .whl/*.whl)
# The device tool takes at most 64 MiB: tracked and untracked-not-ignored files plus what is carried.
tree=$( (git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
            [ -e "$f" ] && printf '%s\0' "$f"; done; printf '%s\0' "${carried[@]}") |
        xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')
echo "travels: $((tree / 1048576)) MiB of 64 ($tree bytes of 67108864)"
[ "$tree" -le 67108864 ] || {
    echo "too big for the device tool (a .gpu/fer2013.npz.xz from before 2026-11-26 is 5 MB bigger: delete it)" >&2
    exit 1
}
echo 'device call: carry [".whl", ".gpu/fer2013.npz.xz"], command:'
echo '  TEACHERS_PACK=recipes/teachers/fervgg48_pair.npz.xz bash recipes/gpu_device.sh .gpu/fer2013.npz.xz $OUT'
echo '  (without TEACHERS_PACK the device trains its own teachers first)'
echo 'afterwards: recipes/gpu_prepare.sh --restore'
