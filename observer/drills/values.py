"""Drill values: how a reply or a state written in TOML is compared with what a server really returned.

TOML has strings, integers, floats, booleans, arrays, tables and dates; Python
replies have tuples, sets, pids and objects too. Before comparing, the actual
value is brought into TOML's shapes (`comparable`):

- a tuple or a list becomes a list (so `["ok", 3]` matches the reply `("ok", 3)`);
- a set or frozenset becomes a sorted list when its items sort, else a list in repr order;
- a dict keeps its keys when they are strings, else each key becomes its `str`;
- a `Pid` becomes its text, `"<0.42.0>"`;
- a reply or state of an attached service that has no JSON form (`observer.remote.RemoteRepr`)
  becomes its repr text, so `"<0.42.0>"` matches a pid there too;
- None, bool, int, float, str, bytes and anything else stay as they are
  (`1` equals `1.0`, as in Python).

`reply = ...` and `wait_for = { reply = ... }` ask for equality after that;
`expect_state` asks for a subset: every key it names must be in the state
with a matching value (nested tables are subsets too; arrays must be equal).
"""

from __future__ import annotations

import sys
from typing import Any

from observer.runtime import Pid

_REMOTE_VALUES = "observer.remote.values"
"""Where `RemoteRepr` lives: looked up only if imported (no attached drill: no value can be one)."""


def comparable(value: Any) -> Any:
    """`value` in TOML's shapes (see the module docstring)."""
    if isinstance(value, Pid):
        return repr(value)
    remote = sys.modules.get(_REMOTE_VALUES)
    if remote is not None and isinstance(value, remote.RemoteRepr):
        return value.text
    if isinstance(value, tuple | list):
        return [comparable(item) for item in value]
    if isinstance(value, set | frozenset):
        items = [comparable(item) for item in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, dict):
        return {key if isinstance(key, str) else str(key): comparable(item) for key, item in value.items()}
    return value


def equal(expected: Any, actual: Any) -> bool:
    """Whether `actual` (a Python value) is `expected` (a TOML value) once made comparable."""
    return _same(expected, comparable(actual))


def subset(expected: dict[str, Any], actual: Any) -> bool:
    """Whether every key of `expected` is in `actual` (a dict) with a matching value (tables: subsets)."""
    actual = comparable(actual)
    return isinstance(actual, dict) and _subset(expected, actual)


def _subset(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    for key, want in expected.items():
        if key not in actual:
            return False
        have = actual[key]
        if isinstance(want, dict):
            if not (isinstance(have, dict) and _subset(want, have)):
                return False
        elif not _same(want, have):
            return False
    return True


def _same(expected: Any, actual: Any) -> bool:
    """Equality that keeps True apart from 1 (TOML's `true` is not the integer 1)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(_same(expected[key], actual[key]) for key in expected)
    return bool(expected == actual)
