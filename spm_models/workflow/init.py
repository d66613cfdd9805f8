"""``spm init DIR``: a new workbench folder from the templates shipped in the package.

The folder gets ``scenarios/base.yaml`` (the demo organisation, a fast forecast, the standard
plans), ``scenarios/plans/`` (AE and SE plans), ``notebooks/`` (the report, comparison and
what-if notebooks), a ``Makefile`` (``make report``, ``make lab``) and a ``.gitignore``.
Templates are read with :mod:`importlib.resources`, so this works from an installed wheel.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from spm_models.errors import InputError

#: template file name → name in the workbench (dot files cannot be package data reliably)
RENAMES = {"gitignore": ".gitignore"}


def _walk(node: Traversable, rel: Path) -> list[tuple[Path, Traversable]]:
    out = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name.startswith((".", "__")):
            continue
        if child.is_dir():
            out += _walk(child, rel / child.name)
        else:
            out.append((rel / RENAMES.get(child.name, child.name), child))
    return out


def template_files() -> list[tuple[Path, Traversable]]:
    """(path in the workbench, packaged file) of every file ``spm init`` writes."""
    pkg = resources.files("spm_models")
    files = _walk(pkg / "templates" / "workbench", Path())
    files += [(Path("notebooks") / nb.name, nb) for nb in sorted(
        (pkg / "notebooks").iterdir(), key=lambda c: c.name) if nb.name.endswith(".ipynb")]
    return files


def init_workbench(directory: str | Path) -> list[Path]:
    """Create the workbench folder ``directory``; returns the files written.

    Raises :class:`InputError` (nothing written) when any of the files already exists.
    """
    root = Path(directory)
    files = template_files()
    existing = [str(root / rel) for rel, _ in files if (root / rel).exists()]
    if existing:
        raise InputError([f"{p}: already exists; spm init writes only into a new folder"
                          for p in existing[:3]])
    written = []
    for rel, src in files:
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(src.read_bytes())
        written.append(dest)
    return written
