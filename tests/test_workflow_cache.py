"""The one keyed cache: manifest checks, damaged entries rebuilt, concurrent builders locked."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spm_models.workflow.cache import Cache, check_entry


def _build_counter(calls: list[int]):
    def build(folder: Path) -> xr.Dataset:
        calls.append(1)
        ds = xr.Dataset({"x": (("rep", "draw"), np.arange(400.0).reshape(20, 20))})
        ds.chunk({"rep": 5}).to_zarr(folder / "x.zarr", mode="w", consolidated=False)
        (folder / "meta.json").write_text(json.dumps({"n": 20}))
        return ds

    return build


def _load(folder: Path) -> xr.Dataset:
    return xr.open_zarr(folder / "x.zarr", consolidated=False).load()


def _data_files(entry: Path) -> list[Path]:
    return sorted(p for p in entry.rglob("*") if p.is_file() and p.name != "manifest.json")


@pytest.mark.parametrize("damage", ["delete", "truncate", "flip", "extra", "manifest"])
def test_damaged_entry_is_reported_and_rebuilt(tmp_path, caplog, damage):
    cache = Cache(tmp_path / "cache")
    calls: list[int] = []
    first = cache.get("forecast", "k1", _build_counter(calls), _load)
    assert cache.last_state == "miss" and calls == [1]
    entry = cache.entry("forecast", "k1")
    assert check_entry(entry) is None
    again = cache.get("forecast", "k1", _build_counter(calls), _load)
    assert cache.last_state == "hit" and calls == [1]
    xr.testing.assert_identical(first, again)

    rng = random.Random(os.urandom(8))
    chunks = [p for p in _data_files(entry) if "/c/" in p.as_posix()]
    assert len(chunks) >= 4  # several zarr chunks: the damage hits one of them
    victim = rng.choice(chunks)
    if damage == "delete":
        victim.unlink()
    elif damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-3])
    elif damage == "flip":
        raw = bytearray(victim.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        victim.write_bytes(bytes(raw))
    elif damage == "extra":
        (entry / "x.zarr" / "stray").write_text("?")
    else:
        (entry / "manifest.json").unlink()
    assert check_entry(entry) is not None
    with caplog.at_level(logging.WARNING, logger="spm_models.workflow.cache"):
        rebuilt = cache.get("forecast", "k1", _build_counter(calls), _load)
    assert cache.last_state == "rebuilt" and calls == [1, 1], victim
    assert any(str(entry) in r.getMessage() and "damaged" in r.getMessage()
               for r in caplog.records)
    xr.testing.assert_identical(first, rebuilt)
    assert check_entry(entry) is None


_WORKER = textwrap.dedent("""
    import sys, time, json
    from pathlib import Path
    from spm_models.workflow.cache import Cache

    root, log = Path(sys.argv[1]), Path(sys.argv[2])

    def build(folder):
        with open(log, "a") as fh:
            fh.write("build\\n")
        time.sleep(1.5)  # long enough for the other process to arrive while building
        (folder / "value.json").write_text(json.dumps({"v": 42}))
        return 42

    def load(folder):
        return json.loads((folder / "value.json").read_text())["v"]

    print(Cache(root).get("fits", "same-key", build, load))
""")


def test_two_processes_build_an_entry_once(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    log = tmp_path / "builds.log"
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "cache"), str(log)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == ["42", "42"]
    assert log.read_text().splitlines() == ["build"]  # the second process waited and read it
    assert check_entry(Cache(tmp_path / "cache").entry("fits", "same-key")) is None


# --------------------------------------------------------------------------- a real scenario
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import yaml
    from test_report_helpers import PLAN, scenario, write_tiny_org

    root = tmp_path_factory.mktemp("cache-fault")
    data = write_tiny_org(root / "tiny.duckdb", n_reps=12, seed=4)
    plan = root / "ae.yaml"
    plan.write_text(yaml.safe_dump(PLAN, sort_keys=False))
    return root, scenario(root / "s.yaml", "s", data, plan, seed=1)


def _entry(cache_root: Path, kind: str) -> Path:
    entries = [p for p in (cache_root / kind).iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(entries) == 1, entries
    return entries[0]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["forecast", "fits"])
def test_deleted_chunk_is_detected_refitted_and_figures_identical(tiny, tmp_path, monkeypatch,
                                                                  caplog, kind):
    from spm_models import workflow

    _root, path = tiny
    cache_root = tmp_path / "cache"
    monkeypatch.setenv("SPM_CACHE_DIR", str(cache_root))
    first = workflow.run(path)
    entry = _entry(cache_root, kind)
    chunks = [p for p in entry.rglob("*") if p.is_file() and "/c/" in p.as_posix()]
    seed = int.from_bytes(os.urandom(4), "little")
    victim = random.Random(seed).choice(chunks)
    victim.unlink()
    if kind == "fits":  # the posterior is read only when the forecast cube must be redrawn
        _ = [p.unlink() for p in _entry(cache_root, "forecast").rglob("*.json")]
    with caplog.at_level(logging.WARNING, logger="spm_models.workflow.cache"):
        second = workflow.run(path)
    damaged = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert any(str(entry) in m for m in damaged), (seed, victim, damaged)
    assert check_entry(entry) is None, (seed, victim)
    assert json.dumps(second.summary, sort_keys=True) == json.dumps(first.summary, sort_keys=True)
