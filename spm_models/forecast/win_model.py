"""Bayesian win-and-timing model of open opportunities (PyMC 6, nutpie).

For an opportunity open on day ``s`` of a quarter ending on day ``h``, the model gives the
probability that it is won **and** closes by ``h``::

    y ~ Bernoulli(p),  logit p = alpha[stage, close_in_quarter] + X beta + u[rep]
    u[rep] = sigma_rep * z[rep],  z ~ Normal(0, 1),  sigma_rep ~ HalfNormal(0.5)
    alpha ~ Normal(-1, 1.5),  beta ~ Normal(0, 1)

with ``X`` = margin of the expected close date before the quarter end (months, split into
its positive and negative part), expected close already past (overdue), share of the quarter
left, close-date pushes so far, log age, standardised log amount. Training rows are snapshots
(:meth:`OppBook.snapshot`) on day 1, 30 and 60 of the last four quarters whose end lies strictly before the
as-of date, so each label is known from information before it (a discrete-time
event-history design, Allison 1982, *Sociological Methodology* 13; rep effects partially
pooled as in Gelman & Hill 2007, ch. 14). Sampling: NUTS via nutpie
(:func:`spm_models.forecast.fit.sample_nuts`, ``nuts_sampler`` passed explicitly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from spm_models.errors import InputError
from spm_models.forecast.opportunities import OppBook

#: Days into the quarter of the training snapshots (day 1, 30, 60: the as-of points).
SNAPSHOT_DAYS = (0, 29, 59)
_MIN_ROWS = 200
#: At most this many training rows (a seeded random subsample beyond): bounds the fit time on
#: organisations with long cycles (many open deals per snapshot)
MAX_ROWS = 50_000


def quarter_bounds(day: int) -> tuple[int, int]:
    """First and last day (days since epoch) of the calendar quarter holding ``day``."""
    d = pd.Timestamp(np.datetime64(int(day), "D"))
    q = d.to_period("Q")
    return (int(np.datetime64(q.start_time.date(), "D").astype(np.int64)),
            int(np.datetime64(q.end_time.date(), "D").astype(np.int64)))


def quarter_label(day: int) -> str:
    """``YYYY-Qn`` of the quarter holding ``day``."""
    q = pd.Timestamp(np.datetime64(int(day), "D")).to_period("Q")
    return f"{q.year}-Q{q.quarter}"


@dataclass
class Design:
    """Feature encoding learnt on the training snapshots (reused for prediction)."""

    stages: list[str]
    reps: list[str]
    amount_mu: float
    amount_sd: float
    names: tuple[str, ...] = ("margin_pos", "margin_neg", "overdue", "left", "slips",
                              "log_age", "log_amount")
    #: training means of X within each stage × in-quarter group (groups × 7; a group without
    #: training rows gets the overall mean): X is centred within its group, so ``alpha`` is the
    #: group's log-odds at its own typical features and does not trade off against ``beta``
    x_mean: np.ndarray | None = None

    def encode(self, snap: pd.DataFrame, s: int, h: int) -> dict[str, np.ndarray]:
        """``X`` (n × 7), ``group`` (stage × in-quarter, n), ``rep`` (n; -1 = unseen rep)."""
        close = snap["close"].to_numpy()
        margin = np.clip((h - close) / 30.0, -2, 3)
        stage = pd.Categorical(snap["stage"].astype(str), categories=self.stages).codes
        stage = np.where(stage < 0, len(self.stages) - 1, stage)  # unseen -> 'other'
        in_q = (close <= h).astype(np.int64)
        age = np.maximum(s - snap["created"].to_numpy(), 0)
        amt = np.log(np.maximum(snap["amount"].to_numpy(dtype=float), 1.0))
        X = np.column_stack([
            np.maximum(margin, 0), np.minimum(margin, 0), (close < s).astype(float),
            np.full(len(snap), (h - s) / 91.0), np.minimum(snap["n_slips"].to_numpy(), 4),
            np.log1p(age / 30.0), (amt - self.amount_mu) / self.amount_sd,
        ])
        group = stage * 2 + in_q
        if self.x_mean is not None:
            X = X - (self.x_mean[group] if self.x_mean.ndim == 2 else self.x_mean)
        rep = pd.Categorical(snap["rep_id"].astype(str), categories=self.reps).codes
        return {"X": X, "group": group, "rep": rep.astype(np.int64)}


@dataclass
class WinModel:
    """Fitted win-and-timing model: design, posterior draws and amount ratios.

    Attributes
    ----------
    design
        The feature encoding.
    alpha, beta, u, sigma_rep
        Posterior draws: ``alpha`` (S × groups), ``beta`` (S × 7), ``u`` (S × reps),
        ``sigma_rep`` (S,).
    log_ratio
        Log of final won amount ÷ snapshot amount of the won training rows (resampled).
    info
        Training rows, positives, sampler timings.
    """

    design: Design
    alpha: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    sigma_rep: np.ndarray
    log_ratio: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def prob_draws(self, snap: pd.DataFrame, s: int, h: int, n_draws: int,
                   rng: np.random.Generator) -> np.ndarray:
        """P(won and closed by ``h``) for each open opportunity of ``snap`` (taken on day
        ``s``), one row per posterior draw: array (n_draws × n_opps). Unseen reps get a new
        effect drawn from the population."""
        enc = self.design.encode(snap, s, h)
        S = len(self.sigma_rep)
        pick = rng.choice(S, n_draws, replace=n_draws > S)
        eta = self.alpha[pick][:, enc["group"]] + self.beta[pick] @ enc["X"].T
        rep = enc["rep"]
        seen = rep >= 0
        eta[:, seen] += self.u[pick][:, rep[seen]]
        if (~seen).any():
            eta[:, ~seen] += rng.standard_normal((n_draws, int((~seen).sum()))) * \
                self.sigma_rep[pick][:, None]
        return 1.0 / (1.0 + np.exp(-eta))


def training_rows(book: OppBook, as_of: int, max_quarters: int = 4,
                  snapshot_days: tuple[int, ...] = SNAPSHOT_DAYS) -> list[tuple[pd.DataFrame, int, int, np.ndarray]]:
    """Snapshots of past quarters ending strictly before ``as_of``: list of
    ``(snapshot, s, h, y)`` with ``y`` = won and closed by ``h`` (0/1)."""
    q0, _ = quarter_bounds(as_of)
    out = []
    start = q0
    for _ in range(max_quarters):
        start, _ = quarter_bounds(start - 1)
        qs, h = quarter_bounds(start)
        if h >= as_of:
            continue
        for off in snapshot_days:
            s = qs + off
            if s > h:
                continue
            snap = book.snapshot(s)
            if len(snap) == 0:
                continue
            won = book.won_day[snap["opp_index"].to_numpy()]
            out.append((snap, s, h, (won <= h).astype(np.int64)))
    return out


def fit_win_model(book: OppBook, as_of: int, *, draws: int = 250, tune: int = 250,
                  chains: int = 2, seed: int = 0, max_quarters: int = 4,
                  sampler: str | None = None) -> WinModel:
    """Fit the win-and-timing model on snapshots before ``as_of`` (days since epoch).

    Raises
    ------
    InputError
        Without a stage history, or with fewer than 200 training rows (too little history).
    """
    import pymc as pm

    from spm_models.forecast.fit import sample_nuts

    if not book.has_history:
        raise InputError("opportunity_history: table missing (the win model needs stage history)")
    rows = training_rows(book, as_of, max_quarters=max_quarters)
    n = sum(len(r[0]) for r in rows)
    if n < _MIN_ROWS:
        raise InputError(f"opportunity_history: too little history before the as-of date "
                         f"({n} open-opportunity snapshots in finished quarters, need {_MIN_ROWS})")
    if n > MAX_ROWS:
        sub = np.random.default_rng(seed)
        rows = [(sn.iloc[np.sort(k)].reset_index(drop=True), s, h, yy[np.sort(k)])
                for sn, s, h, yy in rows
                for k in [sub.choice(len(sn), max(1, round(len(sn) * MAX_ROWS / n)), replace=False)]]
    allsnap = pd.concat([r[0] for r in rows], ignore_index=True)
    counts = allsnap["stage"].astype(str).value_counts()
    stages = [s for s in counts.index if counts[s] >= 50] + ["__other__"]
    amt = np.log(np.maximum(allsnap["amount"].to_numpy(dtype=float), 1.0))
    reps = sorted(allsnap["rep_id"].astype(str).unique())
    design = Design(stages=stages, reps=reps, amount_mu=float(amt.mean()),
                    amount_sd=float(amt.std() or 1.0))
    enc = [design.encode(sn, s, h) for sn, s, h, _ in rows]
    X = np.vstack([e["X"] for e in enc])
    g = np.concatenate([e["group"] for e in enc])
    G = 2 * len(stages)
    design.x_mean = group_means(X, g, G)
    X = X - design.x_mean[g]
    r = np.concatenate([e["rep"] for e in enc])
    y = np.concatenate([row[3] for row in rows])
    # amount ratios of the wins
    won_amt = np.concatenate([book.won_amount[sn["opp_index"].to_numpy()] for sn, *_ in rows])
    ratio = np.log(np.maximum(won_amt, 1.0) / np.maximum(allsnap["amount"].to_numpy(float), 1.0))
    log_ratio = ratio[y == 1] if (y == 1).sum() else np.zeros(1)
    with pm.Model() as model:
        alpha = pm.Normal("alpha", -1.0, 1.5, shape=G)
        beta = pm.Normal("beta", 0.0, 1.0, shape=X.shape[1])
        sigma = pm.HalfNormal("sigma_rep", 0.5)
        z = pm.Normal("z", 0.0, 1.0, shape=len(reps))
        eta = alpha[g] + pm.math.dot(X, beta) + sigma * z[r]
        pm.Bernoulli("y", logit_p=eta, observed=y)
    idata, info = sample_nuts(model, draws=draws, tune=tune, chains=chains, seed=seed,
                              sampler=sampler, target_accept=0.85, adaptation="low_rank")
    post = idata["posterior"].to_dataset()

    def flat(v: str) -> np.ndarray:
        a = post[v].values
        return a.reshape((-1,) + a.shape[2:])

    sig = flat("sigma_rep")
    info.update({"rows": len(y), "positives": int(y.sum()), "snapshots": len(rows),
                 "stages": stages, **_diagnostics(post)})
    return WinModel(design, flat("alpha"), flat("beta"), flat("z") * sig[:, None], sig,
                    log_ratio, info)


def group_means(X: np.ndarray, g: np.ndarray, n_groups: int) -> np.ndarray:
    """Column means of ``X`` (n × k) within each group ``g`` (n,, codes < ``n_groups``):
    array (n_groups × k); a group without rows gets the overall mean."""
    sums = np.zeros((n_groups, X.shape[1]))
    np.add.at(sums, g, X)
    n = np.bincount(g, minlength=n_groups)[:, None]
    return np.where(n > 0, sums / np.maximum(n, 1), X.mean(axis=0))


def _diagnostics(post) -> dict[str, float]:
    """``max_rhat`` and ``min_ess_bulk`` over all parameters (ArviZ ``rhat`` / ``ess``,
    rank-normalised split R-hat, Vehtari et al. 2021); empty when they cannot be computed
    (e.g. one chain)."""
    try:
        import arviz as az

        rh, ess = az.rhat(post), az.ess(post)
        return {"max_rhat": float(max(float(rh[v].max()) for v in rh.data_vars)),
                "min_ess_bulk": float(min(float(ess[v].min()) for v in ess.data_vars))}
    except (ValueError, KeyError, TypeError, ImportError):  # diagnostics are informative only
        return {}
