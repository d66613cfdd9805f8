"""The one keyed on-disk cache of a workbench: fitted forecasts, forecast cubes, territories.

An entry is a folder ``<root>/<kind>/<key>/`` (``kind`` is ``fits``, ``forecast`` or
``territory``; ``key`` a content hash of everything the result depends on) holding the
entry's files and a ``manifest.json`` with the SHA-256 and size of every file. Reading an
entry checks the manifest first: a missing, changed or unexpected file (zarr fills a missing
chunk with the fill value, so a damaged store would otherwise read "fine" with wrong numbers)
makes the entry *damaged*; it is reported (a ``WARNING`` log line naming the entry and the
file) and rebuilt. An entry is built in a temporary folder beside it and renamed into place,
under a per-entry file lock (``filelock``), so concurrent processes wait for the first one
instead of building twice or corrupting the entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock

log = logging.getLogger(__name__)

T = TypeVar("T")
MANIFEST = "manifest.json"
#: result of the last :meth:`Cache.get` per (kind, key): ``hit``, ``miss`` or ``rebuilt``
CacheState = str


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(entry: Path) -> list[Path]:
    return sorted(p for p in entry.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(entry: Path, kind: str, key: str) -> dict[str, Any]:
    """Write ``manifest.json`` listing every file of ``entry`` with its size and SHA-256."""
    files = {p.relative_to(entry).as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
             for p in _files(entry)}
    manifest = {"kind": kind, "key": key, "format": 1, "files": files}
    (entry / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def check_entry(entry: Path) -> str | None:
    """``None`` when ``entry`` matches its manifest, else what is wrong (one line)."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return "no readable manifest"
    for rel, rec in sorted(files.items()):
        p = entry / rel
        if not p.is_file():
            return f"missing file {rel}"
        if p.stat().st_size != rec["size"] or _sha256(p) != rec["sha256"]:
            return f"changed file {rel}"
    extra = [p.relative_to(entry).as_posix() for p in _files(entry)
             if p.relative_to(entry).as_posix() not in files]
    if extra:
        return f"unexpected file {extra[0]}"
    return None


class Cache:
    """Keyed on-disk cache rooted at ``root`` (see the module docstring).

    ``get(kind, key, build, load)`` returns the cached value: ``load(folder)`` when the entry
    is sound, else ``build(folder)`` (which writes the entry's files into ``folder`` and
    returns the value). :attr:`last_state` tells whether the last call was a ``hit``, a
    ``miss`` or ``rebuilt`` (the entry was damaged).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.last_state: CacheState = ""

    def entry(self, kind: str, key: str) -> Path:
        """The folder of the entry ``kind``/``key``."""
        return self.root / kind / key

    def lock(self, kind: str, key: str) -> FileLock:
        """The file lock guarding the entry (held while reading or building it)."""
        folder = self.root / kind
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(folder / f".{key}.lock"))

    def get(self, kind: str, key: str, build: Callable[[Path], T],
            load: Callable[[Path], T]) -> T:
        """The value of entry ``kind``/``key``: loaded when sound, else built and stored."""
        entry = self.entry(kind, key)
        with self.lock(kind, key):
            state = "miss"
            if entry.exists():
                problem = check_entry(entry)
                if problem is None:
                    try:
                        value = load(entry)
                        self.last_state = "hit"
                        return value
                    except Exception as exc:  # noqa: BLE001 - an unreadable entry is rebuilt
                        problem = f"unreadable ({type(exc).__name__}: {exc})"
                log.warning("cache entry %s is damaged (%s); rebuilding it", entry, problem)
                state = "rebuilt"
                shutil.rmtree(entry, ignore_errors=True)
            value = self._build(kind, key, build)
            self.last_state = state
            return value

    def _build(self, kind: str, key: str, build: Callable[[Path], T]) -> T:
        entry = self.entry(kind, key)
        tmp_root = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=entry.parent))
        try:
            tmp = tmp_root / key
            tmp.mkdir()
            value = build(tmp)
            write_manifest(tmp, kind, key)
            os.replace(tmp, entry)
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
        return value

    def clear(self) -> None:
        """Remove every entry."""
        shutil.rmtree(self.root, ignore_errors=True)
