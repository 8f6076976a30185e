#!/usr/bin/env bash
# One GPU, one time-boxed go: three `fervgg` teachers and a long baseline train side by side
# (small models leave a big GPU mostly idle, so parallel processes share it well), then edge
# students distilled from the teachers' ensemble, each fine-tuned without augmentation.
# Every run keeps its best PublicTest epoch; deadlines stop what is still running (Ctrl-C; on JAX
# the last finished epoch's checkpoint and best.keras stand), so the whole recipe fits one device call.
#
#   recipes/gpu_distill.sh DATA RESULTS
#
# DATA: any source `fer-edge train` reads (a prepared .npz.xz travels best). RESULTS gets the
# teachers' models (fervgg_s*.keras), runs.tar (the other runs: config, state, history, logs,
# best.keras) and recipe.log. Settings by environment (defaults in brackets): TEACHER_EPOCHS [60],
# STUDENT_EPOCHS [as many as fit, 20-120], FT_EPOCHS [10], BASELINE_EPOCHS [90], PHASE1_S [330] and PHASE2_S [545]
# (deadlines in seconds from the start), RUNS [/tmp/fer-runs], LIMIT (rows per split, for a dry
# run), KERAS_BACKEND [jax]. `fer-edge` must be on PATH.
set -u
DATA=${1:?usage: recipes/gpu_distill.sh DATA RESULTS}
RESULTS=${2:?usage: recipes/gpu_distill.sh DATA RESULTS}
TE=${TEACHER_EPOCHS:-60} SE=${STUDENT_EPOCHS:-50} FE=${FT_EPOCHS:-10} BE=${BASELINE_EPOCHS:-90}
P1=${PHASE1_S:-330} P2=${PHASE2_S:-545}
RUNS=${RUNS:-/tmp/fer-runs}
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # several processes share one GPU
export PYTHONUNBUFFERED=1
START=$(date +%s)
mkdir -p "$RUNS" "$RESULTS"
LOG=$RESULTS/recipe.log
say() { echo "[$(($(date +%s) - START)) s] $*" | tee -a "$LOG"; }

# Train until DEADLINE (seconds from START); a run still going then gets Ctrl-C.
# usage: train_until DEADLINE NAME ARGS...
train_until() {
    local deadline=$1 name=$2; shift 2
    local left=$((START + deadline - $(date +%s)))
    if [ "$left" -lt 30 ]; then say "$name: skipped, ${left} s left"; return 1; fi
    say "$name: start ($left s left): $*"
    timeout --signal=INT --kill-after=20 "$left" \
        fer-edge train --data "$DATA" --out "$RUNS/$name" --quiet ${LIMIT:+--limit $LIMIT} "$@" \
        >"$RUNS/$name.log" 2>&1
    local rc=$?
    say "$name: exit $rc; $(tail -n 1 "$RUNS/$name.log")"
}

# A student: distil for STUDENT_EPOCHS with augmentation, then FT_EPOCHS without it.
student() {
    local name=$1; shift
    train_until "$P2" "$name" --epochs "$SE" --patience "$SE" --aug-strength 0.6 "$@" "${TEACHERS[@]}"
    [ -f "$RUNS/$name/best.keras" ] || return
    train_until "$P2" "${name}_ft" --init "$RUNS/$name/best.keras" --no-augment --lr 3e-4 \
        --epochs "$FE" --patience "$FE" "$@" "${TEACHERS[@]}"
}

# Every 30 s: each run's epochs done and best PublicTest accuracy so far, to see the pace.
(
    while sleep 30; do
        line=$(python3 - "$RUNS" <<'PY'
import json, pathlib, sys
parts = []
for st in sorted(pathlib.Path(sys.argv[1]).glob("*/checkpoint/state.json")):
    s = json.loads(st.read_text())
    parts.append("%s %d:%.3f" % (st.parent.parent.name, s["epoch"], s["best_val_accuracy"]))
print("  ".join(parts))
PY
)
        [ -n "$line" ] && say "progress (epochs:best) $line"
    done
) &
MONITOR=$!

say "phase 1: teachers (deadline ${P1} s); a long baseline beside them (deadline ${P2} s)"
teacher_pids=()
for seed in 1 2 3; do
    train_until "$P1" "fervgg_s$seed" --model fervgg --seed "$seed" --epochs "$TE" --patience "$TE" \
        --batch-size 128 &
    teacher_pids+=($!)
done
(
    train_until "$P2" baseline_long --model baseline --seed 1 --epochs "$BE" --patience "$BE" --aug-strength 0.6 &&
        train_until "$P2" baseline_long_ft --model baseline --init "$RUNS/baseline_long/best.keras" --no-augment \
            --lr 3e-4 --epochs "$FE" --patience "$FE"
) &
baseline_pid=$!
wait "${teacher_pids[@]}"

TEACHERS=()
for seed in 1 2 3; do
    t=$RUNS/fervgg_s$seed/best.keras
    if [ -f "$t" ]; then
        cp "$t" "$RESULTS/fervgg_s$seed.keras"
        TEACHERS+=(--teacher "$t")
    fi
done
# Unless STUDENT_EPOCHS is given, students get as many epochs as fit before the deadline, at the
# seconds per epoch (compilation included) of the long baseline run beside the teachers.
state=$RUNS/baseline_long/checkpoint/state.json
if [ -z "${STUDENT_EPOCHS:-}" ] && [ -f "$state" ]; then
    SE=$(python3 - "$state" $((START + P2 - $(date +%s))) "$FE" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
per_epoch = max(0.5, s["wall_s"] / max(1, s["epoch"]))
left, ft_epochs = float(sys.argv[2]), int(sys.argv[3])
print(int(min(120, max(20, (left - 90) / per_epoch - ft_epochs))))  # 90 s: teacher targets, compiles
PY
) || SE=50
fi
say "phase 2: ${#TEACHERS[@]} teacher flags; students, $SE + $FE epochs (deadline ${P2} s)"
student_pids=()
if [ ${#TEACHERS[@]} -gt 0 ]; then
    student ferfast112_a5 --model ferfast --width 112 --alpha 0.5 &
    student_pids+=($!)
    student ferfast112_a9 --model ferfast --width 112 --alpha 0.9 &
    student_pids+=($!)
    student baseline_a5 --model baseline --alpha 0.5 &
    student_pids+=($!)
    student baseline_a9 --model baseline --alpha 0.9 &
    student_pids+=($!)
fi
wait "$baseline_pid" "${student_pids[@]}"  # not the monitor, which never ends by itself

kill "$MONITOR" 2>/dev/null
say "packing"
# Keep each run's record; a model file only where it is the run's last word (a stage-1 student
# whose fine-tune ran leaves only the fine-tune's), to stay inside what the device call returns.
(
    cd "$RUNS" || exit 1
    files=()
    for d in */; do
        d=${d%/}
        for f in config.json checkpoint/state.json history.csv metrics.json curves.png; do
            [ -f "$d/$f" ] && files+=("$d/$f")
        done
        [ -f "$d.log" ] && files+=("$d.log")
        case $d in fervgg_s*) continue ;; esac
        if [ -f "$d/best.keras" ] && [ ! -f "${d}_ft/best.keras" ]; then files+=("$d/best.keras"); fi
    done
    tar -cf "$RESULTS/runs.tar" "${files[@]}"
)
# a device call returns files of up to 16 MiB
if [ "$(stat -c %s "$RESULTS/runs.tar")" -gt 16000000 ]; then
    split -b 15M "$RESULTS/runs.tar" "$RESULTS/runs.tar.part-" && rm "$RESULTS/runs.tar"
fi
ls -l "$RESULTS" | tee -a "$LOG"
say "done"
