"""The import graph: areas never import the workflow, the CLI or the reporting layer, and
there are no cycles between the packages of spm_models; no module is overly long."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "spm_models"
AREAS = ("data", "forecast", "comp", "planning")
#: modules allowed above ~500 lines: each holds one algorithm
LONG_OK = {"forecast/backtest.py", "planning/territory.py", "data/demo.py"}


def _unit(path: Path) -> str:
    """The package (or top-level module) a file belongs to: 'comp', 'cube', ..."""
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imports(module_level: bool = False) -> dict[str, set[str]]:
    """Package -> packages it imports (``module_level``: only imports run at import time)."""
    graph: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        src = _unit(path)
        tree = ast.parse(path.read_text())
        for node in (tree.body if module_level else ast.walk(tree)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if isinstance(node, ast.ImportFrom) and node.module == "spm_models":
                names = [f"spm_models.{a.name}" for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "spm_models" and len(parts) > 1 and parts[1] != src:
                    graph.setdefault(src, set()).add(parts[1])
    return graph


def test_areas_never_import_the_workflow_cli_or_reporting():
    graph = _imports()
    bad = {a: sorted(graph.get(a, set()) & {"workflow", "cli", "reporting", "widgets",
                                             "distribution"}) for a in AREAS}
    assert not any(bad.values()), bad


def test_no_import_cycles_between_packages():
    """No cycle among the imports a package runs when it is imported (function-level imports
    of a command or a check may reach across, e.g. the scenario's cron check)."""
    graph = _imports(module_level=True)
    graph.pop("__init__", None)  # the package root re-exports the one-screen API lazily
    graph = {k: {v for v in vs if v != "__init__"} for k, vs in graph.items()}
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                raise AssertionError(f"import cycle: {' -> '.join([*stack, node, nxt])}")
            if nxt not in seen:
                visit(nxt, [*stack, node])
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node, [])


def test_modules_stay_small():
    long = {p.relative_to(PKG).as_posix(): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 520}
    assert set(long) <= LONG_OK, long


def test_deprecations_reached_from_spm_models_are_errors():
    """pyproject's filterwarnings: a DeprecationWarning attributed to spm_models fails a test."""
    import warnings

    import pytest

    from spm_models import figures

    with pytest.raises(DeprecationWarning):
        warnings.warn_explicit("old API", DeprecationWarning, filename=figures.__file__,
                               lineno=1, module="spm_models.figures")
    with pytest.warns(DeprecationWarning):  # a third-party module's own warning is reported
        warnings.warn_explicit("old API", DeprecationWarning, filename="x.py", lineno=1,
                               module="somelib.internal")
