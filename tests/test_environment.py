"""environment.yml must mirror pyproject.toml's runtime dependencies (and the `lab` extra)."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# pip extras that conda-forge ships as separate packages
EXTRA_PACKAGES = {("dask", "distributed"): "distributed"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(req: str) -> tuple[str, set[str], str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[([^\]]+)\])?\s*(.*)$", req)
    assert m, req
    extras = {e.strip() for e in (m.group(2) or "").split(",") if e.strip()}
    return _norm(m.group(1)), extras, m.group(3).replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # the conda environment is for interactive users: runtime dependencies plus the `lab` extra
    deps = project["dependencies"] + project["optional-dependencies"]["lab"]
    out = {}
    for req in deps:
        name, extras, spec = _split(req)
        out[name] = spec
        for extra in extras:
            out[_norm(EXTRA_PACKAGES[(name, extra)])] = spec
    return out


def _environment() -> tuple[dict[str, str], dict]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            continue
        name, _, spec = _split(dep.replace("=", "==", 1) if re.match(r"^[\w\-]+=[^=<>]", dep) else dep)
        if name in ("python", "pip"):
            continue
        out[name] = spec
    return out, env


def test_environment_mirrors_pyproject():
    py = _pyproject()
    env, _ = _environment()
    missing = sorted(set(py) - set(env))
    extra = sorted(set(env) - set(py))
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"
    differ = {n: (py[n], env[n]) for n in py if py[n] != env[n]}
    assert not differ, f"version floors differ (pyproject, environment.yml): {differ}"


def test_environment_pins_python_and_installs_package():
    _, env = _environment()
    assert "conda-forge" in env["channels"]
    assert "python=3.12" in env["dependencies"]
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip and "-e ." in pip[0]["pip"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.12"


def test_imported_third_party_packages_are_declared():
    """Every third-party module spm_models imports is a declared dependency (issue 10)."""
    import ast
    import sys

    declared = set(_pyproject())
    # import name -> distribution name where they differ; zarr/nutpie/openpyxl are used through
    # xarray, pymc and pandas
    dist = {"yaml": "pyyaml", "IPython": "ipython", "dateutil": "python-dateutil",
            "sklearn": "scikit-learn"}
    found = set()
    for path in (ROOT / "spm_models").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and
                     node.level == 0 else [])
            for name in names:
                top = name.split(".")[0]
                if top != "spm_models" and top not in sys.stdlib_module_names:
                    found.add(_norm(dist.get(top, top)))
    missing = sorted(found - declared)
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
