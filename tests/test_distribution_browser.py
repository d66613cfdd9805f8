"""Plan documents in headless Chromium: two documents and the index show the cube's figures,
the pay-curve image loads, hostile names render as text, and the print stylesheet applies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spm_models.distribution import plan_docs
from spm_models.distribution.synthetic import synthetic_world

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
XSS = "<img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-docs")
    world = synthetic_world(root / "scen", rep_ids=["R1", "../x", "R3"], names={1: XSS},
                            n_draws=150, seed=7)
    out = root / "docs"
    written = plan_docs.write_plan_docs(world, out)
    return world, out, {d.rep_id: d for d in written}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _money(v: float) -> str:
    return f"USD {v:,.2f}"


def test_two_documents_show_the_cube_figures_and_the_pay_curve(docs, browser) -> None:
    world, out, by_rep = docs
    page = browser.new_page()
    for rep in ("R1", "../x"):
        page.goto((out / by_rep[rep].file_name).as_uri())
        c = world.cube.sel(rep=rep)
        pay = c["payout"].sum("period").values
        assert page.locator("#rep-id").inner_text() == rep
        assert page.locator("#quota-annual").inner_text() == _money(round(float(c["quota"].sum()), 2))
        assert page.locator("#earn-p50").inner_text() == _money(round(float(np.quantile(pay, 0.5)), 2))
        assert page.locator("#earn-p90").inner_text() == _money(round(float(np.quantile(pay, 0.9)), 2))
        img = page.locator("#pay-curve")
        loaded = img.evaluate("e => e.complete && e.naturalWidth > 0 && e.naturalHeight > 0")
        assert loaded, f"pay-curve image of {rep} did not load"
        box = img.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100
        assert page.locator("#territory-map").evaluate("e => e.naturalWidth > 0")
    # the hostile name is shown as text, its markup never runs
    assert page.locator("#rep-name").inner_text() == XSS
    assert page.title() != "pwned" and page.locator("h1 img").count() == 0
    page.close()


def test_index_lists_documents_and_links_work(docs, browser) -> None:
    world, out, by_rep = docs
    page = browser.new_page()
    page.goto((out / "index.html").as_uri())
    rows = page.locator("#docs tbody tr")
    assert rows.count() == 3
    row = page.locator('tr[data-rep="R3"]')
    c = world.cube.sel(rep="R3")
    assert row.locator(".quota").inner_text() == _money(round(float(c["quota"].sum()), 2))
    assert "not accepted" in row.inner_text()
    page.locator('tr[data-rep="R3"] a').click()
    page.wait_for_load_state()
    assert page.url.endswith(by_rep["R3"].file_name)
    assert page.locator("#rep-id").inner_text() == "R3"
    page.close()


def test_print_stylesheet_and_pdf(docs, browser) -> None:
    _, out, by_rep = docs
    page = browser.new_page()
    page.goto((out / by_rep["R1"].file_name).as_uri())
    assert page.locator("nav").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("nav").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 5000
    page.close()
