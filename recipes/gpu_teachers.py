"""One GPU, one time-boxed call: train `fervgg` teachers from the labels, side by side, each on as
many epochs as fit before a deadline.

The cosine schedule needs its length up front, and a run cut before its end keeps a model trained
at a high learning rate. So every run starts on a guess (--first-epochs), its pace is read off its
own checkpoint state after a few epochs (with the others beside it, as they will stay), and a run
whose guess would overrun the deadline, or would leave much of the time unused, is started again
once with the number of epochs that fits. Small models leave a big GPU mostly idle, so parallel
processes share it well.

    python3 recipes/gpu_teachers.py DATA RESULTS --deadline-s 540

RESULTS gets each teacher's model (<run>.keras, its best PublicTest epoch), runs.tar (config,
state, history, curves, metrics and log of every run) and recipe.log. `fer-edge` must be on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

# name -> extra `fer-edge train` options. Seeds and augmentation strength differ so that the
# ensemble's members make different mistakes.
TEACHERS = {
    "fervgg48_s1": ["--seed", "1"],
    "fervgg48_s2": ["--seed", "2"],
    "fervgg48_s3": ["--seed", "3", "--aug-strength", "1.3"],
    "fervgg48_s4": ["--seed", "4", "--aug-strength", "1.3"],
}
COMMON = ["--model", "fervgg", "--width", "48", "--batch-size", "128", "--quiet"]
FINISH_S = 25  # after the last epoch: reload the best model, score it, plot, exit


class Run:
    def __init__(self, name: str, extra: list[str], args, start: float, log):
        self.base, self.extra, self.args, self.start, self.log = name, extra, args, start, log
        self.name, self.proc, self.epochs, self.restarted = name, None, args.first_epochs, False

    def launch(self, epochs: int) -> None:
        self.epochs, self.launched, self.seen = epochs, time.time(), {}
        cmd = ["fer-edge", "train", "--data", self.args.data, "--out", str(self.dir), "--epochs", str(epochs),
               "--patience", str(epochs), *COMMON, *self.extra]
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
        if ends <= deadline and self.epochs >= 0.75 * fit_again:
            self.log(f"{self.name}: {pace:.2f} s/epoch, keeps {self.epochs} epochs (ends at "
                     f"{ends - self.start:.0f} s of {deadline - self.start:.0f})")
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

    def stop(self, grace_until: float | None = None) -> None:
        self.interrupt()
        try:
            self.proc.wait(max(1.0, (grace_until or time.time() + 20) - time.time()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("results", type=Path)
    ap.add_argument("--deadline-s", type=float, required=True, help="seconds from now by which all runs have ended")
    ap.add_argument("--runs", type=Path, default=Path("/tmp/fer-runs"))
    ap.add_argument("--first-epochs", type=int, default=100)
    ap.add_argument("--min-epochs", type=int, default=8)
    ap.add_argument("--max-epochs", type=int, default=250)
    ap.add_argument("--limit", type=int, default=None, help="rows per split (a dry run)")
    args = ap.parse_args()
    start = time.time()
    deadline = start + args.deadline_s
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

    runs = [Run(name, extra, args, start, log) for name, extra in TEACHERS.items()]
    for r in runs:
        r.launch(args.first_epochs)
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
    for r in runs:
        r.stop(grace_until)
        log(f"{r.name}: exit {r.proc.returncode}")

    members = []
    for r in runs:
        model = r.dir / "fervgg.keras"  # written by the trainer's finish; best.keras if it was cut short
        model = model if model.is_file() else r.dir / "best.keras"
        if model.is_file():
            shutil.copyfile(model, args.results / f"{r.name}.keras")
        for d in {r.base, r.name}:
            for f in ["config.json", "checkpoint/state.json", "history.csv", "metrics.json", "curves.png"]:
                if (args.runs / d / f).is_file():
                    members.append(f"{d}/{f}")
            if (args.runs / f"{d}.log").is_file():
                members.append(f"{d}.log")
    with tarfile.open(args.results / "runs.tar", "w") as tar:
        for m in members:
            tar.add(args.runs / m, arcname=m)
    for r in runs:
        s = r.state() or {}
        log(f"{r.name}: {s.get('epoch', 0)}/{r.epochs} epochs, best PublicTest "
            f"{s.get('best_val_accuracy', float('nan')):.4f} @ {s.get('best_epoch', 0)}")
    log("done")
    return 0 if any((args.results / f"{r.name}.keras").is_file() for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
