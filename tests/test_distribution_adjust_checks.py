"""Adjustment review under a lock (two reviews at once: one wins, the other fails), and
proposals checked against the scenario: its reps, territories and horizon months, sizes above
+100 % only when confirmed, self-review caught whatever the case or spacing of the name."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from tiny_scenario import tiny_scenario

from spm_models.cli import main
from spm_models.distribution import adjustments
from spm_models.distribution.adjustments import load_adjustments, propose, review
from spm_models.distribution.world import scenario_targets
from spm_models.errors import InputError

MONTHS = tuple(f"2027-{m:02d}" for m in range(1, 13))


def _slow_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the read-check-write window so an unlocked review would always race."""
    real = adjustments._read

    def slow(path: Path) -> adjustments.Adjustment:
        adj = real(path)
        time.sleep(0.3)
        return adj

    monkeypatch.setattr(adjustments, "_read", slow)


#: one review in its own process, its read-check-write window widened as by _slow_read
_REVIEW = """
import sys, time
from spm_models.distribution import adjustments
from spm_models.errors import InputError
real = adjustments._read
def slow(path):
    adj = real(path)
    time.sleep(0.3)
    return adj
adjustments._read = slow
store, decision, by = sys.argv[1:4]
print("ready", flush=True)
sys.stdin.readline()  # start together: the parent answers once both are ready
try:
    adjustments.review(store, "ADJ-0001", decision, by, comment="no")
    print("ok")
except InputError as exc:
    print(exc)
"""

REVIEWS = (("approved", "Bo"), ("rejected", "Cy"))


def _review_outcome(store: str, decision: str, by: str, results: queue.Queue) -> None:
    try:
        review(store, "ADJ-0001", decision, by, comment="no")
        results.put((decision, "ok"))
    except InputError as exc:
        results.put((decision, str(exc)))


def _outcomes(store: Path, runner: str) -> list[tuple[str, str]]:
    if runner == "process":
        procs = [(d, subprocess.Popen([sys.executable, "-c", _REVIEW, str(store), d, b],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
                 for d, b in REVIEWS]
        for _, p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for _, p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        return [(d, p.communicate(timeout=60)[0].strip()) for d, p in procs]
    results: queue.Queue = queue.Queue()
    workers = [threading.Thread(target=_review_outcome, args=(str(store), d, b, results))
               for d, b in REVIEWS]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    return [results.get_nowait() for _ in workers]


@pytest.mark.parametrize("runner", ["thread", "process"])
def test_two_reviews_at_once_one_wins(tmp_path: Path, monkeypatch, runner: str) -> None:
    store = tmp_path / "adj"
    propose(store, "s", target="rep", target_id="R1", what="forecast", size=-0.1,
            reason="churn", by="Ana")
    _slow_read(monkeypatch)
    out = _outcomes(store, runner)
    wins = [d for d, msg in out if msg == "ok"]
    losses = [msg for _, msg in out if msg != "ok"]
    assert len(wins) == 1 and len(losses) == 1
    assert "is already" in losses[0] and "\n" not in losses[0]
    stored = yaml.safe_load((store / "ADJ-0001.yaml").read_text())
    assert stored["status"] == wins[0]


def test_self_review_ignores_case_and_spacing(tmp_path: Path) -> None:
    store = tmp_path / "adj"
    propose(store, "s", target="rep", target_id="R1", what="forecast", size=-0.1,
            reason="churn", by="Ana Diaz")
    for name in ("ana diaz", " ANA   Diaz ", "Ana\tdiaz", "AnaDiaz"):
        with pytest.raises(InputError, match="cannot also review"):
            review(store, "ADJ-0001", "approved", name)
    assert review(store, "ADJ-0001", "approved", "Ana Lee").status == "approved"


@pytest.mark.parametrize(("kw", "match"), [
    ({"target_id": "R99999"}, "not a rep of scenario s's data"),
    ({"target": "territory", "target_id": "NOPE"}, "not a territory"),
    ({"from_period": "2027-13"}, "expected a month"),
    ({"from_period": "2028-01"}, "outside scenario s's horizon 2027-01..2027-12"),
    ({"size": "20"}, r"\+2000 %.*--confirm-large"),
    ({"size": 1.5}, r"\+150 %"),
    ({"sd": "300%"}, "--sd"),
])
def test_proposals_outside_the_scenario_are_refused(tmp_path: Path, kw, match: str) -> None:
    store = tmp_path / "adj"
    args = {"target": "rep", "target_id": "R1", "what": "forecast", "size": -0.1,
            "reason": "r", "by": "Ana", "months": MONTHS, **kw}
    args["known_ids"] = {"R1", "R2"} if args["target"] == "rep" else {"T1"}
    with pytest.raises(InputError, match=match):
        propose(store, "s", **args)
    assert load_adjustments(store) == []


def test_large_size_with_confirmation_and_the_bound(tmp_path: Path) -> None:
    store = tmp_path / "adj"
    kw = {"target": "rep", "target_id": "R1", "what": "quota", "reason": "r", "by": "Ana",
          "known_ids": {"R1"}, "months": MONTHS}
    assert propose(store, "s", size="100%", **kw).size == pytest.approx(1.0)  # the bound itself
    assert propose(store, "s", size="20", allow_large=True, **kw).size == pytest.approx(20.0)


@pytest.fixture()
def csv_scenario(tmp_path: Path) -> Path:
    """A scenario on a tiny CSV data folder: reps R1 (T1), R2 (T2); account territory T3."""
    return tiny_scenario(tmp_path, "R1,2026-01-05,100\nR2,2026-02-05,50\n", 6,
                         accounts="account_id,zip,potential,territory_id\n"
                                  "A1,10001,5,T1\nA2,10002,5,T3\n")


def test_scenario_targets_read_the_data(csv_scenario: Path) -> None:
    t = scenario_targets(csv_scenario)
    assert t.reps == {"R1", "R2"} and t.territories == {"T1", "T2", "T3"}
    assert t.months == ("2027-04", "2027-05", "2027-06", "2027-07", "2027-08", "2027-09")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["adjust", *argv])
    cap = capsys.readouterr()
    return int(exc.value.code or 0), cap.out, cap.err


def test_cli_propose_checks_the_scenario(csv_scenario: Path, tmp_path: Path, capsys) -> None:
    scen, store = str(csv_scenario), str(tmp_path / "store")
    base = ["--what", "forecast", "--reason", "r", "--by", "Ana", "--store", store]
    for bad in (["--rep", "R99999", "--size", "-5%"], ["--territory", "NOPE", "--size", "-5%"],
                ["--rep", "R1", "--size", "-5%", "--from", "2027-13"],
                ["--rep", "R1", "--size", "-5%", "--from", "2027-01"],  # before the horizon
                ["--rep", "R1", "--size", "20"]):
        code, _, err = _run(capsys, "propose", scen, *bad, *base)
        assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not list(Path(store).glob("ADJ-*.yaml"))
    assert _run(capsys, "propose", scen, "--territory", "T3", "--size", "-5%", *base)[0] == 0
    assert _run(capsys, "propose", scen, "--rep", "R2", "--size", "20", "--confirm-large",
                "--from", "2027-09", *base)[0] == 0
    assert [a.target_id for a in load_adjustments(store)] == ["T3", "R2"]
    code, _, err = _run(capsys, "approve", scen, "ADJ-0001", "--by", "ana", "--store", store)
    assert code == 1 and "cannot also review" in err


def test_cli_list_rejects_an_unknown_status(csv_scenario: Path, tmp_path: Path, capsys) -> None:
    code, out, err = _run(capsys, "list", str(csv_scenario), "--status", "bogus",
                          "--store", str(tmp_path))
    assert code == 2 and "bogus" in err and "no adjustments" not in out
    assert _run(capsys, "list", str(csv_scenario), "--status", "approved",
                "--store", str(tmp_path))[0] == 0


def test_review_refuses_another_scenarios_adjustment(tmp_path: Path) -> None:
    store = tmp_path / "adj"
    propose(store, "tiny", target="rep", target_id="R1", what="forecast", size=-0.1,
            reason="churn", by="Ana")
    with pytest.raises(InputError, match="belongs to scenario 'tiny', not 'tiny2'"):
        review(store, "ADJ-0001", "approved", "Bo", scenario="tiny2")
    assert load_adjustments(store)[0].status == "proposed"
    assert review(store, "ADJ-0001", "approved", "Bo", scenario="tiny").status == "approved"


@pytest.mark.parametrize(("field", "value", "match"), [
    ("size", "abc", "field 'size': must be a finite number"),
    ("what", "bogus", "field 'what': must be one of forecast, quota, potential"),
    ("status", "done", "field 'status'"),
    ("from_period", "2027-13", "field 'from_period'"),
    ("sd", -0.5, "field 'sd': must not be negative"),
])
def test_hand_edited_adjustment_files_are_one_line_errors(tmp_path: Path, field, value, match) -> None:
    store = tmp_path / "adj"
    propose(store, "s", target="rep", target_id="R1", what="forecast", size=-0.1,
            reason="churn", by="Ana")
    path = store / "ADJ-0001.yaml"
    data = yaml.safe_load(path.read_text())
    data[field] = value
    path.write_text(yaml.safe_dump(data))
    for call in (lambda: load_adjustments(store), lambda: review(store, "ADJ-0001", "approved", "Bo")):
        with pytest.raises(InputError, match=match) as exc:
            call()
        assert str(exc.value).startswith(str(path)) and "\n" not in str(exc.value)


def test_a_zero_size_adjustment_is_refused_naming_the_flag(csv_scenario: Path, tmp_path: Path,
                                                           capsys) -> None:
    store = tmp_path / "store"
    kw = {"target": "rep", "target_id": "R1", "reason": "r", "by": "Ana"}
    for size in (0, "0", "0%", "-0 %", 0.0):
        for what in ("forecast", "quota", "potential"):
            with pytest.raises(InputError) as exc:
                propose(store, "s", what=what, size=size, **kw)
            assert exc.value.problems[0].startswith("--size: ") and "changes nothing" in \
                exc.value.problems[0]
    with pytest.raises(InputError, match="--size"):  # a quota does not use the sd
        propose(store, "s", what="quota", size=0, sd="5%", **kw)
    # no change in the mean, more uncertainty: still a change of the forecast draws
    assert propose(store, "s", what="forecast", size=0, sd="5%", **kw).sd == pytest.approx(0.05)
    code, _, err = _run(capsys, "propose", str(csv_scenario), "--rep", "R1", "--what", "quota",
                        "--size", "0", "--reason", "r", "--by", "Ana", "--store", str(store))
    assert code == 1 and err.strip().splitlines() == [
        ("error: --size: '0' is a change of 0 %, which changes nothing; give the expected "
         "change, e.g. -20% or 0.1")]
    assert [a.what for a in load_adjustments(store)] == ["forecast"]


def test_option_mistakes_of_propose_are_usage_errors(csv_scenario: Path, tmp_path: Path,
                                                     capsys) -> None:
    """Exit 2, one line, for options that do not go together or a value that is not a choice
    (as for --status of list); nothing stored."""
    store = str(tmp_path / "store")
    base = ["--size", "-5%", "--reason", "r", "--by", "Ana", "--store", store]
    for bad in (["--what", "forecast"], ["--rep", "R1", "--territory", "T1", "--what", "quota"],
                ["--rep", "R1", "--what", "revenue"]):
        code, _, err = _run(capsys, "propose", str(csv_scenario), *bad, *base)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith("error: ") and "--" in err and "Traceback" not in err
    assert not list(Path(store).glob("ADJ-*.yaml"))
