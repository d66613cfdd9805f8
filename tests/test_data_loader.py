"""Loading sources: DuckDB, SQLAlchemy URL (sqlite), CSV, Parquet and Excel folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spm_models.data import load_source, validate_source, write_source
from spm_models.errors import InputError

CONTRACT = ("reps", "bookings", "quotas", "accounts", "opportunities")


def _small(demo_tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A consistent subset: the first 5 AEs with their rows."""
    reps = demo_tables["reps"]
    keep = set(reps.loc[reps["role"] == "AE", "rep_id"].iloc[:5])
    out = {"reps": reps[reps["rep_id"].isin(keep)].assign(manager_id=None)}
    for name in ("bookings", "quotas", "opportunities"):
        df = demo_tables[name]
        out[name] = df[df["rep_id"].isin(keep)].head(40).reset_index(drop=True)
    acc = demo_tables["accounts"]
    used = set(out["bookings"]["account_id"]) | set(out["opportunities"]["account_id"])
    out["accounts"] = acc[acc["account_id"].isin(used)].assign(
        rep_id=lambda d: d["rep_id"].where(d["rep_id"].isin(keep), None))
    return out


def _check_types(tables: dict[str, pd.DataFrame]) -> None:
    assert tables["bookings"]["date"].dtype == "datetime64[ns]"
    assert tables["reps"]["hire_date"].dtype == "datetime64[ns]"
    assert tables["opportunities"]["close_date"].dtype == "datetime64[ns]"
    assert tables["quotas"]["period"].map(type).eq(str).all()
    assert tables["quotas"]["period"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert tables["bookings"]["rep_id"].map(type).eq(str).all()
    assert tables["accounts"]["account_id"].map(type).eq(str).all()
    assert tables["bookings"]["amount"].dtype == np.float64
    assert tables["accounts"]["zip"].str.fullmatch(r"\d{5}").all()


def _same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in CONTRACT:
        x, y = a[name], b[name]
        assert len(x) == len(y), name
        for col in ("rep_id", "amount", "date", "period", "quota", "potential", "status", "zip"):
            if col in x.columns:
                pd.testing.assert_series_equal(x[col].reset_index(drop=True),
                                               y[col].reset_index(drop=True),
                                               check_dtype=False, check_names=False)


def test_duckdb_roundtrip_keeps_all_tables(small_demo_source, demo_tables):
    tables = load_source(small_demo_source)
    assert set(demo_tables) <= set(tables)  # truth etc. are kept
    _check_types(tables)
    _same(tables, demo_tables)
    assert "name" in tables["reps"].columns  # extra columns are kept
    truth = dict(zip(tables["truth"]["parameter"], tables["truth"]["value"], strict=True))
    assert truth["deal_median"] == 18000


def test_csv_and_parquet_folders_load_the_same(demo_tables, tmp_path):
    small = _small(demo_tables)
    csv = write_source(small, tmp_path / "csv")
    pq = write_source(small, tmp_path / "pq", fmt="parquet")
    a, b = load_source(csv), load_source(pq)
    _check_types(a)
    _check_types(b)
    _same(a, b)
    _same(a, small)


def test_csv_folder_keeps_truth_numeric(demo_tables, tmp_path):
    out = write_source({"truth": demo_tables["truth"], "reps": demo_tables["reps"]},
                       tmp_path / "d")
    t = load_source(out)
    truth = dict(zip(t["truth"]["parameter"], t["truth"]["value"], strict=True))
    assert truth["deal_median"] == 18000.0 and truth["trend"] == pytest.approx(0.08)


def test_sqlalchemy_sqlite_url(demo_tables, tmp_path):
    import sqlalchemy as sa

    small = _small(demo_tables)
    db = tmp_path / "sales.sqlite"
    engine = sa.create_engine(f"sqlite:///{db}")
    for name, df in small.items():
        df.to_sql(name, engine, index=False)
    engine.dispose()
    tables = load_source(f"sqlite:///{db}")
    _check_types(tables)
    _same(tables, small)
    # a sqlite file passed as a path (.db) is recognised too
    dbfile = tmp_path / "sales.db"
    dbfile.write_bytes(db.read_bytes())
    _same(load_source(dbfile), small)


def test_excel_files_and_workbook(demo_tables, tmp_path):
    small = _small(demo_tables)
    folder = tmp_path / "xl"
    folder.mkdir()
    for name, df in small.items():
        df.to_excel(folder / f"{name}.xlsx", index=False)
    tables = load_source(folder)
    _check_types(tables)
    _same(tables, small)
    # one workbook with a sheet per table
    book = tmp_path / "book"
    book.mkdir()
    with pd.ExcelWriter(book / "sales.xlsx") as xw:
        for name, df in small.items():
            df.to_excel(xw, sheet_name=name, index=False)
    _same(load_source(book), small)


def test_excel_errors_name_the_sheet(tmp_path):
    with pd.ExcelWriter(tmp_path / "data.xlsx") as xw:
        pd.DataFrame({"rep_id": ["R1"], "date": ["2024-01-01"], "amount": ["abc"]}).to_excel(
            xw, sheet_name="bookings", index=False)
    assert validate_source(tmp_path) == [
        "data.xlsx[bookings], row 1, column 'amount': not a number ('abc')"]


def test_duckdb_errors_name_the_table(tmp_path):
    df = pd.DataFrame({"rep_id": ["R1", "R2"], "period": ["2024-01", "2024-13"],
                       "quota": [1.0, -2.0]})
    path = write_source({"quotas": df}, tmp_path / "q.duckdb")
    with pytest.raises(InputError) as err:
        load_source(path)
    assert err.value.problems == [
        "quotas, row 2, column 'period': not a month 'YYYY-MM' ('2024-13')",
        "quotas, row 2, column 'quota': negative quota (-2)",
    ]


def test_bad_url_and_bad_duckdb(tmp_path):
    # a sqlite URL to a missing file is an error, and the file is not created (issue 12.15)
    for target in (tmp_path / "nope" / "x.db", tmp_path / "missing.db"):
        assert validate_source(f"sqlite:///{target}") == [
            f"sqlite:///{target}: no such SQLite database file"]
        assert not target.exists()
    bad = tmp_path / "x.duckdb"
    bad.write_text("not a database")
    assert "cannot open DuckDB file" in validate_source(bad)[0]


def test_excel_dates_and_numeric_ids(tmp_path):
    """Typed cells (Excel dates, integer ids, numeric zips) are accepted and normalised."""
    reps = pd.DataFrame({"rep_id": [101, 102], "region": ["W", "E"], "territory_id": [1, 2],
                         "hire_date": pd.to_datetime(["2023-01-05", "2024-03-01"])})
    acc = pd.DataFrame({"account_id": [1, 2], "zip": [2134, 10001], "potential": [1e5, 2e5],
                        "rep_id": [101, None]})
    reps.to_excel(tmp_path / "reps.xlsx", index=False)
    acc.to_excel(tmp_path / "accounts.xlsx", index=False)
    t = load_source(tmp_path)
    assert t["reps"]["rep_id"].tolist() == ["101", "102"]
    assert t["accounts"]["zip"].tolist() == ["02134", "10001"]
    assert t["accounts"]["rep_id"].tolist()[0] == "101"
    assert t["reps"]["hire_date"].iloc[1] == pd.Timestamp("2024-03-01")


def test_write_is_atomic_on_failure(tmp_path, monkeypatch):
    """A failing write leaves neither a partial target nor temp files."""
    import spm_models.data.write as w

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(w, "_to_arrow", boom)
    with pytest.raises(RuntimeError):
        write_source({"reps": pd.DataFrame({"a": [1]})}, tmp_path / "x.duckdb")
    with pytest.raises(RuntimeError):
        write_source({"reps": pd.DataFrame({"a": [1]})}, tmp_path / "folder")
    assert list(tmp_path.iterdir()) == []


def test_source_path_as_string_and_path(small_demo_source):
    assert validate_source(str(small_demo_source)) == []
    assert validate_source(Path(small_demo_source)) == []
