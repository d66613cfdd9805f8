"""Read a data source: a DuckDB file, a SQLAlchemy URL, or a folder of CSV/Parquet/Excel files.

:func:`load_source` returns validated, typed tables and raises :class:`InputError` listing every
problem; :func:`validate_source` returns the problem lines instead. Tables outside the contract
(e.g. the demo's ``truth``) are read and returned unchecked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spm_models.data.csvfile import ROW_INDEX, read_csv
from spm_models.data.dates import DATE_FORMATS, parse_date_format
from spm_models.data.notes import Tables, print_warnings, skipped_files
from spm_models.data.schemas import SCHEMAS
from spm_models.data.validate import validate_tables
from spm_models.errors import InputError, UsageError

DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")
FILE_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx", ".xlsm")
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Settings file of a folder (or of the files beside it): ``date_format: DD/MM/YYYY``.
SETTINGS_FILE = "source.yaml"
_SETTINGS_KEYS = ("date_format",)

Raw = tuple[dict[str, pd.DataFrame], dict[str, str], list[str]]


def _read_file(path: Path, problems: list[str]) -> dict[str, tuple[pd.DataFrame, str]]:
    """Tables held by one file: ``{table: (frame, label)}`` (file-level problems appended)."""
    suffix = path.suffix.lower()
    stem = path.stem.strip().lower()
    if suffix == ".csv":
        # contract tables as text (every bad cell can be quoted) with spreadsheet row numbers;
        # other tables typed by pandas
        if stem not in SCHEMAS:
            return {stem: (pd.read_csv(path, encoding="utf-8-sig"), path.name)}
        df, found = read_csv(path, path.name)
        problems.extend(found)
        return {} if df is None else {stem: (df, path.name)}
    if suffix in (".parquet", ".pq"):
        return {stem: (pd.read_parquet(path), path.name)}
    # Excel: a workbook named after a table holds it in its first sheet; any other workbook
    # contributes the sheets named after contract tables.
    sheets = pd.read_excel(path, sheet_name=None, dtype=object)
    if stem in SCHEMAS or not any(s.strip().lower() in SCHEMAS for s in sheets):
        first = next(iter(sheets))
        return {stem: (_sheet_rows(sheets[first], stem), path.name)}
    return {s.strip().lower(): (_sheet_rows(df, s.strip().lower()), f"{path.name}[{s}]")
            for s, df in sheets.items() if s.strip().lower() in SCHEMAS}


def _sheet_rows(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """A contract table's sheet as the CSV reader gives it: index = spreadsheet row numbers
    (1 = the row below the header), rows whose cells are all empty dropped."""
    if name not in SCHEMAS:
        return df
    rows = pd.Index(np.arange(1, len(df) + 1, dtype=np.int64), name=ROW_INDEX)
    df = df.set_axis(rows)
    if df.shape[1] == 0 or len(df) == 0:
        return df
    blank = df.apply(lambda c: c.isna() | c.map(lambda v: isinstance(v, str) and not v.strip())
                     ).all(axis=1)
    return df[~blank.to_numpy()] if blank.any() else df


#: Prefix of a line of ``read_source``'s problems that is a warning, not a problem
WARNING = "warning: "


def _is_extra(path: Path) -> bool:
    """A file that holds no contract table (by its name; a workbook by its file name only)."""
    return path.stem.strip().lower() not in SCHEMAS and path.suffix.lower() in (".csv", ".parquet", ".pq")


def _read_files(files: list[Path], where: str) -> Raw:
    tables: dict[str, pd.DataFrame] = {}
    labels: dict[str, str] = {}
    problems: list[str] = []
    for path in files:
        try:
            found = _read_file(path, problems)
        except pd.errors.EmptyDataError:
            problems.append(f"{path.name}, header row: file is empty (no header row)")
            continue
        except Exception as exc:  # noqa: BLE001 - any unreadable file is an input problem
            why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            if _is_extra(path):  # extra tables never break validation: skipped, with a warning
                problems.append(f"{WARNING}{path.name}: cannot read file ({why}); not a contract "
                                "table, skipped")
            else:
                problems.append(f"{path.name}: cannot read file ({why})")
            continue
        for name, (df, label) in found.items():
            if name in tables:
                problems.append(f"{label}: table '{name}' is also defined by {labels[name]}")
                continue
            tables[name] = df
            labels[name] = label
    if not files:
        problems.append(f"{where}: folder holds no CSV, Parquet or Excel files")
    return tables, labels, problems


def _read_folder(path: Path) -> Raw:
    files = sorted(p for p in path.iterdir()
                   if p.is_file() and not p.name.startswith((".", "~$"))
                   and p.suffix.lower() in FILE_SUFFIXES)
    return _read_files(files, str(path))


def _read_duckdb(path: Path) -> Raw:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except Exception as exc:  # noqa: BLE001
        return {}, {}, [f"{path}: cannot open DuckDB file ({str(exc).splitlines()[0]})"]
    try:
        con.execute("SET enable_progress_bar = false")
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' ORDER BY table_name").fetchall()]
        # via Arrow: repeated strings (ids, stages) are de-duplicated -> far less memory
        tables = {n.lower(): con.sql(f'SELECT * FROM "{n}"').to_arrow_table().to_pandas(
            date_as_object=False) for n in names}
    finally:
        con.close()
    return tables, {n: n for n in tables}, []


def _read_sql(url: str) -> Raw:
    import sqlalchemy as sa

    try:
        shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return {}, {}, [f"{url}: not a valid SQLAlchemy URL"]
    if shown.startswith("duckdb:///"):
        return _read_duckdb(Path(shown.removeprefix("duckdb:///")))
    missing = _missing_sqlite_file(url)
    if missing:  # connecting would create an empty database file
        return {}, {}, [f"{shown}: no such SQLite database file"]
    engine = None
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            tables = {n.lower(): pd.read_sql_table(n, conn) for n in names}
    except Exception as exc:  # noqa: BLE001 - any connection/driver failure is an input problem
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {}, {}, [f"{shown}: cannot read database ({first})"]
    finally:
        if engine is not None:
            engine.dispose()
    return tables, {n: n for n in tables}, []


def _missing_sqlite_file(url: str) -> str | None:
    """The file named by a ``sqlite`` URL when it does not exist (None otherwise)."""
    import sqlalchemy as sa

    u = sa.engine.make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    db = u.database or ""
    if db.startswith("file:"):  # a URI filename (``?uri=true``)
        if "mode=memory" in db:
            return None
        db = db.removeprefix("file:").split("?")[0]
    if db in ("", ":memory:"):
        return None
    return None if Path(db).expanduser().exists() else db


def source_settings(source: str | Path) -> tuple[dict[str, object], list[str]]:
    """Settings of a folder or file source from ``source.yaml`` in the folder (or beside the
    file): ``{"date_format": "DMY" | "MDY"}``; problem lines for a bad settings file."""
    text = str(source)
    if "://" in text:
        return {}, []
    path = Path(text).expanduser()
    folder = path if path.is_dir() else path.parent
    file = folder / SETTINGS_FILE
    if not file.is_file():
        return {}, []
    from spm_models.yaml_input import read_yaml

    try:
        raw = read_yaml(file, "source settings")
    except InputError as exc:
        return {}, exc.problems
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [f"{file}: expected a mapping such as 'date_format: DD/MM/YYYY'"]
    problems = [f"{file}, key '{k}': unknown setting (known: {', '.join(_SETTINGS_KEYS)})"
                for k in raw if k not in _SETTINGS_KEYS]
    settings: dict[str, object] = {}
    if "date_format" in raw:
        order = parse_date_format(raw["date_format"])
        if order is None:
            problems.append(f"{file}, key 'date_format': not one of {', '.join(DATE_FORMATS)}")
        settings["date_format"] = order
    return settings, problems


def read_source(source: str | Path) -> Raw:
    """Read the raw tables of a source without validating them.

    Returns
    -------
    (tables, labels, problems)
        ``labels`` names each table as problem lines do (``bookings.csv`` or ``bookings``);
        ``problems`` lists source-level problems (unknown source, unreadable file, ...);
        lines starting with :data:`WARNING` are warnings (an unreadable extra table, skipped).
    """
    text = str(source)
    if "://" in text:
        return _read_sql(text)
    path = Path(text).expanduser()
    if path.is_dir():
        return _read_folder(path)
    if not path.exists():
        return {}, {}, [f"{text}: no such file, folder or database URL"]
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head == _SQLITE_MAGIC:
        return _read_sql(f"sqlite:///{path.resolve()}")
    if path.suffix.lower() in DUCKDB_SUFFIXES:
        return _read_duckdb(path)
    if path.suffix.lower() in FILE_SUFFIXES:
        return _read_files([path], text)
    kinds = "/".join(DUCKDB_SUFFIXES)
    msg = (f"{text}: unknown kind of source (expected a DuckDB file {kinds}, a folder "
           "of CSV/Parquet/Excel files, or a SQLAlchemy URL)")
    return {}, {}, [msg]


def _load(source: str | Path, date_format: str | None) -> tuple[Tables, list[str]]:
    settings, problems = source_settings(source)
    if date_format is not None:  # the option overrides source.yaml's date_format, even a bad one
        problems = [p for p in problems if "key 'date_format'" not in p]
        order = parse_date_format(date_format)
        if order is None:
            raise UsageError(f"--date-format {date_format!r}: not one of "
                             f"{', '.join(DATE_FORMATS)}")
        settings["date_format"] = order
    tables, labels, found = read_source(source)
    skipped = [p[len(WARNING):] for p in found if p.startswith(WARNING)]
    problems += [p for p in found if not p.startswith(WARNING)]
    if not problems and tables and not any(n in SCHEMAS for n in tables):
        hint = ""
        path = Path(str(source)).expanduser()
        if "://" not in str(source) and path.is_file() and path.suffix.lower() in FILE_SUFFIXES:
            # a single file is read as the table its name says (docs/data.md, Sources)
            hint = (f": a single file is read as the table named after it; name it after its "
                    f"table, e.g. bookings{path.suffix.lower()}")
        problems.append(f"{source}: holds none of the tables {', '.join(SCHEMAS)}{hint}")
    order = settings.get("date_format")
    typed, found = validate_tables(tables, labels, order if isinstance(order, str) else None)
    # repeated rows are judged on typed values: not while the bookings have problems (every
    # unparsed date is NaT, so rows differing only in an undecided date would look repeated)
    label = labels.get("bookings", "bookings")
    clean = not any(p.startswith(label) for p in problems + found)
    return Tables(typed, skipped + _warnings(source, tables, typed, labels, clean)), problems + found


def _warnings(source: str | Path, raw: dict[str, pd.DataFrame], typed: dict[str, pd.DataFrame],
              labels: dict[str, str], bookings_clean: bool = True) -> list[str]:
    """Warning lines of a source (:mod:`spm_models.data.notes`): files of a folder that were
    not used, booking rows that repeat an earlier row (named by their spreadsheet rows), booking
    rows dated before their rep's hire month."""
    from spm_models.data.duplicates import repeated_bookings
    from spm_models.data.notes import bookings_before_hire

    text = str(source)
    out = []
    if "://" not in text and Path(text).expanduser().is_dir():
        out += skipped_files(Path(text).expanduser(), FILE_SUFFIXES, set(SCHEMAS))
    if (bookings_clean and "bookings" in typed and "bookings" in raw
            and len(typed["bookings"]) == len(raw["bookings"])):
        bookings = typed["bookings"].set_axis(raw["bookings"].index)
        out += repeated_bookings(bookings, labels.get("bookings", "bookings"))
        if "reps" in typed:
            out += bookings_before_hire(bookings, typed["reps"], labels.get("bookings", "bookings"),
                                        labels.get("reps", "reps"))
    return out


def validate_source(source: str | Path, date_format: str | None = None) -> list[str]:
    """Problem lines for ``source`` (empty when it is valid); ``date_format`` as for
    :func:`load_source`."""
    return _load(source, date_format)[1]


def load_source(source: str | Path, date_format: str | None = None, warn: bool = True
                ) -> dict[str, pd.DataFrame]:
    """Read, validate and type a data source.

    Parameters
    ----------
    source
        A DuckDB file (``.duckdb``/``.db``), a SQLAlchemy URL (``sqlite:///x.db``), or a folder
        of CSV/Parquet/Excel files (table name = file stem).
    date_format
        ``"DD/MM/YYYY"`` or ``"MM/DD/YYYY"``: the order of numeric dates such as
        ``03/04/2026`` in columns that cannot decide it themselves; overrides ``date_format``
        of a ``source.yaml`` beside the files. ``None``: such columns are reported.
    warn
        Print the source's warnings (repeated booking rows, files of the folder not used) on
        stderr, each once per process, as ``warning: ...``.

    Returns
    -------
    Tables (a dict of DataFrame)
        Contract tables typed (dates ``datetime64[ns]``, ``period`` ``'YYYY-MM'`` strings, ids
        strings, numbers ``float64``); other tables unchanged. Its warning lines:
        :func:`spm_models.data.data_warnings` (``tables.warnings``).

    Raises
    ------
    InputError
        Listing every problem, one line each, naming table, row and column.
    """
    typed, problems = _load(source, date_format)
    if warn:
        print_warnings(typed.warnings)
    if problems:
        raise InputError(problems)
    return typed
