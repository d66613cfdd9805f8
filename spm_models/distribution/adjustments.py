"""Manager adjustments under review, and their effect on the scenario world.

**Store.** One YAML file per adjustment in a folder: ``$SPM_ADJUSTMENTS`` if set, else
``adjustments/`` next to the scenario file. A file ``ADJ-<n>.yaml`` holds::

    id: ADJ-0003
    scenario: base               # the scenario's name
    target: territory            # rep | territory
    target_id: T07
    what: potential              # forecast | quota | potential
    size: -0.2                   # expected relative change (-0.2 = -20 %)
    sd: 0.05                     # uncertainty of the change (standard deviation, same unit)
    from_period: 2027-04         # optional: first month affected (default: the whole horizon)
    reason: largest account churns in Q2
    proposed_by: Ana             # name given; proposed_os_user: the OS user who ran it
    proposed_at: 2026-11-29T22:10:00+00:00
    status: proposed             # proposed -> approved | rejected (final)
    reviewed_by: ...             # with reviewed_os_user, reviewed_at, comment

A reviewer must not be the proposer (four eyes; names compared ignoring case and spacing); an
approved or rejected adjustment is final (propose a new one to change it). Ids are allocated,
and a review reads, checks and writes its file, under one exclusive lock on the store's
``.lock`` file, so of two reviews at once the second sees the first's decision and fails.
Every file is written atomically.

**Effect** (:func:`apply_adjustments`, pure): only ``approved`` adjustments apply, in id order.
Each draws one multiplicative factor per forecast draw, ``f_d = max(0, 1 + size + sd·z_d)``
with ``z_d ~ N(0, 1)`` from the given generator, and

- ``forecast``: multiplies the target reps' forecast bookings (draw ``d`` by ``f_d``);
- ``potential``: multiplies the potential of the target's accounts by ``1 + size`` and the
  target reps' forecast bookings by ``f_d ** elasticity`` (default elasticity 1: bookings move
  in proportion to potential — an assumption, stated in docs/distribution.md);
- ``quota``: multiplies the target reps' quotas by ``1 + size`` (a quota is a decision, not
  uncertain: ``sd`` is not used, and :func:`propose` refuses one).

A territory target means every rep whose ``territory_id`` is that territory.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import yaml

from spm_models.atomic import atomic_write_text
from spm_models.errors import InputError, UsageError

TARGETS = ("rep", "territory")
WHATS = ("forecast", "quota", "potential")
STATES = ("proposed", "approved", "rejected")
#: largest size and sd accepted without ``allow_large`` (``--confirm-large``): +100 %, a
#: doubling; ``--size 20`` (+2,000 %) is almost always a missing ``%``
MAX_SIZE = 1.0
_ID_RE = re.compile(r"^ADJ-(\d+)$")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass
class Adjustment:
    """One proposed change (see the module docstring for the fields)."""

    id: str
    scenario: str
    target: str
    target_id: str
    what: str
    size: float
    sd: float
    reason: str
    proposed_by: str
    proposed_os_user: str
    proposed_at: str
    status: str = "proposed"
    from_period: str | None = None
    reviewed_by: str | None = None
    reviewed_os_user: str | None = None
    reviewed_at: str | None = None
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# --------------------------------------------------------------------------- store
def store_path(scenario_path: str | Path | None = None, store: str | Path | None = None) -> Path:
    """The adjustments folder: ``store``, else ``$SPM_ADJUSTMENTS``, else beside the scenario."""
    if store is not None:
        return Path(store)
    if os.environ.get("SPM_ADJUSTMENTS"):
        return Path(os.environ["SPM_ADJUSTMENTS"])
    base = Path(scenario_path).resolve().parent if scenario_path is not None else Path.cwd()
    return base / "adjustments"


def _parse_share(value: Any, field: str) -> float:
    """``-0.2``, ``"-20%"`` or ``"-20 %"`` → ``-0.2``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
    else:
        s = str(value).strip().replace("\u2212", "-")
        pct = s.endswith("%")
        try:
            v = float(s.rstrip("%").strip())
        except ValueError:
            raise InputError(f"--{field}: not a number or percentage: {value!r}") from None
        v = v / 100 if pct else v
    if not np.isfinite(v):
        raise InputError(f"--{field}: must be finite, got {value!r}")
    return v


def _read(path: Path) -> Adjustment:
    try:
        data = yaml.safe_load(path.read_text())
        adj = Adjustment(**{k: (str(v) if k in ("from_period", "proposed_at", "reviewed_at")
                                and v is not None else v) for k, v in data.items()})
    except (yaml.YAMLError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: not a valid adjustment file ({str(exc).splitlines()[0]})") from None
    problems = _field_problems(adj)
    if problems:  # a hand-edited file: one line per field, before anything uses it
        raise InputError([f"{path}, field '{f}': {msg}" for f, msg in problems])
    return adj


def _field_problems(adj: Adjustment) -> list[tuple[str, str]]:
    """``(field, problem)`` for each field of ``adj`` that no command would have written."""
    out: list[tuple[str, str]] = []
    for f, options in (("target", TARGETS), ("what", WHATS), ("status", STATES)):
        if getattr(adj, f) not in options:
            out.append((f, f"must be one of {', '.join(options)}, got {getattr(adj, f)!r}"))
    for f in ("size", "sd"):
        v = getattr(adj, f)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            out.append((f, f"must be a finite number (a share, -0.2 = -20 %), got {v!r}"))
    if isinstance(adj.sd, (int, float)) and adj.sd < 0:
        out.append(("sd", f"must not be negative, got {adj.sd!r}"))
    for f in ("id", "scenario", "target_id"):
        if not isinstance(getattr(adj, f), str) or not getattr(adj, f).strip():
            out.append((f, f"must be non-empty text, got {getattr(adj, f)!r}"))
    if adj.from_period is not None and not _MONTH_RE.match(str(adj.from_period)):
        out.append(("from_period", f"expected a month YYYY-MM, got {adj.from_period!r}"))
    return out


def load_adjustments(folder: str | Path, scenario: str | None = None,
                     status: str | None = None) -> list[Adjustment]:
    """The adjustments in ``folder`` (all, or of one scenario name / status), in id order."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = [_read(p) for p in sorted(folder.glob("ADJ-*.yaml"))]
    out = [a for a in out if (scenario is None or a.scenario == scenario)
           and (status is None or a.status == status)]
    return sorted(out, key=lambda a: int(_ID_RE.match(a.id).group(1)) if _ID_RE.match(a.id) else 0)


def _write(folder: Path, adj: Adjustment) -> Path:
    path = folder / f"{adj.id}.yaml"
    atomic_write_text(path, yaml.safe_dump(adj.to_dict(), sort_keys=False, allow_unicode=True))
    return path


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="seconds")


@contextmanager
def _store_lock(folder: Path) -> Iterator[None]:
    """An exclusive ``fcntl`` lock on ``folder/.lock`` (blocking) for read-check-write."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def same_person(a: str | None, b: str | None) -> bool:
    """Names equal ignoring case and spacing (``" ana  diaz"`` and ``"AnaDiaz"`` are
    ``"Ana Diaz"``)."""
    def norm(x: str | None) -> str:
        return "".join(str(x or "").split()).casefold()

    return norm(a) == norm(b)


def _check_size(size: Any, sd: Any, allow_large: bool, what: str) -> tuple[float, float]:
    size_v, sd_v = _parse_share(size, "size"), _parse_share(sd, "sd")
    if size_v <= -1:
        raise InputError(f"--size: {size!r} would remove everything; use a size above -100 %")
    if sd_v < 0:
        raise InputError(f"--sd: must not be negative, got {sd!r}")
    if size_v == 0 and (sd_v == 0 or what == "quota"):
        raise InputError(f"--size: {size!r} is a change of 0 %, which changes nothing; give the "
                         "expected change, e.g. -20% or 0.1")
    if what == "quota" and sd_v != 0:
        raise InputError(f"--sd: {sd!r}: a quota change is a decision, not an estimate, so it "
                         "has no uncertainty (the sd is not used for a quota); leave out --sd")
    for name, raw, v in (("size", size, size_v), ("sd", sd, sd_v)):
        if v > MAX_SIZE and not allow_large:
            raise InputError(f"--{name}: {raw!r} means {v * 100:+g} %, above +{MAX_SIZE * 100:g} % "
                             "(-20% or -0.2 is -20 %); give --confirm-large if it is meant")
    return size_v, sd_v


def _check_target(target: str, target_id: str, known: Collection[str] | None,
                  scenario: str) -> None:
    if known is not None and target_id not in known:
        sample = ", ".join(sorted(map(str, known))[:3])
        kind = {"rep": "reps", "territory": "territories"}.get(target, target)
        raise InputError(f"--{target}: {target_id!r} is not a {target} of scenario {scenario}'s "
                         f"data ({len(known)} {kind}, e.g. {sample})")


def _check_month(from_period: str | None, months: Sequence[str] | None, scenario: str) -> None:
    if from_period is None:
        return
    if not _MONTH_RE.fullmatch(str(from_period)):
        raise InputError(f"--from: expected a month YYYY-MM (01-12), got {from_period!r}")
    if months and str(from_period) not in months:
        raise InputError(f"--from: {from_period} is outside scenario {scenario}'s horizon "
                         f"{months[0]}..{months[-1]}")


def propose(folder: str | Path, scenario: str, *, target: str, target_id: str, what: str,
            size: Any, sd: Any = 0.0, reason: str, by: str, from_period: str | None = None,
            now: datetime | None = None, known_ids: Collection[str] | None = None,
            months: Sequence[str] | None = None, allow_large: bool = False) -> Adjustment:
    """Record a proposed adjustment; return it (its ``id`` is the next free ``ADJ-<n>``).

    ``known_ids``: the scenario's rep (or territory) ids, ``months``: its horizon months
    (``YYYY-MM``); when given, the target and ``from_period`` must be among them (see
    :func:`spm_models.distribution.world.scenario_targets`). Raises :class:`InputError`
    (naming the option) for an unknown target/what, a target id or month not in the scenario,
    an empty reason or name, a size of −100 % or less, a size of 0 that changes nothing (no
    sd, or a quota), a negative sd, an sd for a quota (not used), a size or sd above
    :data:`MAX_SIZE` without ``allow_large``, or a malformed ``from_period``.
    """
    from spm_models.ledger import os_user

    if target not in TARGETS:
        raise UsageError(f"--target: must be one of {', '.join(TARGETS)}; got {target!r}")
    if what not in WHATS:
        raise UsageError(f"--what: must be one of {', '.join(WHATS)}; got {what!r}")
    target_id = str(target_id).strip()
    if not target_id:
        raise InputError(f"--{target}: the {target} id must not be empty")
    _check_target(target, target_id, known_ids, scenario)
    size_v, sd_v = _check_size(size, sd, allow_large, what)
    if not reason or not reason.strip():
        raise InputError("--reason: a reason is required")
    if not by or not by.strip():
        raise InputError("--by: the proposer's name must not be empty")
    _check_month(from_period, months, scenario)
    folder = Path(folder)
    with _store_lock(folder):  # ids are allocated under the store's lock
        taken = [int(m.group(1)) for p in folder.glob("ADJ-*.yaml")
                 if (m := _ID_RE.match(p.stem))]
        adj = Adjustment(id=f"ADJ-{max(taken, default=0) + 1:04d}", scenario=scenario,
                         target=target, target_id=target_id, what=what, size=size_v,
                         sd=sd_v, reason=reason.strip(), proposed_by=by.strip(),
                         proposed_os_user=os_user(), proposed_at=_now(now),
                         from_period=str(from_period) if from_period else None)
        _write(folder, adj)
    return adj


def review(folder: str | Path, adj_id: str, decision: str, by: str, comment: str | None = None,
           now: datetime | None = None, scenario: str | None = None) -> Adjustment:
    """Approve or reject (``decision``) a proposed adjustment; return it.

    Read, check and write happen under the store's lock, so of two concurrent reviews one
    wins and the other fails as already reviewed. Raises :class:`InputError` for an unknown
    id, an adjustment already reviewed, an empty reviewer name, the proposer reviewing their
    own proposal (names compared ignoring case and spacing), a rejection without comment,
    an adjustment of another ``scenario`` (when given) or a file with an invalid field.
    """
    from spm_models.ledger import os_user

    if decision not in ("approved", "rejected"):
        raise InputError(f"decision must be approved or rejected, got {decision!r}")
    if not by or not by.strip():
        raise InputError("--by: the reviewer's name must not be empty")
    if decision == "rejected" and not (comment and comment.strip()):
        raise InputError("--comment: say why the adjustment is rejected")
    folder = Path(folder)
    path = folder / f"{adj_id}.yaml"
    if not path.exists():
        raise InputError(f"{path}: no adjustment {adj_id!r}")
    with _store_lock(folder):
        adj = _read(path)
        if scenario is not None and adj.scenario != scenario:
            raise InputError(f"{path}, field 'scenario': {adj_id} belongs to scenario "
                             f"{adj.scenario!r}, not {scenario!r}")
        if adj.status != "proposed":
            raise InputError(f"{path}, field 'status': {adj_id} is already {adj.status} by "
                             f"{adj.reviewed_by}; propose a new adjustment to change it")
        if same_person(by, adj.proposed_by):
            raise InputError(f"--by: {by.strip()} proposed {adj_id} (as {adj.proposed_by}) and "
                             "cannot also review it")
        adj.status, adj.reviewed_by, adj.reviewed_os_user = decision, by.strip(), os_user()
        adj.reviewed_at, adj.comment = _now(now), (comment.strip() if comment else None)
        _write(folder, adj)
    return adj


# --------------------------------------------------------------------------- effect
def _as_dict(a: Adjustment | dict[str, Any]) -> dict[str, Any]:
    return a.to_dict() if isinstance(a, Adjustment) else dict(a)


def _rep_mask(a: dict[str, Any], rep_ids: np.ndarray, territories: np.ndarray | None) -> np.ndarray:
    if a["target"] == "rep":
        return rep_ids == str(a["target_id"])
    if territories is None:
        raise InputError(f"adjustment {a.get('id')}: a territory target needs the reps' "
                         "territory_id (a coordinate of the bookings)")
    return territories == str(a["target_id"])


def _period_mask(a: dict[str, Any], periods: np.ndarray) -> np.ndarray:
    start = a.get("from_period")
    return np.ones(len(periods), bool) if not start else np.array([str(p) >= str(start) for p in periods])


def apply_adjustments(cube_or_bookings: xr.Dataset | xr.DataArray, quota: xr.DataArray | None,
                      potential: xr.DataArray | None, adjustments: list[Adjustment | dict[str, Any]],
                      rng: np.random.Generator, *, elasticity: float = 1.0,
                      account_territory: xr.DataArray | None = None,
                      ) -> tuple[xr.Dataset | xr.DataArray, xr.DataArray | None, xr.DataArray | None]:
    """The scenario world with the ``approved`` adjustments applied (inputs are not changed).

    Parameters
    ----------
    cube_or_bookings : forecast bookings ``(rep, period, draw)`` (currency), or a cube holding
        them as ``bookings``; reps carry a ``territory_id`` coordinate for territory targets.
    quota : quotas ``(rep, period)`` or None (a cube's ``quota`` is used when None).
    potential : account potentials ``(account)`` or None (a cube's ``potential`` when None).
    adjustments : :class:`Adjustment` objects or their dicts; other states are ignored.
    rng : the generator of the factors' normal deviates (one ``z`` per draw per adjustment).
    elasticity : bookings change as ``factor ** elasticity`` for a potential adjustment.
    account_territory : territory of each account (default: a cube's ``territory_after``).

    Returns ``(cube_or_bookings, quota, potential)`` adjusted, same types and shapes.
    Raises :class:`InputError` for a territory target without ``territory_id``.
    """
    is_cube = isinstance(cube_or_bookings, xr.Dataset)
    bookings = cube_or_bookings["bookings"] if is_cube else cube_or_bookings
    if is_cube:
        quota = cube_or_bookings["quota"] if quota is None and "quota" in cube_or_bookings else quota
        potential = (cube_or_bookings["potential"] if potential is None
                     and "potential" in cube_or_bookings else potential)
        if account_territory is None and "territory_after" in cube_or_bookings:
            account_territory = cube_or_bookings["territory_after"]
    b = bookings.transpose("rep", "period", "draw")
    b_vals = np.array(b.values, dtype=float, copy=True)
    q_vals = None if quota is None else np.array(quota.transpose("rep", "period").values, float, copy=True)
    p_vals = None if potential is None else np.array(potential.values, float, copy=True)
    rep_ids = np.asarray(b["rep"].values).astype(str)
    terr = (np.asarray(b["territory_id"].values).astype(str) if "territory_id" in b.coords else None)
    periods = np.asarray(b["period"].values).astype(str)
    approved = [a for a in map(_as_dict, adjustments) if a.get("status") == "approved"]
    approved.sort(key=lambda a: int(_ID_RE.match(str(a.get("id"))).group(1))
                  if _ID_RE.match(str(a.get("id"))) else 0)
    for a in approved:
        size, sd = float(a["size"]), float(a.get("sd", 0.0) or 0.0)
        reps = _rep_mask(a, rep_ids, terr)
        months = _period_mask(a, periods)
        z = rng.standard_normal(b_vals.shape[2])
        factor = np.maximum(0.0, 1.0 + size + sd * z)
        if a["what"] == "forecast":
            b_vals[np.ix_(reps, months)] *= factor
        elif a["what"] == "potential":
            b_vals[np.ix_(reps, months)] *= factor ** elasticity
            if p_vals is not None:
                p_vals[_account_mask(a, potential, account_territory)] *= 1.0 + size
        elif a["what"] == "quota" and q_vals is not None:
            q_vals[np.ix_(reps, months)] *= 1.0 + size
    new_b = b.copy(data=b_vals).transpose(*bookings.dims)
    new_q = None if quota is None else quota.transpose("rep", "period").copy(data=q_vals).transpose(*quota.dims)
    new_p = None if potential is None else potential.copy(data=p_vals)
    if is_cube:
        out = cube_or_bookings.copy()
        out["bookings"] = new_b
        if new_q is not None and "quota" in out:
            out["quota"] = new_q
        if new_p is not None and "potential" in out:
            out["potential"] = new_p
        return out, new_q, new_p
    return new_b, new_q, new_p


def _account_mask(a: dict[str, Any], potential: xr.DataArray,
                  account_territory: xr.DataArray | None) -> np.ndarray:
    if a["target"] == "territory":
        if account_territory is None:
            return np.zeros(potential.size, bool)
        return np.asarray(account_territory.values).astype(str) == str(a["target_id"])
    if "rep_id" in potential.coords:
        return np.asarray(potential["rep_id"].values).astype(str) == str(a["target_id"])
    return np.zeros(potential.size, bool)
