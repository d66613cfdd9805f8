"""Documentation tests: every fenced example in README.md and docs/*.md runs (Sybil).

Fences and how they run (docs/contributing.md says how to write them):

* ```` ```python ```` — Python. Plain blocks run as code; blocks starting with ``>>>`` are
  doctests whose printed output must match (``...`` matches anything, whitespace normalised).
* ```` ```console ```` — shell commands after ``$ ``, each followed by its expected output
  (stdout and stderr together; ``...`` matches anything; a last line ``[exit N]`` expects exit
  code N, else 0). Commands run with ``bash`` in the document's work folder.
* ```` ```yaml ```` — must load with the project's YAML reader; a block whose first line is
  ``# plan`` must validate as a comp plan, ``# scenario`` as a scenario file; an indented
  ``...`` line is an elision and is left out.
* ```` ```text ````, ```` ```csv ````, ```` ```json ```` — shown output or file layouts, not run.

Each document runs in its own work folder, a copy of ``examples/`` (so ``examples/...`` paths
work) with ``scenarios/`` beside it; a ``<!-- skip: next "reason" -->`` comment before a fence
skips it (used only for the ``make`` targets that are themselves the CI).
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

ROOT = Path(__file__).resolve().parent
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_EXIT = re.compile(r"^\[exit (\d+)\]$")
_CHECKER = doctest.OutputChecker()


def _norm(text: str) -> str:
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def _commands(source: str) -> list[tuple[str, str]]:
    """``[(command, expected output)]`` of a console block (``\\`` continues a command)."""
    out: list[tuple[str, list[str]]] = []
    cont = False
    for line in source.splitlines():
        if line.startswith("$ ") and not cont:
            out.append((line[2:], []))
            cont = line.endswith("\\")
        elif cont:
            cmd, exp = out[-1]
            out[-1] = (cmd + "\n" + line, exp)
            cont = line.endswith("\\")
        elif out:
            out[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"console block: output before the first '$ ' command: {line!r}")
    return [(cmd, "\n".join(exp)) for cmd, exp in out]


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("SPM_CACHE_DIR", str(work / ".spm_cache"))
    env["COLUMNS"] = "100"
    env["TERM"] = "dumb"
    env["NO_COLOR"] = "1"
    return env


def evaluate_console(example) -> None:
    work = Path(example.namespace["__work__"])
    for cmd, expected in _commands(example.parsed):
        exp_lines = expected.rstrip("\n").split("\n") if expected.strip() else []
        code = 0
        if exp_lines and (m := _EXIT.match(exp_lines[-1].strip())):
            code = int(m.group(1))
            exp_lines = exp_lines[:-1]
        proc = subprocess.run(["bash", "-c", cmd], check=False, cwd=work, env=_env(work), text=True,
                              capture_output=True, timeout=900)
        got = _norm(proc.stdout + proc.stderr)
        want = _norm("\n".join(exp_lines))
        if proc.returncode != code:
            raise AssertionError(f"$ {cmd}\nexit {proc.returncode}, expected {code}\n{got}")
        if want.strip() == "" and got.strip() == "":
            continue
        if not _CHECKER.check_output(want, got, _FLAGS):
            raise AssertionError(f"$ {cmd}\n--- expected\n{want}--- got\n{got}")


def evaluate_yaml(example) -> None:
    """Load the block from a file in the work folder's ``scenarios/`` (so ``extends: base.yaml``
    and ``plans/...`` resolve as they would for a scenario file written there)."""
    from spm_models.yaml_input import read_yaml

    # an indented ``...`` line marks an elision (as in the pinned contract copies), not YAML
    text = "\n".join(ln for ln in str(example.parsed).split("\n")
                     if not (ln.strip() == "..." and ln != ln.lstrip()))
    first = text.lstrip().split("\n", 1)[0].strip()
    path = Path(example.namespace["__work__"]) / "scenarios" / f"_doc_line{example.line}.yaml"
    path.write_text(text)
    try:
        if first == "# plan":
            from spm_models.comp import Plan

            Plan.from_yaml(path)
        elif first == "# scenario":
            from spm_models.scenario import load_scenarios

            assert load_scenarios(path)
        else:
            read_yaml(path, "YAML")
    finally:
        path.unlink()


def _setup(namespace: dict) -> None:
    work = Path(tempfile.mkdtemp(prefix="spm-docs-"))
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copytree(ROOT / "scenarios", work / "scenarios")
    namespace["__work__"] = str(work)
    namespace["__cwd__"] = os.getcwd()
    os.chdir(work)


def _teardown(namespace: dict) -> None:
    os.chdir(namespace["__cwd__"])
    shutil.rmtree(namespace["__work__"], ignore_errors=True)


pytest_collect_file = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=_FLAGS),
        CodeBlockParser("console", evaluate_console),
        CodeBlockParser("yaml", evaluate_yaml),
        SkipParser(),
    ],
    patterns=["README.md", "docs/*.md"],
    setup=_setup,
    teardown=_teardown,
).pytest()
