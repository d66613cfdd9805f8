"""Same data, config and seed -> identical posterior draws on a cold and a warm machine.

Issue 9: a fresh PyTensor compile directory gave different chains than a warm one (numba
fast-math kernels compiled together vs loaded from the on-disk cache; see
``spm_models.forecast.fit.deterministic_compile``). Each fit runs in its own subprocess: the
first with an empty compile dir (cold), the second reusing it (warm, kernels from the cache),
each with a fresh forecast cache directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    from spm_models.data.demo import make_demo
    from spm_models.forecast import fit_cached, monthly_panel
    panel = monthly_panel(make_demo(n_reps=8, years=1, seed=5))
    m = fit_cached(panel, {"model": "deals"}, sys.argv[2], method="nuts", draws=60, tune=60, chains=2, seed=3)
    assert m.fit_info["cache"] == "miss"
    post = m.posterior
    np.savez(sys.argv[1], **{k: post[k].values for k in ("log_base_deals", "trend", "deal_sigma", "rep_sigma")})
    """
)


@pytest.mark.slow
def test_cold_and_warm_compile_give_identical_draws(tmp_path):
    compiledir = tmp_path / "pytensor"
    compiledir.mkdir()
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={compiledir}"}
    outs = []
    for run in ("cold", "warm"):
        out = tmp_path / f"{run}.npz"
        cache = tmp_path / f"cache-{run}"  # fresh SPM forecast cache each time
        proc = subprocess.run([sys.executable, str(script), str(out), str(cache)], check=False, env=env,
                              timeout=900, capture_output=True, text=True)
        assert proc.returncode == 0, f"{run} fit failed: {proc.stderr[-2000:]}"
        outs.append(np.load(out))
    assert any((compiledir).rglob("*.nbi")), "warm run had no numba cache to reuse"
    cold, warm = outs
    for name in cold.files:
        assert np.array_equal(cold[name], warm[name]), f"{name}: cold and warm draws differ"
