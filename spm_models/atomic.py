"""Atomic file output: write to a temporary file beside the target, then rename.

A reader never sees a half-written file, and a failure leaves the old file (or none).
Published files and folders get the permissions an ordinary ``open()`` / ``mkdir`` would
give them (``0666`` / ``0777`` minus the process umask), not the ``0600`` / ``0700`` of
``tempfile``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask (read from ``/proc`` where possible: no window in which it changes)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a newly published file: ``0o666 & ~umask``."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """Mode of a newly published folder: ``0o777 & ~umask``."""
    return 0o777 & ~current_umask()


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` when the block succeeds.

    The file gets ``0666 & ~umask`` (like ``open()``). Raises
    :class:`~spm_models.errors.InputError` (one line naming the path) when ``path`` is a
    folder or its folder cannot be made (a file of that name is in the way)."""
    path = Path(path)
    if path.is_dir():
        from spm_models.errors import InputError

        raise InputError(f"{path}: is a folder; give the name of a file to write")
    make_parent(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_parent(path: Path) -> None:
    """Create ``path``'s folder (and its parents); :class:`~spm_models.errors.InputError`
    naming the path when a file is in the way or it cannot be created."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        from spm_models.errors import InputError

        raise InputError(f"{path}: cannot create the folder {path.parent} (a file of that "
                         "name is in the way)") from None
    except PermissionError:
        from spm_models.errors import InputError

        raise InputError(f"{path}: no permission to create the folder {path.parent}") from None


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder that replaces ``path`` only when complete: yields a new empty folder
    (hidden, beside ``path``) to write into; on success any old ``path`` is removed and the
    new folder renamed into its place; on an error the new folder is removed and ``path`` is
    left as it was."""
    path = Path(path)
    make_parent(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_temp_dir(parent: str | Path, prefix: str) -> Path:
    """A new hidden folder ``parent/.PREFIX…`` with the umask's folder mode (not ``0700``)."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(d, dir_mode())
    return d


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_libc = None


def _renameat2() -> object | None:
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.renameat2  # noqa: B018 - probe
        except (OSError, AttributeError):
            _libc = False
    return _libc or None


def exchange(a: str | Path, b: str | Path) -> bool:
    """Atomically swap the paths ``a`` and ``b`` (both must exist; Linux ``renameat2`` with
    ``RENAME_EXCHANGE``). Returns ``False`` when the system or file system cannot do it."""
    libc = _renameat2()
    if libc is None:
        return False
    res = libc.renameat2(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)),
                         _RENAME_EXCHANGE)
    if res == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a))
