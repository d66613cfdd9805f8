"""Shared fixtures: a small demo organisation, in memory and as a DuckDB source."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def demo_tables() -> dict[str, pd.DataFrame]:
    """``make_demo(n_reps=40, years=3, seed=1)``; treat as read-only (copy before changing)."""
    from spm_models.data.demo import make_demo

    return make_demo(n_reps=40, years=3, seed=1)


@pytest.fixture(scope="session")
def small_demo_source(demo_tables: dict[str, pd.DataFrame],
                      tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file holding ``demo_tables`` (including ``truth``)."""
    from spm_models.data.write import write_source

    return write_source(demo_tables, tmp_path_factory.mktemp("demo") / "demo.duckdb")


# Hypothesis: random exploration on developer machines, a fixed derandomised search on CI so a
# submission's result does not depend on the luck of the draw.
import os as _os

from hypothesis import settings as _hyp_settings

_hyp_settings.register_profile("ci", derandomize=True, print_blob=True)
if _os.environ.get("CI"):
    _hyp_settings.load_profile("ci")
