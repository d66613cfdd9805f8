"""Errors raised for invalid user input.

Every :class:`InputError` carries one or more one-line messages that name the file (or
table), the row and the field. The command line prints them to stderr, one per line, and
exits with code 1 -- never a traceback.
"""

from __future__ import annotations


class InputError(Exception):
    """Invalid user input; ``problems`` holds one line per problem."""

    def __init__(self, problems: str | list[str]):
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))


def location(file: str, row: int | None = None, field: str | None = None) -> str:
    """Format ``file, row N, field F`` for an error line (row is 1-based, header excluded)."""
    parts = [str(file)]
    if row is not None:
        parts.append(f"row {row}")
    if field is not None:
        parts.append(f"field '{field}'")
    return ", ".join(parts)
