"""Values that cross the wire as themselves: JSON values, and `RemoteRepr` for what has no JSON form.

A call's request and reply, and a server's state, cross the attach wire as JSON when they are
JSON values (`json_form`): ``str``, ``int``, ``float`` (finite), ``bool``, ``None``, lists and
tuples of JSON values, and dicts whose keys are all ``str`` and whose values are JSON values.
Only those exact types count (a subclass such as a named tuple or an enum has its own meaning,
which JSON would lose). Tuples arrive as lists, as TOML drill values are lists. Anything else
crosses as its repr, capped, in a `RemoteRepr`, which a client can tell apart from a string.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

MAX_DEPTH: Final = 100
"""Nesting levels a JSON value may have on the wire (deeper values cross as their repr)."""

_SCALARS: Final = frozenset({str, int, bool, type(None)})


class NotJSON(ValueError):
    """A value that has no JSON form; the message names the first part that has none."""


@dataclass(frozen=True, slots=True)
class RemoteRepr:
    """A value of the service that has no JSON form, as its repr there (capped at 2,000 characters).

    Attributes:
        text: The repr, as the service printed it.
    """

    text: str

    def __str__(self) -> str:
        return self.text


def json_form(value: Any, depth: int = MAX_DEPTH) -> Any:
    """`value` as a JSON value: the same value, with tuples as lists (see the module docstring).

    Raises:
        NotJSON: Some part of it has no JSON form (or it nests deeper than `depth`).
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise NotJSON(f"{value!r} is not a JSON number")
        return value
    if depth <= 0:
        raise NotJSON(f"it nests deeper than {MAX_DEPTH} levels")
    if kind is list or kind is tuple:
        return [json_form(item, depth - 1) for item in value]
    if kind is dict:
        form = {}
        for key, item in value.items():
            if type(key) is not str:
                raise NotJSON(f"a dict key {key!r:.60} is not a str")
            form[key] = json_form(item, depth - 1)
        return form
    raise NotJSON(f"a {kind.__qualname__} is not a JSON value")
