"""Numbers for `fer-edge bench`: latency percentiles, and what the process costs the machine
(CPU time over wall time, peak resident memory); the machine itself is fer_edge.machine's."""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass

import numpy as np
import psutil


def latency_ms(seconds: list[float] | np.ndarray) -> dict[str, float]:
    """median/p95/p99/mean/max in milliseconds of per-call durations given in seconds."""
    a = np.asarray(seconds, dtype=np.float64) * 1000.0
    if a.size == 0:
        return {"median_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0, "max_ms": 0.0}
    # Linear interpolation between order statistics (numpy's default), so p99 of 300 frames
    # sits between the 3rd and 4th slowest rather than jumping to the maximum.
    med, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"median_ms": round(float(med), 4), "p95_ms": round(float(p95), 4), "p99_ms": round(float(p99), 4),
            "mean_ms": round(float(a.mean()), 4), "max_ms": round(float(a.max()), 4)}


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """Peak resident memory of a process's own address space (Linux VmHWM), or None where unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """Highest resident memory of this process so far.

    VmHWM where Linux has it: ru_maxrss is not the process's own, because exec() carries over the
    peak of the forked parent (a bench started from a big process would report that process's size).
    """
    hwm = vm_hwm_mb()
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0, 1)


@dataclass
class Usage:
    wall_s: float
    cpu_s: float  # user + system time of every thread of the process


class UsageMeter:
    """Wall and CPU time of this process between start() and stop()."""

    def __init__(self):
        self._proc = psutil.Process()
        self._wall = self._cpu = 0.0

    def _cpu_now(self) -> float:
        t = self._proc.cpu_times()
        return t.user + t.system

    def start(self) -> None:
        self._cpu, self._wall = self._cpu_now(), time.perf_counter()

    def stop(self) -> Usage:
        return Usage(time.perf_counter() - self._wall, self._cpu_now() - self._cpu)
