"""Publishing report outputs safely: one writer per folder, scenarios replaced as a unit.

* :class:`OutputLock` -- an exclusive ``fcntl`` lock on ``OUT/.spm-report.lock``: a second
  ``spm report`` / ``spm schedule run-due`` on the same folder waits (saying so on stderr)
  or, with ``wait=False``, fails with one line naming the folder and the holder's pid.
* :func:`stage` -- a scenario is built in a hidden temp folder ``OUT/.spm-tmp-NAME-…``
  inside the output folder (same file system, so the swap is a rename).
* :func:`publish` -- swaps the staged folder with ``OUT/NAME`` atomically (Linux
  ``renameat2(RENAME_EXCHANGE)``), so a reader or a kill sees the complete old or the
  complete new outputs, never neither. :func:`unpublish` removes a failed scenario's folder. Where the exchange is unavailable the old folder is
  first renamed to ``OUT/.spm-old-NAME-…`` and :func:`recover` puts it back if the process
  dies between the two renames.
* :func:`recover` -- run under the lock at the start of every run: restores an orphaned
  ``.spm-old-*`` folder whose scenario folder is missing and removes leftover temp folders
  of killed runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Self

from spm_models.atomic import exchange, make_temp_dir
from spm_models.errors import InputError
from spm_models.names import child_path

LOCK_NAME = ".spm-report.lock"
TMP_PREFIX = ".spm-tmp-"
OLD_PREFIX = ".spm-old-"


_held: dict[Path, int] = {}
_held_lock = threading.Lock()


class OutputLock:
    """Exclusive lock of an output folder for the duration of a ``with`` block.

    ``wait=True`` blocks (up to ``timeout`` seconds, ``None`` = forever) after printing one
    line; ``wait=False`` raises :class:`InputError` at once when another run holds it.
    Re-entrant within a process (``spm schedule run-due`` holds it around ``spm report``)."""

    def __init__(self, out_dir: str | Path, wait: bool = True, timeout: float | None = None,
                 say=None):
        self.out = Path(out_dir)
        self.wait, self.timeout = wait, timeout
        self.say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._fh = None

    def _holder(self) -> str:
        try:
            text = (self.out / LOCK_NAME).read_text().strip()
            return f" (pid {text})" if text else ""
        except OSError:
            return ""

    def __enter__(self) -> Self:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            key = self.out.resolve()
        except OSError as exc:
            raise InputError(f"{self.out}: cannot create the output folder "
                             f"({exc.strerror or type(exc).__name__})") from None
        with _held_lock:
            if _held.get(key):
                _held[key] += 1
                self._key = key
                return self
        try:
            fh = open(self.out / LOCK_NAME, "a+")
        except OSError as exc:
            raise InputError(f"{self.out}: cannot write to the output folder "
                             f"({exc.strerror or type(exc).__name__})") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder()
            if not self.wait:
                fh.close()
                raise InputError(f"{self.out}: another spm report is writing this folder{holder}; "
                                 "try again when it has finished") from None
            self.say(f"waiting: another spm report is writing {self.out}{holder}")
            deadline = None if self.timeout is None else time.monotonic() + self.timeout
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() > deadline:
                        fh.close()
                        raise InputError(f"{self.out}: still locked by another spm report{holder} "
                                         f"after {self.timeout:.0f} s") from None
                    time.sleep(0.5)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        self._key = key
        with _held_lock:
            _held[key] = 1
        return self

    def __exit__(self, *exc) -> None:
        key = getattr(self, "_key", None)
        if key is not None:
            with _held_lock:
                _held[key] -= 1
                if _held[key] > 0:
                    return
                del _held[key]
        if self._fh is not None:
            try:
                self._fh.seek(0)
                self._fh.truncate()
            except OSError:
                pass
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def stage(out_dir: str | Path, name: str) -> Path:
    """A new, empty temp folder inside ``out_dir`` for scenario ``name``'s outputs."""
    child_path(out_dir, name)  # the name rule and the containment check
    return make_temp_dir(out_dir, f"{TMP_PREFIX}{name}-")


def publish(out_dir: str | Path, name: str, staged: Path) -> Path:
    """Make ``staged`` the outputs of ``name`` (``OUT/NAME``), atomically; remove the old ones."""
    target = child_path(out_dir, name)
    staged = Path(staged)
    if staged.resolve().parent != Path(out_dir).resolve():
        raise ValueError(f"{staged}: not a staging folder of {out_dir}")
    if not target.exists() and not target.is_symlink():
        os.rename(staged, target)
        return target
    if target.is_symlink() or not target.is_dir():
        target.unlink()
        os.rename(staged, target)
        return target
    if exchange(staged, target):  # staged now holds the old outputs
        shutil.rmtree(staged, ignore_errors=True)
        return target
    old = make_temp_dir(out_dir, f"{OLD_PREFIX}{name}-")
    os.rmdir(old)
    os.rename(target, old)  # from here until the next rename, recover() restores `old`
    os.rename(staged, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def unpublish(out_dir: str | Path, name: str) -> None:
    """Remove the outputs of ``name`` (``OUT/NAME``, a failed scenario's): renamed aside to
    ``OUT/.spm-old-NAME-…`` first, so a kill leaves the complete old folder (put back by
    :func:`recover`) or none."""
    target = child_path(out_dir, name)
    if target.is_symlink() or target.is_file():
        target.unlink()
        return
    if not target.exists():
        return
    old = make_temp_dir(out_dir, f"{OLD_PREFIX}{name}-")
    os.rmdir(old)
    os.rename(target, old)
    shutil.rmtree(old, ignore_errors=True)


def recover(out_dir: str | Path) -> list[str]:
    """Clean up after killed runs (call under :class:`OutputLock`): put back an orphaned
    ``.spm-old-NAME-*`` folder whose ``NAME`` is missing, delete temp folders; returns
    what was done (one entry per folder)."""
    out = Path(out_dir)
    done: list[str] = []
    if not out.is_dir():
        return done
    for p in sorted(out.iterdir()):
        if not p.name.startswith(OLD_PREFIX) or not p.is_dir():
            continue
        name = p.name[len(OLD_PREFIX):].rsplit("-", 1)[0]
        target = out / name
        if name and not target.exists():
            os.rename(p, target)
            done.append(f"restored {name}")
        else:
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name}")
    for p in sorted(out.iterdir()):
        if p.name.startswith(TMP_PREFIX) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name}")
    return done
