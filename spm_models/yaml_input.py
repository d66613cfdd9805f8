"""Reading user YAML files (scenarios, comp plans) with one-line errors naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from spm_models.errors import InputError


def read_yaml(path: str | Path, kind: str) -> Any:
    """Parse ``path``; an unreadable file or invalid YAML raises :class:`InputError` naming
    the file (and line). ``kind`` ("scenario", "plan") words the message."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: cannot read {kind} file ({exc.strerror or exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
