"""Data layer: the data contract's schemas, loaders, validation, writer and the demo org.

Public API::

    load_source(source) -> dict[str, DataFrame]     # validated and typed; raises InputError
    validate_source(source) -> list[str]            # problem lines, empty when valid
    data_warnings(tables) -> list[str]              # warnings of loaded tables (repeats, ...)
    validate_tables(tables, labels) -> (typed, problems)
    write_source(tables, out, fmt="csv") -> Path    # DuckDB file or folder, atomic
    demo.make_demo(n_reps=200, years=3, seed=0) -> dict[str, DataFrame]
"""

from __future__ import annotations

from spm_models.data.loader import load_source, read_source, validate_source
from spm_models.data.notes import data_warnings
from spm_models.data.validate import validate_tables
from spm_models.data.write import write_source

__all__ = ["data_warnings", "load_source", "read_source", "validate_source", "validate_tables", "write_source"]
