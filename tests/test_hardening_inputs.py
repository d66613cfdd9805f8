"""Hostile inputs (issue 12 items 6-9, issue 16 item 2): names, secrets, files outside the
workbench, YAML bombs and YAML numbers. Inputs are fixtures; personal details are invented."""

from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_report_helpers import PLAN

from spm_models.errors import MAX_LINE, InputError

# ----------------------------------------------------------------------------- fixtures
HOSTILE_NAMES = ["../../x", "../x", "/tmp/abs", "javascript:alert(1)", "JavaScript:alert(1)",
                 "data:text/html,hi", ".hidden", "..", ".", "a/b", "a\\b", "", " x", "x y",
                 "-rf", "_x", "x" * 101, "naïve", "a\nb", "<b>x</b>", "a%2e%2e", "c:\\x"]
GOOD_NAMES = ["base", "fy27.high", "base-growth=0.1", "A_1", "x" * 100, "2027"]
SHADOW = "zorbl:$6$invented$hash:19000:0:99999:7:::\nquux:!:19000:0:99999:7:::\n"


def _plan_file(tmp_path, name="ae.yaml", **overrides):
    plans = tmp_path / "plans"
    plans.mkdir(exist_ok=True)
    plan = dict(PLAN, **overrides)
    (plans / name).write_text(yaml.safe_dump(plan, sort_keys=False))
    return plans / name


def _scenario_file(tmp_path, text: str, name: str = "s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ----------------------------------------------------------------------------- item 6: names
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_name_rule_rejects_paths_and_links(name, tmp_path):
    from spm_models.names import check_name, child_path, is_valid_name

    assert not is_valid_name(name)
    with pytest.raises(InputError) as exc:
        check_name(name, tmp_path / "s.yaml", "sweep.names[0]")
    line = exc.value.problems[0]
    assert str(tmp_path / "s.yaml") in line and "sweep.names[0]" in line
    with pytest.raises(InputError):
        child_path(tmp_path, name)


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_name_rule_accepts_plain_names(name, tmp_path):
    from spm_models.names import check_name, child_path, href

    assert check_name(name, "f", "name") == name
    assert child_path(tmp_path, name) == tmp_path / name
    assert href(name, "report.html") == f"{name}/report.html"


@given(st.text(min_size=0, max_size=30))
@settings(max_examples=300, deadline=None)
def test_valid_names_never_leave_the_folder_or_make_a_scheme(name):
    """Property: any accepted name is one plain path component and no URL scheme."""
    from spm_models.names import is_valid_name

    if is_valid_name(name):
        assert "/" not in name and "\\" not in name and ":" not in name
        assert name not in (".", "..") and not name.startswith((".", "-"))


def test_child_path_checks_the_resolved_path(tmp_path):
    from spm_models.names import child_path

    out = tmp_path / "out"
    out.mkdir()
    (out / "evil").symlink_to(tmp_path)  # a valid name that resolves elsewhere
    with pytest.raises(InputError, match="outside the output folder"):
        child_path(out, "evil")


@pytest.mark.parametrize("bad", ["../../x", "/tmp/abs", "javascript:alert(1)", ".."])
def test_sweep_names_go_through_the_rule(tmp_path, bad):
    from spm_models.scenario import load_scenarios

    plan = _plan_file(tmp_path)
    path = _scenario_file(tmp_path, yaml.safe_dump({
        "name": "base", "plans": {"AE": str(plan)},
        "sweep": {"key": "quota.growth", "values": [0.05, 0.1], "names": ["ok", bad]}}))
    with pytest.raises(InputError) as exc:
        load_scenarios(path)
    assert exc.value.problems == [exc.value.problems[0]]
    assert str(path.resolve()) in exc.value.problems[0] and "sweep.names[1]" in exc.value.problems[0]


def test_sweep_names_count_must_match(tmp_path):
    from spm_models.scenario import load_scenarios

    plan = _plan_file(tmp_path)
    path = _scenario_file(tmp_path, yaml.safe_dump({
        "name": "base", "plans": {"AE": str(plan)},
        "sweep": {"key": "quota.growth", "values": [0.05, 0.1], "names": ["only_one"]}}))
    with pytest.raises(InputError, match="sweep.names"):
        load_scenarios(path)


def test_sweep_over_plan_files_is_relative_to_the_scenario_file(tmp_path, monkeypatch):
    from spm_models.scenario import load_scenarios

    _plan_file(tmp_path, "ae.yaml")
    _plan_file(tmp_path, "ae_high.yaml", target_incentive=90000)
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    monkeypatch.chdir(sub)  # a relative plan path must not depend on the working folder
    path = _scenario_file(tmp_path, yaml.safe_dump({
        "name": "base", "plans": {"AE": "plans/ae.yaml"},
        "sweep": {"key": "plans.AE", "values": ["plans/ae.yaml", "plans/ae_high.yaml"]}}))
    scs = load_scenarios(path)
    assert [s.name for s in scs] == ["base-AE=ae", "base-AE=ae_high"]
    assert scs[1].plans["AE"] == str((tmp_path / "plans" / "ae_high.yaml").resolve())
    bad = _scenario_file(tmp_path, yaml.safe_dump({
        "name": "base", "plans": {"AE": "plans/ae.yaml"},
        "sweep": {"key": "plans.AE", "values": ["plans/missing.yaml"]}}), "bad.yaml")
    with pytest.raises(InputError, match="sweep.values"):
        load_scenarios(bad)


def test_index_and_compare_links_are_relative_and_escaped(tmp_path):
    """Even a run whose name bypassed loading gets no link and is not claimed as ok."""
    from types import SimpleNamespace

    from spm_models.reporting.html import write_index

    evil = SimpleNamespace(name="javascript:alert(1)", source="x.yaml", title="t", ok=True,
                           error=None, summary={}, approval=None, interrupted=False)
    html = write_index(tmp_path, [evil]).read_text()
    assert 'href="javascript' not in html.lower()
    assert "outputs missing on disk" in html


# ----------------------------------------------------------------------------- item 7: secrets
URLS = [
    ("postgresql://ana.lopez:Pa55word!@db.example:5432/sales?sslmode=require&token=s3cr3t",
     ["ana.lopez", "Pa55word!", "s3cr3t", "require"]),
    ("sqlite:////srv/data/org.db?token=s3cr3t&x=tok%2Fen123", ["s3cr3t", "tok%2Fen123", "tok/en123"]),
    ("duckdb:///data/org.duckdb?motherduck_token=abcdef123456", ["abcdef123456"]),
    ("snowflake://svc_user:hunter22@acct/db/schema?warehouse=wh&role=sysadmin#frag",
     ["svc_user", "hunter22", "sysadmin"]),
]


@pytest.mark.parametrize(("url", "secrets"), URLS)
def test_mask_url_hides_userinfo_and_every_query_value(url, secrets):
    from spm_models.masking import mask_url, redact

    masked = mask_url(url)
    for s in secrets:
        assert s not in masked
    assert masked.split("://")[0] == url.split("://")[0]
    text = f"error: cannot open {url}: connection refused"
    for s in secrets:
        assert s not in redact(text)
    assert "connection refused" in redact(text)


@given(user=st.from_regex(r"[a-z]{6,10}", fullmatch=True),
       pw=st.from_regex(r"[A-Za-z0-9]{8,12}", fullmatch=True),
       tok=st.from_regex(r"[A-Za-z0-9_\-]{6,20}", fullmatch=True))
@settings(max_examples=100, deadline=None)
def test_redact_property(user, pw, tok):
    """Property: user, password and token of any URL in any text never survive."""
    from spm_models.masking import mask_url, redact

    url = f"postgresql://{user}:{pw}@host/db?a=1&token={tok}"
    for text in (url, f'<td>"{url}"</td>', f"x={url}, y", mask_url(url)):
        out = redact(text)
        assert f":{pw}@" not in out and f"token={tok}" not in out and f"//{user}:" not in out


def test_registered_secret_is_redacted_without_its_url():
    from spm_models.masking import redact, register_secrets

    register_secrets("duckdb:///x.duckdb?token=zq9s3cr3tzq")
    assert "zq9s3cr3tzq" not in redact('IO Error: Cannot open "/x.duckdb?tok=zq9s3cr3tzq"')
    assert redact("analysis of true values") == "analysis of true values"


def test_report_footer_masks_the_data_url():
    from spm_models.reporting import sections

    summary = {"provenance": {"package_version": "1", "scenario_hash": "h", "data_hash": "d",
                              "seed": 1}}
    html = sections.footer(summary, "postgresql://ana:Pa55word@db/x?token=s3cr3t").data
    assert "Pa55word" not in html and "s3cr3t" not in html and "ana:" not in html
    assert "postgresql://" in html


def test_runner_error_lines_are_masked():
    from spm_models.reporting.runner import _reason

    exc = InputError("postgresql://ana:Pa55word@db/x?token=s3cr3t: cannot read database")
    line = _reason(exc)
    assert "Pa55word" not in line and "s3cr3t" not in line and "cannot read database" in line


# ----------------------------------------------------------------------------- item 8: files
def test_plan_outside_the_documented_form_is_not_read(tmp_path):
    from spm_models.scenario import load_scenarios

    shadow = tmp_path / "shadow"
    shadow.write_text(SHADOW)
    path = _scenario_file(tmp_path, yaml.safe_dump({"name": "s", "plans": {"AE": str(shadow)}}))
    with pytest.raises(InputError) as exc:
        load_scenarios(path)
    line = exc.value.problems[0]
    assert "plans.AE" in line and ".yaml" in line
    assert "zorbl" not in line and "19000" not in line and "invented" not in line


@pytest.mark.parametrize("content", [SHADOW, "\x00\x01\x02binary", "- a\n- b\n" * 3,
                                     "key: [unclosed\n" + SHADOW, "x" * 5000])
def test_unparseable_plan_is_named_without_echoing_content(tmp_path, content):
    from spm_models.comp import Plan

    p = tmp_path / "ae.yaml"
    p.write_text(content)
    with pytest.raises(InputError) as exc:
        Plan.from_yaml(p)
    text = " ".join(exc.value.problems)
    assert str(p) in text
    for fragment in ("zorbl", "19000", "binary", "xxxxxxxxxx"):
        assert fragment not in text


# ----------------------------------------------------------------------------- item 9: bombs
def _bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", ["plan", "scenario"])
def test_yaml_bomb_is_rejected_fast_with_a_short_line(tmp_path, kind):
    from spm_models.comp import Plan
    from spm_models.scenario import load_scenarios

    text = _bomb()
    assert len(text) < 1200
    if kind == "plan":
        p = tmp_path / "bomb.yaml"
        p.write_text("name: bomb\nplan_year_start: 2027-01\n" + text + "measures: *a8\n")
        call = lambda: Plan.from_yaml(p)
    else:
        p = tmp_path / "s.yaml"
        p.write_text("name: s\n" + text.replace("a0:", "description:", 1))
        call = lambda: load_scenarios(p)
    t0 = time.perf_counter()
    with pytest.raises(InputError) as exc:
        call()
    assert time.perf_counter() - t0 < 2.0
    assert str(p) in exc.value.problems[0] and "alias" in exc.value.problems[0]
    assert all(len(line) <= MAX_LINE for line in exc.value.problems)


def test_alias_limits_and_recursion():
    from spm_models.yaml_input import MAX_ALIASES, loads

    small = "a: &a {x: 1}\nb: *a\nc: *a\n"
    assert loads(small)["c"] == {"x": 1}
    many = "a: &a 1\nb: [" + ",".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(ValueError, match="aliases"):
        loads(many)
    with pytest.raises(ValueError, match="recursive"):
        loads("a: &a [1, *a]\n")


def test_messages_never_carry_unbounded_values(tmp_path):
    from spm_models.errors import short_repr

    huge = {"k": ["x" * 10_000] * 1000}
    assert len(short_repr(huge)) <= 80
    err = InputError(["file: " + "y" * 100_000])
    assert len(err.problems[0]) <= MAX_LINE
    path = _scenario_file(tmp_path, yaml.safe_dump({"name": "s", "horizon": {"start": "z" * 50_000}}))
    from spm_models.scenario import load_scenarios

    with pytest.raises(InputError) as exc:
        load_scenarios(path)
    assert len(exc.value.problems[0]) < 400


# ----------------------------------------------------------------------------- issue 16: numbers
@pytest.mark.parametrize(("text", "value"), [
    ("2.5e8", 2.5e8), ("1.8e8", 1.8e8), ("1e308", 1e308), ("1E-3", 1e-3), ("-2e5", -2e5),
    ("1_000_000", 1_000_000), ("250000000", 250_000_000), ("0.08", 0.08), (".5", 0.5),
])
def test_yaml_numbers_as_people_write_them(text, value):
    from spm_models.yaml_input import loads

    got = loads(f"v: {text}")["v"]
    assert isinstance(got, (int, float)) and not isinstance(got, bool)
    assert got == pytest.approx(value)


def test_yaml_1_1_things_kept():
    import datetime as dt

    from spm_models.yaml_input import loads

    doc = loads("a: 2027-01\nb: 2027-01-15\nc: yes\nd: '2.5e8'\ne: 0 6 * * 1\nf: 1:30\ng: ~\n")
    assert doc == {"a": "2027-01", "b": dt.date(2027, 1, 15), "c": True, "d": "2.5e8",
                   "e": "0 6 * * 1", "f": "1:30", "g": None}
    assert yaml.safe_load("x: 2.5e8")["x"] == "2.5e8"  # the stock loader is unchanged


def test_scenario_and_plan_read_exponent_numbers(tmp_path):
    from spm_models.comp import Plan
    from spm_models.scenario import load_scenario

    plan = tmp_path / "ae.yaml"
    plan.write_text(yaml.safe_dump(PLAN, sort_keys=False).replace("60000", "6e4")
                    .replace("0.12", "1.2e-1"))
    p = Plan.from_yaml(plan)
    assert p.target_incentive == 60000
    assert str(p.plan_year_start).startswith("2027-01")
    s = _scenario_file(tmp_path, f"name: s\ntarget: 2.5e8\nbudget: 1_000_000\nplans: {{AE: {plan}}}\n")
    sc = load_scenario(s)
    assert sc.spec["target"] == 2.5e8 and sc.spec["budget"] == 1_000_000


def test_plan_rate_1e308_is_a_number(tmp_path):
    from spm_models.yaml_input import read_yaml

    p = tmp_path / "p.yaml"
    p.write_text("measures:\n- tiers:\n  - {rate: 1e308}\n")
    assert read_yaml(p, "plan")["measures"][0]["tiers"][0]["rate"] == 1e308
