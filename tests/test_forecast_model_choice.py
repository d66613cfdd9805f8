"""``model: auto``'s record of the choice: holdout CRPS and 80 % / 95 % coverage of every
candidate and of the model used, in the fit diagnostics (→ summary.json) and the report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spm_models.forecast import rep_month


def test_holdout_scores_known_coverage():
    draws = np.broadcast_to(np.arange(100.0), (1, 3, 100)).copy()  # q10 = 9.9, q90 = 89.1, q025 = 2.475
    y = np.array([[50.0, 5.0, 99.5]])  # inside both / only the 95 % interval / outside both
    s = rep_month.holdout_scores(y, draws, np.ones((1, 3), bool), np.ones(1))
    assert s["coverage_80"] == 1 / 3
    assert s["coverage_95"] == 2 / 3
    masked = rep_month.holdout_scores(y, draws, np.array([[True, False, False]]), np.ones(1))
    assert masked["coverage_80"] == masked["coverage_95"] == 1.0
    assert s["crps"] > masked["crps"] > 0


def _panel(R=5, T=30, seed=0):
    from spm_models.forecast import monthly_panel

    rng = np.random.default_rng(seed)
    periods = pd.period_range("2023-01", periods=T, freq="M")
    rows = [(f"r{r}", str(periods[t].to_timestamp().date()), 100.0 * (r + 1) + rng.normal(0, 10))
            for r in range(R) for t in range(T)]
    reps = pd.DataFrame({"rep_id": [f"r{r}" for r in range(R)], "region": "all",
                         "territory_id": [f"t{r}" for r in range(R)], "hire_date": "2023-01-01"})
    return monthly_panel({"bookings": pd.DataFrame(rows, columns=["rep_id", "date", "amount"]), "reps": reps})


def test_select_scores_every_candidate_and_the_choice():
    panel = _panel()
    good_sd = 10.0

    def forecast_fn(name, train, periods, n, seed):
        reps = np.asarray(train["rep"].values)
        truth = np.asarray(panel["amount"].sel(rep=reps, period=periods).values, float)
        rng = np.random.default_rng(seed)
        centre = truth + good_sd * rng.standard_normal(truth.shape)  # calibrated: y - centre ~ N(0, sd)
        sd = good_sd if name == "good" else 200.0  # "wide": bands far too wide
        return centre[..., None] + sd * rng.standard_normal(truth.shape + (n,))

    sel = rep_month.select(panel, ["good", "wide"], 6, forecast_fn, seed=0)
    assert sel["weights"] == {"good": 1.0}
    assert sel["validation_coverage_80"]["wide"] == 1.0  # too wide: covers everything
    assert 0.6 < sel["validation_coverage_80"]["good"] < 0.95
    assert sel["validation_coverage_80_chosen"] == sel["validation_coverage_80"]["good"]
    assert sel["validation_crps_chosen"] == sel["validation_crps"]["good"] < sel["validation_crps"]["wide"]
    assert sel["validation_rep_months"] == 5 * 6
    # one candidate: still scored on the holdout months (the report shows its coverage)
    one = rep_month.select(panel, ["wide"], 6, forecast_fn, seed=0)
    assert one["weights"] == {"wide": 1.0} and one["validation_coverage_95_chosen"] == 1.0
    assert "only one applicable candidate" in one["reason"]


def test_validation_origins_tile_the_history_backwards():
    panel = _panel(T=60)
    wins = rep_month.validation_origins(panel, 12, 4)
    # 60 months: windows 48..59, 36..47, 24..35 (each with >= 24 training months before it); not 12..23
    assert [(w[1][0], w[1][-1], w[0].sizes["period"]) for w in wins] == [
        ("2027-01", "2027-12", 48), ("2026-01", "2026-12", 36), ("2025-01", "2025-12", 24)]
    assert len(rep_month.validation_origins(panel, 12, 1)) == 1
    assert len(rep_month.validation_origins(_panel(T=36), 12, 2)) == 1  # the earlier one would train on 12
    assert rep_month.validation_origins(_panel(T=10), 12, 2) == []


def test_select_scores_all_origins_together():
    panel = _panel(T=48)
    calls = []

    def forecast_fn(name, train, periods, n, seed):
        calls.append((name, periods[0]))
        reps = np.asarray(train["rep"].values)
        truth = np.asarray(panel["amount"].sel(rep=reps, period=periods).values, float)
        rng = np.random.default_rng(seed)
        # "late" is exact on the last window only, "steady" is off by 5 on both: one origin
        # prefers late, two origins (pooled cells) prefer steady
        off = 0.0 if name == "late" and periods[0] == "2026-01" else (5.0 if name == "steady" else 40.0)
        return truth[..., None] + off + rng.standard_normal(truth.shape + (n,))

    one = rep_month.select(panel, ["late", "steady"], 12, forecast_fn, seed=0, origins=1)
    assert one["weights"] == {"late": 1.0} and one["validation_origins"] == 1
    two = rep_month.select(panel, ["late", "steady"], 12, forecast_fn, seed=0, origins=2)
    assert two["validation_origins"] == 2 and two["validation_rep_months"] == 5 * 24
    assert two["validation_periods"] == ["2025-01", "2026-12"]
    assert max(two["weights"], key=two["weights"].get) == "steady"
    assert ("late", "2025-01") in calls and "1 earlier window(s), 2025-01..2025-12" in two["reason"]
    # more origins asked than the history holds: the record says so
    three = rep_month.select(panel, ["late", "steady"], 12, forecast_fn, seed=0, origins=3)
    assert three["validation_origins"] == 2 and three["validation_origins_requested"] == 3
    assert "3 origins asked, the history holds 2" in three["reason"]
    from spm_models.reporting import sections

    html = sections.model_choice({"model_selection": two, "model": "steady:1.0"}).data
    assert "at 2 rolling origins" in html and "2025-01..2026-12" in html


def test_fit_diagnostics_and_report_show_the_holdout_scores():
    from spm_models.forecast import BookingsForecast
    from spm_models.reporting import sections
    from spm_models.workflow.forecast_step import diagnostics_of

    m = BookingsForecast({"model": "dlm", "dlm_transform": "none"}).fit(_panel(), seed=0)
    diag = diagnostics_of(m)  # what summary.json's "diagnostics" holds
    sel = diag["model_selection"]
    # both rep-month families on the standardised scale are candidates; the mixture uses them only
    assert sel["candidates"] == ["dlm:none", "ssoe:none", "dlm:none:drift", "ssoe:none:drift"]
    assert {c.rsplit(":", 1)[0] for c in diag["model"].split("+")} <= set(sel["candidates"])
    assert diag["holdout_coverage_80"] == sel["validation_coverage_80_chosen"]
    assert diag["holdout_coverage_95"] == sel["validation_coverage_95_chosen"]
    assert diag["holdout_crps"] == sel["validation_crps_chosen"] > 0
    assert "MAP-Laplace" in sel["validation_fit"]
    html = sections.model_choice(diag).data
    assert "dlm:none" in html and "model used" in html
    # a legend of the name parts present: the drift candidates are explained, the deal model not
    assert "drift = each rep" in html and "ssoe = " in html and "deals = " not in html
    assert f"{diag['holdout_coverage_80']:.0%}" in html and f"{diag['holdout_coverage_95']:.0%}" in html
    table = sections.diagnostics(diag).data
    assert "holdout 80 % coverage" in table
    assert "no model-selection record" in sections.model_choice({"model": "deals:1.0"}).data
