"""Errors raised for invalid user input.

Every :class:`InputError` carries one or more one-line messages that name the file (or
table), the row and the field. The command line prints them to stderr, one per line, and
exits with code 1 -- never a traceback.

Messages never carry unbounded values: :func:`short_repr` truncates a value's repr, and
every problem line is cut to :data:`MAX_LINE` characters (a YAML bomb or a binary file
cannot blow up an error message). Nor credentials: every line goes through
:func:`spm_models.masking.redact` (URL user info and query values masked).
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: longest problem line kept (characters)
MAX_LINE = 600
#: a check failing on many rows names this many rows, one line each, then says how many more
MAX_ROWS_NAMED = 20

_REPR = reprlib.Repr(maxlevel=2, maxdict=4, maxlist=4, maxtuple=4, maxset=4, maxstring=60,
                     maxother=60, maxlong=40)


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` bounded in depth, items and length (at most ``limit`` characters)."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    from spm_models.masking import redact

    text = redact(" ".join(str(text).split("\n")))
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


class InputError(Exception):
    """Invalid user input; ``problems`` holds one line per problem (each at most
    :data:`MAX_LINE` characters)."""

    def __init__(self, problems: str | list[str]):
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = [_one_line(p) for p in problems]
        super().__init__("\n".join(self.problems))


def location(file: str, row: int | None = None, field: str | None = None) -> str:
    """Format ``file, row N, field F`` for an error line (row is 1-based, header excluded)."""
    parts = [str(file)]
    if row is not None:
        parts.append(f"row {row}")
    if field is not None:
        parts.append(f"field '{field}'")
    return ", ".join(parts)



def row_problems(file: str, field: str | None, rows: Sequence[int] | NDArray[Any],
                 message: Callable[[int], str] | str, summary: str,
                 cap: int = MAX_ROWS_NAMED) -> list[str]:
    """One line per bad row of one check (``file, row R, field F: message(k)`` for the ``k``-th
    bad row, or ``message`` itself when it is text; ``rows`` holds their spreadsheet numbers),
    the first ``cap`` of them, then one line ``file, rows A-B, field F: N more rows with the
    same problem (summary)``."""
    def text(k: int) -> str:
        return message if isinstance(message, str) else message(k)

    lines = [f"{location(file, int(r), field)}: {text(k)}" for k, r in enumerate(rows[:cap])]
    rest = rows[cap:]
    if len(rest):
        where = ", ".join([str(file), f"rows {int(rest[0])}-{int(rest[-1])}"]
                          + ([f"field '{field}'"] if field is not None else []))
        lines.append(f"{where}: {len(rest)} more rows with the same problem ({summary})")
    return lines
