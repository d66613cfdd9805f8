"""Usage errors exit 2 with one plain line on stderr (no rich box, no usage block), bad input
data exits 1 (``spm_models/cli/__init__.py``: exit codes as click's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spm_models.cli import main

BOX = set("╭╮╰╯│─")


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    cap = capsys.readouterr()
    return int(exc.value.code or 0), cap.out, cap.err


def _one_usage_line(code: int, out: str, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and not out, (code, out, err)
    assert lines[0].startswith("error: ") and not BOX & set(err), err
    return lines[0]


@pytest.mark.parametrize(("argv", "words"), [
    (["comp", "credit", "--plan", "p.yaml", "--out", "c.csv"],
     ["Missing option '--bookings'", "spm comp credit --help"]),
    (["comp", "credit", "--plan", "p.yaml", "--bookings", "b.csv", "--out", "c.csv", "--bogus"],
     ["No such option: --bogus", "spm comp credit --help"]),
    (["comp", "calc", "--plan", "p.yaml", "--quotas", "q.csv", "--out", "o.csv"],
     ["'--credits' / '--bookings'", "give exactly one of them"]),
    (["comp", "calc", "--plan", "p.yaml", "--quotas", "q.csv", "--out", "o.csv", "--credits",
      "c.csv", "--splits", "s.csv"], ["'--splits'", "needs --bookings"]),
    (["comp", "simulate", "--plan", "p.yaml", "--quotas", "q.csv", "--out", "o.json",
      "--draws", "0"], ["'--draws'"]),
    (["comp", "nosuchcommand"], ["No such command 'nosuchcommand'"]),
    (["plan", "quotas", "--cube", "c.zarr", "--out", "q.csv"], ["--scenario / --config: give one of them"]),
    (["adjust", "propose", "s.yaml", "--rep", "R1", "--what", "revenue", "--size", "-5%",
      "--reason", "r", "--by", "Ana"], ["'--what'", "'revenue' is not one of forecast, quota, potential"]),
])
def test_usage_errors_exit_2_with_one_plain_line(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    line = _one_usage_line(*_run(capsys, argv))
    for w in words:
        assert w in line, line
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_command_group_without_a_command_shows_its_help_with_exit_2(capsys):
    code, out, err = _run(capsys, ["comp"])
    assert code == 2 and "calc" in out + err and "credit" in out + err


def test_help_and_bad_input_keep_their_exit_codes(tmp_path, capsys):
    """Exit 1 stays for values our checks refuse (a range, a date), as before."""
    code, _, err = _run(capsys, ["plan", "hiring", "--start", "2027-01", "--target", "0",
                                 "--headcount", "3", "--productivity", "1e5"])
    assert code == 1 and err.startswith("error: --target") and len(err.strip().splitlines()) == 1
    assert _run(capsys, ["comp", "credit", "--help"])[0] == 0
    code, _, err = _run(capsys, ["comp", "credit", "--plan", str(tmp_path / "none.yaml"),
                                 "--bookings", str(tmp_path / "b.csv"), "--out",
                                 str(tmp_path / "c.csv")])
    assert code == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_the_installed_command_prints_one_line_too(tmp_path):
    """Through the ``spm`` entry point (a real terminal width, rich installed)."""
    spm = Path(sys.executable).with_name("spm")
    res = subprocess.run([str(spm), "comp", "credit", "--plan", "p.yaml"], capture_output=True,
                         text=True, cwd=tmp_path, env={"COLUMNS": "80", "PATH": "/usr/bin:/bin",
                                                       "FORCE_COLOR": "1"})
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip() == ("error: Missing option '--bookings' (see spm comp credit "
                                  "--help)")
