"""``spm report``: run the report notebook for each scenario with papermill, render HTML.

For each scenario ``NAME`` the runner writes ``DIR/NAME/report.ipynb`` (executed),
``DIR/NAME/report.html`` (no code), ``DIR/NAME/summary.json`` and ``DIR/NAME/cube.zarr`` (the
notebook writes those two at paths passed as parameters), then ``DIR/index.html`` and, with
two or more scenarios, ``DIR/compare.html``.

Scenarios run in a bounded thread pool (papermill starts one kernel process per notebook;
process pools clash on ZMQ ports). Before that, the forecast of each distinct
(data, forecast config) is computed once in this process and cached on disk, so parallel
notebooks never fit the same model twice. A scenario that fails is recorded with its reason
and does not stop the others.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from spm_models.errors import InputError
from spm_models.scenario import Scenario

#: the report notebook shipped in the package (``spm_models/notebooks``)
NOTEBOOK = Path(str(resources.files("spm_models") / "notebooks" / "scenario_report.ipynb"))
KERNEL_NAME = "python3"


@dataclass
class ScenarioRun:
    """Outcome of one scenario's report."""

    name: str
    source: str
    title: str = ""
    ok: bool = False
    error: str | None = None
    summary: dict[str, Any] | None = None
    approval: dict[str, Any] | None = None
    seconds: float = 0.0
    scenario: Scenario | None = field(default=None, repr=False)


def report_notebook() -> Path:
    """The scenario report notebook (``$SPM_REPORT_NOTEBOOK`` overrides it)."""
    return Path(os.environ.get("SPM_REPORT_NOTEBOOK", NOTEBOOK))


def default_workers() -> int:
    """Parallel notebooks: ``$SPM_REPORT_WORKERS``, else min(2, cores)."""
    env = os.environ.get("SPM_REPORT_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


def _first_line(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text[:limit]


def collect(paths: Sequence[str | Path]) -> list[ScenarioRun]:
    """Load every scenario file (sweeps expand); a file that fails to load is a failed run."""
    from spm_models.scenario import load_scenarios

    runs: list[ScenarioRun] = []
    for p in paths:
        try:
            for sc in load_scenarios(p):
                runs.append(ScenarioRun(sc.name, str(p), sc.title, scenario=sc))
        except InputError as exc:
            runs.append(ScenarioRun(Path(p).stem, str(p), Path(p).stem,
                                    error=_first_line("; ".join(exc.problems))))
    seen: dict[str, int] = {}
    for r in runs:
        seen[r.name] = seen.get(r.name, 0) + 1
    for r in runs:
        if seen[r.name] > 1 and r.error is None:
            r.error = f"{r.source}: scenario name '{r.name}' is used by more than one scenario"
            r.scenario = None
    return runs


def warm_forecasts(runs: Sequence[ScenarioRun], progress: Callable[[str], None] | None = None,
                   workbench: Path | None = None) -> None:
    """Fit/forecast each distinct (data, forecast config) once, into the on-disk cache."""
    from spm_models import workflow
    from spm_models.workflow.forecast_step import forecast_key

    done: dict[str, str | None] = {}
    tables_by_source: dict[str, Any] = {}
    for r in runs:
        if r.scenario is None or r.error:
            continue
        sc = r.scenario
        try:
            workflow.load_plans(sc)  # a broken plan fails here, before any kernel starts
            source = workflow.resolve_data(sc, workbench)
            if source not in tables_by_source:
                tables = workflow.load_tables(source)
                tables_by_source[source] = (tables, workflow.data_hash_of(tables))
            tables, data_hash = tables_by_source[source]
            key = forecast_key(data_hash, sc)
            if key not in done:
                if progress:
                    progress(f"forecast for {sc.name}")
                try:
                    workflow.warm_forecast(sc, tables, data_hash, workbench)
                    done[key] = None
                except Exception as exc:  # noqa: BLE001 - isolate the failing scenarios
                    done[key] = _reason(exc)
            if done[key]:
                r.error = done[key]
        except Exception as exc:  # noqa: BLE001
            r.error = _reason(exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return _first_line("; ".join(exc.problems))
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        return _first_line(f"{ename}: {evalue}")
    return _first_line(f"{type(exc).__name__}: {exc}")


def run_one(run: ScenarioRun, out_dir: Path, cwd: Path) -> ScenarioRun:
    """Execute the report notebook for one scenario and render its HTML."""
    import papermill as pm

    from spm_models.reporting.html import notebook_to_html

    t0 = time.perf_counter()
    target = out_dir / run.name
    target.mkdir(parents=True, exist_ok=True)
    sc = run.scenario
    assert sc is not None and sc.path is not None
    params = {
        "scenario_path": str(Path(sc.path).resolve()),
        "scenario_name": run.name,
        "summary_path": str((target / "summary.json").resolve()),
        "cube_path": str((target / "cube.zarr").resolve()),
        "ledger": os.environ.get("SPM_APPROVALS"),
        "workbench": str(cwd.resolve()),
    }
    nb_out = target / "report.ipynb"
    try:
        for stale in ("summary.json", "report.html"):
            (target / stale).unlink(missing_ok=True)
        pm.execute_notebook(
            str(report_notebook()), str(nb_out), parameters=params, kernel_name=KERNEL_NAME,
            cwd=str(cwd), progress_bar=False, log_output=False, request_save_on_cell_execute=False,
        )
        notebook_to_html(nb_out, target / "report.html")
        run.summary = json.loads((target / "summary.json").read_text())
        run.ok = True
    except Exception as exc:  # noqa: BLE001 - one scenario's failure must not stop the rest
        run.error = _reason(exc)
        if os.environ.get("SPM_DEBUG"):
            traceback.print_exc()
    run.seconds = time.perf_counter() - t0
    return run


def run_reports(paths: Sequence[str | Path], out_dir: str | Path, workers: int | None = None,
                show_progress: bool = True) -> list[ScenarioRun]:
    """Render a report per scenario into ``out_dir``; return every scenario's outcome."""
    from spm_models.reporting import approvals
    from spm_models.reporting.html import write_compare, write_index

    os.environ["TQDM_DISABLE"] = "1"  # nbclient + ipywidgets + tqdm otherwise misbehave
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from spm_models.workflow.paths import workbench_dir

    cwd = workbench_dir()
    runs = collect(paths)
    progress = _Progress(len(runs), enabled=show_progress)
    warm_forecasts(runs, progress.note, cwd)
    todo = [r for r in runs if r.error is None]
    for r in runs:
        if r.error is not None:
            progress.advance(r)
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        futures = [pool.submit(run_one, r, out, cwd) for r in todo]
        for fut in as_completed(futures):
            progress.advance(fut.result())
    progress.close()
    for r in runs:
        if r.ok and r.scenario is not None and r.summary is not None:
            try:
                st = approvals.status(r.scenario, r.summary["provenance"]["data_hash"])
                r.approval = st.to_dict()
            except Exception:  # noqa: BLE001 - the banner is informative only
                r.approval = None
    write_index(out, runs)
    ok = [r for r in runs if r.ok and r.summary]
    if len(runs) >= 2:
        write_compare(out, [s for r in ok if (s := r.summary) is not None],
                      failed=[r for r in runs if not r.ok])
    return runs


class _Progress:
    """A rich progress bar on stderr (silent when disabled or not a terminal)."""

    def __init__(self, total: int, enabled: bool = True):
        self._bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(TextColumn("[bold]reports"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.description}"),
                                 console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("starting", total=total)

    def note(self, text: str) -> None:
        if self._bar:
            self._bar.update(self._task, description=text)

    def advance(self, run: ScenarioRun) -> None:
        if self._bar:
            state = "ok" if run.ok else "FAILED"
            self._bar.update(self._task, advance=1, description=f"{run.name}: {state}")

    def close(self) -> None:
        if self._bar:
            self._bar.stop()
