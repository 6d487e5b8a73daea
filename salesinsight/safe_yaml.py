"""Reading YAML that users write (params files, importer mappings) within fixed bounds.

``yaml.safe_load`` refuses Python tags but not an alias bomb ("billion laughs"): nine anchors of
nine aliases each are 81 aliases in a few hundred bytes that expand to 9**9 values when anything
walks the result (a validator, an error message that echoes it). This module bounds

* the document: at most :data:`MAX_BYTES` (checked before the file is read),
* the expansion: at most :data:`MAX_VALUES` values counting every alias as a copy of its anchor,
  and no recursive alias,
* the nesting: at most :data:`MAX_DEPTH` levels,
* every echo of a value in an error message: at most :data:`ECHO_CHARS` characters
  (:func:`short_repr`, :func:`shorten`).

Limits are reported as :class:`YAMLLimitError`, a :class:`yaml.YAMLError`, so callers that
already turn YAML errors into messages need nothing more.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

__all__ = [
    "ECHO_CHARS",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "BoundedSafeLoader",
    "YAMLLimitError",
    "load_yaml",
    "load_yaml_file",
    "short_repr",
    "shorten",
]

#: largest YAML document read, in bytes (params files are a few hundred bytes)
MAX_BYTES = 1_000_000
#: most values a document may expand to, aliases counted as copies of their anchors
MAX_VALUES = 100_000
#: deepest nesting of sequences and mappings
MAX_DEPTH = 64
#: longest echo of a value in an error message, in characters
ECHO_CHARS = 200

_REPR = reprlib.Repr()
_REPR.maxstring = ECHO_CHARS
_REPR.maxother = ECHO_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 10
_REPR.maxlevel = 3


class YAMLLimitError(yaml.YAMLError):
    """A YAML document is larger, deeper or expands further than allowed.

    The limits are those of :mod:`salesinsight.safe_yaml`.
    """


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def short_repr(value: object, limit: int = ECHO_CHARS) -> str:
    """Return a ``repr`` of ``value`` for an error message: bounded work and at most ``limit`` characters.

    Containers show their first 10 items and 3 levels (:mod:`reprlib`), so a huge or shared
    structure is never expanded in full.
    """
    return shorten(_REPR.repr(value), limit)


class BoundedSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the nesting depth and the alias expansion bounded.

    Subclass it to change resolvers (as the importer mappings do) or the class limits
    ``max_values`` and ``max_depth``.
    """

    max_values: int = MAX_VALUES
    max_depth: int = MAX_DEPTH

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        """Compose a node, refusing nesting deeper than ``max_depth``."""
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise YAMLLimitError(
                    f"nested deeper than {self.max_depth} levels (line {mark.line + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Node | None:
        """Compose the document, refusing one whose aliases expand beyond ``max_values``."""
        node = super().get_single_node()
        if node is not None:
            _expanded_size(node, {}, set(), self.max_values)
        return node


def _expanded_size(node: Node, sizes: dict[int, int], open_: set[int], limit: int) -> int:
    """Return the number of values ``node`` stands for once every alias is copied out (memoised per node)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        line = node.start_mark.line + 1
        raise YAMLLimitError(f"an alias refers to a value that contains it (line {line})")
    open_.add(key)
    total = 1
    if isinstance(node, SequenceNode):
        children: list[Node] = list(node.value)
    elif isinstance(node, MappingNode):
        children = [n for pair in node.value for n in pair]
    else:
        children = []
    for child in children:
        total += _expanded_size(child, sizes, open_, limit)
        if total > limit:
            raise YAMLLimitError(
                f"the document expands to more than {limit:,} values through its aliases "
                "(&anchor / *alias); write the values out instead"
            )
    open_.discard(key)
    sizes[key] = total
    return total


def load_yaml(text: str, *, loader: type[BoundedSafeLoader] = BoundedSafeLoader) -> Any:
    """Parse one YAML document within the bounds of this module.

    Raises
    ------
    YAMLLimitError
        The text is longer than :data:`MAX_BYTES` bytes, nested deeper than ``loader.max_depth``,
        expands to more than ``loader.max_values`` values, or has a recursive alias.
    yaml.YAMLError
        Any other YAML error.
    """
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BYTES:
        raise YAMLLimitError(f"{size:,} bytes; a YAML document may be at most {MAX_BYTES:,} bytes")
    return yaml.load(text, Loader=loader)  # loader is a SafeLoader subclass


def load_yaml_file(
    path: str | Path,
    *,
    encoding: str = "utf-8",
    loader: type[BoundedSafeLoader] = BoundedSafeLoader,
) -> Any:
    """Read and parse a YAML file within the bounds of this module (size checked before reading).

    Raises
    ------
    FileNotFoundError, UnicodeDecodeError
        As :meth:`pathlib.Path.read_text`.
    YAMLLimitError, yaml.YAMLError
        As :func:`load_yaml`.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YAMLLimitError(f"{size:,} bytes; a YAML document may be at most {MAX_BYTES:,} bytes")
    return load_yaml(path.read_text(encoding=encoding), loader=loader)
