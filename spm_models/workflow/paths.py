"""Where a scenario run reads and writes: the workbench folder, the demo data, the cache.

The *workbench* is the folder holding ``scenarios/``, ``plans/`` and ``notebooks/`` (``spm init``
creates one). It is, in this order: the ``workbench`` argument, ``$SPM_WORKBENCH``, or the
current directory. Nothing walks up the directory tree. Relative defaults resolve against it:

``data/demo.duckdb``  what ``data: demo`` means (``$SPM_DEMO_DATA`` overrides it)
``.spm_cache/``       the one keyed on-disk cache (``$SPM_CACHE_DIR`` overrides it)
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from spm_models.scenario import Scenario

#: Where 'data: demo' lives inside a workbench (the Makefile writes it with ``spm data demo``).
DEMO_DATA = Path("data/demo.duckdb")
#: The keyed on-disk cache inside a workbench.
CACHE_DIR = Path(".spm_cache")
WORKBENCH_ENV = "SPM_WORKBENCH"


def workbench_dir(workbench: str | Path | None = None) -> Path:
    """The workbench folder: ``workbench``, else ``$SPM_WORKBENCH``, else the current directory
    (absolute)."""
    if workbench is not None:
        return Path(workbench).resolve()
    env = os.environ.get(WORKBENCH_ENV)
    return Path(env).resolve() if env else Path.cwd()


def cache_dir(workbench: str | Path | None = None) -> Path:
    """The cache folder: ``$SPM_CACHE_DIR``, else ``<workbench>/.spm_cache``."""
    env = os.environ.get("SPM_CACHE_DIR")
    return Path(env) if env else workbench_dir(workbench) / CACHE_DIR


def demo_path(workbench: str | Path | None = None) -> Path:
    """Where ``data: demo`` resolves to: ``$SPM_DEMO_DATA``, else ``<workbench>/data/demo.duckdb``."""
    env = os.environ.get("SPM_DEMO_DATA")
    return Path(env) if env else workbench_dir(workbench) / DEMO_DATA


def write_demo(out: str | Path, n_reps: int = 200, years: int = 3, seed: int = 0) -> Path:
    """Write a demo organisation (``spm_models.data.demo.make_demo``) to ``out`` (a ``.duckdb``
    file or a folder)."""
    from spm_models.data import write_source
    from spm_models.data.demo import make_demo

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_source(make_demo(n_reps=n_reps, years=years, seed=seed), out)
    return out


def resolve_data(scenario: Scenario, workbench: str | Path | None = None) -> str:
    """The data source of ``scenario``; ``demo`` becomes the workbench's demo DuckDB file
    (written if missing)."""
    if scenario.data != "demo":
        return scenario.data
    path = demo_path(workbench)
    if not path.exists():
        write_demo(path)
    return str(path)


def load_tables(source: str) -> dict[str, pd.DataFrame]:
    """Validated tables of ``source`` (``spm_models.data.load_source``); raises
    :class:`~spm_models.errors.InputError` naming table, row and column on bad input."""
    from spm_models.data import load_source

    return load_source(source)

