"""The package's import graph: no cycles at module level, no private names across packages.

Read statically (``ast``), so the test needs no optional dependency. A "package" is a
step package of ``core`` or ``_qt`` (``napari_dvp.core.lmd``, ``napari_dvp._qt.review`` …)
or a top-level module of ``napari_dvp``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "src" / "napari_dvp"


def _modules() -> dict[str, Path]:
    mods = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


MODS = _modules()


def _sources(mod: str, node: ast.ImportFrom, is_pkg: bool) -> list[str]:
    """The module each imported name comes from (a submodule when the name is one)."""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if node.level:
        base = base[:len(base) - (node.level - 1)]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    return [f"{name}.{a.name}" if f"{name}.{a.name}" in MODS else name for a in node.names]


def _package(mod: str) -> str:
    parts = mod.split(".")
    deep = len(parts) > 2 and parts[1] in ("core", "_qt")
    return ".".join(parts[:3] if deep else parts[:2])


def _module_level_graph() -> dict[str, set[str]]:
    graph = {}
    for mod, path in MODS.items():
        deps = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom):
                deps |= {d for d in _sources(mod, node, path.name == "__init__.py")
                         if d in MODS and d != mod}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in MODS}
        graph[mod] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(root: str) -> None:
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    graph = _module_level_graph()
    assert len(graph) > 100
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_name_imported_from_another_package():
    found = []
    for mod, path in MODS.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            for alias, src in zip(node.names, _sources(mod, node, path.name == "__init__.py"),
                                  strict=True):
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and src.rsplit(".", 1)[-1] != alias.name \
                        and _package(src) != _package(mod):
                    found.append(f"{mod} imports {alias.name} from {src}")
    assert found == []
