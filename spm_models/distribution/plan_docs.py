"""Plan documents: one self-contained HTML page per quota-holding rep, and an index.

``spm plan-docs SCENARIO.yaml --out DIR`` writes ``DIR/<rep file>.html`` for every rep with a
plan-year quota in the scenario cube who is a person of the scenario's ``reps`` table, and
``DIR/index.html``; the planned hires of the scenario's hiring plan (made-up reps of the
scenario run) get none (:func:`document_table`). A document states the rep's name,
role and territory (with a map of its accounts), quota by quota period, the plan in plain
words (:mod:`.plain_words`), the pay curve through the comp engine with the rep's quota marked,
and the scenario's expected plan-year earnings (P10/P50/P90) and chance of reaching quota
(:mod:`.rep_figures`); a footer carries the provenance and the scenario's approval status.

Each document has a *content hash*: SHA-256 of the canonical JSON of everything it states
(figures to the cent, plain words, plan, territory accounts, pay-curve values), not of its
bytes, so re-rendering with another matplotlib does not count as a change but a new quota does.
Acceptances are recorded against it (:mod:`.acceptance`). Each document also carries its
*document hash*: SHA-256 of the document's own text as issued (:func:`document_hash`), which
``spm plan-docs accept --docs`` recomputes from the file, so a document edited after it was
written (a figure changed in its HTML) is refused rather than accepted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spm_models.atomic import atomic_write_text
from spm_models.distribution import acceptance
from spm_models.distribution.charts import TerritoryMaps, pay_curve_svg
from spm_models.distribution.plain_words import PERIOD_WORDS, plan_in_words
from spm_models.distribution.rep_figures import (
    attainment_grid,
    grid_subset,
    pay_curves,
    plan_year_earnings,
    quota_by_period,
    quota_index,
    rep_table,
)
from spm_models.distribution.templates import DOC, INDEX, STYLE
from spm_models.distribution.world import World, scenario_world

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_RESERVED = {"index", "con", "prn", "aux", "nul"}


def safe_file_name(rep_id: str) -> str:
    """A file name for ``rep_id``: letters, digits, ``_ . -`` only; ids that had to change get
    a short hash of the original appended, so different ids never share a file."""
    rep_id = str(rep_id)
    base = _SAFE.sub("_", rep_id).strip("._") or "rep"
    base = base[:60]
    if base != rep_id or base.lower() in _RESERVED:
        base = f"{base}-{hashlib.sha256(rep_id.encode()).hexdigest()[:8]}"
    return f"{base}.html"


@dataclass
class RepDoc:
    """One rendered document (``html``) and what the index needs."""

    rep_id: str
    file_name: str
    content_hash: str
    html: str
    row: dict[str, Any] = field(repr=False)


#: the ``spm-document-hash`` meta tag; its value is blanked while the document hash is computed
_DOC_HASH_RE = re.compile(r'<meta name="spm-document-hash" content="[^"]*">')
_BLANK = '<meta name="spm-document-hash" content="">'


def document_hash(html: str) -> str:
    """SHA-256 of a document's text with its ``spm-document-hash`` value blanked (line ends
    read as ``\\n``): what :func:`_doc` writes into that tag, recomputed on acceptance."""
    text = _DOC_HASH_RE.sub(_BLANK, html, count=1).replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a document's content."""
    text = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _accounts(world: World) -> pd.DataFrame | None:
    """Accounts with ``lat, lon, potential, territory`` as the scenario assigns them."""
    cube = world.cube
    if "account" in cube.dims and "territory_after" in cube:
        return pd.DataFrame({
            "account_id": cube["account"].values.astype(str),
            "territory": cube["territory_after"].values.astype(str),
            "lat": cube["lat"].values, "lon": cube["lon"].values,
            "potential": cube["potential"].values,
        })
    acc = world.tables.get("accounts")
    if acc is None or "territory_id" not in acc:
        return None
    out = acc.rename(columns={"territory_id": "territory"}).copy()
    out["account_id"] = out["account_id"].astype(str)
    for col in ("lat", "lon"):
        if col not in out:
            out[col] = np.nan
    return out


def _plan_months(quota: Any, plan: Any) -> tuple[np.ndarray, list[str]]:
    have = [str(p) for p in quota["period"].values]
    months = plan.months if set(plan.months) <= set(have) else have[:12]
    return np.asarray(quota.sel(period=months).transpose("rep", "period").values, float), months


def document_table(world: World) -> tuple[pd.DataFrame, list[str]]:
    """The reps who get a plan document, and the quota holders left out.

    Returns ``(table, left_out)``: :func:`~.rep_figures.rep_table` (earnings from
    :func:`~.rep_figures.plan_year_earnings`) restricted to the people of the scenario's data —
    the rep ids of its ``reps`` table, else (no such table) the cube's reps not marked
    ``is_hire`` — and the rep ids of the quota holders left out, in cube order: the planned
    hires of the scenario's hiring plan, which exist only inside the scenario run (no person
    to give a document to; their territory, name and accounts are made up).
    """
    cube = world.cube
    reps = world.tables.get("reps")
    table = rep_table(cube, reps, plan_year_earnings(cube, world.plans, world.tables))
    if reps is not None and "rep_id" in reps:
        person = table["rep_id"].isin(set(reps["rep_id"].astype(str)))
    elif "is_hire" in cube.coords:
        hire = dict(zip(np.asarray(cube["rep"].values).astype(str),
                        np.asarray(cube["is_hire"].values, dtype=bool), strict=True))
        person = ~table["rep_id"].map(hire).fillna(False).astype(bool)
    else:
        person = pd.Series(True, index=table.index)
    return table[person].reset_index(drop=True), table.loc[~person, "rep_id"].tolist()


def build_docs(world: World, *, curve_points: int = 101,
               approval: Any | None = None) -> list[RepDoc]:
    """Render the document of every quota-holding rep of :func:`document_table` (no files
    written)."""
    cube = world.cube
    table, _ = document_table(world)
    approval = approval if approval is not None else _approval(world)
    prov = {k: cube.attrs.get(k) for k in ("scenario_hash", "data_hash", "seed", "package_version")}
    accounts = _accounts(world)
    maps = TerritoryMaps(accounts) if accounts is not None and accounts["lat"].notna().any() else None
    by_territory = ({str(k): v for k, v in accounts.groupby(accounts["territory"].astype(str))}
                    if accounts is not None else {})
    n_draws = int(cube.sizes["draw"])
    docs: list[RepDoc] = []
    for key, group in table.groupby("plan_key", sort=False):
        plan = world.plans.get(key) or next(iter(world.plans.values()))
        monthly, months = _plan_months(cube["quota"].sel(rep=group["rep_id"].to_numpy()), plan)
        # each rep's axis reaches past their own shaded P10–P90 band: one engine call on the
        # grid of the plan's highest P90; each rep reads the subset of their own grid
        p90 = group["attainment_p90"].to_numpy(float)
        grid = attainment_grid(plan, curve_points, float(np.nanmax(p90)) if np.isfinite(p90).any() else 0.0)
        earn = pay_curves(plan, monthly, group["target_incentive"].fillna(
            plan.target_incentive if plan.target_incentive is not None else np.nan).to_numpy(), grid)
        for i, row in enumerate(group.to_dict("records")):
            own = attainment_grid(plan, curve_points, p90[i] if np.isfinite(p90[i]) else 0.0)
            at = grid_subset(grid, own)
            mine = by_territory.get(str(row["territory_id"])) if accounts is not None else None
            if accounts is not None and mine is None:
                mine = accounts.iloc[:0]
            # quota_index: the curve at exactly 100 %, not the nearest grid step
            docs.append(_doc(world, plan, row, monthly[i], months, own, earn[i][at],
                             quota_index(own), mine, maps, approval, prov, n_draws))
    order = {r: i for i, r in enumerate(table["rep_id"])}
    return sorted(docs, key=lambda d: order[d.rep_id])


def _doc(world: World, plan: Any, row: dict[str, Any], monthly: np.ndarray, months: list[str],
         grid: np.ndarray, earn: np.ndarray, i100: int, mine: pd.DataFrame | None,
         maps: TerritoryMaps | None, approval: Any, prov: dict[str, Any], n_draws: int) -> RepDoc:
    ti = row["target_incentive"] if np.isfinite(row["target_incentive"]) else None
    words = plan_in_words(plan, ti)
    periods = []
    for qp in dict.fromkeys(m.quota_period for m in plan.measures):
        rows = quota_by_period(monthly, months, plan.measure(
            next(m.name for m in plan.measures if m.quota_period == qp)).quota_months)
        periods.append({"period": qp, "title": f"Quota per {PERIOD_WORDS.get(qp, qp)}",
                        "rows": [(label, round(v, 2)) for label, v in rows]})
    terr = str(row["territory_id"])
    d = {k: (round(float(v), 2) if isinstance(v, (float, np.floating)) and k != "p_reach_quota"
             else v) for k, v in row.items()}
    d.update(name=str(row["name"]), p_reach_quota=float(row["p_reach_quota"]),
             at_quota=round(float(earn[i100]), 2), quota_periods=periods,
             n_accounts=None if mine is None else len(mine),  # None: no accounts data
             potential=(round(float(mine["potential"].sum()), 2)
                        if mine is not None and "potential" in mine else None))
    content = {
        "rep": {k: d[k] for k in ("rep_id", "name", "role", "territory_id", "annual_quota",
                                  "at_quota", "earnings_p10", "earnings_p50", "earnings_p90",
                                  "n_accounts", "potential")},
        "p_reach_quota": round(d["p_reach_quota"], 6),
        "quota_periods": periods,
        "words": [[s.title, list(s.sentences)] for s in words],
        "plan": plan.to_dict(),
        "accounts": sorted(mine["account_id"].astype(str)) if mine is not None else [],
        "curve": [round(float(v), 2) for v in earn],
        "scenario": world.scenario.name,
    }
    h = content_hash(content)
    band = (float(row["attainment_p10"]), float(row["attainment_p90"]))
    curve_img = pay_curve_svg(grid, earn, float(earn[i100]), band, plan.currency or "")
    map_img = maps.svg(terr) if maps is not None else None
    html = DOC.render(d=d, words=words, cur=plan.currency or "", curve_img=curve_img,
                      map_img=map_img, approval=approval, prov=prov, content_hash=h,
                      scenario=world.scenario.name, style=STYLE, n_draws=n_draws,
                      document_hash="")
    html = html.replace(_BLANK, _BLANK.replace('""', f'"{document_hash(html)}"'), 1)
    d["currency"] = plan.currency or ""
    return RepDoc(str(row["rep_id"]), safe_file_name(row["rep_id"]), h, html, d)


def _approval(world: World) -> Any:
    from spm_models.reporting import approvals

    return approvals.status(world.scenario, data_hash=world.cube.attrs.get("data_hash"))


def render_index(world: World, docs: list[RepDoc], approval: Any,
                 ledger: str | Path | None = None) -> str:
    """``index.html``: every document with its acceptance state (accepted / not / changed)."""
    path = acceptance.acceptance_ledger(world.scenario, ledger)
    entries = acceptance.read_entries(path)
    bad = acceptance.verify(entries)
    problem = (f"The acceptance ledger {path.name} fails its hash-chain check at entry {bad}: "
               "acceptances from that entry on are not shown." if bad is not None else None)
    if bad is not None:
        entries = entries[:bad - 1]
    states = acceptance.states(entries, world.scenario.name, {d.rep_id: d.content_hash for d in docs})
    rows = []
    counts = {"accepted": 0, "not accepted": 0, "changed": 0}
    for d in docs:
        st = states[d.rep_id]
        counts[st.state] += 1
        rows.append({**d.row, "file_name": d.file_name, "acceptance": st})
    prov = {k: world.cube.attrs.get(k) for k in ("scenario_hash", "data_hash", "seed", "package_version")}
    return INDEX.render(docs=rows, counts=counts, approval=approval, prov=prov, style=STYLE,
                        scenario=world.scenario.name, ledger_problem=problem)


def write_plan_docs(world: World, out: str | Path, ledger: str | Path | None = None) -> list[RepDoc]:
    """Write every document and ``index.html`` into ``out`` (each file atomically)."""
    approval = _approval(world)
    docs = build_docs(world, approval=approval)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for d in docs:
        atomic_write_text(out / d.file_name, d.html)
    atomic_write_text(out / "index.html", render_index(world, docs, approval, ledger))
    return docs


def plan_docs(scenario: str | Path, out: str | Path) -> tuple[list[RepDoc], list[str]]:
    """``spm plan-docs SCENARIO.yaml --out DIR``: the documents written, and the rep ids of the
    quota holders left out (planned hires, :func:`document_table`)."""
    world = scenario_world(scenario)
    return write_plan_docs(world, out), document_table(world)[1]


def accept(scenario: str | Path, rep: str, by: str, docs: str | Path | None = None,
           ledger: str | Path | None = None) -> dict[str, Any]:
    """``spm plan-docs accept``: record ``by``'s acceptance of ``rep``'s current document.

    The document's content hash is read from ``docs/<rep file>.html`` when ``docs`` is given
    (after recomputing the document's hash from its text and comparing it with the one it was
    issued with), else the document is rebuilt from the scenario. Raises :class:`InputError`
    for a rep without a document, and for a document edited after it was written.
    """
    from spm_models.errors import InputError

    if docs is not None:
        world_scenario = _scenario_only(scenario)
        path = Path(docs) / safe_file_name(rep)
        if not path.exists():
            raise InputError(f"{path}: no plan document for rep {rep!r} (run spm plan-docs first)")
        h, name = _document_hash(path, world_scenario.name, str(rep)), world_scenario.name
    else:
        world = scenario_world(scenario)
        world_scenario = world.scenario
        found = [d for d in build_docs(world, approval=_approval(world)) if d.rep_id == str(rep)]
        if not found:
            raise InputError(f"{scenario}, rep {rep!r}: no plan document (not a rep of the "
                             "scenario's reps table with a quota in this scenario; planned "
                             "hires get no document)")
        h, name = found[0].content_hash, world.scenario.name
    return acceptance.record(name, str(rep), h, by,
                             acceptance.acceptance_ledger(world_scenario, ledger))


def _meta(text: str, name: str) -> str | None:
    m = re.search(rf'<meta name="{name}" content="([^"]*)">', text)
    return unescape(m.group(1)) if m else None


def _document_hash(path: Path, scenario: str, rep: str) -> str:
    """The content hash of the document at ``path``, after checking it is ``rep``'s document
    of ``scenario`` (its ``spm-scenario`` and ``spm-rep`` meta tags); :class:`InputError` if not."""
    from spm_models.errors import InputError

    text = path.read_text(encoding="utf-8", errors="replace")
    h = _meta(text, "spm-content-hash")
    if h is None or not re.fullmatch(r"[0-9a-f]{64}", h):
        raise InputError(f"{path}: not a plan document (no content hash)")
    doc_scenario, doc_rep = _meta(text, "spm-scenario"), _meta(text, "spm-rep")
    issued = _meta(text, "spm-document-hash")
    if doc_scenario is None or doc_rep is None or not issued:
        raise InputError(f"{path}: the document does not carry its scenario, rep and document "
                         "hash (written by an older version); write the documents again with "
                         "spm plan-docs")
    if doc_scenario != scenario:
        raise InputError(f"{path}: a document of scenario {doc_scenario!r}, not {scenario!r}; "
                         f"accept it with that scenario or write {scenario!r}'s documents")
    if doc_rep != rep:
        raise InputError(f"{path}: the document of rep {doc_rep!r}, not {rep!r}")
    if document_hash(text) != issued:
        raise InputError(f"{path}: the document was edited after spm plan-docs wrote it (its "
                         "text no longer matches its document hash); not accepted: write the "
                         "documents again with spm plan-docs and accept the new one")
    return h


def _scenario_only(path: str | Path) -> Any:
    from spm_models.scenario import load_scenario

    return load_scenario(path)
