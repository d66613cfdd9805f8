"""Plan documents and adjustments on a tiny demo organisation through the real scenario run.

The fast (ADVI) forecast of a 20-rep demo organisation with a territory section; one rep's id is
made hostile (``../<script>``) in every table and every rep gets a hostile name. ``spm plan-docs``
writes one document per quota-holding rep and an index; each document's quota and expected
earnings equal the scenario cube's; an approved -20 % potential adjustment on a territory lowers
its reps' forecast P50 and the scenario revenue, a rejected one changes nothing.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from test_report_helpers import PLAN, private_tmp, scenario

from spm_models.cli import main

pytestmark = pytest.mark.slow  # one fast forecast fit of the tiny organisation (~1-2 min)

HOSTILE_ID = "../<script>x"
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def org():
    from spm_models import pipeline

    root = private_tmp("spm-distribution-")
    tables = pipeline._make_demo(n_reps=20, years=2, seed=5)
    booked = tables["bookings"].groupby("rep_id")["amount"].sum().sort_values()
    victim = str(booked.index[-1])
    for df in tables.values():
        for col in ("rep_id", "manager_id"):
            if col in df:
                df[col] = df[col].where(df[col].astype(str) != victim, HOSTILE_ID)
    tables["reps"]["name"] = [f"{XSS} {i}" for i in range(len(tables["reps"]))]
    data = root / "tiny.duckdb"
    pipeline._write_source(tables, data)
    plan = root / "ae.yaml"
    plan.write_text(yaml.safe_dump(PLAN, sort_keys=False))
    path = scenario(root / "demo.yaml", "demo_docs", data, plan, seed=1,
                    territory={"max_moved_share": 0.2})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPM_CACHE_DIR", str(root / "cache"))
        mp.delenv("SPM_APPROVALS", raising=False)
        from spm_models.distribution.world import scenario_world

        yield root, path, scenario_world(path)


@pytest.fixture(scope="module")
def demo_docs(org):
    """``spm plan-docs`` on the demo scenario, through the real entry point."""
    root, path, _ = org
    out = root / "docs"
    with pytest.raises(SystemExit) as exc:
        main(["plan-docs", str(path), "--out", str(out)])
    assert exc.value.code in (0, None)
    return out


def _value(html: str, element_id: str) -> float:
    m = re.search(rf'id="{element_id}" data-value="(-?[0-9.]+)"', html)
    assert m, element_id
    return float(m.group(1))


def test_plan_docs_on_the_demo_equal_the_cube(org, demo_docs) -> None:
    from spm_models.distribution.plan_docs import safe_file_name

    _, _, world = org
    out = demo_docs
    cube = world.cube
    annual_q = cube["quota"].sum("period")
    holders = [str(r) for r in cube["rep"].values[(annual_q > 0).values]]
    assert HOSTILE_ID in holders and len(holders) >= 5
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted([safe_file_name(r) for r in holders] + ["index.html"])
    for rep in holders:
        html = (out / safe_file_name(rep)).read_text()
        c = cube.sel(rep=rep)
        pay = c["payout"].sum("period").values
        assert _value(html, "quota-annual") == pytest.approx(round(float(annual_q.sel(rep=rep)), 2), abs=0.006)
        for q in (10, 50, 90):
            assert _value(html, f"earn-p{q}") == pytest.approx(
                round(float(np.quantile(pay, q / 100)), 2), abs=0.006)
        b = c["bookings"].sum("period").values
        assert _value(html, "p-reach") == pytest.approx(float((b >= float(annual_q.sel(rep=rep))).mean()))
        assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert 'id="territory-map"' in html  # the demo has located accounts
    index = (out / "index.html").read_text()
    assert "<script>" not in index and index.count("data-rep=") == len(holders)


def test_adjustment_on_the_demo_cube(org) -> None:
    from spm_models.distribution.adjustments import (
        apply_adjustments,
        load_adjustments,
        propose,
        review,
    )

    root, _, world = org
    cube = world.cube
    terr = str(cube["territory_id"].values[0])
    in_t = cube["territory_id"].values.astype(str) == terr
    store = root / "adjustments"
    for decision in ("rejected", "approved"):
        a = propose(store, "demo_docs", target="territory", target_id=terr, what="potential",
                    size="-20%", sd="5%", reason="largest account churns", by="Mia")
        review(store, a.id, decision, "Leo", comment="reviewed")
        adjs = load_adjustments(store, "demo_docs")
        new, _, _ = apply_adjustments(cube, None, None, adjs, np.random.default_rng(0))
        p50_before = cube["bookings"].sum("period").median("draw").values
        p50_after = new["bookings"].sum("period").median("draw").values
        rev_before = float(cube["bookings"].sum(["rep", "period"]).median())
        rev_after = float(new["bookings"].sum(["rep", "period"]).median())
        if decision == "rejected":
            assert np.array_equal(new["bookings"].values, cube["bookings"].values)
        else:
            assert np.all(p50_after[in_t] < p50_before[in_t])
            assert np.allclose(p50_after[~in_t], p50_before[~in_t])
            assert rev_after < rev_before


@pytest.mark.browser
def test_demo_documents_in_chromium(org, demo_docs) -> None:
    """Two demo documents and the index in headless Chromium: figures and the pay curve."""
    from pathlib import Path

    from spm_models.distribution.plan_docs import safe_file_name

    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    cube = org[2].cube
    annual_q = cube["quota"].sum("period")
    reps = [str(r) for r in cube["rep"].values[(annual_q > 0).values]]
    picks = [HOSTILE_ID, next(r for r in reps if r != HOSTILE_ID)]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        for rep in picks:
            page.goto((demo_docs / safe_file_name(rep)).as_uri())
            pay = cube["payout"].sel(rep=rep).sum("period").values
            assert page.locator("#rep-id").inner_text() == rep
            assert page.locator("#quota-annual").inner_text().replace("USD", "").strip() == \
                f"{round(float(annual_q.sel(rep=rep)), 2):,.2f}"
            assert page.locator("#earn-p50").inner_text().replace("USD", "").strip() == \
                f"{round(float(np.quantile(pay, 0.5)), 2):,.2f}"
            assert page.locator("#pay-curve").evaluate("e => e.complete && e.naturalWidth > 0")
            assert page.locator("#rep-name").inner_text().startswith(XSS)
        page.goto((demo_docs / "index.html").as_uri())
        assert page.locator("#docs tbody tr").count() == len(reps)
        assert page.locator(f'tr[data-rep="{picks[1]}"] .quota').inner_text().replace("USD", "").strip() == \
            f"{round(float(annual_q.sel(rep=picks[1])), 2):,.2f}"
        browser.close()
