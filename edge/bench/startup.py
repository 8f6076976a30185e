"""Start-up time: a fresh `fer-edge run ... --max-frames 1` process, timed from just before it is
started to the first JSON line it prints (its first result), or to its exit when the first frame
has no face. Everything a user waits for is inside: interpreter start, imports, model loading,
opening the source, the first frame."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from fer_edge import defaults
from fer_edge.edge.bench.stats import vm_hwm_mb
from fer_edge.errors import FerEdgeError

# `fer-edge` in a fresh interpreter. Not `python -m fer_edge`: that puts the working folder first on
# sys.path, where a source checkout's fer_edge/ (without its edge/, train/... subpackages, which the
# install maps in) would hide the installed package.
FER_EDGE_MAIN = "import sys; del sys.path[0]; sys.argv[0] = 'fer-edge'; from fer_edge.cli import main; main()"


def startup_command(camera: str | None, source: str | None, models: Sequence[str], threads: int,
                    min_confidence: float, resolution: tuple[int, int] | None = None,
                    detector: str = defaults.DETECTOR, tta: str | None = None) -> list[str]:
    cmd = [sys.executable, "-c", FER_EDGE_MAIN, "run"]
    cmd += ["--camera", camera] if camera is not None else ["--source", str(source)]
    if camera is not None and resolution:  # bench --size asks the camera for it; so does the timed run
        cmd += ["--resolution", f"{resolution[0]}x{resolution[1]}"]
    cmd += ["--headless", "--jsonl", "-", "--max-frames", "1", "--threads", str(threads),
            "--min-confidence", str(min_confidence), "--detector", detector]
    for model in models:  # none: run's default model; several: its ensemble
        cmd += ["--model", str(model)]
    if tta:  # model files alone would run without it
        cmd += ["--tta", tta]
    return cmd


def measure_startup(camera: str | None, source: str | None, models: Sequence[str], threads: int,
                    min_confidence: float, runs: int = 3, resolution: tuple[int, int] | None = None,
                    detector: str = defaults.DETECTOR, tta: str | None = None) -> dict:
    """The median of `runs` fresh processes (start-up varies with the disk cache and other load):
    {"s", "runs_s", "first_result", "exit_s", "peak_rss_mb" (up to the first result; None where
    it cannot be read), "command"}."""
    results = [_one_startup(camera, source, models, threads, min_confidence, resolution, detector=detector, tta=tta)
               for _ in range(max(1, runs))]
    times = sorted(r["s"] for r in results)
    median = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    out = dict(results[0])
    rss = [r["peak_rss_mb"] for r in results if r["peak_rss_mb"] is not None]
    out.update(s=round(median, 3), runs_s=[r["s"] for r in results],
               exit_s=round(max(r["exit_s"] for r in results), 3), peak_rss_mb=max(rss) if rss else None)
    return out


def _one_startup(camera: str | None, source: str | None, models: Sequence[str], threads: int,
                 min_confidence: float, resolution: tuple[int, int] | None = None, timeout: float = 120.0,
                 detector: str = defaults.DETECTOR, tta: str | None = None) -> dict:
    cmd = startup_command(camera, source, models, threads, min_confidence, resolution, detector, tta)
    # stderr to a file, not a pipe: a pipe nobody reads could fill and stall the child.
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True)
        try:
            first = proc.stdout.readline()
            t_first = time.perf_counter() - t0
            # Its peak memory up to the first result, read while it still runs: the rusage of a child
            # counts the parent's size at fork as the child's peak, so it cannot be used.
            rss = vm_hwm_mb(proc.pid) if first.strip() else None
            proc.stdout.read()  # the rest, so the child never blocks on a full pipe
            code = _wait(proc, timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        t_exit = time.perf_counter() - t0
        if code != 0:
            err.seek(0)
            lines = [ln for ln in err.read().strip().splitlines() if ln.strip()]
            why = lines[-1] if lines else f"exit status {code}"
            raise FerEdgeError(f"start-up run failed: {why}")
    got_line = bool(first.strip())
    return {"s": round(t_first if got_line else t_exit, 3), "first_result": "face line" if got_line else "exit",
            "exit_s": round(t_exit, 3), "peak_rss_mb": rss, "command": cmd}


def _wait(proc: subprocess.Popen, timeout: float) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise FerEdgeError(f"start-up run did not finish within {timeout:.0f} s") from None
