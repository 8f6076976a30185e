"""Plain-text tables for terminal reports."""

from __future__ import annotations


def format_table(header: list[str], rows: list[list], align_first_left: bool = True) -> str:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        parts = [
            c.ljust(w) if (i == 0 and align_first_left) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        ]
        return "  ".join(parts).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)
