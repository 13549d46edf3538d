"""The package's import graph: no cycles, no private names across modules, dependencies one way.

Every ``import`` statement counts, module-level or inside a function: a lazy import that closes a
cycle still ties the two modules together. The graph is read from the source with ``ast`` (nothing
is imported), over every module of the ``momentsense`` distribution.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("sdk", "edge_models", "trainer", "quantize")


def _modules() -> dict[str, Path]:
    """``momentsense.x.y`` → file, for the face and every file of the four subpackages."""
    mods = {"momentsense": REPO / "momentsense" / "__init__.py"}
    for top in SUBPACKAGES:
        for path in sorted((REPO / top).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(["momentsense", *parts])] = path
    return mods


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(name: str, path: Path, mods: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import statement of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if _is_package(path) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, [], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [a.name for a in node.names]
            found.append((target, names, node.lineno))
            for n in names:  # ``from pkg import submodule``
                if f"{target}.{n}" in mods:
                    found.append((f"{target}.{n}", [], node.lineno))
    return found


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    private = []
    for name, path in mods.items():
        for target, names, line in _imports(name, path, mods):
            if not target.startswith("momentsense"):
                continue
            dep = target
            while dep not in mods and "." in dep:
                dep = dep.rpartition(".")[0]
            if dep != name and dep in mods:
                graph[name].add(dep)
            for n in names:
                if n.startswith("_") and not n.startswith("__") and f"{target}.{n}" not in mods and target != name:
                    private.append(f"{path.relative_to(REPO)}:{line} imports {n} from {target}")
    return graph, private


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(root: str) -> None:
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]; counter[0] += 1
                    stack.append(nxt); on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop(); on.discard(m); comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    return out


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` re-exporting its own modules is not a cycle with them: drop the edges
    from a module to the packages that contain it."""
    return {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}


def test_the_cycle_finder_finds_a_cycle():
    """The checker itself: a three-module ring is one component; a chain is none."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles():
    cycles = _cycles(_without_package_inits(_graph()[0]))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_private_names_across_modules():
    private = _graph()[1]
    assert not private, "private names imported from other modules:\n" + "\n".join(private)


@pytest.mark.parametrize("low, high", [("momentsense.quantize", "momentsense.trainer"),
                                       ("momentsense.sdk", "momentsense.trainer"),
                                       ("momentsense.sdk", "momentsense.quantize"),
                                       ("momentsense.sdk", "momentsense.edge_models"),
                                       ("momentsense.edge_models", "momentsense.trainer")])
def test_dependencies_point_one_way(low, high):
    """``trainer`` and ``quantize`` build on ``edge_models`` and ``sdk``, never the other way round."""
    graph = _graph()[0]
    bad = sorted(f"{m} -> {d}" for m, deps in graph.items() if m.startswith(low + ".") or m == low
                 for d in deps if d == high or d.startswith(high + "."))  # fmt: skip
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("heavy", ["tensorflow", "tf_keras", "keras", "sklearn", "torch"])
def test_the_sdk_never_imports_training_libraries(heavy):
    mods = _modules()
    bad = sorted(f"{path.relative_to(REPO)}:{line}" for name, path in mods.items() if name.startswith("momentsense.sdk")
                 for target, _, line in _imports(name, path, mods) if target.split(".")[0] == heavy)  # fmt: skip
    assert not bad, bad
