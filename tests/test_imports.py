"""The rooms: no import circle anywhere in mapper/ or api/ (the import graph built with `ast`).

Every import counts, also those inside functions: a lazy import that closes a circle is still a
circle in the design, only hidden from the interpreter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mapper", "api")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (a module, or the package it comes from)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> nx.DiGraph:
    """module -> module it imports, for every import statement of the project's sources."""
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from pkg import mod` imports the submodule; `from pkg import name`, pkg
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                found = _resolve(target, modules)
                if found and found != name:
                    graph.add_edge(name, found)
    return graph


def test_the_import_graph_is_built_from_the_sources() -> None:
    graph = import_graph()
    assert graph.has_edge("mapper.rules.assessment", "mapper.questions.queries")
    assert graph.has_edge("api.routes.validation", "mapper.rules.assessment")
    assert graph.number_of_nodes() > 50


def test_no_import_circle() -> None:
    circles = sorted(nx.simple_cycles(import_graph()), key=lambda c: (len(c), c))
    shown = "; ".join(" -> ".join(c + [c[0]]) for c in circles[:10])
    assert not circles, f"{len(circles)} import circle(s): {shown}"
