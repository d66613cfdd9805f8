"""Masking credentials: the one function for every output, log and error line.

A ``data:`` source may be a database URL holding credentials, e.g.
``postgresql://ana:pw@db/sales?sslkey=...&token=...``. :func:`mask_url` hides the user
info (user name and password) and *every* query-parameter value::

    postgresql://***:***@db/sales?sslkey=***&token=***

:func:`redact` masks every URL found in free text (error lines, notebooks, HTML) and, in
addition, every literal secret value registered with :func:`register_secrets` (a driver may
echo a token without its URL, e.g. as part of a file name). The report footer,
``summary.json``, ``index.html``, ``report.ipynb``, ``report.html`` and every error line go
through these functions.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote

MASK = "***"

# scheme://[userinfo@]rest -- rest up to whitespace or a quote/bracket that ends a URL in text
_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]{0,30})://([^\s\"'<>`]*)")
_SCHEME_TAIL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}\Z")
_URL_REST = re.compile(r"[^\s\"'<>`]*")
#: shorter values are masked inside URLs but not searched for in free text (too common)
_MIN_SECRET = 6

_lock = threading.Lock()
_known: set[str] = set()


def _split_userinfo(rest: str) -> tuple[str | None, str]:
    """``user:pw@host/...`` -> (``user:pw``, ``host/...``); the last ``@`` before the path."""
    path_start = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if i != -1:
            path_start = min(path_start, i)
    at = rest.rfind("@", 0, path_start)
    if at == -1:
        return None, rest
    return rest[:at], rest[at + 1:]


def _mask_query(query: str) -> str:
    parts = []
    for item in query.split("&"):
        if not item:
            continue
        key = item.split("=", 1)[0]
        parts.append(f"{key}={MASK}")
    return "&".join(parts)


def mask_url(text: str) -> str:
    """``text`` with user info and every query value of its URL masked; a string that is
    not a URL (``demo``, a file path) is returned unchanged apart from a query string."""
    text = str(text)
    m = _URL_RE.fullmatch(text)
    if m is None:
        if "?" in text:  # a path with a query (``file.duckdb?token=...``)
            base, _, query = text.partition("?")
            return f"{base}?{_mask_query(query)}"
        return text
    scheme, rest = m.group(1), m.group(2)
    userinfo, rest = _split_userinfo(rest)
    fragment = ""
    if "#" in rest:
        rest, _, frag = rest.partition("#")
        fragment = f"#{MASK}" if frag else ""
    if "?" in rest:
        base, _, query = rest.partition("?")
        rest = f"{base}?{_mask_query(query)}"
    if userinfo is not None:
        user, sep, _pw = userinfo.partition(":")
        masked_user = MASK if user else ""
        rest = f"{masked_user}{':' + MASK if sep else ''}@{rest}"
    return f"{scheme}://{rest}{fragment}"


def secrets_of(text: str) -> set[str]:
    """The secret values in a URL or path: user, password, every query value (decoded and
    as written); values shorter than 6 characters are left out: they are masked inside
    URLs only, since replacing e.g. ``ro`` or ``true`` everywhere would garble text."""
    text = str(text)
    found: set[str] = set()
    m = _URL_RE.fullmatch(text)
    rest = m.group(2) if m else text
    userinfo = None
    if m:
        userinfo, rest = _split_userinfo(rest)
    if userinfo:
        for part in userinfo.split(":", 1):
            found.update({part, unquote(part)})
    query = rest.split("?", 1)[1].split("#", 1)[0] if "?" in rest else ""
    for item in query.split("&"):
        if "=" in item:
            raw = item.split("=", 1)[1]
            found.update({raw, unquote(raw)})
    for _k, v in parse_qsl(query, keep_blank_values=False):
        found.add(v)
    return {s for s in found if len(s) >= _MIN_SECRET}


def register_secrets(*sources: str) -> set[str]:
    """Remember the secrets of ``sources`` (URLs/paths) so :func:`redact` hides them in
    any text of this process; returns them."""
    found: set[str] = set()
    for s in sources:
        if s:
            found |= secrets_of(s)
    with _lock:
        _known.update(found)
    return found


def known_secrets() -> frozenset[str]:
    """The secrets registered so far."""
    with _lock:
        return frozenset(_known)


def _mask_urls_in(text: str) -> str:
    """Mask every ``scheme://...`` in ``text`` (linear: anchored at each ``://``)."""
    pieces: list[str] = []
    pos = 0
    i = text.find("://")
    while i != -1:
        m = _SCHEME_TAIL.search(text, max(pos, i - 31), i)
        if m is None:
            i = text.find("://", i + 3)
            continue
        start = m.start()
        end = _URL_REST.match(text, i + 3).end()
        while end > i + 3 and text[end - 1] in ".,:;)]}":  # punctuation after the URL
            end -= 1
        pieces.append(text[pos:start])
        pieces.append(mask_url(text[start:end]))
        pos = end
        i = text.find("://", max(end, i + 3))
    pieces.append(text[pos:])
    return "".join(pieces)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every URL masked (:func:`mask_url`) and every registered or ``extra``
    secret value replaced by ``***``."""
    text = _mask_urls_in(str(text))
    secrets = sorted(known_secrets() | {s for s in extra if s and len(s) >= _MIN_SECRET},
                     key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text
