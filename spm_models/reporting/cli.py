"""`spm report`, `spm approve` and `spm schedule` commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the reporting commands to the top-level app."""
