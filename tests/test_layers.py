"""The package's layers point one way, and no module imports itself back through others.

core (fer_edge/*: labels, faces, errors, console, TTA, model files, the LiteRT model runner, data)
    <- host (train/, convert/)     <- device (edge/)     <- consumers of the device side (analysis,
    plots, report)  <- the entry points (cli, the lazy names of fer_edge/__init__.py).

Every import counts, those inside functions too (a lazy import is still a dependency); only those
under `if TYPE_CHECKING:` do not, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"fer_edge": "fer_edge", "edge": "fer_edge.edge", "train": "fer_edge.train",
           "convert": "fer_edge.convert", "models": "fer_edge.models"}
ENTRY = {"fer_edge.cli", "fer_edge.__main__"}  # see every side (fer_edge itself names its exports as strings)
CONSUMERS = {"fer_edge.analysis", "fer_edge.result_plots", "fer_edge.report",  # above the device side
             "fer_edge.events_data", "fer_edge.events_report", "fer_edge.service"}
MAY_NOT_IMPORT = {  # layer -> the layers it must not import
    "core": {"host", "device", "consumer", "entry"},
    "host": {"device", "consumer", "entry"},
    "device": {"host", "consumer", "entry"},
    "consumer": {"host", "entry"},
    "entry": set(),
}


def layer(module: str) -> str:
    if module in ENTRY:
        return "entry"
    if module in CONSUMERS:
        return "consumer"
    if module.startswith(("fer_edge.train", "fer_edge.convert")):
        return "host"
    if module.startswith("fer_edge.edge"):
        return "device"
    return "core"


def package_modules() -> dict[str, Path]:
    modules = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            modules[".".join([package, *parts])] = path
    return modules


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The package modules `module` imports: `from a.b import c` names a.b.c where that is a module, else a.b."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_lines(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:  # `import fer_edge.edge.x` also names fer_edge.edge.x's module
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {m: imports_of(m, p, known) for m, p in modules.items()}


def breaches(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} ({layer(m)}) imports {t} ({layer(t)})" for m, targets in graph.items() for t in targets
                  if layer(t) in MAY_NOT_IMPORT[layer(m)])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(start: str) -> None:
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_layers_point_one_way():
    assert breaches(import_graph()) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_checks_see_a_breach_and_a_cycle():
    """The walker itself: a core module importing the device side, and two modules importing each other."""
    graph = import_graph()
    assert "fer_edge.edge.recognizer" in graph["fer_edge.edge.loop"]  # lazy and top-level imports are both seen
    graph["fer_edge.faces"] = graph["fer_edge.faces"] | {"fer_edge.edge.pipeline"}
    assert breaches(graph) == ["fer_edge.faces (core) imports fer_edge.edge.pipeline (device)"]
    graph = import_graph()
    graph["fer_edge.labels"] = {"fer_edge.faces"}
    graph["fer_edge.faces"] = graph["fer_edge.faces"] | {"fer_edge.labels"}
    assert cycles(graph) == [["fer_edge.faces", "fer_edge.labels"]]


@pytest.mark.parametrize("folder", ["edge"])
def test_the_device_side_is_in_rooms(folder):
    """edge/'s root holds the frame path; everything else lives in a room (a subpackage)."""
    assert len(list((ROOT / folder).glob("*.py"))) <= 12
    too_long = {str(p.relative_to(ROOT)): n for p in (ROOT / folder).rglob("*.py")
                if (n := len(p.read_text().splitlines())) > 400}
    assert too_long == {}
