"""Options of the bookings forecast (:class:`ForecastConfig`) and the names of the deal model's
hyper-parameters (the diagnostics thresholds apply to these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from spm_models.errors import InputError

#: hyper-parameters (diagnostics thresholds apply to these)
HYPER_PARAMS = (
    "log_base_deals",
    "effect_sigma",
    "territory_share",
    "trend",
    "season_a",
    "season_b",
    "ramp_tau",
    "rep_sigma",
    "territory_sigma",
    "region_sigma",
    "log_deal_median",
    "deal_sigma",
    "size_region_sigma",
    "size_rep_sigma",
    "region_eff",
    "size_region_eff",
    "cancel_rate",
    "inv_alpha",
)


#: ``rep_effects="auto"`` integrates territory effects out (centred rep effects) from this many
#: reps on; below it the spreads are poorly known and centred effects funnel (a 6-rep org:
#: 2-5 divergences in 2 x 300 draws vs 0-1 non-centred)
MARGINAL_MIN_REPS = 20


@dataclass(frozen=True)
class ForecastConfig:
    """Model options; build one from a plain dict with :meth:`from_dict`.

    Attributes
    ----------
    model
        ``"deals"``: deal counts x deal sizes (deal-level CRM data); ``"dlm"``: the pooled
        dynamic linear model on rep-month amounts (:mod:`spm_models.forecast.dlm`);
        ``"auto"`` (default): choose the model, or a stacking of the candidates, by
        rolling-origin evidence on the training data (:mod:`spm_models.forecast.rep_month`).
    dlm_transform
        Scale of the DLM: ``"none"`` (additive on amounts / rep scale), ``"log"`` (log
        amounts, reps with all-positive amounts), ``"auto"`` (both are candidates).
    auto_holdout
        Months at the end of the training data that ``model: auto`` forecasts to score the
        candidates (fewer when the history is short).
    auto_origins
        Rolling origins ``model: auto`` scores together: the last ``auto_holdout`` months and
        up to ``auto_origins - 1`` earlier windows of the same length, each used only when at
        least 24 training months precede it (:func:`spm_models.forecast.rep_month.validation_origins`).
        Each origin costs one set of validation fits. Default 1: on the real benchmark
        two origins were not better overall (docs/forecast.md, "Two rolling origins").
    count_likelihood
        ``"poisson"`` (the demo's process) or ``"negbin"`` (over-dispersed deal counts).
    season_harmonics
        Fourier harmonics of the fiscal-month seasonality (0 = none; the first harmonic
        gives ``season_amp`` / ``season_peak``).
    rep_size_effects
        Partially pooled per-rep deal-size effects (for reps whose deal sizes differ by
        orders of magnitude). Off reproduces the demo's process (size effects by region).
    ramp
        Ramp-up on tenure ``1 − exp(−(tenure + 1)/ramp_tau)`` for new hires in the deal
        model; in the rep-month models, the ramp estimated from the panel's hires
        (:mod:`spm_models.forecast.ramp`). False: no ramp in either.
    prior_ramp_tau
        Prior median of ``ramp_tau`` in months (log-normal, sd 0.75 on the log scale).
    target_accept
        NUTS target acceptance rate.
    territory_effects
        Pooled territory effects: ``"auto"`` includes them when territories hold at least
        1.1 reps on average over the history (otherwise territory and rep effects are not
        separable and the rep effect absorbs both), ``"on"`` / ``"off"`` force it.
    min_pooled_groups
        Fewer regions than this get zero-sum fixed effects (prior sd 0.5) instead of
        partially pooled ones: a variance cannot be learnt from 2–4 groups.
    rep_effects
        Parameterisation of rep (and territory) rate effects: ``"marginal"`` samples each
        rep's log deal rate centred with territory effects integrated out (exact block-
        diagonal normal prior; spreads as total ``effect_sigma`` x ``territory_share``);
        ``"centered"`` centred rep effects around non-centred
        territory effects; ``"noncentered"`` non-centred rep and territory effects with
        total spread × territory share. ``"auto"`` = marginal with territory effects and at
        least ``MARGINAL_MIN_REPS`` (20) reps, otherwise non-centred.
    """

    model: Literal["auto", "deals", "dlm"] = "auto"
    dlm_transform: Literal["auto", "none", "log"] = "auto"
    auto_holdout: int = 12
    auto_origins: int = 1
    count_likelihood: Literal["poisson", "negbin"] = "poisson"
    season_harmonics: int = 1
    rep_size_effects: bool = True
    ramp: bool = True
    prior_ramp_tau: float = 3.0
    target_accept: float = 0.9
    territory_effects: Literal["auto", "on", "off"] = "auto"
    min_pooled_groups: int = 5
    rep_effects: Literal["auto", "marginal", "centered", "noncentered"] = "auto"

    @classmethod
    def from_dict(cls, config: dict[str, Any] | ForecastConfig | None) -> ForecastConfig:
        """Validate a plain dict; unknown keys or bad values raise :class:`InputError`."""
        if config is None:
            return cls()
        if isinstance(config, ForecastConfig):
            return config
        names = {f.name for f in fields(cls)}
        problems = [f"forecast config, field '{k}': unknown option" for k in config if k not in names]
        if problems:
            raise InputError(problems)
        cfg = cls(**dict(config))
        if cfg.model not in ("auto", "deals", "dlm"):
            problems.append(f"forecast config, field 'model': must be auto, deals or dlm, got {cfg.model!r}")
        if cfg.dlm_transform not in ("auto", "none", "log"):
            problems.append("forecast config, field 'dlm_transform': must be auto, none or log")
        # bool is an int in Python: `auto_origins: yes` / true must not pass as 1
        if (not isinstance(cfg.auto_holdout, int) or isinstance(cfg.auto_holdout, bool)
                or not 3 <= cfg.auto_holdout <= 36):
            problems.append("forecast config, field 'auto_holdout': must be a whole number of months 3..36")
        if (not isinstance(cfg.auto_origins, int) or isinstance(cfg.auto_origins, bool)
                or not 1 <= cfg.auto_origins <= 4):
            problems.append("forecast config, field 'auto_origins': must be a whole number 1..4")
        if cfg.count_likelihood not in ("poisson", "negbin"):
            problems.append(
                "forecast config, field 'count_likelihood': must be 'poisson' or 'negbin', "
                f"got {cfg.count_likelihood!r}"
            )
        if cfg.season_harmonics not in (0, 1, 2, 3):
            problems.append("forecast config, field 'season_harmonics': must be 0..3")
        if not cfg.prior_ramp_tau > 0:
            problems.append("forecast config, field 'prior_ramp_tau': must be > 0")
        if cfg.territory_effects not in ("auto", "on", "off"):
            problems.append("forecast config, field 'territory_effects': must be auto, on or off")
        if cfg.rep_effects not in ("auto", "marginal", "centered", "noncentered"):
            problems.append(
                "forecast config, field 'rep_effects': must be auto, marginal, centered or noncentered"
            )
        if not 0.5 <= cfg.target_accept < 1:
            problems.append("forecast config, field 'target_accept': must be in [0.5, 1)")
        if problems:
            raise InputError(problems)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

