"""The one rule for names that become folder names and links (scenario and sweep names).

A scenario name names its report folder (``OUT/NAME/``) and appears in links of
``index.html`` and ``compare.html``. Every such name -- a scenario's ``name``, each entry of
``sweep.names`` and each generated sweep name -- passes :func:`check_name`:

* 1 to 100 characters from ``A-Z a-z 0-9 _ . = -``;
* starts with a letter or digit (so never ``.``, ``..``, a hidden folder or an option);
* hence no ``/``, ``\\``, ``:`` (no ``../x``, absolute paths or ``javascript:`` links).

Outputs are placed with :func:`child_path`, which also checks the *resolved* path stays
inside the output folder (a symlinked folder cannot lead outside it), and links are built
with :func:`href` (relative, percent-escaped).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from spm_models.errors import InputError, short_repr

MAX_LENGTH = 100
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=\-]{0,99}$")
RULE = "use 1-100 letters, digits, '_', '-', '.', '=', starting with a letter or digit"


def is_valid_name(name: Any) -> bool:
    """Whether ``name`` may name a report folder and a link."""
    return isinstance(name, str) and bool(_NAME_RE.match(name)) and name not in (".", "..")


def check_name(name: Any, file: str | Path, key: str) -> str:
    """Return ``name`` when it follows the rule; else raise :class:`InputError` naming
    ``file`` and ``key`` (the offending value is shown truncated)."""
    if not is_valid_name(name):
        raise InputError(f"{file}, key '{key}': {short_repr(name)} is not a valid name ({RULE})")
    return name


def slug(value: Any) -> str:
    """A name fragment for a generated sweep name: a path-like value gives its stem
    (``plans/ae_high.yaml`` -> ``ae_high``), other characters outside the rule become ``_``."""
    text = str(value)
    if "/" in text or "\\" in text:
        text = Path(text.replace("\\", "/")).stem
    text = re.sub(r"[^A-Za-z0-9_.=\-]", "_", text)
    return text[:40] or "_"


def child_path(out_dir: str | Path, name: str) -> Path:
    """``out_dir/name`` after checking ``name`` and that the resolved path lies directly
    inside the resolved ``out_dir``; raises :class:`InputError` otherwise."""
    out = Path(out_dir)
    if not is_valid_name(name):
        raise InputError(f"{out}: {short_repr(name)} is not a valid output name ({RULE})")
    target = out / name
    parent = out.resolve()
    resolved = target.resolve()
    if resolved.parent != parent:
        raise InputError(f"{target}: resolves outside the output folder {out}")
    return target


def href(name: str, *parts: str) -> str:
    """A relative, percent-escaped link ``name/part/...`` (``name`` must be valid)."""
    if not is_valid_name(name):
        raise ValueError(f"not a valid name for a link: {short_repr(name)}")
    return "/".join(quote(p, safe="=") for p in (name, *parts))


def sweep_names(base: str, sweep: dict[str, Any], file: str | Path) -> list[str]:
    """Names of a sweep's scenarios: ``sweep.names`` (each checked by the rule, one per
    value) or ``BASE-KEY=VALUE`` built with :func:`slug`; :class:`InputError` names the key."""
    given = sweep.get("names")
    if given is None:
        leaf = str(sweep["key"]).split(".")[-1]
        made = [f"{base}-{slug(leaf)}={slug(v)}" for v in sweep["values"]]
        return [check_name(n, file, "sweep.values") for n in made]
    if not isinstance(given, list) or len(given) != len(sweep["values"]):
        raise InputError(f"{file}, key 'sweep.names': must be a list with one name per value")
    return [check_name(n, file, f"sweep.names[{i}]") for i, n in enumerate(given)]


def sweep_value(key: str, value: Any, file: str | Path) -> Any:
    """A sweep value as the scenario uses it: plan files (``key`` ``plans.ROLE``) are
    resolved relative to the scenario ``file`` and checked like ``plans:``."""
    if str(key).startswith("plans.") and isinstance(value, str):
        from spm_models.yaml_input import check_yaml_path

        base = Path(file).resolve()
        value = str((base.parent / value).resolve())
        check_yaml_path(value, base, "sweep.values", "plan")
    return value
