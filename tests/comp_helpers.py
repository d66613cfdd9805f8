"""Shared helpers for the comp tests: write plans/CSVs, run `spm comp calc` in-process."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from spm_models.cli import main

MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]


def write_plan(tmp_path: Path, plan: dict, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def write_csv(tmp_path: Path, name: str, rows: list[dict] | str) -> Path:
    path = tmp_path / name
    if isinstance(rows, str):
        path.write_text(rows)
    else:
        pd.DataFrame(rows).to_csv(path, index=False)
    return path


def monthly_quota(rep: str, amount: float, measure: str | None = None) -> list[dict]:
    rows = [{"rep_id": rep, "period": m, "quota": amount} for m in MONTHS]
    if measure is not None:
        for r in rows:
            r["measure"] = measure
    return rows


def run_calc(capsys, plan: Path, credits: Path, quotas: Path, out: Path,
             reps: Path | None = None) -> tuple[int, str]:
    """Run ``spm comp calc`` through the real entry point; (exit code, stderr)."""
    argv = ["comp", "calc", "--plan", str(plan), "--credits", str(credits),
            "--quotas", str(quotas), "--out", str(out)]
    if reps is not None:
        argv += ["--reps", str(reps)]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    return int(exc.value.code or 0), err
