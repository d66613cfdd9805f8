"""Samplers for :class:`~spm_models.forecast.model.BookingsForecast`.

``sample_nuts``  NUTS via nutpie (default) or PyMC's own sampler (on request, or when nutpie
                 fails: the failure is recorded in ``info["sampler_fallback"]``);
                 ``nuts_sampler`` is always passed explicitly to PyMC (it may silently
                 switch), sampler options as ``nuts={...}``; compiled without numba fast-math
                 (:func:`deterministic_compile`) so that fits are reproducible bit for bit.
                 With nutpie the model is compiled by :func:`compile_nutpie` and sampled by
                 :func:`sample_compiled`, so one compiled log-density serves several data
                 sets of the same structure (``CompiledModel.with_data``): ``model: auto``'s
                 holdout fit and the final fit compile once.
``fit_fast``     mean-field ADVI (``pm.fit``) then ``draws`` samples of the approximation:
                 an approximate posterior for interactive use (pymc-extras' pathfinder is not
                 a dependency).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import time
import warnings
from typing import Any

import xarray as xr


@contextlib.contextmanager
def deterministic_compile():
    """Compile the sampler's functions without numba fast-math.

    Cause of the cold/warm-machine difference (issue 9): PyTensor compiles with numba's
    fast-math flags (``reassoc``, ``contract``, ``afn``) by default, which let LLVM reorder and
    fuse floating-point operations differently depending on what it compiles together. A cold
    compile directory builds the whole log-density in one go (callees inlined and optimised
    together); a warm one links kernels loaded from PyTensor's on-disk numba cache. The two
    machine codes give log-densities that differ in the last bits, and NUTS amplifies that into
    different chains (same seed, different draws, R-hat and ESS). Without fast-math, LLVM must
    keep IEEE semantics, so every compile path gives bit-identical results. The cache key of
    PyTensor's numba cache includes the fast-math flag, so fast-math kernels cached earlier
    are never reused here.
    """
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False):
        yield


def compile_nutpie(model):
    """nutpie's compiled log-density and gradient of ``model`` (numba backend, no fast-math).

    The model's data are shared variables that stay inputs of the compiled functions, so
    ``compiled.with_data(name=array, ...)`` re-targets it to another data set of the same
    structure (same coords; arrays may change length) without compiling again.
    """
    import nutpie

    with deterministic_compile(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return nutpie.compile_pymc_model(model, backend="numba")


def sample_compiled(compiled, model, draws: int, tune: int, chains: int, seed: int,
                    cores: int | None = None, **nuts_opts: Any) -> xr.DataTree:
    """NUTS draws from nutpie's ``compiled`` model (:func:`compile_nutpie`), as
    ``pm.sample(nuts_sampler="nutpie")`` does it (same seed derivation, same groups:
    ``posterior``, ``sample_stats``, ``constant_data``, ``observed_data``)."""
    import numpy as np
    import nutpie
    from pymc.backends.arviz import patch_nutpie_idata

    if "max_treedepth" in nuts_opts:
        nuts_opts["maxdepth"] = nuts_opts.pop("max_treedepth")
    # pm.sample: one generator per chain spawned from the seed; nutpie takes the first one's
    nutpie_seed = int(np.random.default_rng(seed).spawn(chains)[0].integers(2**30))
    cores = min(cores or min(4, os.cpu_count() or 1), chains)
    t0 = time.time()
    with deterministic_compile(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=cores, seed=nutpie_seed, save_warmup=False,
                              progress_bar=False, **nuts_opts)
        patch_nutpie_idata(idata, model, sampling_time=time.time() - t0)
    return idata


#: NUTS defaults of the forecast fit (``BookingsForecast.fit``, ``sample_nuts``, the CLI and the
#: backtest): 4 chains x (:data:`DEFAULT_TUNE` tuning + :data:`DEFAULT_DRAWS` draws). The rule,
#: measured on the demo deal model (``benchmarks/bench_forecast_fit.py``, docs/forecast.md):
#:
#: * tuning: nutpie adapts the step size and a diagonal mass matrix from the draws' gradients
#:   (Seyboldt et al., "Preconditioning Hamiltonian Monte Carlo by minimizing Fisher
#:   divergence"; nutpie's own default is 300 steps). 300, 500 and 1,500 tuning steps gave the
#:   same adapted step size (0.27-0.32), tree depth (4) and bulk ESS; 500 keeps a margin over
#:   nutpie's default. Tuning steps beyond that only cost time (1,500 was 60 % of the run).
#: * draws: fixed, not scaled by organisation size. The binding check is the largest split
#:   R-hat over all parameters (about three latents per rep), not the hyper-parameters' ESS
#:   (4-6x the 400 threshold at 1,000 draws). R-hat's excess over 1 falls roughly as 1/draws
#:   and its maximum grows slowly with the number of latents, so a larger organisation needs
#:   no fewer draws: 231 reps, 500 draws -> max R-hat 1.0115; 750 -> 1.0072-1.0090 (too close
#:   to 1.01); 1,000 -> 1.0061-1.0076, and 1.0075 at 1,184 reps.
DEFAULT_TUNE = 500
DEFAULT_DRAWS = 1000
DEFAULT_CHAINS = 4

#: tuning steps per chain of the short NUTS holdout fit of ``model: auto`` (2 chains)
HOLDOUT_TUNE = 400


def holdout_nuts(compiled, train_model, n_draws: int, seed: int, target_accept: float) -> tuple[xr.DataTree, str]:
    """Short NUTS run (2 chains, :data:`HOLDOUT_TUNE` tuning steps, ``n_draws`` draws in all) of
    nutpie's ``compiled`` model on ``train_model``'s data (same structure,
    :func:`spm_models.forecast.deal_graph.same_structure`): ``model: auto``'s holdout fit
    without a compilation of its own. Returns ``(idata, description)``."""
    used = {v.name for v in compiled.shared_var_keys}  # data the compiled functions read
    data = {v.name: v.get_value() for v in train_model.data_vars if v.name in used}
    draws = -(-n_draws // 2)
    idata = sample_compiled(compiled.with_data(**data), train_model, draws=draws, tune=HOLDOUT_TUNE, chains=2,
                            seed=seed, target_accept=target_accept)
    return idata, f"NUTS (2 x {HOLDOUT_TUNE} tuning + {draws} draws, model compiled once)"


def nutpie_available() -> bool:
    return importlib.util.find_spec("nutpie") is not None


def _quiet_pymc() -> None:
    logging.getLogger("pymc").setLevel(logging.ERROR)


def sample_nuts(
    model,
    draws: int = DEFAULT_DRAWS,
    tune: int = DEFAULT_TUNE,
    chains: int = DEFAULT_CHAINS,
    seed: int = 0,
    sampler: str | None = None,
    target_accept: float = 0.9,
    progressbar: bool = False,
    cores: int | None = None,
    adaptation: str | None = None,
    compiled=None,
    **kwargs: Any,
) -> tuple[xr.DataTree, dict[str, Any]]:
    """Run NUTS; returns ``(idata, info)`` with ``info`` = sampler, timings, settings.

    ``adaptation`` (nutpie only): mass-matrix adaptation, ``"diag"`` (nutpie's default) or
    ``"low_rank"`` (learns the strongest posterior correlations too). ``compiled``: nutpie's
    compiled ``model`` (:func:`compile_nutpie`) to reuse; compiled here when None.
    """
    import pymc as pm

    _quiet_pymc()
    chosen = sampler or ("nutpie" if nutpie_available() else "pymc")
    t0 = time.perf_counter()
    sample_kw: dict[str, Any] = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "random_seed": seed,
        "progressbar": progressbar,
        "model": model,
        "compute_convergence_checks": False,
    }
    if cores is not None:
        sample_kw["cores"] = cores
    fallback_reason = None
    nuts_opts = {"target_accept": target_accept, **kwargs}
    with warnings.catch_warnings(), deterministic_compile():
        warnings.simplefilter("ignore", UserWarning)
        if chosen == "nutpie":
            try:
                if adaptation:
                    nuts_opts["adaptation"] = adaptation
                compiled = compiled if compiled is not None else compile_nutpie(model)
                idata = sample_compiled(compiled, model, draws, tune, chains, seed, cores=cores, **nuts_opts)
            except Exception as exc:  # noqa: BLE001 -- recorded in the diagnostics, never silent
                fallback_reason = f"nutpie failed ({type(exc).__name__}: {exc}); used PyMC's NUTS"
                logging.getLogger(__name__).warning(fallback_reason)
                nuts_opts.pop("adaptation", None)
                chosen = "pymc"
        if chosen == "pymc":
            idata = pm.sample(nuts_sampler="pymc", nuts=nuts_opts, **sample_kw)
    elapsed = time.perf_counter() - t0
    info = {
        "method": "nuts",
        "sampler": chosen,
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "seed": seed,
        "adaptation": adaptation or "diag",
        "seconds": round(elapsed, 3),
        "numba_fastmath": False,
    }
    if fallback_reason:
        info["sampler_fallback"] = fallback_reason
    return idata, info


def fit_fast(
    model,
    draws: int = 1000,
    seed: int = 0,
    n_steps: int = 4_000,
    learning_rate: float = 0.03,
    mode: str | None = "FAST_RUN",
    progressbar: bool = False,
    **kwargs: Any,
) -> tuple[xr.DataTree, dict[str, Any]]:
    """Mean-field ADVI with ``n_steps`` Adam steps, then ``draws`` samples (1 chain).

    ``mode="FAST_RUN"`` compiles with PyTensor's C backend, whose per-op compiled modules
    are cached on disk and reused across data sets (the model's data are shared variables),
    so a repeat fit skips most compilation; ``None`` uses PyTensor's default (numba).
    """
    import pymc as pm
    from pymc.variational import adam
    from pymc.variational.callbacks import CheckParametersConvergence

    _quiet_pymc()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        approx = pm.fit(
            n=n_steps,
            method="advi",
            model=model,
            random_seed=seed,
            progressbar=progressbar,
            callbacks=[CheckParametersConvergence(diff="relative", tolerance=1e-3)],
            obj_optimizer=adam(learning_rate=learning_rate),
            **({"fn_kwargs": {"mode": mode}} if mode else {}),
            **kwargs,
        )
        idata = approx.sample(draws, random_seed=seed)
    elapsed = time.perf_counter() - t0
    hist = getattr(approx, "hist", None)
    info = {
        "method": "fast",
        "sampler": "advi",
        "draws": draws,
        "chains": 1,
        "seed": seed,
        "steps": len(hist) if hist is not None else n_steps,
        "final_loss": float(hist[-1]) if hist is not None and len(hist) else None,
        "seconds": round(elapsed, 3),
    }
    # keep only what the forecast needs
    keep = {k: idata[k].to_dataset() for k in ("posterior",) if k in idata.children}
    return xr.DataTree.from_dict(keep), info
