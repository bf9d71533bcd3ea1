#!/usr/bin/env python3
"""Fail when any two modules of the project import each other, directly or through others.

    python .ci/check_cycles.py [PACKAGE ...]      (default: the project's root packages)

import-linter's contracts (``lint-imports``, configured in pyproject.toml) check the layers
between packages; none of its contract types forbids a cycle between two modules of one package
(``acyclic_siblings`` squashes subpackages and ignores a package's own ``__init__``). This script
does: it builds the import graph with grimp (which import-linter installs) from the source of
these packages, every import counted: module-level, inside a function, under ``TYPE_CHECKING``.
Each strongly connected component of more than one module (or a module importing itself) is a
cycle; for every import inside one it prints the import (file line) and the shortest cycle that
import closes, so each import that takes part in a cycle is named. Exit status 1 if there is any
cycle, 0 otherwise.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The project's root packages (pyproject.toml: [tool.importlinter] root_packages; a test keeps them equal).
ROOT_PACKAGES: tuple[str, ...] = ("mmimdb2", "idkg", "baselines", "benchmarks", "leaderboard")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported} (line {self.line}: {self.text})"


@dataclass(frozen=True)
class Cycle:
    """One strongly connected component: its modules, and per import inside it the shortest cycle it closes."""

    modules: tuple[str, ...]
    imports: tuple[tuple[Import, tuple[str, ...]], ...]


def import_graph(packages: Sequence[str]):
    """``({module: modules it imports}, the grimp graph)`` among ``packages`` (external packages left out)."""
    import grimp

    graph = grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}, graph


def strongly_connected(adj: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(adj):
        if start in index:
            continue
        work = [(start, iter(sorted(adj[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(adj.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def _shortest_path(adj: Mapping[str, Iterable[str]], src: str, dst: str, within: set[str]) -> list[str]:
    """Breadth-first shortest path ``src`` -> ``dst`` using only modules in ``within``."""
    prev: dict[str, str | None] = {src: None}
    queue = deque([src])
    while queue:
        v = queue.popleft()
        if v == dst:
            path = [v]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            return path[::-1]
        for w in sorted(adj.get(v, ())):
            if w in within and w not in prev:
                prev[w] = v
                queue.append(w)
    raise AssertionError(f"{dst} is not reachable from {src} inside its component")


def find_cycles(packages: Sequence[str] = ROOT_PACKAGES) -> list[Cycle]:
    """Every import cycle among the modules of ``packages`` (empty when the graph is acyclic)."""
    adj, graph = import_graph(packages)
    cycles = []
    for comp in strongly_connected(adj):
        members = set(comp)
        if len(comp) == 1 and comp[0] not in adj[comp[0]]:
            continue
        imports = []
        for a in comp:
            for b in sorted(adj[a] & members):
                closing = _shortest_path(adj, b, a, members)  # b ... a, then a -> b closes it
                for d in graph.get_import_details(importer=a, imported=b) or [{"line_number": 0, "line_contents": "?"}]:
                    imports.append((Import(a, b, d["line_number"], d["line_contents"]), (a, *closing)))
        cycles.append(Cycle(tuple(comp), tuple(imports)))
    return cycles


def report(cycles: Sequence[Cycle]) -> list[str]:
    lines = []
    for c in cycles:
        lines.append(f"import cycle among {len(c.modules)} module(s): {', '.join(c.modules)}")
        for imp, path in c.imports:
            lines.append(f"  {imp}")
            lines.append(f"      closes {' -> '.join(path)}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    packages = tuple(sys.argv[1:] if argv is None else argv) or ROOT_PACKAGES
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # this checkout's packages, not an installed copy
    cycles = find_cycles(packages)
    for line in report(cycles):
        print(line)
    if cycles:
        print(f"check_cycles: {len(cycles)} import cycle(s) in {', '.join(packages)}", file=sys.stderr)
        return 1
    print(f"check_cycles: no import cycle among the modules of {', '.join(packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
