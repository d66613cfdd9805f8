"""Reading user YAML files (scenarios, comp plans): the one reader, with one-line errors.

Every YAML file the workbench reads goes through :func:`read_yaml`:

* **Where.** Only ``.yaml`` / ``.yml`` regular files up to :data:`MAX_BYTES` are read (a plan
  path such as ``/etc/shadow`` is refused before it is opened).
* **Numbers as people write them.** PyYAML implements YAML 1.1, which reads ``2.5e8`` and
  ``1e308`` (no dot, no exponent sign) as text. The loader adds the YAML 1.2 float form, so
  ``2.5e8``, ``1e308``, ``1E-3`` and ``1_000_000`` (a YAML 1.1 int) are numbers. Everything
  else stays YAML 1.1 as before -- on purpose, because plans rely on it: ``yes``/``no`` are
  booleans, ``2027-01-15`` is a date, and ``2027-01`` (a ``plan_year_start``) stays the
  string ``'2027-01'``. Sexagesimal numbers (``1:30`` = 90) are not recognised: they are
  read as text.
* **No bombs.** Aliases (``*a``) are counted while composing: more than :data:`MAX_ALIASES`
  aliases, or a document that would expand to more than :data:`MAX_NODES` nodes, is rejected
  before anything is constructed.
* **One value per key.** A key written twice in one section (``rate: 0.1`` then ``rate: 0.5``)
  is an error naming the line: YAML would silently keep the last one.
* **Filters as written.** Keys and values under a ``where:`` section (comp plans' credit rules
  compare them with a bookings column's text) stay the text as written: ``yes``, ``on``,
  ``007`` are not read as ``True``, ``True`` and ``7``.
* **No echo.** Error lines name the file (and line) and the kind of problem, never the file's
  content; a mapping key that does not look like a setting name (``root:x:0:0:...``) stops
  the read, so a validator never lists a foreign file's lines as "unknown keys".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from spm_models.errors import InputError

#: file suffixes read as YAML
SUFFIXES = (".yaml", ".yml")
#: largest YAML file read (bytes)
MAX_BYTES = 2 * 1024 * 1024
#: most aliases in one document
MAX_ALIASES = 100
#: most nodes after expanding aliases
MAX_NODES = 100_000

_FLOAT_12 = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.VERBOSE)
_INT_11 = re.compile(r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""", re.VERBOSE)


class _Resolver(yaml.resolver.Resolver):
    """YAML 1.1 resolvers with YAML 1.2 floats and without sexagesimal numbers."""


# copy the class-level table so the stock SafeLoader is not changed
_Resolver.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:float", "tag:yaml.org,2002:int")]
    for k, v in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
_Resolver.add_implicit_resolver("tag:yaml.org,2002:int", _INT_11, list("-+0123456789"))
_Resolver.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe constructor; floats accept the YAML 1.2 spellings (``1e308``)."""

    def construct_yaml_float(self, node: yaml.Node) -> float:  # type: ignore[override]
        value = self.construct_scalar(node).replace("_", "").lower()
        sign = -1.0 if value.startswith("-") else 1.0
        value = value.lstrip("+-")
        if value == ".inf":
            return sign * float("inf")
        if value == ".nan":
            return float("nan")
        return sign * float(value)


_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)


class _BoundedComposer(yaml.composer.Composer):
    """Counts aliases while composing (a bomb is stopped before it is constructed)."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.events.AliasEvent):
            self._spm_aliases = getattr(self, "_spm_aliases", 0) + 1
            if self._spm_aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise _TooBig(f"more than {MAX_ALIASES} aliases", mark)
        return super().compose_node(parent, index)


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _BoundedComposer,
              _Constructor, _Resolver):
    def __init__(self, stream: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _BoundedComposer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)


class _TooBig(Exception):
    def __init__(self, what: str, mark: Any = None, kind: str = "size"):
        super().__init__(what)
        self.what, self.mark, self.kind = what, mark, kind


_KEY_CHARS = set(" _.-/+=()&#',")


def _check_key(node: yaml.Node) -> None:
    """A mapping key must look like a setting name (letters, digits, a few separators, at
    most 64 characters): a file that is not a scenario or plan (``/etc/passwd`` renamed,
    an export) is refused without echoing its lines."""
    if not isinstance(node, yaml.ScalarNode):
        return
    text = node.value
    if len(text) > 64 or not all(c.isalnum() or c in _KEY_CHARS for c in text):
        raise _TooBig("a key that is not a setting name (is this the right file?)",
                      node.start_mark, kind="content")


def _expanded_size(node: yaml.Node, duplicates: list[str] | None = None) -> int:
    """Number of nodes once every alias is expanded (memoised: linear in the node graph).
    A key written twice in one section is an error; with a ``duplicates`` list it is recorded
    there (``line N: ...``) instead, so it is reported with the file's other problems."""
    memo: dict[int, int] = {}
    on_path: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in memo:
            return memo[key]
        if key in on_path:  # a recursive structure expands without bound
            raise _TooBig("a recursive alias")
        on_path.add(key)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            total += sum(size(c) for c in n.value)
        elif isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, _v in n.value:
                _check_key(k)
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in seen:
                        what = (f"key '{k.value}' appears twice in the same section "
                                "(the second would silently replace the first)")
                        if duplicates is None:
                            raise _TooBig(what, k.start_mark, kind="content")
                        duplicates.append(f"line {k.start_mark.line + 1}: {what}")
                    seen.add(k.value)
            total += sum(size(k) + size(v) for k, v in n.value)
        on_path.discard(key)
        memo[key] = total
        if total > MAX_NODES:
            raise _TooBig(f"expands to more than {MAX_NODES:,} values")
        return total

    return size(node)


_STR = "tag:yaml.org,2002:str"
_AS_WRITTEN = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
               "tag:yaml.org,2002:timestamp"}


def _where_as_text(node: yaml.Node, seen: set[int] | None = None) -> None:
    """Keys and values under a ``where:`` section stay the text as written: a credit rule
    compares a bookings column's text with them (comp_plan.md part 2), so ``yes``, ``on``,
    ``007`` or ``2027-01-15`` must not become ``True``, ``7`` or a date."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for c in node.value:
            _where_as_text(c, seen)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == "where" and isinstance(v, yaml.MappingNode):
                for wk, wv in v.value:
                    for s in [wk, *(wv.value if isinstance(wv, yaml.SequenceNode) else [wv])]:
                        if isinstance(s, yaml.ScalarNode) and s.tag in _AS_WRITTEN:
                            s.tag = _STR
            else:
                _where_as_text(v, seen)


def loads(text: str, duplicates: list[str] | None = None) -> Any:
    """Parse YAML ``text`` with the workbench's loader (see the module docstring).

    Raises ``yaml.YAMLError`` for invalid YAML and ``ValueError`` for a document that is too
    large once aliases are expanded, or with a key written twice in one section (recorded in
    ``duplicates`` instead when that list is given; the later value is kept)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, duplicates)
        _where_as_text(node)
        return loader.construct_document(node)
    except _TooBig as exc:
        where = f"line {exc.mark.line + 1}: " if exc.mark is not None else ""
        suffix = " (YAML alias expansion is limited)" if exc.kind == "size" else ""
        raise ValueError(f"{where}{exc.what}{suffix}") from None
    finally:
        loader.dispose()


def read_yaml(path: str | Path, kind: str, duplicates: list[str] | None = None) -> Any:
    """Parse ``path``; raises :class:`InputError` naming the file (and line) when the path is
    not a ``.yaml``/``.yml`` regular file, is unreadable or too large, is not valid YAML, or
    expands beyond the alias bounds. ``kind`` ("scenario", "plan") words the message; the
    file's content is never echoed. With a ``duplicates`` list, keys written twice are
    appended to it as ``FILE, line N: ...`` problems instead of raising (see :func:`loads`)."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"{path}: a {kind} file must be a .yaml or .yml file")
    try:
        if not path.is_file():
            raise InputError(f"{path}: {kind} file not found" if not path.exists()
                             else f"{path}: not a regular file")
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path}: {kind} file is larger than {MAX_BYTES // 1024 // 1024} MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read {kind} file ({exc.strerror or type(exc).__name__})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: {kind} file is not UTF-8 text") from None
    try:
        found: list[str] | None = None if duplicates is None else []
        out = loads(text, found)
        if found and duplicates is not None:
            duplicates.extend(f"{path}, {line}" for line in found)
        return out
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InputError(f"{path}{where}: not valid YAML ({problem})") from None
    except ValueError as exc:
        raise InputError(f"{path}, {exc}") from None


def check_yaml_path(value: Any, file: str | Path, key: str, kind: str) -> Path:
    """A YAML file a scenario names (``plans.ROLE``, ``sweep.values``): must be a string path
    to an existing ``.yaml``/``.yml`` regular file; else :class:`InputError` naming ``file``
    and ``key`` (the path is shown truncated, the file is never opened)."""
    from spm_models.errors import short_repr

    if not isinstance(value, str):
        raise InputError(f"{file}, key '{key}': must be a path to a {kind} file, got {short_repr(value)}")
    p = Path(value)
    if p.suffix.lower() not in SUFFIXES:
        raise InputError(f"{file}, key '{key}': a {kind} file must be a .yaml or .yml file: "
                         f"{short_repr(value)}")
    if not p.is_file():
        raise InputError(f"{file}, key '{key}': {kind} file not found: {short_repr(value)}")
    return p
