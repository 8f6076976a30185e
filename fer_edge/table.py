"""Plain-text tables for terminal reports, fitted to the terminal's width: the widest columns wrap
at spaces (a header over several lines, a long cell too), so an 80-column terminal shows no table
wrapped by the terminal itself (`fer-edge models` was about 150 columns wide)."""

from __future__ import annotations

import shutil
import textwrap

GAP = "  "


def terminal_width() -> int:
    """The terminal's columns (COLUMNS where set; 80 when stdout is no terminal, e.g. a pipe)."""
    return shutil.get_terminal_size((80, 24)).columns


def wrap_text(text: str, width: int | None = None) -> str:
    """Lines longer than the terminal (a report's notes and titles) wrapped to it, each on its own;
    the others, a fitted table's among them, kept as they are."""
    width = width or terminal_width()
    return "\n".join(textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)
                     if len(line) > width else line for line in text.split("\n"))


def _lines(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def _fit(cells: list[list[str]], width: int) -> list[int]:
    """Column widths: each column's longest cell, narrowed (widest first) until the row fits
    `width`, but never below its longest word."""
    natural = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    floor = [max(len(w) for r in cells for w in (r[i].split() or [""])) for i in range(len(cells[0]))]
    widths = list(natural)
    room = width - len(GAP) * (len(widths) - 1)
    while sum(widths) > room:
        slack = [(w - f, i) for i, (w, f) in enumerate(zip(widths, floor)) if w > f]
        if not slack:
            break  # as narrow as its words allow
        widths[max(slack, key=lambda s: (widths[s[1]], s[0]))[1]] -= 1
    # a wrapped column takes only as much as its wrapped lines need
    return [max(len(line) for r in cells for line in _lines(r[i], w)) if w < n else w
            for i, (w, n) in enumerate(zip(widths, natural))]


def format_table(header: list[str], rows: list[list], align_first_left: bool = True,
                 width: int | None = None) -> str:
    """Rows under a header, columns two spaces apart, the first left-aligned and the rest right;
    at most `width` columns wide (the terminal's by default) where its words allow."""
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = _fit(cells, width or terminal_width())

    def block(r: list[str], bottom: bool) -> list[str]:
        wrapped = [_lines(c, w) for c, w in zip(r, widths)]
        if not bottom:  # a wrapped cell's lines start together, the cell aligned as one block
            wrapped = [[line.ljust(max(map(len, w))) for line in w] if len(w) > 1 else w for w in wrapped]
        height = max(len(w) for w in wrapped)
        # a header's lines sit on the rule below it; a row's start at its top
        wrapped = [([""] * (height - len(w)) + w) if bottom else (w + [""] * (height - len(w))) for w in wrapped]
        out = []
        for k in range(height):
            parts = [c[k].ljust(w) if (i == 0 and align_first_left) else c[k].rjust(w)
                     for i, (c, w) in enumerate(zip(wrapped, widths))]
            out.append(GAP.join(parts).rstrip())
        return out

    sep = GAP.join("-" * w for w in widths)
    lines = block(cells[0], bottom=True) + [sep]
    for r in cells[1:]:
        lines += block(r, bottom=False)
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)
