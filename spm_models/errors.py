"""Errors raised for invalid user input.

Every :class:`InputError` carries one or more one-line messages that name the file (or
table), the row and the field. The command line prints them to stderr, one per line, and
exits with code 1 -- never a traceback; a :class:`UsageError` (a mistake in the command line
itself) exits with code 2.

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
#: The one cap on bad rows named by a check, in every command (``spm data validate``, ``spm comp
#: credit``/``calc``/``statement``): a check failing on more rows names this many, one line
#: each, then ends with one :func:`more_rows` line saying how many more.
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


class UsageError(InputError):
    """A mistake in the command line itself rather than in the input data: a missing option,
    options that do not go together, a value outside an option's fixed choices. The command
    line prints it as one line and exits with code 2, as for click's own usage errors (exit 1
    is left for bad input, including option values our checks refuse: a range, a date)."""


def location(file: str, row: int | None = None, field: str | None = None) -> str:
    """Format ``file, row N, field F`` for an error line (row is 1-based, header excluded)."""
    parts = [str(file)]
    if row is not None:
        parts.append(f"row {row}")
    if field is not None:
        parts.append(f"field '{field}'")
    return ", ".join(parts)



def more_rows(where: str, n: int, summary: str) -> str:
    """The one line that ends a capped check in every command:
    ``WHERE: ... and N more rows with the same problem (SUMMARY)`` (``WHERE`` names the file,
    the range of the rows not named, ``rows A-B``, and the field)."""
    return f"{where}: ... and {n} more rows with the same problem ({summary})"


def _rows_where(file: str, rest: Sequence[int] | NDArray[Any], field: str | None) -> str:
    return ", ".join([str(file), f"rows {int(rest[0])}-{int(rest[-1])}"]
                     + ([f"field '{field}'"] if field is not None else []))


def row_problems(file: str, field: str | None, rows: Sequence[int] | NDArray[Any],
                 message: Callable[[int], str] | str, summary: str,
                 cap: int = MAX_ROWS_NAMED) -> list[str]:
    """One line per bad row of one check (``file, row R, field F: message(k)`` for the ``k``-th
    bad row, or ``message`` itself when it is text; ``rows`` holds their spreadsheet numbers),
    the first ``cap`` of them, then one :func:`more_rows` line
    ``file, rows A-B, field F: ... and N more rows with the same problem (summary)``."""
    def text(k: int) -> str:
        return message if isinstance(message, str) else message(k)

    lines = [f"{location(file, int(r), field)}: {text(k)}" for k, r in enumerate(rows[:cap])]
    rest = rows[cap:]
    if len(rest):
        lines.append(more_rows(_rows_where(file, rest, field), len(rest), summary))
    return lines


class _Capped:
    """The rows of one check beyond the cap (rendered as one :func:`more_rows` line)."""

    def __init__(self, file: str, field: str | None, summary: str) -> None:
        self.file, self.field, self.summary = file, field, summary
        self.named = 0
        self.rest: list[int] = []

    def line(self) -> str:
        span = [min(self.rest), max(self.rest)]
        return more_rows(_rows_where(self.file, span, self.field), len(self.rest), self.summary)


class Problems:
    """Problem lines in the order found, for checks that go row by row: a check (its file,
    field and ``summary``) names at most :data:`MAX_ROWS_NAMED` rows, one line each, then one
    :func:`more_rows` line (where its first row beyond the cap was found). Lines of other
    problems (:meth:`add`) are all kept. ``len()`` counts the problems found so far."""

    def __init__(self, cap: int = MAX_ROWS_NAMED) -> None:
        self.cap = cap
        self._items: list[str | _Capped] = []
        self._checks: dict[tuple[str, str | None, str], _Capped] = {}
        self._n = 0

    def add(self, line: str) -> None:
        """One problem line (not capped)."""
        self._items.append(line)
        self._n += 1

    def extend(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.add(line)

    def add_row(self, file: str, row: int, field: str | None, message: str,
                summary: str) -> None:
        """``file, row R, field F: message``, counted against the cap of the check
        ``(file, field, summary)``."""
        key = (str(file), field, summary)
        check = self._checks.setdefault(key, _Capped(str(file), field, summary))
        self._n += 1
        if check.named < self.cap:
            check.named += 1
            self._items.append(f"{location(file, int(row), field)}: {message}")
            return
        if not check.rest:
            self._items.append(check)
        check.rest.append(int(row))

    def __len__(self) -> int:
        return self._n

    def lines(self) -> list[str]:
        """The lines to show: named rows, other problems and one line per capped check."""
        return [x if isinstance(x, str) else x.line() for x in self._items]
