"""Every fenced block in README.md and docs/ is either run by the doc tests (python, console,
yaml: see the root conftest.py) or marked as shown output/layout (text, csv, json) — so no
command example can slip past the doc tests under a ``bash`` or unlabelled fence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = {"python", "console", "yaml"}
SHOWN = {"text", "csv", "json"}
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def fences(text: str) -> list[tuple[int, str]]:
    """``(line, info string)`` of every opening fence."""
    out, inside = [], False
    for i, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*```(.*)$", line)
        if not m:
            continue
        if not inside:
            out.append((i, m.group(1).strip()))
        inside = not inside
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_fence_is_run_or_marked_as_output(path: Path) -> None:
    bad = [f"{path.name}:{line}: ```{info}" for line, info in fences(path.read_text())
           if info not in RUN | SHOWN]
    assert not bad, "fences that the doc tests would not run:\n" + "\n".join(bad)


def test_fence_scanner_sees_unlabelled_and_bash_fences() -> None:
    text = "a\n```bash\nspm x\n```\n```\nplain\n```\n```console\n$ ls\n```\n"
    assert fences(text) == [(2, "bash"), (5, ""), (8, "console")]
