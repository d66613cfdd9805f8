"""The README's one-screen API block: the doc tests (root conftest.py, Sybil) run it as a
doctest on the small demo that the README's command-line section writes; this checks that it
stays the one-screen API and stays run (a doctest, not skipped)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _section() -> str:
    text = (REPO / "README.md").read_text()
    return text.split("## Python API in one screen", 1)[1].split("\n## ", 1)[0]


def _source(block: str) -> str:
    """The Python source of a doctest block (``>>>``/``...`` prompts removed)."""
    return "\n".join(ln[4:] for ln in block.splitlines() if ln.startswith((">>> ", "... ")))


def test_readme_block_uses_the_one_screen_api():
    section = _section()
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    code = _source(block)
    assert "from spm_models import (BookingsForecast, Plan, load_scenario, load_source, " \
           "plan_metrics,\n                        run_scenario, simulate_plan)" in code
    for call in ("load_source(", ".fit(", ".forecast(", "set_quotas(", "simulate_plan(",
                 "plan_metrics(", "run_scenario(load_scenario("):
        assert call in code, call
    assert len(code.strip().splitlines()) <= 16   # one screen


def test_readme_block_is_run_by_the_doc_tests():
    section = _section()
    before = section.split("```python", 1)[0]
    assert "<!-- skip" not in before
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    lines = [ln for ln in block.splitlines() if ln.strip()]
    assert lines[0].startswith(">>> ")
    # results are printed and checked, not only computed
    assert sum(1 for ln in lines if not ln.startswith((">>> ", "... "))) >= 4
