"""A report kernel that dies before its first reply (a lost ZMQ port race) is started again;
any other failure, or one that keeps happening, is the scenario's error."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from spm_models.reporting import runner


def _fake_papermill(monkeypatch, failures: list[str]) -> list[int]:
    calls: list[int] = []

    def execute_notebook(src, out, parameters, **kw):
        calls.append(1)
        if failures:
            raise RuntimeError(failures.pop(0))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Report")])
        nbformat.write(nb, out)
        Path(parameters["summary_path"]).write_text(json.dumps({"ok": 1}))

    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    return calls


def _run(tmp_path: Path) -> runner.ScenarioRun:
    sc = SimpleNamespace(path=str(tmp_path / "s.yaml"))
    run = runner.ScenarioRun("s", str(tmp_path / "s.yaml"), scenario=sc)
    (tmp_path / "out").mkdir()
    return runner.run_one(run, tmp_path / "out", tmp_path)


@pytest.mark.parametrize(("failures", "ok", "calls"), [
    (["Kernel died before replying to kernel_info"], True, 2),
    (["Kernel died before replying to kernel_info"] * 3, False, 3),
    (["some cell failed"], False, 1),
])
def test_kernel_start_retried_only_for_a_dead_kernel(tmp_path, monkeypatch, failures, ok, calls):
    n = _fake_papermill(monkeypatch, list(failures))
    run = _run(tmp_path)
    assert run.ok is ok and len(n) == calls
    if ok:
        assert (tmp_path / "out" / "s" / "report.html").exists()
        assert run.summary == {"ok": 1}
    else:
        assert failures[-1] in run.error
