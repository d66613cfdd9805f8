"""Headless Chromium (Debian's /usr/bin/chromium via Playwright): the rendered reports and the
what-if workbench running in a real JupyterLab."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_report_helpers import REPO, make_env, report_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def run():
    return report_run()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        msg = "Debian chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI: {msg}; browser tests cannot be skipped on CI")
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_index_and_report_show_headline_figures_without_code(run, browser):
    from spm_models.plots.report import money

    s = json.loads((run.out / "tiny_a" / "summary.json").read_text())
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto((run.out / "index.html").as_uri())
    row = page.locator('tr[data-scenario="tiny_a"]')
    assert row.locator(".revenue-p50").inner_text() == money(s["revenue"]["p50"])
    assert row.locator(".cost-p50").inner_text() == money(s["incentive_cost"]["p50"])
    assert "FAILED" in page.locator('tr[data-scenario="broken"]').inner_text()
    page.screenshot(path=str(ARTIFACTS / "report_index.png"), full_page=True)

    page.locator('tr[data-scenario="tiny_a"] a', has_text="tiny_a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("tiny_a/report.html")
    assert page.locator("#kpi-revenue .v").inner_text() == money(s["revenue"]["p50"])
    assert page.locator("#kpi-incentive .v").inner_text() == money(s["incentive_cost"]["p50"])
    assert "Draft" in page.locator("#approval-banner").inner_text()
    assert page.locator(".jp-InputArea").count() == 0
    assert page.locator(".input, .jp-InputPrompt, .jp-CodeMirrorEditor").count() == 0
    assert page.locator("img").count() >= 5
    # every image is inline
    srcs = page.locator("img").evaluate_all("els => els.map(e => e.getAttribute('src'))")
    assert all(src.startswith("data:image/png;base64,") for src in srcs)
    page.screenshot(path=str(ARTIFACTS / "report_tiny_a.png"), full_page=True)
    page.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(run):
    import nbformat

    nb = nbformat.read(str(REPO / "notebooks" / "workbench.ipynb"), as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = (f'scenario_path = {str(run.scenarios["tiny_a"])!r}\n'
                           'scenario_name = None\n'
                           f'workbench = {str(run.root)!r}')
    nbformat.write(nb, str(run.root / "workbench.ipynb"))
    port, token = _free_port(), secrets.token_hex(16)
    log = open(run.root / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={run.root}", "--LabApp.news_url=", "--ServerApp.port_retries=0", "--allow-root"],
        cwd=run.root, env=make_env(run.root, run.cache), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("JupyterLab did not start: " + (run.root / "jupyterlab.log").read_text()[-2000:])
    yield url, token
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_workbench_slider_changes_incentive_cost(lab, browser):
    url, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/lab/tree/workbench.ipynb?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    # the kernel's display name depends on how its spec was installed: match any "<name> | Idle"
    page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=90_000)
    for _attempt in range(3):  # a click before the kernel connection settles can be lost
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-InputPrompt')]"
                ".some(e => /\\[(\\d+|\\*)\\]/.test(e.innerText))", timeout=30_000)
            break
        except Exception:  # noqa: BLE001 - retry the click
            page.keyboard.press("Escape")
    cost = page.locator(".spm-incentive-cost")
    cost.wait_for(timeout=180_000)
    before = cost.inner_text()
    assert before
    slider = page.locator(".widget-slider", has=page.locator(".widget-label",
                                                            has_text="Accelerator rate"))
    handle = slider.locator(".noUi-handle")
    handle.focus()
    for _ in range(8):
        handle.press("ArrowRight")
    page.wait_for_function(
        "(b) => { const e = document.querySelector('.spm-incentive-cost');"
        " return e && e.innerText !== b; }", arg=before, timeout=60_000)
    after = cost.inner_text()
    assert after != before
    news = page.locator(".jp-toast-button", has_text="No")
    if news.count():
        news.first.click()
    page.locator(".spm-whatif-figures").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "workbench_lab.png"), full_page=False)
    page.close()
