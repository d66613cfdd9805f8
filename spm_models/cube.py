"""Scenario cubes: conventions, the ``.spm`` accessor, and zarr I/O with provenance.

A cube is an :class:`xarray.Dataset` whose variables use these dimension names:

``scenario``  alternatives side by side (string labels)
``rep``       sales reps (string ``rep_id`` labels); non-dimension coordinates
              ``territory_id`` and ``region`` along ``rep`` enable roll-ups
``period``    calendar months as ``"YYYY-MM"`` strings, in order
``draw``      Monte Carlo / posterior-predictive draws (integers ``0..n-1``)

Money is float64 in the plan currency. Provenance lives in ``ds.attrs`` under the keys
of :func:`spm_models.provenance.provenance` (``package_version``, ``scenario_hash``,
``data_hash``, ``seed``).

Chunking rule: chunk over ``draw``/``rep``/``scenario``, never over ``period`` (payouts
accumulate over periods, so a kernel needs the whole period axis in one chunk).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.atomic import atomic_dir

SCENARIO = "scenario"
REP = "rep"
PERIOD = "period"
DRAW = "draw"
CUBE_DIMS = (SCENARIO, REP, PERIOD, DRAW)

#: Cubes larger than this (bytes) are dask-backed by default.
DEFAULT_MEMORY_BUDGET = int(os.environ.get("SPM_MEMORY_BUDGET", str(2 * 1024**3)))
#: Target size of one dask chunk (bytes).
DEFAULT_CHUNK_BYTES = 128 * 1024**2

#: Quantiles reported everywhere (P10/P50/P90).
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


def month_range(start: str, n: int) -> list[str]:
    """``n`` consecutive months ``"YYYY-MM"`` from ``start``."""
    return [str(p) for p in pd.period_range(pd.Period(start, freq="M"), periods=n, freq="M")]


def empty_cube(
    reps: Sequence[str],
    periods: Sequence[str],
    n_draws: int,
    scenarios: Sequence[str] | None = None,
) -> xr.Dataset:
    """A cube with coordinates only; add variables with ``ds[name] = ...``."""
    coords: dict[str, Any] = {
        REP: np.asarray(reps, dtype=object).astype(str),
        PERIOD: np.asarray(periods).astype(str),
        DRAW: np.arange(n_draws),
    }
    if scenarios is not None:
        coords[SCENARIO] = np.asarray(scenarios).astype(str)
    return xr.Dataset(coords=coords)


def estimate_nbytes(sizes: Mapping[str, int], itemsize: int = 8) -> int:
    """Bytes of one array with dimension ``sizes``."""
    return int(np.prod([int(s) for s in sizes.values()], dtype=np.int64)) * itemsize


def chunk_plan(
    sizes: Mapping[str, int], itemsize: int = 8, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> dict[str, int]:
    """Chunk sizes that keep ``period`` (and any non-cube dim) whole and split
    ``draw``, then ``rep``, then ``scenario`` until one chunk is at most ``chunk_bytes``."""
    chunks = {d: int(s) for d, s in sizes.items()}
    for dim in (DRAW, REP, SCENARIO):
        if dim not in chunks:
            continue
        while estimate_nbytes(chunks, itemsize) > chunk_bytes and chunks[dim] > 1:
            chunks[dim] = max(1, chunks[dim] // 2)
    return chunks


def chunk_cube(
    obj: xr.Dataset | xr.DataArray, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> xr.Dataset | xr.DataArray:
    """Dask-back ``obj`` following the chunking rule (never split ``period``)."""
    return obj.chunk(chunk_plan(dict(obj.sizes), 8, chunk_bytes))


def maybe_chunk(
    obj: xr.Dataset | xr.DataArray, memory_budget: int = DEFAULT_MEMORY_BUDGET
) -> xr.Dataset | xr.DataArray:
    """Chunk ``obj`` with dask when it would not fit in ``memory_budget`` bytes."""
    if estimate_nbytes(dict(obj.sizes)) > memory_budget:
        return chunk_cube(obj)
    return obj


def _rollup_key(ds: xr.Dataset | xr.DataArray, level: str) -> xr.DataArray | None:
    if level == "company":
        return None
    if level == REP:
        return ds[REP]
    if level not in ds.coords:
        raise KeyError(
            f"cannot roll up to '{level}': the cube has no '{level}' coordinate along 'rep'"
        )
    return ds.coords[level]


def rollup(obj: xr.Dataset | xr.DataArray, level: str) -> xr.Dataset | xr.DataArray:
    """Sum over reps into ``level`` ('territory_id', 'region' or 'company'), draw by draw.

    Summing within each draw keeps roll-ups coherent: the company total's quantiles are
    quantiles of the sum, not sums of quantiles.
    """
    key = _rollup_key(obj, level)
    if key is None:
        return obj.sum(REP)
    if level == REP:
        return obj
    return obj.groupby(key.rename(level)).sum(REP)


@xr.register_dataset_accessor("spm")
class SpmDatasetAccessor:
    """Domain verbs on scenario cubes: ``ds.spm.quantiles()``, ``ds.spm.rollup("region")``."""

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def quantiles(
        self, q: Iterable[float] = DEFAULT_QUANTILES, dim: str = DRAW
    ) -> xr.Dataset:
        """Quantiles over ``dim`` with a ``quantile`` dimension."""
        return self._ds.quantile(list(q), dim=dim)

    def prob_exceeds(self, threshold: float | xr.DataArray, var: str, dim: str = DRAW) -> xr.DataArray:
        """Probability (share of draws) that ``var`` is at least ``threshold``."""
        return (self._ds[var] >= threshold).mean(dim)

    def rollup(self, level: str) -> xr.Dataset:
        """Sum over reps to 'territory_id', 'region' or 'company', draw by draw."""
        return rollup(self._ds, level)

    def annual(self, var: str) -> xr.DataArray:
        """Sum of ``var`` over the ``period`` dimension."""
        return self._ds[var].sum(PERIOD)

    @property
    def provenance(self) -> dict[str, Any]:
        return {k: self._ds.attrs.get(k) for k in ("package_version", "scenario_hash", "data_hash", "seed")}


@xr.register_dataarray_accessor("spm")
class SpmDataArrayAccessor:
    """Domain verbs on one cube variable."""

    def __init__(self, da: xr.DataArray):
        self._da = da

    def quantiles(self, q: Iterable[float] = DEFAULT_QUANTILES, dim: str = DRAW) -> xr.DataArray:
        return self._da.quantile(list(q), dim=dim)

    def prob_exceeds(self, threshold: float | xr.DataArray, dim: str = DRAW) -> xr.DataArray:
        return (self._da >= threshold).mean(dim)

    def rollup(self, level: str) -> xr.DataArray:
        return rollup(self._da, level)


def _jsonable_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[k] = v
        else:
            out[k] = json.dumps(v, default=str)
    return out


def write_cube(
    ds: xr.Dataset, path: str | Path, provenance: Mapping[str, Any] | None = None
) -> Path:
    """Write ``ds`` to a zarr store atomically (temporary directory, then rename).

    ``provenance`` entries are merged into the attributes. Object (string) coordinates are
    stored as fixed-width unicode so the store reads back anywhere.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = ds.copy()
    if provenance:
        out.attrs.update(provenance)
    out.attrs = _jsonable_attrs(out.attrs)
    for name in list(out.variables):
        var = out[name]
        if var.dtype == object:
            out[name] = var.astype(str)
        out[name].encoding = {}
    with atomic_dir(path) as tmp:
        out.to_zarr(tmp, mode="w", consolidated=False)
    return path


def read_cube(path: str | Path, chunks: Mapping[str, int] | str | None = None) -> xr.Dataset:
    """Open a cube written by :func:`write_cube` (lazily, dask-backed when ``chunks``)."""
    ds = xr.open_zarr(path, chunks=chunks, consolidated=False)
    if chunks is None:
        ds = ds.load()
    return ds


# --------------------------------------------------------------------------- scenario trees
#: groups of a scenario result tree (:func:`spm_models.workflow.run`), each with its own dims
TREE_GROUPS = {
    "forecast": "bookings(rep, period, draw): posterior-predictive plan-year bookings",
    "comp": "quota(rep, period), target_incentive(rep), payout(rep, period, draw), plan(rep)",
    "overlay": "payout(rep, period, draw), role(rep), region(rep) of overlay roles (e.g. SE)",
    "history": "bookings(rep, period), quota(rep, period): the actual history",
    "territory": "territory_before/after, potential, workload, lat, lon, account_moved (account)",
    "capacity": "headcount, ramped_fte, capacity (period, draw), capacity_total(draw), hires",
    "pipeline": "bookings(rep, period, draw), closed(rep, period): the in-quarter outlook",
    "pipeline_kpis": "pipeline KPIs (id, period) with level(id) company/region",
}


def tree_group(tree: xr.DataTree, name: str) -> xr.Dataset | None:
    """The Dataset of group ``name`` of ``tree`` (its own coordinates), or None when absent."""
    if name not in tree.children:
        return None
    return tree.children[name].to_dataset(inherit=False)


def cube_view(obj: xr.DataTree | xr.Dataset) -> xr.Dataset:
    """The ``rep × period × draw`` view of a scenario tree: ``/forecast`` and ``/comp`` merged
    (``bookings``, ``quota``, ``payout``, ``plan``, ``target_incentive`` and the rep
    coordinates). A Dataset is returned as is."""
    if isinstance(obj, xr.Dataset):
        return obj
    parts = [g for g in (tree_group(obj, "forecast"), tree_group(obj, "comp")) if g is not None]
    out = xr.merge(parts, compat="override", join="exact") if parts else xr.Dataset()
    out.attrs = dict(obj.attrs)
    return out


def _storable(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = _jsonable_attrs(out.attrs)
    for name in list(out.variables):
        var = out[name]
        if var.dtype == object:
            out[name] = var.astype(str)
        out[name].encoding = {}
    return out


def write_tree(tree: xr.DataTree, path: str | Path,
               provenance: Mapping[str, Any] | None = None) -> Path:
    """Write a scenario tree to a zarr store atomically (temporary folder, then rename), with
    ``provenance`` merged into the root attributes. String variables are stored as fixed-width
    unicode so the store reads back anywhere."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nodes = {node.path: _storable(node.to_dataset(inherit=False)) for node in tree.subtree}
    root = nodes["/"]
    if provenance:
        root.attrs.update(_jsonable_attrs(provenance))
    out = xr.DataTree.from_dict(nodes)
    with atomic_dir(path) as tmp:
        out.to_zarr(tmp, mode="w", consolidated=False)
    return path


def read_tree(path: str | Path) -> xr.DataTree:
    """Open a scenario tree written by :func:`write_tree` (loaded into memory)."""
    return xr.open_datatree(path, engine="zarr", consolidated=False).load()


@xr.register_datatree_accessor("spm")
class SpmTreeAccessor:
    """Domain verbs on scenario result trees: ``tree.spm.cube``, ``tree.spm.group("capacity")``."""

    def __init__(self, tree: xr.DataTree):
        self._tree = tree

    @property
    def cube(self) -> xr.Dataset:
        """The ``rep × period × draw`` view (:func:`cube_view`)."""
        return cube_view(self._tree)

    def group(self, name: str) -> xr.Dataset | None:
        """Group ``name`` as a Dataset, or None (:func:`tree_group`)."""
        return tree_group(self._tree, name)

    @property
    def provenance(self) -> dict[str, Any]:
        return {k: self._tree.attrs.get(k)
                for k in ("package_version", "scenario_hash", "data_hash", "seed")}
