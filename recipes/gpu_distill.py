"""One GPU, one time-boxed call: train `fervgg` teachers from the labels, distil the edge model
from them for as long as the call allows, then fine-tune it without augmentation.

Three phases, each a set of `fer-edge train` runs side by side (small models leave a big GPU mostly
idle, so parallel processes share it well), each with its own deadline:

1. teachers: four `fervgg --width 48` from the labels (seeds and augmentation strength differ, so
   that they make different mistakes);
2. students: `ferfast` taught online by the teachers' ensemble on the very (mixed-up, augmented)
   batch it sees, "function matching" (Beyer et al. 2022: a patient and consistent teacher), one
   from scratch and one from the shipped model, and the same two for a stride-2-stem variant with
   152 channels at 6 px (as fast in int8);
3. fine-tune: each student without augmentation on the teachers' precomputed targets, the stage
   that gave every shipped `ferfast` its last points on the CPU (--no-finetune: left for a CPU,
   and the students get its time).

The cosine schedule needs its length up front, and a run cut before its end keeps a model trained
at a high learning rate. So every run starts on a guess, its pace is read off its own checkpoint
state after a few epochs (with the others beside it, as they will stay), and a run whose guess would
overrun its phase's deadline, or would leave much of the time unused, is started again once with
the number of epochs that fits.

    python3 recipes/gpu_distill.py DATA RESULTS --deadline-s 540 [--teachers-s 230 --students-s 230]
    python3 recipes/gpu_distill.py DATA RESULTS --deadline-s 540 --teachers A.keras B.keras   # phases 2-3

With --teachers (trained before, carried packed: recipes/teachers_pack.py) the first phase is
skipped and the students get 85% of the time (all of it with --no-finetune).

RESULTS gets each run's model (<run>.keras, its best PublicTest epoch), runs.tar (config, state,
history, curves, metrics and log of every run) and recipe.log: with the fine-tunes, 10 files, past
what a device call brings back (8), so a device call uses --no-finetune. `fer-edge` must be on PATH;
run it from the checkout (the students start from models/ferfast.keras).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

TEACHER_RUNS = {
    "fervgg48_s1": ["--seed", "1"],
    "fervgg48_s2": ["--seed", "2"],
    "fervgg48_s3": ["--seed", "3", "--aug-strength", "1.3"],
    "fervgg48_s4": ["--seed", "4", "--aug-strength", "1.3"],
}
TEACHER_COMMON = ["--model", "fervgg", "--width", "48", "--batch-size", "128"]
# From scratch at the augmentation strength every CPU stage of ferfast used (0.6), and from the
# shipped model at full strength: two bets, since the better one for a long run is not known. The
# same two for the stride-2-stem variant with 152 channels at 6 px (recipes/ferfast_variant.py; int8
# latency within 1% of ferfast's): more capacity at the same cost, started from the shipped model
# widened (recipes/ferfast_widen.py, made where the runs train).
S2W152 = "16/2,32,64,152x152"
WIDE152_INIT = "wide152_init.keras"
STUDENT_RUNS = {
    "ferfast_fm": ["--aug-strength", "0.6"],
    "ferfast_fm_init": ["--init", "models/ferfast.keras", "--lr", "5e-4"],
    "s2w152_fm": ["--variant", S2W152, "--aug-strength", "0.6"],
    "s2w152_fm_init": ["--variant", S2W152, "--init", WIDE152_INIT, "--lr", "5e-4", "--aug-strength", "0.6"],
}
STUDENT_COMMON = ["--model", "ferfast", "--batch-size", "128", "--online-teacher", "--alpha", "0.9",
                  "--mixup", "0.2"]
FINETUNE_COMMON = ["--model", "ferfast", "--batch-size", "64", "--no-augment", "--lr", "3e-4"]
FINETUNE_EPOCHS = 10  # as the CPU's fine-tunes (8-10): it overfits soon without augmentation
FINISH_S = 25  # after the last epoch: reload the best model, score it, plot, exit


def teacher_options(models: list[Path]) -> list[str]:
    return [arg for m in models for arg in ("--teacher", str(m))]


class Run:
    def __init__(self, name: str, options: list[str], first_epochs: int, args, start: float, log,
                 grow: bool = True):
        self.variant = None  # "--variant STAGES": trained through recipes/ferfast_variant.py
        if "--variant" in options:
            i = options.index("--variant")
            self.variant, options = options[i + 1], options[:i] + options[i + 2:]
        self.base, self.options, self.args, self.start, self.log = name, options, args, start, log
        self.grow = grow  # False: restarted only to fit its deadline, never for more epochs
        self.model = options[options.index("--model") + 1]
        self.name, self.proc, self.epochs, self.restarted = name, None, first_epochs, False

    def launch(self, epochs: int) -> None:
        self.epochs, self.launched, self.seen = epochs, time.time(), {}
        trainer = (["fer-edge", "train"] if self.variant is None else
                   [sys.executable, "-P", str(Path(__file__).with_name("ferfast_variant.py")), self.variant])
        cmd = [*trainer, "--data", self.args.data, "--out", str(self.dir), "--epochs", str(epochs),
               "--patience", str(epochs), "--quiet", *self.options]
        if self.args.limit:
            cmd += ["--limit", str(self.args.limit)]
        self.log(f"{self.name}: start, {epochs} epochs: {' '.join(cmd)}")
        self.out = open(self.args.runs / f"{self.name}.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT)

    @property
    def dir(self) -> Path:
        return self.args.runs / self.name

    def state(self) -> dict | None:
        try:
            return json.loads((self.dir / "checkpoint" / "state.json").read_text())
        except (OSError, ValueError):
            return None

    def poll(self, deadline: float) -> None:
        """Note each finished epoch's time; once the pace is known, restart if the plan is off."""
        s = self.state()
        if s and s["epoch"] not in self.seen:
            self.seen[s["epoch"]] = (time.time(), s["wall_s"])  # when noticed; seconds into fit
        epochs = sorted(self.seen)
        if self.restarted or self.proc.poll() is not None or len(epochs) < 2:
            return
        first, last = epochs[0], epochs[-1]
        if last - first < 4 and self.seen[last][0] - self.seen[first][0] < 20:
            return  # too few epochs for a steady pace
        # Seconds per epoch with the others beside it, from the trainer's own clock. The first epoch
        # also compiles (and recompiles for the last, short batch), so the pace counts from its end.
        pace = (self.seen[last][1] - self.seen[first][1]) / (last - first)
        now = time.time()
        ends = now + (self.epochs - last) * pace + FINISH_S
        startup = self.seen[first][0] - self.launched - first * pace  # data load + compile
        fit_again = int((deadline - now - startup - FINISH_S) / pace * 0.95)
        fit_again = min(fit_again, self.args.max_epochs)
        self.restarted = True  # decide once
        if ends <= deadline and (self.epochs >= 0.75 * fit_again or not self.grow):
            self.log(f"{self.name}: {pace:.2f} s/epoch, keeps {self.epochs} epochs (ends at "
                     f"{ends - self.start:.0f} s, deadline {deadline - self.start:.0f})")
            return
        if fit_again < self.args.min_epochs:
            self.log(f"{self.name}: {pace:.2f} s/epoch; a restart would fit {fit_again} epochs, keeps going")
            return
        self.log(f"{self.name}: {pace:.2f} s/epoch, start-up {startup:.0f} s: {self.epochs} epochs would end "
                 f"at {ends - self.start:.0f} s; starts again with {fit_again}")
        self.proc.kill()  # its model is not used (its log and records are), so no clean stop needed
        self.proc.wait()
        self.out.close()
        self.name = self.base + "_r"
        self.launch(fit_again)

    def interrupt(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # the trainer keeps the last finished epoch

    def stop(self, grace_until: float) -> None:
        self.interrupt()
        try:
            self.proc.wait(max(1.0, grace_until - time.time()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()

    def result(self) -> Path | None:
        """The run's model: written by the trainer's finish, or its best epoch if it was cut short."""
        for model in (self.dir / f"{self.model}.keras", self.dir / "best.keras"):
            if model.is_file():
                return model
        return None


def run_phase(title: str, runs: list[Run], deadline: float, args, log) -> dict[str, Path]:
    """Run side by side until all end or the deadline; copy each model into RESULTS."""
    log(f"phase {title}: {len(runs)} runs, deadline {deadline - runs[0].start:.0f} s")
    for r in runs:
        r.launch(r.epochs)
    last_report = time.time()
    while any(r.proc.poll() is None for r in runs):
        if time.time() > deadline - 5:
            log("deadline: stopping what still runs")
            break
        for r in runs:
            r.poll(deadline)
        if time.time() - last_report > 30:
            last_report = time.time()
            log("progress (epoch/planned:best) " + "  ".join(
                f"{r.name} {s['epoch']}/{r.epochs}:{s['best_val_accuracy']:.3f}" for r in runs if (s := r.state())))
        time.sleep(1)
    for r in runs:
        r.interrupt()
    grace_until = time.time() + 15
    results = {}
    for r in runs:
        r.stop(grace_until)
        s = r.state() or {}
        log(f"{r.name}: exit {r.proc.returncode}, {s.get('epoch', 0)}/{r.epochs} epochs, best PublicTest "
            f"{s.get('best_val_accuracy', float('nan')):.4f} @ {s.get('best_epoch', 0)}")
        if (model := r.result()) is not None:
            results[r.base] = args.results / f"{r.name}.keras"
            shutil.copyfile(model, results[r.base])
    return results


def with_widened_init(specs: dict[str, list[str]], args, log) -> dict[str, list[str]]:
    """The specs with WIDE152_INIT made (the shipped ferfast widened) and its path filled in; a
    student that needs it is left out if it cannot be made."""
    if not any(WIDE152_INIT in options for options in specs.values()):
        return specs
    made = args.runs / WIDE152_INIT
    widen = [sys.executable, "-P", str(Path(__file__).with_name("ferfast_widen.py")), "models/ferfast.keras",
             "152", str(made), "--stride2-stem"]
    done = subprocess.run(widen, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0 or not made.is_file():
        log(f"widening the shipped ferfast failed ({done.stdout.strip().splitlines()[-1:] or done.returncode}):"
            " its students are left out")
        return {name: options for name, options in specs.items() if WIDE152_INIT not in options}
    log(f"widened the shipped ferfast into {made}")
    return {name: [str(made) if o == WIDE152_INIT else o for o in options] for name, options in specs.items()}


def pack(runs: list[Run], args) -> None:
    members = []
    for r in runs:
        for d in {r.base, r.name}:
            for f in ["config.json", "checkpoint/state.json", "history.csv", "metrics.json", "curves.png"]:
                if (args.runs / d / f).is_file():
                    members.append(f"{d}/{f}")
            if (args.runs / f"{d}.log").is_file():
                members.append(f"{d}.log")
    with tarfile.open(args.results / "runs.tar", "w") as tar:
        for m in members:
            tar.add(args.runs / m, arcname=m)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("results", type=Path)
    ap.add_argument("--deadline-s", type=float, required=True, help="seconds from now by which all runs have ended")
    ap.add_argument("--teachers-s", type=float, default=None,
                    help="seconds for the teachers [45%% of the deadline; all of it with --students-s 0]")
    ap.add_argument("--students-s", type=float, default=None,
                    help="seconds for the students [42%% of the deadline; 0: teachers only]; the"
                         " fine-tuning gets the rest")
    ap.add_argument("--teachers", nargs="+", type=Path, default=None,
                    help="teachers trained before: skip the first phase")
    ap.add_argument("--runs", type=Path, default=None,
                    help="where the runs train [a new folder under /tmp each time: a second call on a machine"
                         " still warm from the first must not find the first's runs in its way]")
    ap.add_argument("--first-epochs", type=int, default=100, help="the teachers' and students' first guess")
    ap.add_argument("--min-epochs", type=int, default=8)
    ap.add_argument("--max-epochs", type=int, default=400)
    ap.add_argument("--limit", type=int, default=None, help="rows per split (a dry run)")
    ap.add_argument("--no-finetune", action="store_true",
                    help="students to the deadline, no fine-tuning phase (run it elsewhere: the fine-tunes are"
                         " short and a CPU does them; their models would pass a device call's 8 files)")
    args = ap.parse_args()
    start = time.time()
    if args.teachers:
        teachers_s = 0.0
        students_s = args.students_s or (1.0 if args.no_finetune else 0.85) * args.deadline_s
    else:
        default = (0.55 if args.no_finetune else 0.42) * args.deadline_s
        students_s = default if args.students_s is None else args.students_s
        teachers_s = args.teachers_s or (0.45 * args.deadline_s if students_s else args.deadline_s)
    if teachers_s + students_s > args.deadline_s:
        ap.error("--teachers-s plus --students-s exceed --deadline-s")
    if args.runs is None:
        args.runs = Path(tempfile.mkdtemp(prefix="fer-runs-"))
    args.runs.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # several processes share one GPU
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", "/tmp/jax-cache")
    logf = open(args.results / "recipe.log", "a")

    def log(msg: str) -> None:
        line = f"[{time.time() - start:.0f} s] {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    def runs_of(specs: dict[str, list[str]], common: list[str], first_epochs: int, grow: bool = True) -> list[Run]:
        return [Run(name, [*common, *extra], first_epochs, args, start, log, grow) for name, extra in specs.items()]

    made: list[Path] = []  # every model this call trained
    if args.teachers:
        all_runs, teachers = [], args.teachers
        log(f"teachers given: {' '.join(map(str, teachers))}")
    else:
        all_runs = runs_of(TEACHER_RUNS, TEACHER_COMMON, args.first_epochs)
        teachers = list(run_phase("teachers", all_runs, start + teachers_s, args, log).values())
        made += teachers
    if students_s and teachers:
        taught = teacher_options(teachers)
        student_specs = with_widened_init(STUDENT_RUNS, args, log)
        students_runs = runs_of(student_specs, [*STUDENT_COMMON, *taught], args.first_epochs)
        all_runs += students_runs
        students = run_phase("students", students_runs, start + teachers_s + students_s, args, log)
        made += students.values()
        if args.no_finetune:
            log("no fine-tuning here (--no-finetune)")
        elif students:
            variant_of = {r.base: ["--variant", r.variant] if r.variant else [] for r in students_runs}
            finetune_runs = runs_of({f"{name}_ft": [*variant_of[name], "--init", str(model)]
                                     for name, model in students.items()},
                                    [*FINETUNE_COMMON, *taught], FINETUNE_EPOCHS, grow=False)
            all_runs += finetune_runs
            made += run_phase("fine-tune", finetune_runs, start + args.deadline_s, args, log).values()
    elif students_s:
        log("no teacher finished: no students")
    pack(all_runs, args)
    log("done")
    return 0 if made else 1


if __name__ == "__main__":
    raise SystemExit(main())
