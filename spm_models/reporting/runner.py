"""``spm report``: run the report notebook for each scenario with papermill, render HTML.

For each scenario ``NAME`` the runner writes ``DIR/NAME/report.ipynb`` (executed),
``DIR/NAME/report.html`` (no code), ``DIR/NAME/summary.json`` and ``DIR/NAME/cube.zarr`` (the
notebook writes those two at paths passed as parameters), then ``DIR/index.html`` and, with
two or more scenarios, ``DIR/compare.html``.

Safety (see :mod:`spm_models.reporting.publish`): the output folder is locked for the whole
run; each scenario is built in a hidden temp folder inside ``DIR`` and swapped in as a unit
(a kill leaves the complete old or the complete new outputs); leftovers of killed runs are
cleaned at the start; credentials of ``data:`` URLs are masked in every output
(:mod:`spm_models.masking`); Ctrl-C (or SIGTERM) cancels queued scenarios, interrupts the
running kernels and writes an index that says the run was interrupted.

Scenarios run in a bounded thread pool (papermill starts one kernel process per notebook;
process pools clash on ZMQ ports). Before that, the forecast of each distinct
(data, forecast config) is computed once in this process and cached on disk, so parallel
notebooks never fit the same model twice. A scenario that fails is recorded with its reason
and does not stop the others.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from spm_models.errors import MAX_ROWS_NAMED, InputError
from spm_models.masking import redact, register_secrets
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
    #: seconds spent on staging, masking and publishing (``benchmarks/bench_report_safety.py``)
    overhead: float = 0.0
    interrupted: bool = False
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
    text = " ".join(redact(str(text)).split())
    return text[:limit]


#: most problems of one scenario shown in its FAILED text (each at most 400 characters): the
#: one cap of every command (:data:`spm_models.errors.MAX_ROWS_NAMED`)
MAX_SHOWN_PROBLEMS = MAX_ROWS_NAMED

_MORE_ROWS = re.compile(r": \.\.\. and (\d+) more rows with the same problem")


def _n_problems(line: str) -> int:
    """How many problems one line stands for: the ``N + ...`` of a capped check's
    :func:`spm_models.errors.more_rows` line, else one."""
    m = _MORE_ROWS.search(line)
    return int(m.group(1)) if m else 1


def _problems_line(problems: Sequence[str]) -> str:
    """The problems of a bad scenario, one per line (``\n``-joined; each cut at 400
    characters): the first :data:`MAX_SHOWN_PROBLEMS`, then ``... and N more problems`` where
    ``N`` counts the problems behind the lines not shown (a capped check's ``... and K more
    rows`` line counts ``K``). A list whose only hidden lines are such summaries is shown
    whole: those lines are already the count."""
    lines = [_first_line(p) for p in problems if str(p).strip()]
    shown, hidden = lines[:MAX_SHOWN_PROBLEMS], lines[MAX_SHOWN_PROBLEMS:]
    if hidden and all(_MORE_ROWS.search(h) for h in hidden):
        shown, hidden = lines, []
    more = sum(_n_problems(h) for h in hidden)
    return "\n".join(shown + ([f"... and {more} more problems"] if more else []))


def collect(paths: Sequence[str | Path]) -> list[ScenarioRun]:
    """Load every scenario file (sweeps expand); a file that fails to load is a failed run."""
    from spm_models.names import is_valid_name, slug
    from spm_models.scenario import load_scenarios

    runs: list[ScenarioRun] = []
    for p in paths:
        try:
            for sc in load_scenarios(p, check_data=True):
                register_secrets(sc.data)
                runs.append(ScenarioRun(sc.name, str(p), sc.title, scenario=sc))
        except InputError as exc:
            stem = Path(p).stem
            name = stem if is_valid_name(stem) else slug(stem)
            runs.append(ScenarioRun(name, str(p), stem,
                                    error=_problems_line(exc.problems)))
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
        return _problems_line(exc.problems)
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename == "InputError":  # bad input met inside the notebook: its lines, no class name
        return _problems_line([ln for ln in str(evalue).splitlines() if ln.strip()])
    if ename:
        return _first_line(f"{ename}: {evalue}")
    return _first_line(f"{type(exc).__name__}: {exc}")


def _scrub(folder: Path) -> None:
    """Mask credentials in the text outputs of ``folder`` (notebook, HTML, JSON, zarr metadata)."""
    for f in folder.rglob("*"):
        if not f.is_file() or f.suffix.lower() not in _TEXT_SUFFIXES and f.name not in _TEXT_NAMES:
            continue
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        clean = redact(text)
        if clean != text:
            from spm_models.atomic import atomic_write_text

            atomic_write_text(f, clean)


_TEXT_SUFFIXES = {".ipynb", ".html", ".json", ".csv", ".txt", ".md"}
_TEXT_NAMES = {".zattrs", ".zgroup", ".zarray", ".zmetadata"}
#: with ``$SPM_DEBUG`` set, a failed scenario's partial notebook is kept as ``OUT/NAME`` + this
FAILED_NOTEBOOK_SUFFIX = ".failed.ipynb"


#: Starts of a kernel that dies before its first reply (no cell ran) retried per scenario:
#: kernels started side by side can lose a race for their ZMQ ports (jupyter_client picks
#: free ports, then the kernel binds them), which is not the scenario's fault.
KERNEL_START_RETRIES = 2


def run_one(run: ScenarioRun, out_dir: Path, cwd: Path,
            cancel: threading.Event | None = None) -> ScenarioRun:
    """Execute the report notebook for one scenario in a staging folder, render its HTML,
    and swap the folder in as ``out_dir/NAME``. A failure publishes nothing and removes
    ``out_dir/NAME`` (so no half-written folder is left; with ``$SPM_DEBUG`` the partial
    notebook is kept as ``out_dir/NAME.failed.ipynb`` and the traceback printed).
    With ``cancel`` set before it starts or while it runs, nothing is published."""
    import papermill as pm

    from spm_models.reporting import publish
    from spm_models.reporting.html import notebook_to_html

    if cancel is not None and cancel.is_set():
        run.error, run.interrupted = "interrupted before it ran", True
        return run
    t0 = time.perf_counter()
    staged = publish.stage(out_dir, run.name)
    run.overhead = time.perf_counter() - t0
    try:
        sc = run.scenario
        assert sc is not None and sc.path is not None
        params = {
            "scenario_path": str(Path(sc.path).resolve()),
            "scenario_name": run.name,
            "summary_path": str((staged / "summary.json").resolve()),
            "cube_path": str((staged / "cube.zarr").resolve()),
            "ledger": os.environ.get("SPM_APPROVALS"),
            "workbench": str(cwd.resolve()),
        }
        nb_out = staged / "report.ipynb"
        try:
            for attempt in range(1 + KERNEL_START_RETRIES):
                try:
                    pm.execute_notebook(
                        str(report_notebook()), str(nb_out), parameters=params,
                        kernel_name=KERNEL_NAME, cwd=str(cwd), progress_bar=False,
                        log_output=False, request_save_on_cell_execute=False,
                        kernel_manager_class=_quiet_kernel_manager(),
                    )
                    break
                except RuntimeError as exc:
                    # a kernel that dies before its first reply ran no cell: start it again
                    if attempt == KERNEL_START_RETRIES or "before replying to kernel_info" not in str(exc):
                        raise
            notebook_to_html(nb_out, staged / "report.html")
            run.summary = json.loads((staged / "summary.json").read_text())
            run.ok = True
        except Exception as exc:  # noqa: BLE001 - one scenario's failure must not stop the rest
            run.error = _reason(exc)
            if os.environ.get("SPM_DEBUG"):
                traceback.print_exc()
        if cancel is not None and cancel.is_set():
            run.ok, run.summary, run.interrupted = False, None, True
            run.error = "interrupted while running; previous outputs (if any) kept"
            return run
        t1 = time.perf_counter()
        _scrub(staged)
        failed_nb = Path(out_dir) / f"{run.name}{FAILED_NOTEBOOK_SUFFIX}"
        if run.ok:
            publish.publish(out_dir, run.name, staged)
            failed_nb.unlink(missing_ok=True)
        else:  # no half-written folder: the scenario has all its outputs or none
            publish.unpublish(out_dir, run.name)
            if os.environ.get("SPM_DEBUG") and (staged / "report.ipynb").exists():
                os.replace(staged / "report.ipynb", failed_nb)
        run.overhead += time.perf_counter() - t1
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    run.seconds = time.perf_counter() - t0
    return run


def _quiet_kernel_manager() -> type:
    """A kernel manager whose kernel process writes its own stdout/stderr chatter (the
    "running over TCP without encryption" warning at start, "KeyboardInterrupt caught in
    kernel" when it is stopped) to ``$SPM_KERNEL_LOG`` or nowhere, so a successful run
    prints nothing (cron mails stay empty). Cell output travels over ZMQ and is unaffected."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            target = os.environ.get("SPM_KERNEL_LOG") or os.devnull
            with open(target, "ab") as sink:  # noqa: ASYNC230 - opened once per kernel start
                kw.setdefault("stdout", sink)
                kw.setdefault("stderr", sink)
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


def _interrupt_kernels() -> None:
    """Send SIGINT to this process's child processes (the running kernels), Linux only."""
    me = str(os.getpid())
    try:
        pids = [d for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                ppid = fh.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        if ppid == me:
            try:
                os.kill(int(pid), signal.SIGINT)
            except OSError:
                pass


def run_reports(paths: Sequence[str | Path], out_dir: str | Path, workers: int | None = None,
                show_progress: bool = True, wait: bool = True,
                adjustments: str | Path | None = None) -> list[ScenarioRun]:
    """Render a report per scenario into ``out_dir``; return every scenario's outcome.

    ``adjustments``: the managers' adjustments store every scenario reads (``spm report
    --store``, as ``spm adjust ... --store``); default ``$SPM_ADJUSTMENTS``, else
    ``adjustments/`` beside each scenario (:func:`spm_models.distribution.adjustments.store_path`).
    It is passed as ``$SPM_ADJUSTMENTS`` for the run (the report kernels inherit it).

    Raises :class:`InputError` when ``out_dir`` cannot be written, or (``wait=False``) when
    another run holds its lock. On Ctrl-C / SIGTERM it cancels the queued scenarios, writes
    an index marking the run interrupted, then raises ``KeyboardInterrupt``."""
    from spm_models.reporting import publish

    os.environ["TQDM_DISABLE"] = "1"  # nbclient + ipywidgets + tqdm otherwise misbehave
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the output folder "
                         f"({exc.strerror or type(exc).__name__})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"{out}: cannot write to the output folder (permission denied)")
    with publish.OutputLock(out, wait=wait), _TermAsInterrupt(), _adjustments_store(adjustments):
        publish.recover(out)
        return _run_locked(paths, out, workers, show_progress)


@contextmanager
def _adjustments_store(store: str | Path | None) -> Iterator[None]:
    """``$SPM_ADJUSTMENTS`` set to ``store`` (absolute) while the block runs, then restored."""
    if store is None:
        yield
        return
    old = os.environ.get("SPM_ADJUSTMENTS")
    os.environ["SPM_ADJUSTMENTS"] = str(Path(store).resolve())
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SPM_ADJUSTMENTS", None)
        else:
            os.environ["SPM_ADJUSTMENTS"] = old


class _TermAsInterrupt:
    """In the main thread, SIGTERM raises ``KeyboardInterrupt`` (handled like Ctrl-C)."""

    def __enter__(self) -> None:
        self._old = None
        if threading.current_thread() is threading.main_thread():
            def _raise(signum, frame):
                raise KeyboardInterrupt
            self._old = signal.signal(signal.SIGTERM, _raise)

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)


def _run_locked(paths: Sequence[str | Path], out: Path, workers: int | None,
                show_progress: bool) -> list[ScenarioRun]:
    from spm_models.reporting import approvals
    from spm_models.reporting.html import write_compare, write_index
    from spm_models.workflow.paths import workbench_dir

    cwd = workbench_dir()
    runs = collect(paths)
    progress = _Progress(len(runs), enabled=show_progress)
    cancel = threading.Event()
    interrupted = False
    try:
        warm_forecasts(runs, progress.note, cwd)
        todo = [r for r in runs if r.error is None]
        for r in runs:
            if r.error is not None:
                progress.advance(r)
        pool = ThreadPoolExecutor(max_workers=workers or default_workers())
        try:
            futures = [pool.submit(run_one, r, out, cwd, cancel) for r in todo]
            for fut in as_completed(futures):
                progress.advance(fut.result())
        except KeyboardInterrupt:
            interrupted = True
            cancel.set()
            progress.note("interrupted: stopping")
            pool.shutdown(wait=False, cancel_futures=True)
            _interrupt_kernels()
            pool.shutdown(wait=True)
        finally:
            pool.shutdown(wait=True)
    except KeyboardInterrupt:
        interrupted = True
        cancel.set()
    finally:
        progress.close()
    if interrupted:
        for r in runs:
            if not r.ok and r.error is None:
                r.error, r.interrupted = "interrupted before it ran", True
    for r in runs:
        if r.ok and r.scenario is not None and r.summary is not None:
            try:
                st = approvals.status(r.scenario, r.summary["provenance"]["data_hash"])
                r.approval = st.to_dict()
            except InputError as exc:
                r.approval = approvals.ApprovalStatus(
                    "unverified", problem="; ".join(exc.problems)).to_dict()
            except Exception:  # noqa: BLE001 - the banner is informative only
                r.approval = None
    write_index(out, runs, interrupted=interrupted)
    ok = [r for r in runs if r.ok and r.summary]
    if len(runs) >= 2 and not interrupted:
        write_compare(out, [s for r in ok if (s := r.summary) is not None],
                      failed=[r for r in runs if not r.ok])
    if interrupted:
        raise KeyboardInterrupt
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
