"""Write tables to a DuckDB file or a folder of CSV/Parquet files, atomically.

Everything is written to a temporary path beside the target and renamed into place at the end,
so a failed or interrupted write never leaves a half-written source behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from spm_models.data.loader import DUCKDB_SUFFIXES, FILE_SUFFIXES
from spm_models.errors import InputError, UsageError


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    """Arrow table; datetime columns without a time of day become ``date32``."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    for i, name in enumerate(table.column_names):
        col = df[name]
        if pd.api.types.is_datetime64_any_dtype(col) and _midnight_only(col):
            table = table.set_column(i, name, table.column(i).cast(pa.date32()))
    return table


def _midnight_only(col: pd.Series) -> bool:
    """Whether every non-missing timestamp of ``col`` is at midnight (integer check on the
    nanoseconds of a naive column: no normalised copy of 13 M history rows)."""
    if getattr(col.dt, "tz", None) is not None:
        return bool((col.dropna() == col.dropna().dt.normalize()).all())
    ns = col.to_numpy(dtype="datetime64[ns]").view("i8")
    ok = ns % 86_400_000_000_000 == 0
    return bool(np.all(ok | (ns == np.iinfo(np.int64).min)))


def _tmp_beside(out: Path) -> Path:
    return out.parent / f".{out.name}.tmp-{os.getpid()}"


def _write_duckdb(tables: Mapping[str, pd.DataFrame], out: Path) -> None:
    import duckdb

    tmp = _tmp_beside(out)
    for p in (tmp, Path(f"{tmp}.wal")):
        p.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET enable_progress_bar = false")
            for name, df in tables.items():
                arrow = _to_arrow(df)  # noqa: F841 - referenced by name in SQL
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM arrow')
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, out)
    finally:
        for p in (tmp, Path(f"{tmp}.wal")):
            p.unlink(missing_ok=True)


def _write_folder(tables: Mapping[str, pd.DataFrame], out: Path, fmt: str) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if out.exists():
        if not out.is_dir():
            raise InputError(f"{out}: exists and is not a folder")
        other = [p.name for p in out.iterdir() if p.suffix.lower() not in FILE_SUFFIXES]
        if other:
            raise InputError(f"{out}: folder exists and holds other files ({', '.join(other[:3])})"
                             " - choose an empty or new folder")
    tmp = _tmp_beside(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, df in tables.items():
            table = _to_arrow(df)
            if fmt == "parquet":
                pq.write_table(table, tmp / f"{name}.parquet")
            else:
                pcsv.write_csv(table, tmp / f"{name}.csv",
                               pcsv.WriteOptions(quoting_style="needed"))
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_source(tables: Mapping[str, pd.DataFrame], out: str | Path, fmt: str = "csv") -> Path:
    """Write ``tables`` as a data source.

    Parameters
    ----------
    tables
        Tables by name (each becomes a DuckDB table or a file named after it).
    out
        A path ending ``.duckdb``/``.db``/``.ddb`` gives a DuckDB file; anything else a folder.
    fmt
        File format of a folder: ``csv`` (default) or ``parquet``.

    Returns
    -------
    Path
        The written source.
    """
    if fmt not in ("csv", "parquet"):
        raise UsageError(f"--format: unknown format '{fmt}' (expected csv or parquet)")
    path = Path(out).expanduser()
    if not path.parent.exists():
        raise InputError(f"{path}: parent folder {path.parent} does not exist")
    if path.suffix.lower() in DUCKDB_SUFFIXES:
        if path.is_dir():
            raise InputError(f"{path}: is a folder, expected a DuckDB file path")
        _write_duckdb(tables, path)
    else:
        _write_folder(tables, path, fmt)
    return path
