"""Provenance: stable hashes of scenarios, plans and data, and the provenance record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from spm_models import __version__


def hash_obj(obj: Any) -> str:
    """SHA-256 (first 16 hex chars) of a JSON-serialisable object, keys sorted."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def hash_file(path: str | Path) -> str:
    """SHA-256 (first 16 hex chars) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def hash_frames(tables: Mapping[str, pd.DataFrame]) -> str:
    """Content hash of a set of tables, independent of storage format (DuckDB, CSV, ...)."""
    h = hashlib.sha256()
    for name in sorted(tables):
        df = tables[name]
        h.update(name.encode())
        h.update(",".join(map(str, df.columns)).encode())
        h.update(pd.util.hash_pandas_object(df.astype(str), index=False).values.tobytes())
    return h.hexdigest()[:16]


def provenance(
    *, scenario_hash: str = "", data_hash: str = "", seed: int | None = None, **extra: Any
) -> dict[str, Any]:
    """The provenance record carried by cubes and reports."""
    rec: dict[str, Any] = {
        "package": "spm-workbench",
        "package_version": __version__,
        "scenario_hash": scenario_hash,
        "data_hash": data_hash,
        "seed": seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    rec.update(extra)
    return rec
