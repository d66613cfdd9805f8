"""`spm report` under hostile conditions (issue 12 items 7, 12, 13, 15): secrets in the data
URL, SIGKILL at random points, Ctrl-C, two runs on one folder, kernel chatter.

The kill/interrupt/lock tests render a stand-in report notebook (``$SPM_REPORT_NOTEBOOK``)
that writes the same four outputs tagged with one random token per run, so "complete old or
complete new" is checkable: every file of a scenario folder carries the same token.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from test_report_helpers import PLAN, SPM, make_env, private_tmp, scenario, write_tiny_org

pytestmark = pytest.mark.slow

NOISE = ("running over TCP without encryption", "KeyboardInterrupt caught")
SECRETS = ("s3cr3t", "Pa55word99", "ana_lopez")


# ----------------------------------------------------------------------------- secrets (item 7)
def test_secret_in_data_url_appears_nowhere():
    from spm_models.data.demo import make_demo

    root = private_tmp("spm-secret-")
    tables = make_demo(n_reps=8, years=2, seed=3)
    db = root / "org.db"
    con = sqlite3.connect(db)
    for k, v in tables.items():
        v.to_sql(k, con, index=False)
    con.close()
    plans = root / "plans"
    plans.mkdir()
    (plans / "ae.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    good = scenario(root / "good.yaml", "good", f"sqlite:///{db}?token=s3cr3t", plans / "ae.yaml")
    bad = scenario(root / "bad.yaml", "bad", f"sqlite://ana_lopez:Pa55word99@/{db}?token=s3cr3t",
                   plans / "ae.yaml")
    out, cache, klog = root / "reports", root / "cache", root / "kernel.log"
    env = make_env(root, cache) | {"SPM_KERNEL_LOG": str(klog)}
    proc = subprocess.run([*SPM, "report", str(good), str(bad), "--out", str(out), "--quiet"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stderr  # `bad` cannot connect: one FAILED line
    assert (out / "good" / "report.html").exists(), proc.stderr
    footer = (out / "good" / "report.html").read_text()
    assert "token=***" in footer  # the footer names the source, masked
    assert "FAILED  bad" in proc.stderr and "Traceback" not in proc.stderr
    texts = {"stdout": proc.stdout, "stderr": proc.stderr}
    for f in [*out.rglob("*"), klog]:
        if f.is_file():
            texts[str(f)] = f.read_bytes().decode("utf-8", "replace")
    assert len(texts) > 8
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {where}"
    for noise in NOISE:  # item 15: a successful kernel says nothing on the terminal
        assert noise not in proc.stderr and noise not in proc.stdout


# ----------------------------------------------------------------------------- stand-in notebook
STAND_IN = [
    ("parameters", ('scenario_path = ""\nscenario_name = None\nsummary_path = "summary.json"\n'
                    'cube_path = "cube.zarr"\nledger = None')),
    (None, """import json, os, time, uuid
import numpy as np, xarray as xr
token = uuid.uuid4().hex
time.sleep(float(os.environ.get("SPM_TEST_DELAY", "0")))
xr.Dataset({"x": ("i", np.arange(3.0))}, attrs={"token": token}).to_zarr(cube_path, mode="w")
q = {"p10": 1.0, "p50": 2.0, "p90": 3.0}
summary = {"scenario": scenario_name, "title": scenario_name, "token": token, "revenue": q,
           "incentive_cost": q, "prob_company_target": 0.5, "cost_of_sales": {"p50": 0.1},
           "share_reps_at_quota": {"p50": 0.5}, "total_quota": 1.0, "quota_method": "growth",
           "provenance": {"data_hash": "x", "scenario_hash": "y", "seed": 1}}
with open(summary_path, "w") as fh:
    json.dump(summary, fh)
print("TOKEN", token)"""),
]
NAMES = ("s1", "s2")


@pytest.fixture(scope="module")
def stand_in():
    root = private_tmp("spm-kill-")
    nb = nbformat.v4.new_notebook()
    for tag, src in STAND_IN:
        cell = nbformat.v4.new_code_cell(src)
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "stand_in.ipynb")
    data = write_tiny_org(root / "tiny.duckdb", n_reps=6)
    plans = root / "plans"
    plans.mkdir()
    (plans / "ae.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    files = [scenario(root / f"{n}.yaml", n, data, plans / "ae.yaml") for n in NAMES]
    cache = root / "cache"
    env = make_env(root, cache) | {"SPM_REPORT_NOTEBOOK": str(root / "stand_in.ipynb"),
                                   "SPM_KERNEL_LOG": str(root / "kernel.log")}
    base = root / "base-out"  # one complete run (fits the forecast once), copied by each test
    t0 = time.monotonic()
    first = _report(root, files, env, base)
    _, err = first.communicate(timeout=900)
    assert first.returncode == 0, err
    return root, files, env, base, time.monotonic() - t0


def _copy_of(base: Path, out: Path) -> Path:
    import shutil

    shutil.copytree(base, out)
    return out


def _report(root, files, env, out, *extra, **popen):
    # Ctrl-C as in a terminal: a test run started as a background job of a non-interactive
    # shell (`make test &`) has SIGINT *ignored* (POSIX), which children inherit across exec,
    # and Python then installs no KeyboardInterrupt handler in them. A handler here (reset to
    # the default on exec) gives the child the terminal's disposition.
    prev = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen([*SPM, "report", *map(str, files), "--out", str(out), "--quiet",
                                 *extra], cwd=root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True, **popen)
    finally:
        signal.signal(signal.SIGINT, prev)


def _token_of(folder: Path) -> str | None:
    """The run token when the folder holds all four outputs of one run, else None."""
    import xarray as xr

    try:
        s = json.loads((folder / "summary.json").read_text())
        token = s["token"]
        ok = (f"TOKEN {token}" in (folder / "report.html").read_text()
              and token in (folder / "report.ipynb").read_text()
              and xr.open_zarr(folder / "cube.zarr", consolidated=False).attrs["token"] == token)
    except (OSError, KeyError, ValueError, json.JSONDecodeError):
        return None
    return token if ok else None


def _check_consistent(out: Path) -> dict[str, str]:
    """Every scenario folder is complete (one run's outputs); the index claims only what is on
    disk. Returns scenario -> token."""
    tokens = {}
    for name in NAMES:
        if (out / name).exists():
            tok = _token_of(out / name)
            assert tok is not None, f"{name}: incomplete outputs {sorted(p.name for p in (out / name).iterdir())}"
            tokens[name] = tok
    index = out / "index.html"
    if index.exists():
        html = index.read_text()
        for href in re.findall(r'href="([^"]+)"', html):
            assert (out / href).exists(), f"index links to missing {href}"
        for name in re.findall(r'<tr class="ok" data-scenario="([^"]+)"', html):
            assert name in tokens, f"index says {name} ok but it is not on disk"
    return tokens


def test_sigkill_at_random_points_leaves_old_or_new(stand_in):
    root, files, env, base, _ = stand_in
    out = _copy_of(base, root / "kill-out")
    old = _check_consistent(out)
    assert set(old) == set(NAMES)
    # time a warm run (the forecast is cached now): kill points spread over it
    t0 = time.monotonic()
    warm = _report(root, files, env, out, "--workers", "1")
    warm.communicate(timeout=900)
    span = time.monotonic() - t0
    assert warm.returncode == 0
    rng = random.Random(12)
    seen_new = 0
    for k in range(5):
        before = _check_consistent(out)
        proc = _report(root, files, env, out, "--workers", "1")
        if k == 0:  # right after the first scenario was swapped in: old and new side by side
            while proc.poll() is None and all(
                    _token_of(out / n) in (before[n], None) for n in NAMES):
                time.sleep(0.02)
        else:  # random points, one per quarter of the run
            time.sleep(span * rng.uniform((k - 1) / 4, k / 4) + 0.1)
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its kernels, as an OOM killer would
        proc.communicate(timeout=60)
        after = _check_consistent(out)
        assert set(after) == set(NAMES)  # never neither
        seen_new += sum(after[n] != before[n] for n in NAMES)
    assert seen_new >= 1  # the first kill came after a swap
    last = _report(root, files, env, out)
    _, err = last.communicate(timeout=900)
    assert last.returncode == 0, err
    final = _check_consistent(out)
    assert set(final) == set(NAMES)
    leftovers = [p.name for p in out.iterdir() if p.name.startswith((".spm-tmp-", ".spm-old-"))]
    assert leftovers == []  # the next run cleans up after killed ones
    html = (out / "index.html").read_text()
    assert html.count('<tr class="ok"') == len(NAMES)
    print(f"kill points over {span:.1f} s; scenarios replaced before a kill: {seen_new}")


def test_ctrl_c_cancels_queued_work_and_marks_the_index(stand_in):
    root, files, env, base, _ = stand_in
    out = _copy_of(base, root / "int-out")
    before = _check_consistent(out)
    slow_env = env | {"SPM_TEST_DELAY": "20"}
    proc = _report(root, files, slow_env, out, "--workers", "1")
    deadline = time.monotonic() + 300
    while not any(p.name.startswith(".spm-tmp-") for p in out.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    time.sleep(3)  # the first notebook is running (sleeping 20 s), the other is queued
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    _, err = proc.communicate(timeout=120)
    assert time.monotonic() - t0 < 30  # not 3 x 20 s: queued work is cancelled
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    html = (out / "index.html").read_text()
    assert 'id="interrupted"' in html and html.count("INTERRUPTED") >= len(NAMES)
    assert "interrupted before it ran" in html  # the queued scenario was cancelled, not run
    assert _check_consistent(out) == before  # previous outputs kept, untouched
    assert not [p for p in out.iterdir() if p.name.startswith(".spm-tmp-")]


def test_two_runs_on_one_folder_wait_for_each_other(stand_in):
    root, files, env, _, _ = stand_in
    out = root / "lock-out"
    slow_env = env | {"SPM_TEST_DELAY": "2"}
    a = _report(root, files, slow_env, out)
    deadline = time.monotonic() + 300
    while not (out / ".spm-report.lock").exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)
    b = _report(root, files, slow_env, out)
    _, err_a = a.communicate(timeout=900)
    _, err_b = b.communicate(timeout=900)
    assert a.returncode == 0 and b.returncode == 0, (err_a, err_b)
    assert "waiting: another spm report is writing" in err_b
    assert set(_check_consistent(out)) == set(NAMES)
    for noise in NOISE:
        assert noise not in err_a + err_b
