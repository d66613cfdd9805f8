"""`spm forecast pipeline` end to end on a small demo with stage history (slow: NUTS fit)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spm_models.data.demo import make_demo
from spm_models.data.write import write_source

COLUMNS = ["level", "id", "quarter", "closed_to_date", "mean", "q05", "q10", "q25", "q50", "q75",
           "q90", "q95"]


def _run(args, capsys):
    from spm_models.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_pipeline_cli_contract(tmp_path: Path, capsys):
    t = make_demo(n_reps=40, years=2, seed=8)
    write_source(t, tmp_path / "src")
    code, _out, err = _run(["forecast", "pipeline", "--data", str(tmp_path / "src"), "--as-of",
                           "2026-08-20", "--out", str(tmp_path / "o"), "--n-draws", "300"], capsys)
    assert code == 0, err
    q = pd.read_csv(tmp_path / "o" / "quarter_forecast.csv")
    assert list(q.columns) == COLUMNS
    assert set(q["level"]) == {"company", "region", "rep"}
    assert (q["quarter"] == "2026-Q3").all()
    comp = q[q["level"] == "company"].iloc[0]
    b = t["bookings"]
    closed = b[(b["date"] >= "2026-07-01") & (b["date"] < "2026-08-20")]["amount"].sum()
    assert comp["closed_to_date"] == pytest.approx(closed, rel=1e-9)
    actual = b[(b["date"] >= "2026-07-01") & (b["date"] <= "2026-09-30")]["amount"].sum()
    assert comp["q05"] < actual < comp["q95"]
    assert np.all(np.diff(q[COLUMNS[5:]].to_numpy(), axis=1) >= -1e-6)
    notes = (tmp_path / "o" / "notes.txt").read_text()
    assert "open_pipeline" in notes and "not_yet_created" in notes
    k = pd.read_csv(tmp_path / "o" / "kpis.csv")
    assert {"level", "id", "period", "pipeline_created", "coverage", "win_rate", "avg_deal_size",
            "sales_cycle_days", "slip_rate", "lead_months"} <= set(k.columns)
    assert k["period"].max() == "2026-07"  # only months before the as-of month
    # a source without the stage history: bookings model only, with a note
    write_source({n: t[n] for n in ("reps", "bookings", "quotas", "opportunities")}, tmp_path / "nohist")
    code, _out, err = _run(["forecast", "pipeline", "--data", str(tmp_path / "nohist"), "--as-of",
                           "2026-08-20", "--out", str(tmp_path / "o2"), "--n-draws", "200"], capsys)
    assert code == 0, err
    notes = (tmp_path / "o2" / "notes.txt").read_text()
    assert "no opportunity_history" in notes and "bookings_model" in notes
    assert list(pd.read_csv(tmp_path / "o2" / "quarter_forecast.csv").columns) == COLUMNS
