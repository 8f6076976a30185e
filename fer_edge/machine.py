"""What a figure was measured on: the CPU's name, cores, architecture, Python and the load at the
time (bench reports, model cards, benchmarks)."""

from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    """The CPU's marketing name (/proc/cpuinfo on Linux, including the Raspberry Pi's `Model` line)."""
    try:
        text = open("/proc/cpuinfo", encoding="utf-8", errors="replace").read()
    except OSError:
        return platform.processor() or platform.machine()
    names = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        names.setdefault(key.strip(), value.strip())
    # x86 has `model name`; a Pi's kernel gives the board in `Model` and no CPU name.
    return names.get("model name") or names.get("Model") or names.get("Hardware") or platform.machine()


def machine() -> dict:
    """What the figures were measured on, and how busy it was when they were taken."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "arch": platform.machine(),
            "python": platform.python_version(), "load_average": load_average()}


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: other work on the machine distorts every timing."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []
