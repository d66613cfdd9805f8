"""Reading the comp input files (credits, quotas, reps, bookings, splits, payouts) as text
tables with spreadsheet row numbers: :func:`read_table` (the shared reader,
:mod:`spm_models.data.csvfile`), :func:`read_large_table` (pyarrow for clean large files) and
the ``date_format`` of a ``source.yaml`` beside a file. Header names and ids are matched by
:mod:`spm_models.data.columns` where the tables are checked (:mod:`spm_models.comp.calc`,
:mod:`spm_models.comp.crediting`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spm_models.data.csvfile import ROW_INDEX, read_csv
from spm_models.errors import InputError


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV with every field as text (validation parses them); the index holds the
    spreadsheet row numbers (:mod:`spm_models.data.csvfile`). Raises :class:`InputError`."""
    path = Path(path)
    try:
        df, problems = read_csv(path, str(path))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    if df is None or problems:
        raise InputError(problems)
    return df


def read_large_table(path: str | Path) -> pd.DataFrame:
    """:func:`read_table` for large files (bookings, splits): a clean file (one record per
    line, every row as wide as the header, no blank or footer rows, UTF-8, comma separated)
    is read by pyarrow's multi-threaded CSV reader into text columns (``pd.ArrowDtype``
    strings, ``""`` where empty) with the same spreadsheet row numbers; anything else goes
    to :func:`read_table`, which words the problems. Raises :class:`InputError`.
    Source: https://arrow.apache.org/docs/python/csv.html"""
    import csv

    path = Path(path)
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pcsv

        with open(path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader([fh.readline()]))
        if len(header) < 2 or len({h.strip().lower() for h in header}) != len(header) or \
                header[0].startswith("\ufeff"):
            return read_table(path)
        table = pcsv.read_csv(
            path,
            parse_options=pcsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types={c: pa.string() for c in header}, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
        if table.num_rows == 0 or table.column_names != header or bool(pc.any(pc.equal(
                pc.utf8_trim_whitespace(table.column(1)), "")).as_py()):
            return read_table(path)  # blank rows, footers, empty cells: the careful reader
    except (ImportError, OSError, UnicodeDecodeError, StopIteration, csv.Error, ValueError):
        return read_table(path)  # (pyarrow.ArrowInvalid is a ValueError)
    # as pandas' skipinitialspace: spaces after a comma are not part of the cell
    table = pa.table([pc.utf8_ltrim(col, characters=" ") for col in table.columns],
                     names=[c.lstrip(" ") for c in header])
    df = table.to_pandas(types_mapper=pd.ArrowDtype)
    df.index = pd.Index(np.arange(1, len(df) + 1, dtype=np.int64), name=ROW_INDEX)
    return df


def _date_format(path: str | Path) -> str | None:
    """``date_format`` of the ``source.yaml`` beside a CSV file (``"DMY"``/``"MDY"``)."""
    from spm_models.data.loader import source_settings

    settings, problems = source_settings(path)
    if problems:
        raise InputError(problems)
    order = settings.get("date_format")
    return order if isinstance(order, str) else None
