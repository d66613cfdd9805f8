"""The engine on a real dask.distributed cluster (scheduler + 2 worker processes on localhost)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from comp_helpers import MONTHS

from spm_models.comp import Plan, plan_metrics, simulate_plan
from spm_models.comp.distributed import ENV_VAR, close_client, get_client
from spm_models.comp.simulate import synthetic_bookings

PLAN = {"name": "AE", "plan_year_start": "2027-01", "payout_frequency": "quarter",
        "measures": [{"name": "bookings", "quota_period": "year",
                      "tiers": [{"to": 1.0, "rate": 0.1}, {"to": 1.5, "rate": 0.15}, {"rate": 0.05}]}],
        "draw": {"amount": 5000, "recoverable": True}}


def test_get_client_without_cluster_for_small_cubes(monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert get_client(None, nbytes=1000) is None


@pytest.mark.slow
def test_simulation_on_local_cluster_processes(monkeypatch, tmp_path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", memory_limit="1GiB")
    try:
        monkeypatch.setenv(ENV_VAR, cluster.scheduler_address)
        client = get_client()  # from $SPM_DASK_SCHEDULER
        try:
            assert client.scheduler.address == cluster.scheduler_address
            workers = client.scheduler_info()["workers"]
            assert len(workers) == 2
            q = xr.DataArray(np.full((8, 12), 100000.0), dims=["rep", "period"],
                             coords={"rep": [f"R{i}" for i in range(8)], "period": MONTHS})
            lazy = synthetic_bookings(q, 64, seed=7, chunks={"draw": 16, "rep": 4})
            plan = Plan.from_dict(PLAN)
            with distributed.get_task_stream(client) as ts:
                res = simulate_plan(plan, lazy, q)
                m = plan_metrics(res, budget=1e6)
            ran_on = {t["worker"] for t in ts.data}
            assert ran_on and ran_on <= set(workers)
            # same numbers as in-process numpy on the same bookings
            local = simulate_plan(plan, lazy.compute(), q)
            m_local = plan_metrics(local, budget=1e6)
            assert m["incentive_cost"] == pytest.approx(m_local["incentive_cost"])
            xr.testing.assert_allclose(res["payout"].compute(), local["payout"])
        finally:
            close_client(client)
        # the command line with --scheduler, on the same cluster
        monkeypatch.delenv(ENV_VAR)
        _simulate_cli(tmp_path, cluster.scheduler_address)
    finally:
        cluster.close()


def _simulate_cli(tmp_path, address: str) -> None:
    import json

    import yaml
    from comp_helpers import monthly_quota, write_csv

    from spm_models.cli import main

    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(PLAN))
    quotas = write_csv(tmp_path, "q.csv", monthly_quota("A", 100000) + monthly_quota("B", 50000))
    out = tmp_path / "m.json"
    with pytest.raises(SystemExit) as exc:
        main(["comp", "simulate", "--plan", str(plan), "--quotas", str(quotas), "--draws", "20",
              "--scheduler", address, "--out", str(out)])
    assert exc.value.code == 0
    assert json.loads(out.read_text())["plans"]["AE"]["incentive_cost"]["p50"] > 0
